"""Measure the key check against a large PostgreSQL history (issue 24).

Starts a throwaway server (``tests.pg_server``, the machine's PostgreSQL programs, set as
a production server: durable, a quarter of the memory for buffers), fills a history with
KEYS billed keys in 1,000,000-key batches (the batches committed through the store's API,
their keys then copied into the keyed table at once, in order, which is what the commits
would leave, in minutes rather than hours), then imports a ROWS-row export against it,
and against an empty one, in the same run: the cost of the history is the difference,
told as a multiple of the time to read the export alone, for the whole import and for its
key check.

Two shapes of history: the keys shared by 100 scopes (an operator's applications and
locations, the import's own one of them), and all of them the import's own scope's (the
worst case).

    python bench/bench_history_server.py [KEYS] [ROWS] [SCOPES...]
    # default: 100,000,000 1,000,000 100 1
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.bench_history import export_and_read
from processor import create_history, open_history, row_digests, run_import
from processor.history.postgres import keys as key_table
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
            rowids = []
            for month in range((mine + per - 1) // per):
                record = {
                    "location": "London", "location_key": "london", "application": app,
                    "application_key": app, "format": "generic-csv",
                    "batch_date": "2025-01-31", "folder": "-", "partial": None,
                }  # fmt: skip
                batch = history.begin({**record, "id": f"2025-{s:03d}-{month:04d}-bench"}, [])
                rows = {"read": per, "matched": per, "unmatched": 0, "skipped": 0}
                money = {"net": "0.00", "tax": "0.00", "gross": "0.00"}
                manifest = {"rows": rows, "billed": money, "inputs": [], "currency": "GBP"}
                history.commit(batch, {**manifest, "reasons": {}}, np.empty(0, "S12"), {})
                rowids.append(history.db.execute(
                    "SELECT rowid FROM batches WHERE id = ?", (batch,)
                ).fetchone()[0])  # fmt: skip
            scope = history.scope_id(app, "london", create=True)
            raw = rng.integers(0, 256, (mine, row_digests.WIDTH), dtype=np.uint8)
            head, tail = key_table.halves(raw.view(f"S{row_digests.WIDTH}").ravel())
            order = np.lexsort((tail, head))
            owner = np.repeat(np.array(rowids, np.int64), per)[:mine][rng.permutation(mine)]
            for start in range(0, mine, 5_000_000):
                part = order[start : start + 5_000_000]
                n = len(part)
                with history.transaction():
                    key_table.copy_in(
                        history.db,
                        [np.full(n, scope, np.int64), head[part], tail[part], owner[part]],
                    )
        history.db.execute("VACUUM ANALYZE keys")  # as autovacuum leaves a settled table
    finally:
        history.close()


def main(keys: int, rows: int, shapes: list[int]) -> None:
    server = pg_server.start(tuned=True)
    if isinstance(server, str):
        print(f"no PostgreSQL server for the benchmark: {server}")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wb, export, read_s = export_and_read(tmp, rows)
            # the first import warms what every import loads (modules, workbooks' files): its
            # time is not counted
            runs = [("warm-up", 0, 1), ("an empty history", 0, 1)] + [
                (
                    f"{keys:,} keys, "
                    + ("all the import's scope's" if scopes == 1 else f"over {scopes} scopes"),
                    keys,
                    scopes,
                )
                for scopes in shapes
            ]
            timings = {}
            for label, n, scopes in runs:
                url = server.database()
                t0 = time.perf_counter()
                fill_history(url, n, scopes)
                if n:
                    print(f"built {label} on the server in {time.perf_counter() - t0:.0f} s")
                start = time.perf_counter()
                done = run_import(
                    wb, "London", "PBX", [export], tmp / f"out-{len(timings)}",
                    dt.date(2026, 10, 31), history=url,
                )  # fmt: skip
                total = time.perf_counter() - start
                steps = done.timings
                timings[label] = (total, steps.get("ledger", 0.0), steps.get("finish", 0.0))
            del timings["warm-up"]
            print(f"read {rows:,} rows alone: {read_s:.1f} s")
            for label, (total, check, finish) in timings.items():
                print(
                    f"import {rows:,} rows against {label} on PostgreSQL: {total:.1f} s "
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
