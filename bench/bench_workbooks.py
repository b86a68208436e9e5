"""Measure loading and validating a generated pair: 10,000 accounts and 30,000 codes.

Run with `make bench`. Prints the best of three first loads, each in a fresh process as
an import makes it (after the program's imports), and the best of three loads after it in
one process; the README quotes the figures.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import product_python
from processor import findings as fnd
from processor import load_reference
from schemas.workbooks import WORKBOOKS

ACCOUNTS = 10_000
CODES = 30_000


def generate(folder: Path, accounts: int = ACCOUNTS, codes: int = CODES) -> None:
    data = {
        "Locations": [["London", "GBP", 20], ["Leeds", "GBP", 20]],
        "Accounts": [
            [f"A{i}", f"Customer {i}", "London" if i % 2 else "Leeds", "Active", None, None]
            for i in range(accounts)
        ],
        "Account Codes": [
            [f"A{i % accounts}", "PBX", f"{100000 + i}"] for i in range(codes * 2 // 3)
        ],
        "Applications": [["PBX", "generic-csv", "CALLS", None]],
        "Device Import Maps": [
            ["PBX", "London" if (i % accounts) % 2 else "Leeds", f"X{i}", f"A{i % accounts}"]
            for i in range(codes // 3)
        ],
        "Products": [["CALLS", "Calls", "Cost Plus", None, 10, 0, None, None, None, None, "No"]],
        "Product Rules": [],
        "Formats": [],
        "Tariffs": [["Std", "01", "UK", 0.06, None, None, None]],
    }
    write_pair(folder, data)


def write_pair(folder: Path, data: dict[str, list[list]]) -> None:
    """accounts.xlsx and devices.xlsx with the given rows under each sheet's header."""
    for book in WORKBOOKS:
        wb = Workbook(write_only=True)
        for schema in book.sheets:
            ws = wb.create_sheet(schema.name)
            ws.append(list(schema.columns))
            for row in data.get(schema.name, []):
                ws.append(row)
        wb.save(folder / book.filename)


_FIRST_LOAD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from processor import load_reference
start = time.perf_counter()
ref, _ = load_reference(sys.argv[1])
assert ref is not None
print(time.perf_counter() - start)
"""


def main() -> None:
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder)
        first = [
            float(
                subprocess.run(
                    [product_python(), "-c", _FIRST_LOAD, str(folder), root],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(3)
        ]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            ref, found = load_reference(folder)
            times.append(time.perf_counter() - start)
        assert ref is not None, fnd.errors(found).head()
        print(
            f"load + validate {ACCOUNTS:,} accounts, {CODES:,} codes: first load in a process "
            f"best {min(first):.2f} s (runs: {', '.join(f'{t:.2f}' for t in first)}); "
            f"again in the same process best {min(times):.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
