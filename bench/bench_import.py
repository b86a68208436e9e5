"""Measure an import: a generated generic-csv export through the whole pipeline.

Run with `make bench` (or `python bench/bench_import.py ROWS`). Prints rows per
second and peak memory; the README quotes the figures.
"""

from __future__ import annotations

import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_workbooks import generate
from processor import run_import


def main(rows: int) -> None:
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "wb"  # the batch may not sit inside the workbooks folder
        folder.mkdir()
        generate(folder)
        export = Path(tmp) / "export.csv"
        with export.open("w") as fh:
            fh.write("Code,Date,Description,Quantity,Cost\n")
            for i in range(rows):
                # odd codes belong to London accounts; past 120000 ~5% are unknown
                code = f"{100000 + 2 * rnd.randrange(10500) + 1}"
                fh.write(
                    f"{code},2026-10-{1 + i % 28:02d} 10:{i % 60:02d},call,1,"
                    f"{rnd.randrange(1, 500) / 100:.2f}\n"
                )
        start = time.perf_counter()
        result = run_import(
            folder, "London", "PBX", [export], Path(tmp) / "out", dt.date(2026, 10, 31)
        )
        took = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        r = result.manifest["rows"]
        print(
            f"import {rows:,} rows ({r['matched']:,} billed, {r['unmatched']:,} unmatched): "
            f"{took:.1f} s, {rows / took:,.0f} rows/s, peak RSS {peak:,.0f} MiB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
