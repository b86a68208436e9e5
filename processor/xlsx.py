"""Write styled tables to xlsx (I/O edge), with every text cell stored as text.

openpyxl turns a string starting with "=" into a formula; here text from data is
always written as a string cell, and cells Excel would re-read as a formula or a
number on edit (= + - @) get a quote prefix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from processor.findings import column_letter

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
HEADER_ALIGN = Alignment(vertical="center", wrap_text=True)
FORMULA_LEADERS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Col:
    """A column of an output table: header, kind (text, int, money, decimal, date,
    datetime, percent), width and an optional header comment."""

    header: str
    kind: str = "text"
    width: int = 14
    comment: str | None = None


def money_format(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places else "")


def text_cell(ws: Worksheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    if value.startswith(FORMULA_LEADERS):
        cell.quotePrefix = True
    return cell


def set_text(cell, value: str) -> None:
    """Store text in a (normal, not write-only) cell as text, never as a formula."""
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_LEADERS):
        cell.quotePrefix = True


def write_table(
    ws: Worksheet, cols: list[Col], rows: Iterable[Iterable[object]], places: int = 2
) -> int:
    """Header, frozen top row, widths, filters, then the rows; returns rows written."""
    for i, c in enumerate(cols):
        ws.column_dimensions[column_letter(i)].width = c.width
    ws.freeze_panes = "A2"
    # printed as people sign batches off: landscape, all columns on one page width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGN
        if c.comment:
            cell.comment = Comment(c.comment, "device-charges")
        header.append(cell)
    ws.append(header)
    formats = {
        "money": money_format(places),
        "decimal": "#,##0.######",
        "int": "0",
        "date": "yyyy-mm-dd",
        "datetime": "yyyy-mm-dd hh:mm:ss",
        "percent": "0.##",
    }
    count = 0
    for row in rows:
        cells = []
        for c, v in zip(cols, row, strict=True):
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
                cells.append(None)
            elif c.kind == "text" or isinstance(v, str):
                cells.append(text_cell(ws, str(v)))
            else:
                cell = WriteOnlyCell(ws, value=_plain(v))
                cell.number_format = formats[c.kind]
                cells.append(cell)
        ws.append(cells)
        count += 1
    ws.auto_filter.ref = f"A1:{column_letter(len(cols) - 1)}{count + 1}"
    return count


def _plain(v: object) -> object:
    if isinstance(v, Decimal | int | float | dt.date | dt.datetime):
        return v
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    return v
