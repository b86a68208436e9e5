"""Measure the key check against a large PostgreSQL history (issue 24).

Starts a throwaway server (``tests.pg_server``, the machine's PostgreSQL programs), fills
a history with KEYS billed keys in 1,000,000-key batches (the batches committed through
the store's API, their keys then copied into the keyed table at once, in order, which is
what 100 commits would leave, in minutes rather than most of an hour), then imports a
ROWS-row export against it, and against an empty one, in the same run: the key check's
cost is the difference, told as a multiple of the time to read the export alone.

    python bench/bench_history_server.py [KEYS] [ROWS]     # default 100,000,000 1,000,000
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


def fill_history(url: str, keys: int, per: int = 1_000_000) -> None:
    """A history of ``keys`` random billed keys in batches of ``per``."""
    history = open_history(create_history(url))
    try:
        rowids = []
        for month in range((keys + per - 1) // per):
            record = {
                "location": "London", "location_key": "london", "application": "PBX",
                "application_key": "pbx", "format": "generic-csv", "batch_date": "2025-01-31",
                "folder": "-", "partial": None,
            }  # fmt: skip
            batch = history.begin({**record, "id": f"2025-{month:04d}-bench"}, [])
            rows = {"read": per, "matched": per, "unmatched": 0, "skipped": 0}
            money = {"net": "0.00", "tax": "0.00", "gross": "0.00"}
            manifest = {"rows": rows, "billed": money, "inputs": [], "currency": "GBP"}
            history.commit(batch, {**manifest, "reasons": {}}, np.empty(0, "S12"), {})
            rowids.append(history.db.execute(
                "SELECT rowid FROM batches WHERE id = ?", (batch,)
            ).fetchone()[0])  # fmt: skip
        scope = history.scope_id("pbx", "london")
        rng = np.random.default_rng(1)
        raw = rng.integers(0, 256, (keys, row_digests.WIDTH), dtype=np.uint8)
        head, tail = key_table.halves(raw.view(f"S{row_digests.WIDTH}").ravel())
        order = np.lexsort((tail, head))
        owner = np.repeat(np.array(rowids, np.int64), per)[:keys][rng.permutation(keys)]
        for start in range(0, keys, 5_000_000):
            part = order[start : start + 5_000_000]
            n = len(part)
            with history.transaction():
                key_table.copy_in(
                    history.db,
                    [np.full(n, scope, np.int64), head[part], tail[part], owner[part]],
                )
        history.db.execute("ANALYZE keys")
    finally:
        history.close()


def main(keys: int, rows: int) -> None:
    server = pg_server.start()
    if isinstance(server, str):
        print(f"no PostgreSQL server for the benchmark: {server}")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wb, export, read_s = export_and_read(tmp, rows)
            timings = {}
            for label, n in (("an empty history", 0), (f"a history of {keys:,} keys", keys)):
                url = server.database()
                t0 = time.perf_counter()
                fill_history(url, n)
                if n:
                    print(f"built {label} on the server in {time.perf_counter() - t0:.0f} s")
                start = time.perf_counter()
                run_import(
                    wb, "London", "PBX", [export], tmp / f"out-{len(timings)}",
                    dt.date(2026, 10, 31), history=url,
                )  # fmt: skip
                timings[label] = time.perf_counter() - start
            print(f"read {rows:,} rows alone: {read_s:.1f} s")
            for label, secs in timings.items():
                print(f"import {rows:,} rows against {label} on PostgreSQL: {secs:.1f} s")
            extra = timings[label] - timings["an empty history"]
            print(f"{label} adds {extra:.1f} s ({extra / read_s:.2f} × the read)")
    finally:
        server.stop()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [100_000_000, 1_000_000][len(args) :]))
