"""Measure the key check against a large PostgreSQL history (issue 24).

Starts a throwaway server (``tests.pg_server``, the machine's PostgreSQL programs, set as
a production server: durable, a quarter of the memory for buffers), fills a history with
KEYS billed keys in 1,000,000-key batches, each committed through the store's API as an
import commits, then imports a ROWS-row export against it, and against an empty one, in
the same run: the cost of the history is the difference, told as a multiple of the time
to read the export alone, for the whole import and for its key check.

Each history is measured twice: on the machine that committed its batches (a copy of
every run at hand, ``key_cache``), then, the batch voided, on a machine with no copies,
which fetches every run of the scope first.

Two shapes of history: the keys shared by 100 scopes (an operator's applications and
locations, the import's own one of them), and all of them the import's own scope's (the
worst case).

    python bench/bench_history_server.py [KEYS] [ROWS] [SCOPES...]
    # default: 100,000,000 1,000,000 100 1
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.bench_history import export_and_read
from processor import create_history, open_history, row_digests, run_import
from processor.batch.manifest import read_manifest
from processor.history.postgres.key_cache import ENV
from tests import pg_server


def fill_history(url: str, keys: int, scopes: int = 1, per: int = 1_000_000) -> None:
    """A history of ``keys`` random billed keys in batches of ``per``, shared evenly by
    ``scopes`` applications at London: the import's own (PBX) and ``scopes`` - 1 others."""
    history = open_history(create_history(url))
    rng = np.random.default_rng(1)
    try:
        for s in range(scopes):
            app = "pbx" if s == 0 else f"bench-{s}"
            mine = keys // scopes + (1 if s < keys % scopes else 0)
            for month, start in enumerate(range(0, mine, per)):
                n = min(per, mine - start)
                record = {
                    "location": "London", "location_key": "london", "application": app,
                    "application_key": app, "format": "generic-csv",
                    "batch_date": "2025-01-31", "folder": "-", "partial": None,
                }  # fmt: skip
                batch = history.begin({**record, "id": f"2025-{s:03d}-{month:04d}-bench"}, [])
                rows = {"read": n, "matched": n, "unmatched": 0, "skipped": 0}
                money = {"net": "0.00", "tax": "0.00", "gross": "0.00"}
                manifest = {"rows": rows, "billed": money, "inputs": [], "currency": "GBP"}
                raw = rng.integers(0, 256, (n, row_digests.WIDTH), dtype=np.uint8)
                digests = raw.view(f"S{row_digests.WIDTH}").ravel()
                history.commit(batch, {**manifest, "reasons": {}}, digests, {})
    finally:
        history.close()


def timed_import(wb: Path, export: Path, out: Path, url: str) -> tuple[float, float, float]:
    """Seconds: the whole import, its key check, its finish and commit."""
    start = time.perf_counter()
    done = run_import(
        wb, "London", "PBX", [export], out, dt.date(2026, 10, 31), history=url, reimport=True
    )
    total = time.perf_counter() - start
    return total, done.timings.get("ledger", 0.0), done.timings.get("finish", 0.0)


def void(url: str, batch_dir: Path) -> None:
    """Void the batch in ``batch_dir``: its rows may be billed again."""
    hist = open_history(url)
    try:
        hist.void(read_manifest(batch_dir)["batch_id"], "measured")
    finally:
        hist.close()


def main(keys: int, rows: int, shapes: list[int]) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # each finding seen as it comes
    server = pg_server.start(tuned=True)
    if isinstance(server, str):
        print(f"no PostgreSQL server for the benchmark: {server}")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wb, export, read_s = export_and_read(tmp, rows)
            os.environ[ENV] = str(tmp / "copies")  # never the user's own folder
            outs = iter(range(1000))

            def next_out() -> Path:
                return tmp / f"out-{next(outs)}"

            timings = {}
            # the first import warms what every import loads (modules, the workbooks'
            # files): its time is not counted
            for label in ("warm-up", "an empty history"):
                url = server.database()
                fill_history(url, 0)
                timings[label] = timed_import(wb, export, next_out(), url)
                server.drop(url)
            del timings["warm-up"]
            for scopes in shapes:
                shape = "all the import's scope's" if scopes == 1 else f"over {scopes} scopes"
                label = f"{keys:,} keys, {shape}"
                url = server.database()
                here, elsewhere = tmp / f"copies-{scopes}", tmp / f"none-{scopes}"
                os.environ[ENV] = str(here)  # this machine commits the batches
                t0 = time.perf_counter()
                fill_history(url, keys, scopes)
                print(f"built {label} on the server in {time.perf_counter() - t0:.0f} s")
                out = next_out()
                timings[f"{label}, its runs copied here"] = timed_import(wb, export, out, url)
                void(url, out)
                os.environ[ENV] = str(elsewhere)  # another machine: no copies yet
                out = next_out()
                timings[f"{label}, on a machine with no copies"] = timed_import(
                    wb, export, out, url
                )
                server.drop(url)  # the next history gets the machine's memory
            print(f"read {rows:,} rows alone: {read_s:.1f} s")
            for label, (total, check, finish) in timings.items():
                print(
                    f"import {rows:,} rows against {label}: {total:.1f} s "
                    f"(key check {check:.1f} s, finish and commit {finish:.1f} s)"
                )
            empty = timings["an empty history"]
            for label, (total, check, finish) in list(timings.items())[1:]:
                print(
                    f"{label}: the import takes {total - empty[0]:+.1f} s "
                    f"({(total - empty[0]) / read_s:.2f} × the read); its key check "
                    f"{check - empty[1]:+.1f} s ({(check - empty[1]) / read_s:.2f} ×), its "
                    f"finish and commit {finish - empty[2]:+.1f} s"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    # KEYS ROWS SCOPES...: each SCOPES a history of KEYS keys shared by that many scopes
    args = [int(a) for a in sys.argv[1:]]
    keys, rows = (args + [100_000_000, 1_000_000][len(args) :])[:2]
    main(keys, rows, args[2:] or [100, 1])
