"""Measure the ledger at scale: an import against a history holding many billed keys.

`make bench` runs it with 12 months of 1,000,000-row batches (12,000,000 keys), a year of
daily batches and three years of weekly ones (31,200,000 keys), and a 1,000,000-row
import; `python bench/bench_history.py KEYS ROWS` for other sizes. Prints the time to read
the export alone, to import it against an empty history, and against each full one: the
key check should add no more than the time of reading the file.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_workbooks import generate
from processor import create_history, open_history, read_export, row_digests, run_import
from processor.reference.reading import read_workbooks
from processor.reference.records import build


def fill_history(path: Path, keys: int, per: int = 1_000_000) -> None:
    """A history with ``keys`` billed keys (random digests) in batches of ``per``, each
    committed through the history's API as an import commits."""
    rnd = random.Random(1)
    history = open_history(create_history(path))
    for month in range((keys + per - 1) // per):
        record = {
            "location": "London", "location_key": "london", "application": "PBX",
            "application_key": "pbx", "format": "generic-csv", "batch_date": "2025-01-31",
            "folder": "-", "partial": None,
        }  # fmt: skip
        batch = history.begin({**record, "id": f"2025{month + 1:02d}-bench"}, [])
        n = min(per, keys - month * per)
        digests = np.frombuffer(
            rnd.randbytes(n * row_digests.WIDTH), f"S{row_digests.WIDTH}"
        ).copy()
        rows = {"read": n, "matched": n, "unmatched": 0, "skipped": 0}
        money = {"net": "0.00", "tax": "0.00", "gross": "0.00"}
        manifest = {"rows": rows, "billed": money, "inputs": [], "currency": "GBP", "reasons": {}}
        history.commit(batch, manifest, digests, {})
    history.close()


def export_and_read(tmp: Path, rows: int) -> tuple[Path, Path, float]:
    """The generated workbooks and a ROWS-row generic-csv export of their codes in ``tmp``,
    and the seconds reading the export alone takes (what the key check is told against)."""
    rnd = random.Random(2)
    wb = tmp / "wb"
    wb.mkdir()
    generate(wb)
    export = tmp / "export.csv"
    with export.open("w") as fh:
        fh.write("Code,Date,Description,Quantity,Cost\n")
        for i in range(rows):
            code = f"{100000 + 2 * rnd.randrange(10500) + 1}"
            fh.write(f"{code},2026-10-{1 + i % 28:02d} 10:{i % 60:02d},call {i},1,1.25\n")
    sheets, _ = read_workbooks(wb)
    fmt = build(sheets).format_for("generic-csv")
    start = time.perf_counter()
    for _ in read_export(export, fmt, ["Code"]):
        pass
    return wb, export, time.perf_counter() - start


def main(keys: int, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wb, export, read_s = export_and_read(tmp, rows)

        timings = {}
        full = f"a history of {keys:,} keys"
        daily = "a year of daily batches (365 of 3,000 keys)"
        weekly = "three years of weekly batches (156 of 200,000 keys)"
        for label, n, per in (
            ("an empty history", 0, 1),
            (full, keys, 1_000_000),
            (daily, 365 * 3000, 3000),
            (weekly, 156 * 200_000, 200_000),
        ):
            history = tmp / f"history-{len(timings)}.sqlite"
            t0 = time.perf_counter()
            fill_history(history, n, per)
            filled = time.perf_counter() - t0
            start = time.perf_counter()
            run_import(
                wb,
                "London",
                "PBX",
                [export],
                tmp / f"out-{len(timings)}",
                dt.date(2026, 10, 31),
                history=history,
            )
            timings[label] = time.perf_counter() - start
            if n:
                print(f"built {label} in {filled:.0f} s")
        print(f"read {rows:,} rows alone: {read_s:.1f} s")
        for label, secs in timings.items():
            print(f"import {rows:,} rows against {label}: {secs:.1f} s")
        for label in (full, daily, weekly):
            extra = timings[label] - timings["an empty history"]
            print(f"{label} adds {extra:.1f} s ({extra / read_s:.2f} × the read)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [12_000_000, 1_000_000][len(args) :]))
