"""Tiny workbooks and exports built inside the tests."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from openpyxl import Workbook

from schemas.workbooks import WORKBOOKS

# A minimal valid pair: two locations, three accounts, one device of each pricing.
BASE: dict[str, list[list]] = {
    "Locations": [["London", "GBP", 20], ["Leeds", "GBP", 20]],
    "Accounts": [
        ["A1", "Acme Ltd", "London", "Active", None, None],
        ["A2", "Beta Ltd", "London", "Inactive", None, None],
        ["A3", "Gamma Ltd", "Leeds", "Active", None, None],
    ],
    "Account Codes": [
        ["A1", "PBX", "100"],
        ["A2", "PBX", "200"],
        ["A3", "PBX", "300"],
    ],
    "Applications": [
        ["PBX", "generic-csv", "CALLS", None],
    ],
    "Device Import Maps": [["PBX", "London", "EXT1", "A1"]],
    "Products": [
        ["CALLS", "Calls", "Cost Plus", None, 10, 0, None, None, "4000", None, "No"],
    ],
    "Product Rules": [],
    "Formats": [],
    "Tariffs": [["Std", "01", "UK", 0.06, None, None, None]],
}


def base() -> dict[str, list[list]]:
    return copy.deepcopy(BASE)


def write_books(
    folder: Path,
    data: dict[str, list[list]] | None = None,
    headers: dict[str, list[str]] | None = None,
) -> Path:
    """Write accounts.xlsx and devices.xlsx with the contract's headers and these rows."""
    data = base() if data is None else data
    folder.mkdir(parents=True, exist_ok=True)
    for book in WORKBOOKS:
        wb = Workbook()
        wb.remove(wb.active)
        for schema in book.sheets:
            if schema.name not in data:
                continue
            ws = wb.create_sheet(schema.name)
            ws.append((headers or {}).get(schema.name, list(schema.columns)))
            for row in data[schema.name]:
                ws.append(row)
        wb.save(folder / book.filename)
    return folder


@pytest.fixture
def books(tmp_path: Path) -> Path:
    return write_books(tmp_path / "wb")


def write_csv(path: Path, lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


GENERIC_HEADER = "Code,Date,Description,Quantity,Cost"


def use_sheet_format(data: dict[str, list[list]], name: str, **columns) -> None:
    """Describe a layout on the Formats sheet (columns as in tests.test_workbooks.fmt_row,
    e.g. Code_Column="Code") and make application PBX use it."""
    from tests.test_workbooks import fmt_row

    data["Formats"] = [fmt_row(Format=name, **columns)]
    data["Applications"][0][1] = name
