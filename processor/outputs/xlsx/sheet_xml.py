"""Worksheet rows as SpreadsheetML, built a column at a time from Arrow arrays (I/O edge).

A sheet of a million unbilled rows written cell by cell through xlsxwriter takes
minutes; here each column becomes its cells' XML in one Arrow pass, and the rows are
spliced into the sheet xlsxwriter wrote (header, widths, filter, styles) when the file
is closed. Text is always an inline string (never a formula); text Excel would re-read as
a formula on edit carries the quote-prefix style, as in ``processor.outputs.xlsx.workbook``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow, threads

EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (1900 date system)
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|_x[0-9A-Fa-f]{4}_"


_SPECIAL = r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|_x[0-9A-Fa-f]{4}_"


def escape(values: pa.Array) -> pa.Array:
    """Text as XML character data: & < > escaped; control characters as Excel's _xHHHH_.
    Only the values that hold such a character are rewritten (most hold none)."""
    needs = arrow.flags(pc.match_substring_regex(values, _SPECIAL))
    if not needs.any():
        return values
    if needs.all():
        return _escaped(values)
    fixed = _escaped(pc.filter(values, pa.array(needs)))
    return pc.replace_with_mask(values, pa.array(needs), fixed)


def _escaped(values: pa.Array) -> pa.Array:
    text = pc.replace_substring(values, "&", "&amp;")
    text = pc.replace_substring(text, "<", "&lt;")
    text = pc.replace_substring(text, ">", "&gt;")
    idx = np.flatnonzero(arrow.flags(pc.match_substring_regex(text, _CONTROL)))
    if len(idx):
        fixed = [_control(v) for v in pc.take(text, pa.array(idx)).to_pylist()]
        mask = np.zeros(len(text), dtype=bool)
        mask[idx] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(fixed, pa.string()))
    return text


def _control(text: str) -> str:
    text = re.sub(r"_x([0-9A-Fa-f]{4})_", r"_x005F_x\1_", text)
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", lambda m: f"_x{ord(m[0]):04X}_", text)


def text_cells(ref: pa.Array, values: pa.Array, style: int, quoted: int) -> pa.Array:
    """Inline-string cells (null where the value is missing)."""
    lead = pc.fill_null(pc.match_substring_regex(values, r"^[=+\-@]"), False)
    s = pc.if_else(lead, pa.scalar(f'" s="{quoted}'), pa.scalar(f'" s="{style}'))
    body = escape(values)
    return pc.binary_join_element_wise(
        '<c r="', ref, s, '" t="inlineStr"><is><t xml:space="preserve">', body, "</t></is></c>", ""
    )


def number_cells(ref: pa.Array, values: pa.Array, style: int) -> pa.Array:
    """Number cells: decimals written exactly as held (Excel reads them as numbers); a
    timestamp as Excel's serial day number, or as ISO text where Excel holds no such date
    (before 1900 or after 9999)."""
    if pa.types.is_timestamp(values.type):
        return _date_cells(ref, values, style)
    text = pc.cast(values, pa.string())
    return pc.binary_join_element_wise('<c r="', ref, f'" s="{style}"><v>', text, "</v></c>", "")


# Excel's 1900 date system counts a 29 February 1900 that never was: serial 60. Days from
# 1 March 1900 on are counted from EPOCH; the two months before it, one day later.
_LEAP_BUG = np.datetime64("1900-03-01")
_FIRST, _LAST = np.datetime64("1900-01-01"), np.datetime64("10000-01-01")


def _date_cells(ref: pa.Array, values: pa.Array, style: int) -> pa.Array:
    unit = values.type.unit
    ticks = np.asarray(
        pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    moments = ticks.astype(f"datetime64[{unit}]")
    per_day = 86_400 * 10 ** _unit_digits(unit)
    epoch = np.datetime64(EPOCH, unit).astype(np.int64)
    days = (ticks - epoch) / per_day  # float64, as Excel holds it (exact to the second)
    days = np.where(moments < _LEAP_BUG, days - 1, days)
    shown = (moments >= _FIRST) & (moments < _LAST)
    serial = pc.cast(pa.array(days), pa.string())  # the shortest text that reads back exact
    number = pc.binary_join_element_wise(
        '<c r="', ref, f'" s="{style}"><v>', serial, "</v></c>", ""
    )
    number = pc.if_else(values.is_valid(), number, pa.scalar(None, pa.string()))
    if shown.all():
        return number
    # a date Excel cannot show (a typed year 0001): its ISO text, never a wrong date
    seconds = pc.cast(values, pa.timestamp("s"), safe=False)
    iso = pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")
    text = pc.binary_join_element_wise(
        '<c r="', ref, '" t="inlineStr"><is><t>', iso, "</t></is></c>", ""
    )
    return pc.if_else(pa.array(shown), number, text)


def _unit_digits(unit: str) -> int:
    return {"s": 0, "ms": 3, "us": 6, "ns": 9}[unit]


def row_numbers(first_row: int, n: int) -> pa.Array:
    """The spreadsheet row numbers of n rows, as text (for row and cell references)."""
    return pc.cast(pa.array(np.arange(first_row, first_row + n)), pa.string())


def rows_xml(
    numbers: pa.Array,
    cells: list[pa.Array],
    heights: np.ndarray | None = None,
) -> bytes:
    """``<row>`` elements for the rows ``numbers`` names (``row_numbers``); null cells are
    left out; ``heights`` (points, 0 for the default) per row."""
    n = len(numbers)
    opening = pc.binary_join_element_wise('<row r="', numbers, '">', "")
    if heights is not None and heights.any():
        tall = pc.binary_join_element_wise(
            '<row r="',
            numbers,
            '" ht="',
            pc.cast(pa.array(heights), pa.string()),
            '" customHeight="1">',
            "",
        )
        opening = pc.if_else(pa.array(heights > 0), tall, opening)
    closing = pa.array(["</row>"] * n, pa.string())
    rows = pc.binary_join_element_wise(opening, *(pc.fill_null(c, "") for c in cells), closing, "")
    return arrow.body(rows).to_pybytes()


def refs(letter: str, numbers: pa.Array) -> pa.Array:
    """Cell references (``B12``) of one column for the rows ``numbers`` names."""
    return pc.binary_join_element_wise(letter, numbers, "")


def splice(path: Path, sheets: dict[int, tuple[int, Callable[[], Iterator[bytes]]]]) -> None:
    """Put generated rows into the sheets of a closed workbook.

    Args:
        path: the .xlsx xlsxwriter wrote.
        sheets: sheet number (1-based) → (the last row's number, a function giving the
            rows' XML in pieces, in order, and the number of the row they go before, or
            None: after every row the sheet has).
    """
    tmp = path.with_name(path.name + ".rows")
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as dst,
    ):
        for info in src.infolist():
            number = _sheet_number(info.filename)
            if number not in sheets:
                with src.open(info) as r, dst.open(_info(info), "w") as w:
                    shutil.copyfileobj(r, w)
                continue
            last, pieces, before = sheets[number]
            xml = src.read(info).decode("utf-8")
            at = _row_at(xml, before)
            head, tail = xml[:at], xml[at:]
            head = re.sub(
                r'<dimension ref="([A-Z]+)1:([A-Z]+)\d+"/>',
                lambda m, last=last: f'<dimension ref="{m[1]}1:{m[2]}{last}"/>',
                head,
                count=1,
            )
            with dst.open(_info(info), "w", force_zip64=True) as w:
                w.write(head.encode("utf-8"))
                threads.consumed(w.write, pieces(), depth=2, name="xlsx-deflate")
                w.write(tail.encode("utf-8"))
    os.replace(tmp, path)


def _row_at(xml: str, before: int | None) -> int:
    """Where the rows go in a sheet's XML: before its first row numbered ``before`` or
    more, else at the end of its sheetData."""
    if before is not None:
        for m in re.finditer(r'<row r="(\d+)"', xml):
            if int(m[1]) >= before:
                return m.start()
    return xml.index("</sheetData>")


LEVEL = 1  # deflate's fastest: higher levels cost far more time than the bytes they save


def _info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    out.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile.open(ZipInfo, "w") takes the level from the ZipInfo, not from the ZipFile
    # (public as ``compress_level`` from Python 3.13; ``_compresslevel`` works in both)
    out._compresslevel = LEVEL
    return out


def _sheet_number(name: str) -> int | None:
    m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", name)
    return int(m[1]) if m else None
