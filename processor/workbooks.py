"""Read the reference workbooks into raw sheet frames (I/O edge).

Cells are read with python-calamine as the values Excel shows (a formula gives
its cached value). Each frame is indexed by the spreadsheet row number and
holds the schema's columns in schema order, whatever order or extra columns the
sheet has. Nothing is converted here: the schemas' checks judge the raw values.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from processor.findings import column_letter, finding
from schemas.workbooks import WORKBOOKS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected .xlsx


@dataclass
class Sheet:
    """One sheet's raw cells, indexed by spreadsheet row number."""

    workbook: str
    name: str
    frame: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)  # column header → letter

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """(row number, {column: value}) with blanks as None (iterrows would make them NaN)."""
        return rows(self.frame)

    def cell(self, column: str, row: int) -> str:
        return f"{self.letters.get(column, '?')}{row}"


def rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows of a raw frame as dicts, keeping None for blanks."""
    cols = list(frame.columns)
    columns = zip(*(frame[c].tolist() for c in cols), strict=True)
    for index, values in zip(frame.index, columns, strict=True):
        yield index, dict(zip(cols, values, strict=True))


def _norm_header(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _clean(value: object) -> object:
    """Blank cells become None; text is trimmed; whole-day datetimes stay datetimes."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, dt.timedelta):  # a bare time in a cell
        return str(value)
    return value


def check_file(path: Path) -> str | None:
    """Why a workbook file cannot be read, or None when it looks like an .xlsx."""
    if not path.exists():
        for other in (".xls", ".xlsm", ".xlsb", ".ods", ".csv"):
            if path.with_suffix(other).exists():
                return (
                    f"found {path.with_suffix(other).name} but not {path.name}; open it in "
                    "Excel and save it as Excel Workbook (.xlsx)"
                )
        return f"file not found in {path.parent}; run `charges init {path.parent}` to create it"
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        return (
            "is password-protected or an old .xls file; remove the password (File › Info › "
            "Protect Workbook) and save it as Excel Workbook (.xlsx)"
        )
    if not zipfile.is_zipfile(path):
        return (
            "is not a valid .xlsx file (it may be corrupt or another format); "
            "save it again from Excel"
        )
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "xl/vbaProject.bin" in names:
            return "contains macros (.xlsm); save it as Excel Workbook (.xlsx) without macros"
        if "xl/workbook.xml" not in names:
            return "is not an Excel workbook; save it as Excel Workbook (.xlsx)"
    return None


def read_workbooks(folder: Path) -> tuple[dict[str, Sheet], list[dict[str, str]]]:
    """Read every sheet of the contract from the workbooks in ``folder``.

    Args:
        folder: the folder holding accounts.xlsx and devices.xlsx.

    Returns:
        The sheets read, by sheet name, and the findings about files, sheets and
        columns (a sheet with a missing required column is not returned).
    """
    sheets: dict[str, Sheet] = {}
    found: list[dict[str, str]] = []
    for book in WORKBOOKS:
        path = folder / book.filename
        problem = check_file(path)
        if problem is None:
            try:
                wb = CalamineWorkbook.from_path(str(path))
            except Exception as exc:  # calamine raises its own types for broken files
                problem = f"cannot be read ({exc}); save it again from Excel as .xlsx"
        if problem:
            found.append(finding("error", "unreadable-workbook", problem, book.filename))
            continue
        present = {_norm_header(n): n for n in wb.sheet_names}
        for schema in book.sheets:
            real = present.get(_norm_header(schema.name))
            if real is None:
                found.append(
                    finding(
                        "error",
                        "missing-sheet",
                        f'has no sheet "{schema.name}"; add it (charges init writes a template)',
                        book.filename,
                    )
                )
                continue
            rows = wb.get_sheet_by_name(real).to_python(skip_empty_area=False)
            sheet, problems = _frame(book.filename, schema, rows)
            found.extend(problems)
            if sheet is not None:
                sheets[schema.name] = sheet
    return sheets, found


def _frame(workbook: str, schema, rows: list[list[object]]) -> tuple[Sheet | None, list[dict]]:
    found: list[dict[str, str]] = []
    header = rows[0] if rows else []
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        key = _norm_header(h)
        if key and key not in positions:
            positions[key] = i
    wanted = list(schema.columns)
    known = {_norm_header(c) for c in wanted}
    unknown = [str(h).strip() for h in header if _norm_header(h) and _norm_header(h) not in known]
    missing_required = False
    for name, column in schema.columns.items():
        if _norm_header(name) in positions:
            continue
        hint = (
            f"; found unknown columns {', '.join(repr(u) for u in unknown)}: rename the one "
            f'that holds it back to "{name}"'
            if unknown
            else f'; add a column headed "{name}" in row 1'
        )
        if column.metadata["required"]:
            missing_required = True
            found.append(
                finding(
                    "error",
                    "missing-column",
                    f'missing column "{name}"{hint}',
                    workbook,
                    schema.name,
                )
            )
        else:
            found.append(
                finding(
                    "warning",
                    "missing-column",
                    f'missing optional column "{name}" (read as blank){hint}',
                    workbook,
                    schema.name,
                )
            )
    if missing_required:
        return None, found

    letters = {}
    data: dict[str, list[object]] = {}
    body = rows[1:]
    for name in wanted:
        pos = positions.get(_norm_header(name))
        if pos is None:
            data[name] = [None] * len(body)
            letters[name] = "?"
        else:
            data[name] = [_clean(r[pos]) if pos < len(r) else None for r in body]
            letters[name] = column_letter(pos)
    frame = pd.DataFrame(data, index=pd.RangeIndex(2, len(body) + 2), dtype=object)
    # blank rows (all of the contract's cells empty) are not data: Excel users leave them
    frame = frame[frame.notna().any(axis=1)]
    return Sheet(workbook, schema.name, frame, letters), found
