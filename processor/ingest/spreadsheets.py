"""Excel device exports (.xlsx, .xlsm, .xls, .ods) read as the lines of a text export.

A format whose Formats › File Type is Excel reads one sheet (Formats › Sheet; blank: the
first) with calamine. Each sheet row becomes one line, numbered as the sheet numbers its
rows, with the cells joined by the format's delimiter (quoted where a cell holds it), so
everything after (header and footer rows, columns by name or position, unparseable rows,
row keys) is what a CSV export gets, and a row's raw text is its cells joined.

Cells become text as the export would have written them:
- a number: the shortest decimal that reads back as the double Excel stored (0.1, never
  0.1000000000000000055...; 12, not 12.0), written with the format's decimal separator;
- a date and time: ISO 8601 (2026-10-01 13:45:07), to the nearest second, as Excel keeps
  dates as day fractions; a date alone: 2026-10-01; a time alone: 13:45:07;
- a duration ([h]:mm:ss): hours, minutes and seconds, 27:01:05;
- TRUE and FALSE; an error cell (#N/A): its text;
- a line break inside a cell: a space (a row stays one line).
Columns are counted from A, so position 1 is column A however the sheet is filled.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from processor.errors import ExportError
from processor.ingest.blocks import Block
from processor.ingest.formats.base import Format

ROWS_A_BLOCK = 50_000
_EXCEL_HELP = "open it in Excel and save it again (File › Save As › Excel Workbook)"


def _number(value: float, separator: str) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))  # 12.0 is 12, and -0.0 is 0
    text = format(Decimal(repr(value)), "f")  # the shortest round-trip, never 1e-07
    return text.replace(".", separator) if separator != "." else text


def _seconds(value: dt.datetime) -> dt.datetime:
    """To the nearest second: Excel holds 13:45:07 as a day fraction that may read back a
    microsecond early."""
    if value.microsecond >= 500_000:
        value += dt.timedelta(seconds=1)
    return value.replace(microsecond=0)


def cell_text(value: object, separator: str = ".") -> str:
    """A cell as the text an export would hold (see the module's notes)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value, separator)
    if isinstance(value, dt.datetime):
        return _seconds(value).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        moment = _seconds(dt.datetime.combine(dt.date(2000, 1, 1), value))
        return moment.time().isoformat()
    if isinstance(value, dt.timedelta):
        total = round(value.total_seconds())
        sign, total = ("-", -total) if total < 0 else ("", total)
        return f"{sign}{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"
    return " ".join(str(value).splitlines())


def _joiner(fmt: Format):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter, lineterminator="")

    def join(cells: list[str]) -> str:
        if not any(cells):
            return ""  # a blank row is a blank line
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    return join


def _sheet(path: Path, fmt: Format):
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine's errors: damaged, encrypted, not a workbook
        detail = str(exc).strip() or type(exc).__name__
        if "password" in detail.casefold() or type(exc).__name__ == "PasswordError":
            raise ExportError(
                f"{path.name}: is protected with a password; {_EXCEL_HELP} without one, "
                "and import that"
            ) from None
        raise ExportError(
            f"{path.name}: cannot be read as an Excel workbook ({detail}), yet format "
            f"{fmt.name} reads Excel files (Formats › File Type); if it is damaged, "
            f"{_EXCEL_HELP}; if it is a text export, set File Type to CSV"
        ) from None
    names = book.sheet_names
    if not names:
        raise ExportError(f"{path.name}: the workbook has no sheet; export it again")
    wanted = fmt.sheet or names[0]
    found = next((n for n in names if n.casefold() == wanted.casefold()), None)
    if found is None:
        raise ExportError(
            f"{path.name}: has no sheet named {wanted!r} (its sheets: "
            f"{', '.join(repr(n) for n in names)}); correct Formats › Sheet for format "
            f"{fmt.name}"
        )
    try:
        return book.get_sheet_by_name(found)
    except Exception as exc:
        raise ExportError(
            f"{path.name}: sheet {found!r} cannot be read ({exc}); {_EXCEL_HELP}"
        ) from None


def sheet_blocks(path: Path, fmt: Format, done: list[int] | None = None) -> Iterator[Block]:
    """The sheet's rows as blocks of lines, numbered from 1 as the sheet's rows are.

    Raises:
        ExportError: the file is not a workbook calamine reads, is protected, or has no
            sheet of that name.
    """
    sheet = _sheet(path, fmt)
    join = _joiner(fmt)
    lead = [""] * sheet.start[1] if sheet.height else []  # columns counted from A
    separator = fmt.decimal_separator
    texts: list[str] = []
    first = 1
    try:
        for row in sheet.iter_rows():
            texts.append(join(lead + [cell_text(v, separator) for v in row]))
            if len(texts) == ROWS_A_BLOCK:
                yield Block(first, pa.array(texts, pa.string()), None)
                first += len(texts)
                texts = []
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(
            f"{path.name}: row {first + len(texts)} of the sheet cannot be read ({exc}); "
            f"{_EXCEL_HELP}"
        ) from None
    if texts:
        yield Block(first, pa.array(texts, pa.string()), None)
    if done is not None:
        done[0] = path.stat().st_size
