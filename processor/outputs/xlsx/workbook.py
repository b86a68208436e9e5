"""Write styled tables to xlsx (I/O edge), with every text cell stored as text.

Spreadsheet libraries turn a string starting with "=" into a formula; here text
from data is always written as a string cell, and cells Excel would re-read as a
formula or a number on edit (= + - @) get a quote prefix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor.findings import column_letter
from processor.outputs.xlsx import sheet_xml

HEADER_COLOUR = "305496"  # header cells: white bold text on this blue


def header_style() -> tuple:
    """openpyxl's (font, fill, alignment) of a header cell, for the workbooks openpyxl
    writes (templates, codes to add); imported here only then, as an import needs none."""
    from openpyxl.styles import Alignment, Font, PatternFill

    return (
        Font(bold=True, color="FFFFFF"),
        PatternFill("solid", fgColor=HEADER_COLOUR),
        Alignment(vertical="center", wrap_text=True),
    )


FORMULA_LEADERS = ("=", "+", "-", "@")
# a CSV cell a spreadsheet would read as a formula (or a DDE call) when it starts with one
# of these: text in every CSV written gets a leading ' as spreadsheets expect
CSV_FORMULA_STARTS = (*FORMULA_LEADERS, "\t", "\r")


@dataclass(frozen=True)
class Col:
    """A column of an output table: header, kind (text, int, money, cost, decimal, date,
    datetime, percent), the most width it grows to, an optional header comment, and
    whether long text wraps (fixed width) rather than widening the column."""

    header: str
    kind: str = "text"
    width: int = 14
    comment: str | None = None
    wrap: bool = False


MIN_WIDTH, MAX_WIDTH = 8, 60


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

    def __init__(self, path: Path, places: int = 2, small: bool = False) -> None:
        """A workbook to be written at ``path``.

        Args:
            path: the .xlsx to write.
            places: decimal places of money cells.
            small: a few hundred rows (a client statement): built in memory, where a large
                workbook streams its rows through temporary files (nine a workbook).
        """
        import xlsxwriter

        self.places = places
        self.path = Path(path)
        self.pending: dict[int, tuple[int, Callable[[], Iterator[bytes]], int | None]] = {}
        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "in_memory": small,
                "constant_memory": not small,
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
                "bg_color": f"#{HEADER_COLOUR}",
                "text_wrap": True,
                "valign": "vcenter",
                "align": "left",
                "indent": 1,
            }
        )
        self.header_right = fmt(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": f"#{HEADER_COLOUR}",
                "text_wrap": True,
                "valign": "vcenter",
                "align": "right",
                "indent": 1,
            }
        )
        # one number format per column; every cell padded (indent) so that a right-aligned
        # number never runs into the left-aligned text beside it
        # (an indent takes effect only with an explicit alignment)
        pad = {"indent": 1, "valign": "top", "align": "left"}
        num = {"indent": 1, "valign": "top", "align": "right"}
        self.text = fmt(pad)
        self.wrapped = fmt({**pad, "text_wrap": True})
        self.quoted = fmt({**pad, "quote_prefix": True})
        self.formats = {
            "money": fmt({**num, "num_format": money_format(places)}),
            # device costs carry more places than money billed: two more, for every row
            "cost": fmt({**num, "num_format": money_format(places + 2)}),
            # quantities as held, without trailing zeros (General shows 1.5, 3, 0.25)
            "decimal": fmt({**num, "num_format": "General"}),
            "int": fmt({**num, "num_format": "0"}),
            "date": fmt({**pad, "num_format": "yyyy-mm-dd"}),
            "datetime": fmt({**pad, "num_format": "yyyy-mm-dd hh:mm:ss"}),
            "percent": fmt({**num, "num_format": "General"}),
        }

    def table(
        self,
        name: str,
        cols: list[Col],
        rows: Iterable[Iterable[object]],
        title: Iterable[str] = (),
        empty: str = "",
        page: str = "",
        printed: int | None = None,
        after: Iterable[Iterable[object]] = (),
    ) -> int:
        """Title lines (if any), header, frozen rows, widths, filters, print setup, rows
        (and ``after`` them, outside the filter: a totals row);
        ``page``: what each printed page's header says (with page x of y at its foot);
        ``printed``: how many columns, from the first, are printed (default: all)."""
        ws = self.book.add_worksheet(name)
        title = list(title)
        widths = _header_widths(cols)
        self._title(ws, title)
        top = len(title)
        self._header(ws, cols, top, page)
        r, count = top, 0
        biggest = [0.0] * len(cols)
        wrap = [i for i, c in enumerate(cols) if c.wrap]
        for r, row in enumerate(rows, start=top + 1):
            count += 1
            if wrap:  # tall enough for its wrapped text (set before the row's cells)
                row = list(row)
                lines = max(
                    -(-len(str(row[i] or "")) // max(int(cols[i].width * 0.85), 1)) for i in wrap
                )
                if lines > 1:
                    ws.set_row(r, 15 * min(lines, 20))
            self._row(ws, r, cols, row, widths, biggest)
        filtered = r
        for row in after:
            r += 1
            self._row(ws, r, cols, row, widths, biggest)
        self._number_widths(widths, biggest)
        if not count and empty:  # an empty table says so in words
            r += 1
            ws.write_string(r, 0, empty, self.text)
            filtered = r
        for i, w in enumerate(widths):
            ws.set_column(i, i, w)
        # a header that wraps in its column gets the height for two lines
        wraps = any(len(c.header) > widths[i] for i, c in enumerate(cols))
        ws.set_row(top, 32 if wraps else None)
        ws.autofilter(top, 0, filtered, len(cols) - 1)
        if printed is not None and printed < len(cols):  # the rest is for the screen
            ws.print_area(0, 0, r, printed - 1)
        return count

    def _row(self, ws, r: int, cols: list[Col], row, widths: list, biggest: list) -> None:
        """One row's cells (missing values left empty), widening ``widths`` for its text and
        ``biggest`` for its numbers; with no worksheet (None), the row is only measured."""
        for i, (c, v) in enumerate(zip(cols, row, strict=True)):
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
                continue
            if c.kind == "text" or isinstance(v, str):
                v = str(v)
                if len(v) > 32_767:  # a cell's limit: never let Excel truncate silently
                    v = v[:32_700] + " … [cut: too long for a cell]"
                if ws is not None:
                    style = self.wrapped if c.wrap else self.text
                    ws.write_string(
                        r, i, v, self.quoted if v.startswith(FORMULA_LEADERS) else style
                    )
                if not c.wrap:
                    widths[i] = max(widths[i], min(len(v) + 3, MAX_WIDTH))
            elif isinstance(v, dt.date):
                if ws is not None:
                    ws.write_datetime(r, i, _plain(v), self.formats[c.kind])
                widths[i] = max(widths[i], 21 if c.kind == "datetime" else 13)
            else:
                f = float(v)
                if ws is not None:
                    ws.write_number(r, i, f, self.formats[c.kind])
                biggest[i] = max(biggest[i], abs(f))  # its width is worked out once

    def _title(self, ws, title: list[str]) -> None:
        bold = self.book.add_format({"bold": True})
        for t, text in enumerate(title):
            ws.write_string(t, 0, text, bold if t == 0 else None)

    def _header(self, ws, cols: list[Col], top: int, page: str = "") -> None:
        """Frozen header row ``top``, print setup, header cells and their comments."""
        ws.freeze_panes(top + 1, 0)
        # printed as people sign batches off: landscape, all columns on one page width,
        # the header row on every page, and page x of y at the foot
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        if page:
            ws.set_header(f"&L{_page_text(page)[:200]}")
        ws.set_footer("&CPage &P of &N")
        for i, c in enumerate(cols):
            # numbers are right-aligned, and so are their headers; text and dates left
            left = c.kind in ("text", "date", "datetime")
            ws.write_string(top, i, c.header, self.header if left else self.header_right)
            if c.comment:
                ws.write_comment(top, i, c.comment)

    def _number_widths(self, widths: list[int], biggest: list[float]) -> None:
        """The widest number a column shows: its largest, at most places + 2."""
        for i, b in enumerate(biggest):
            if b:
                widths[i] = max(widths[i], len(f"{-b:,.{self.places + 2}f}") + 3)

    def arrow_table(
        self,
        name: str,
        cols: list[Col],
        batches: Callable[[], Iterator[list[pa.Array]]],
        empty: str = "",
        title: Iterable[str] = (),
        after: Iterable[Iterable[object]] = (),
        page: str = "",
        printed: int | None = None,
    ) -> int:
        """A table of many rows given as Arrow columns: title, header, widths, filter and
        print setup as ``table``; the rows' XML is made a column at a time (``sheet_xml``)
        and put into the sheet when the book is closed.

        Args:
            batches: called twice (to size the columns, then to write): each time yields
                batches of rows as one Arrow array per column. Text must fit a cell.
            title: lines above the header, the first in bold.
            after: a few rows below the table's (totals), written as ``table`` writes rows.
        """
        ws = self.book.add_worksheet(name)
        title, after = list(title), list(after)
        top = len(title)  # the header's row (0-based)
        widths = _header_widths(cols)
        count = 0
        biggest = [0.0] * len(cols)
        for batch in batches():
            count += len(batch[0])
            for i, (c, values) in enumerate(zip(cols, batch, strict=True)):
                if c.kind == "text" and not c.wrap:
                    longest = pc.max(pc.utf8_length(values)).as_py() or 0
                    widths[i] = max(widths[i], min(longest + 3, MAX_WIDTH))
                elif c.kind in ("date", "datetime"):
                    if values.null_count < len(values):
                        widths[i] = max(widths[i], 21 if c.kind == "datetime" else 13)
                elif c.kind != "text":
                    top_ = pc.max(pc.abs(pc.cast(values, pa.float64()))).as_py() or 0.0
                    biggest[i] = max(biggest[i], top_)
        for row in after:  # written below, once their place is known: measured now
            self._row(None, 0, cols, row, widths, biggest)
        self._number_widths(widths, biggest)
        self._title(ws, title)
        # set before the header is written: constant-memory rows cannot change after
        wraps = any(len(c.header) > widths[i] for i, c in enumerate(cols))
        ws.set_row(top, 32 if wraps else None)
        self._header(ws, cols, top, page)
        if printed is not None and printed < len(cols):  # the rest is for the screen
            ws.print_area(0, 0, max(top + count + len(after), top + 1), printed - 1)
        for i, w in enumerate(widths):
            ws.set_column(i, i, w)
        if not count and not after:
            if empty:
                ws.write_string(top + 1, 0, empty, self.text)
            ws.autofilter(top, 0, top + (1 if empty else 0), len(cols) - 1)
            return 0
        for k, row in enumerate(after):
            self._row(ws, top + 1 + count + k, cols, row, widths, biggest)
        ws.autofilter(top, 0, top + count + len(after), len(cols) - 1)
        if not count:
            return 0
        styles = {k: f._get_xf_index() for k, f in self.formats.items()}
        text, wrapped, quoted = (
            self.text._get_xf_index(),
            self.wrapped._get_xf_index(),
            self.quoted._get_xf_index(),
        )

        def pieces() -> Iterator[bytes]:
            row = top + 2  # the first data row, 1-based
            for batch in batches():
                n = len(batch[0])
                numbers = sheet_xml.row_numbers(row, n)
                cells = []
                heights = np.zeros(n, dtype=np.int64)
                for i, (c, values) in enumerate(zip(cols, batch, strict=True)):
                    ref = sheet_xml.refs(column_letter(i), numbers)
                    if c.kind == "text":
                        cells.append(
                            sheet_xml.text_cells(ref, values, wrapped if c.wrap else text, quoted)
                        )
                        if c.wrap:  # tall enough for its wrapped text
                            size = pc.fill_null(pc.utf8_length(values), 0).to_numpy()
                            lines = -(-size // max(int(c.width * 0.85), 1))
                            heights = np.maximum(
                                heights, np.where(lines > 1, 15 * np.minimum(lines, 20), 0)
                            )
                    else:
                        cells.append(sheet_xml.number_cells(ref, values, styles[c.kind]))
                yield sheet_xml.rows_xml(numbers, cells, heights)
                row += n

        last = top + 1 + count + len(after)  # 1-based
        before = top + 2 + count if after else None  # the rows below come after the data
        self.pending[len(self.book.worksheets())] = (last, pieces, before)
        return count

    def close(self) -> None:
        self.book.close()
        if self.pending:
            sheet_xml.splice(self.path, self.pending)


HEADER_WIDTH = 24  # a header longer than this wraps onto two lines; a shorter one fits


def _header_widths(cols: list[Col]) -> list[int]:
    """Starting widths: the whole header, so none is clipped (a long one: its longest word,
    and it wraps), widened by content, capped; or a wrapped column's fixed width."""
    return [
        c.width
        if c.wrap
        else max(
            MIN_WIDTH,
            len(c.header) + 3
            if len(c.header) <= HEADER_WIDTH
            else max(len(w) for w in c.header.split()) + 3,
        )
        for c in cols
    ]


def _page_text(text: str) -> str:
    """Text for a printed page's header: & starts a code there, so it is doubled."""
    return text.replace("&", "&&")


def _plain(v: dt.date) -> dt.datetime:
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    if not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v
