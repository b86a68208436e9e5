"""Measure the key check against a large PostgreSQL history (issue 24).

Starts a throwaway server (``tests.pg_server``, the machine's PostgreSQL programs), fills
a history with KEYS billed keys in 1,000,000-key batches through the store's API, as
imports commit, then imports a ROWS-row export against it, and against an empty one, in
the same run: the key check's cost is the difference, told as a multiple of the time to
read the export alone.

    python bench/bench_history_server.py [KEYS] [ROWS]     # default 100,000,000 1,000,000
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_history import fill_history
from bench.bench_workbooks import generate
from processor import read_export, run_import
from processor.reference.reading import read_workbooks
from processor.reference.records import build
from tests import pg_server


def main(keys: int, rows: int) -> None:
    server = pg_server.start()
    if isinstance(server, str):
        print(f"no PostgreSQL server for the benchmark: {server}")
        return
    rnd = random.Random(2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wb = tmp / "wb"
            wb.mkdir()
            generate(wb)
            export = tmp / "export.csv"
            with export.open("w") as fh:
                fh.write("Code,Date,Description,Quantity,Cost\n")
                for i in range(rows):
                    code = f"{100000 + 2 * rnd.randrange(10500) + 1}"
                    fh.write(f"{code},2026-10-{1 + i % 28:02d} 10:{i % 60:02d},call {i},1,1.25\n")
            fmt = build(read_workbooks(wb)[0]).format_for("generic-csv")
            start = time.perf_counter()
            for _ in read_export(export, fmt, ["Code"]):
                pass
            read_s = time.perf_counter() - start
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
