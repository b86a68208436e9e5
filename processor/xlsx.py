"""Write styled tables to xlsx (I/O edge), with every text cell stored as text.

Spreadsheet libraries turn a string starting with "=" into a formula; here text
from data is always written as a string cell, and cells Excel would re-read as a
formula or a number on edit (= + - @) get a quote prefix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill

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


def set_text(cell, value: str) -> None:
    """Store text in a (normal, not write-only) cell as text, never as a formula."""
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_LEADERS):
        cell.quotePrefix = True


class TableBook:
    """A workbook of output tables, streamed with xlsxwriter (I/O edge).

    Rows go to disk as they are written (constant memory); data text is never
    read as a formula, a number or a link, and text Excel would re-read as a
    formula on edit (= + - @) carries a quote prefix.
    """

    def __init__(self, path: Path, places: int = 2) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        fmt = self.book.add_format
        self.header = fmt(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": "#305496",
                "text_wrap": True,
                "valign": "vcenter",
            }
        )
        self.header_right = fmt(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": "#305496",
                "text_wrap": True,
                "valign": "vcenter",
                "align": "right",
            }
        )
        self.quoted = fmt({"quote_prefix": True})
        self.formats = {
            "money": fmt({"num_format": money_format(places)}),
            "decimal": fmt({"num_format": "#,##0.######"}),
            "int": fmt({"num_format": "0"}),
            "date": fmt({"num_format": "yyyy-mm-dd", "align": "left"}),
            "datetime": fmt({"num_format": "yyyy-mm-dd hh:mm:ss", "align": "left"}),
            "percent": fmt({"num_format": "0.##"}),
        }

    def table(
        self,
        name: str,
        cols: list[Col],
        rows: Iterable[Iterable[object]],
        title: Iterable[str] = (),
    ) -> int:
        """Title lines (if any), header, frozen rows, widths, filters, print setup, rows."""
        ws = self.book.add_worksheet(name)
        title = list(title)
        bold = self.book.add_format({"bold": True})
        for t, text in enumerate(title):
            ws.write_string(t, 0, text, bold if t == 0 else None)
        top = len(title)
        for i, c in enumerate(cols):
            ws.set_column(i, i, c.width)
        ws.freeze_panes(top + 1, 0)
        # printed as people sign batches off: landscape, all columns on one page width
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        for i, c in enumerate(cols):
            # numbers are right-aligned, and so are their headers; text and dates left
            left = c.kind in ("text", "date", "datetime")
            ws.write_string(top, i, c.header, self.header if left else self.header_right)
            if c.comment:
                ws.write_comment(top, i, c.comment)
        r = top
        for r, row in enumerate(rows, start=top + 1):
            for i, (c, v) in enumerate(zip(cols, row, strict=True)):
                if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
                    continue
                if c.kind == "text" or isinstance(v, str):
                    v = str(v)
                    if len(v) > 32_767:  # a cell's limit: never let Excel truncate silently
                        v = v[:32_700] + " … [cut: too long for a cell]"
                    ws.write_string(r, i, v, self.quoted if v.startswith(FORMULA_LEADERS) else None)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, i, _plain(v), self.formats[c.kind])
                else:
                    ws.write_number(r, i, float(v), self.formats[c.kind])
        ws.autofilter(top, 0, r, len(cols) - 1)
        return r - top

    def close(self) -> None:
        self.book.close()


def _plain(v: dt.date) -> dt.datetime:
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    if not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v
