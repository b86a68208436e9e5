"""Measure the ledger at scale: an import against a history holding many billed keys.

`make bench` runs it with 12 months of 1,000,000-row batches (12,000,000 keys) and a
1,000,000-row import; `python bench/bench_history.py KEYS ROWS` for other sizes. Prints
the time to read the export alone, to import it against an empty history, and against
the full one: the key check should add no more than the time of reading the file.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_workbooks import generate
from processor import seen
from processor.exports import read_export
from processor.history import History
from processor.importer import run_import
from processor.reference import build
from processor.workbooks import read_workbooks


def fill_history(path: Path, keys: int) -> None:
    """A history with ``keys`` billed keys of earlier batches (random digests)."""
    rnd = random.Random(1)
    History(path).close()  # the schema
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    per = 1_000_000
    for month in range((keys + per - 1) // per):
        batch = f"2025{month + 1:02d}-bench"
        db.execute(
            "INSERT INTO batches (id, status, location, location_key, application, "
            "application_key, format, batch_date, folder, created_at) VALUES "
            "(?, 'committed', 'London', 'london', 'PBX', 'pbx', 'generic-csv', '2025-01-31', "
            "'-', '2025-01-31')",
            (batch,),
        )
        rowid = db.execute("SELECT rowid FROM batches WHERE id = ?", (batch,)).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO scopes VALUES (1, 'pbx', 'london')")
        n = min(per, keys - month * per)
        digests = np.sort(np.frombuffer(rnd.randbytes(n * seen.WIDTH), f"S{seen.WIDTH}"))
        db.executemany(
            "INSERT INTO billed VALUES (1, ?, ?)",
            ((d, rowid) for d in seen.as_bytes(digests)),
        )
        db.commit()
    db.close()


def main(keys: int, rows: int) -> None:
    rnd = random.Random(2)
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

        sheets, _ = read_workbooks(wb)
        fmt = build(sheets).format_for("generic-csv")
        start = time.perf_counter()
        for _ in read_export(export, fmt, ["Code"]):
            pass
        read_s = time.perf_counter() - start

        timings = {}
        for label, n in (("an empty history", 0), (f"a history of {keys:,} keys", keys)):
            history = tmp / f"history-{n}.sqlite"
            t0 = time.perf_counter()
            fill_history(history, n)
            filled = time.perf_counter() - t0
            start = time.perf_counter()
            run_import(
                wb, "London", "PBX", [export], tmp / f"out-{n}", dt.date(2026, 10, 31),
                history=history,
            )  # fmt: skip
            timings[label] = time.perf_counter() - start
            if n:
                print(f"built a history of {n:,} keys in {filled:.0f} s")
        print(f"read {rows:,} rows alone: {read_s:.1f} s")
        for label, secs in timings.items():
            print(f"import {rows:,} rows against {label}: {secs:.1f} s")
        extra = timings[f"a history of {keys:,} keys"] - timings["an empty history"]
        print(f"the full history adds {extra:.1f} s ({extra / read_s:.2f} × the read)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [12_000_000, 1_000_000][len(args) :]))
