"""Arrow kernels for reading exports: lines, fields, numbers and durations, a block at a time.

Each function takes the common case in bulk (pyarrow compute, numpy) and says which rows
it could not take, so the caller hands just those to the exact per-row rules in
``processor.numbers`` and ``processor.ingest``. The bulk path accepts only text that the
per-row rules read the same way, so a row's value and message never depend on the path.
"""

from __future__ import annotations

import csv
import functools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from schemas import checks
from schemas.money import HELD

# what str.strip() removes: the per-row rules strip fields with it
SPACE = checks.SPACE
_WIDE = pa.decimal128(38, 14)  # 12 integer digits + 14 decimals: held exactly, then rounded
_SIMPLE = {
    # 1 to 12 integer digits (below 10^12, so never out of range) and up to 14 decimals
    ".": r"^[+-]?[0-9]{1,12}(\.[0-9]{1,14})?$",
    ",": r"^[+-]?[0-9]{1,12}(,[0-9]{1,14})?$",
}
_UTF8 = {"utf-8", "utf_8", "utf8"}


def lines_of(piece: bytes, encoding: str | None) -> pa.StringArray | None:
    """The lines of a piece of a file that ends with a line break, as one Arrow array.

    Returns None when the piece needs the per-line reader: a CR alone as a line break, a
    declared encoding other than UTF-8 that does not decode, or bytes that are not UTF-8
    (those lines get a note there).
    """
    if b"\r" in piece and piece.count(b"\r") != piece.count(b"\r\n"):
        return None  # (most exports have no CR at all: one memchr says so)
    if encoding is not None and encoding.lower().replace("-", "_") not in _UTF8:
        try:
            piece = piece.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError):
            return None
    data = np.frombuffer(piece, dtype=np.uint8)
    ends = np.flatnonzero(data == 10) + 1
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    arr = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(piece))
    try:
        arr.validate(full=True)  # UTF-8 throughout
    except pa.ArrowInvalid:
        return None
    # every CR here is the first half of a CRLF, so trimming CR and LF takes just the break
    return pc.utf8_rtrim(arr, characters="\r\n").cast(pa.string())


def split_fields(texts: pa.StringArray, delimiter: str) -> tuple[pa.ListArray, np.ndarray]:
    """Fields of the lines split at the delimiter, and a mask of the lines left out.

    Lines with a quote or a NUL are left out (for Arrow's CSV parser or the csv module:
    quoting rules, csv's refusal of NUL); the lists are those of the other lines, in
    order. An empty line has no fields (as csv says).
    """
    # a line that starts with a quote has one (Asterisk quotes every field): only the
    # others are searched through
    slow_np = flags(pc.starts_with(texts, '"'))
    rest = np.flatnonzero(~slow_np)
    if len(rest):
        others = texts if len(rest) == len(texts) else pc.take(texts, pa.array(rest))
        found = pc.or_(pc.match_substring(others, '"'), pc.match_substring(others, "\x00"))
        slow_np[rest] = flags(found)
    slow = pa.array(slow_np)
    plain = pc.filter(texts, pc.invert(slow)) if slow_np.any() else texts
    lists = pc.split_pattern(plain, delimiter)
    empty = pc.equal(plain, "")
    if pc.any(empty).as_py():
        lists = pc.if_else(empty, pa.scalar([], pa.list_(pa.string())), lists)
    return lists, slow_np


def _wellformed(delimiter: str) -> str:
    """A line of fields each plain (no quote) or wholly quoted with quotes doubled inside:
    the lines csv and Arrow's CSV parser read the same way."""
    d = re.escape(delimiter)
    field = rf'(?:[^"{d}\x00]*|"(?:[^"\x00]|"")*")'
    return rf"^{field}(?:{d}{field})*$"


def parse_quoted(
    texts: pa.StringArray, delimiter: str
) -> tuple[pa.ListArray | Columns, np.ndarray]:
    """Fields of lines with quoted fields, by Arrow's CSV parser.

    The lines are parsed with the field count of the first; the parser reports each line
    with another count, and those are parsed again with theirs.

    Returns:
        (the fields of each line, empty where not taken: as ``Columns`` when one parse took
        every line, as an Asterisk chunk is; a mask of the lines left to the csv module:
        quoting that is not well formed)
    """
    n = len(texts)
    good = pc.fill_null(pc.match_substring_regex(texts, _wellformed(delimiter)), False)
    good_np = flags(good)
    parts: list[tuple[np.ndarray, list[pa.Array]]] = []  # rows, their columns
    todo = [np.flatnonzero(good_np)]
    while todo:
        rows = todo.pop()
        if not len(rows):
            continue
        lines = pc.take(texts, pa.array(rows))
        width = len(next(csv.reader([lines[0].as_py()], delimiter=delimiter)))
        got = _read_csv(lines, width, delimiter)
        if got is None:  # the parser did not say which lines: csv reads them
            good_np[rows] = False
            continue
        table, other = got
        keep = np.ones(len(rows), dtype=bool)
        keep[list(other)] = False
        if table.num_rows != int(keep.sum()):
            good_np[rows] = False
            continue
        cols = [table.column(i).combine_chunks().cast(pa.string()) for i in range(width)]
        parts.append((rows[keep], cols))
        for count in set(other.values()):
            todo.append(rows[[i for i, c in other.items() if c == count]])
    if len(parts) == 1 and len(parts[0][0]) == n:  # one parse, every line: columns as they are
        return Columns(parts[0][1]), ~good_np
    return assemble(n, [(rows, as_lists(cols)) for rows, cols in parts]), ~good_np


class Columns:
    """Lines that one parse read into columns of one width. A field is a column, taken
    without a copy; the lists (row by row) are built only if a step needs them."""

    def __init__(self, cols: list[pa.Array]) -> None:
        self.cols = cols

    def __len__(self) -> int:
        return len(self.cols[0])

    @functools.cached_property
    def lists(self) -> pa.ListArray:
        return as_lists(self.cols)

    def __getitem__(self, i: int):
        return self.lists[i]

    def to_pylist(self) -> list:
        return self.lists.to_pylist()


def listed(fields: pa.ListArray | Columns) -> pa.ListArray:
    """Fields row by row, whichever way they are held."""
    return fields.lists if isinstance(fields, Columns) else fields


def _read_csv(
    lines: pa.StringArray, width: int, delimiter: str
) -> tuple[pa.Table, dict[int, int]] | None:
    """The lines as a table of ``width`` text columns, and {line index: its field count}
    for the lines of another count (left out); None if the parser cannot say which."""
    other: dict[int, int] = {}
    unknown = []

    def elsewhere(row) -> str:
        if row.number is None:
            unknown.append(row)
        else:
            other[row.number - 1] = row.actual_columns
        return "skip"

    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(_joined(lines, "\n")),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=elsewhere,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return None if unknown else (table, other)


def _joined(texts: pa.StringArray, end: str) -> pa.Buffer:
    """The texts one after another, each followed by ``end``, as one buffer (no Python
    string per line)."""
    return body(pc.binary_join_element_wise(texts, pa.scalar(""), end))


def body(values: pa.Array) -> pa.Buffer:
    """The bytes of an array's strings (or binaries) end to end: a slice of its data
    buffer, no copy and no Python object per value."""
    text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    large = values.cast(pa.large_string() if text else pa.large_binary())
    _, offsets, data = large.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64)[large.offset :][: len(large) + 1]
    if data is None or not len(large):
        return pa.py_buffer(b"")
    return data[int(ends[0]) : int(ends[-1])]


def as_lists(cols: list[pa.Array]) -> pa.ListArray:
    """Rows of equal-length columns as lists (row i: cols[0][i], cols[1][i], ...)."""
    width, n = len(cols), len(cols[0])
    both = pa.concat_arrays([c.cast(pa.string()) for c in cols])
    order = (np.arange(width)[None, :] * n + np.arange(n)[:, None]).ravel()
    offsets = pa.array(np.arange(0, (n + 1) * width, width), pa.int32())
    return pa.ListArray.from_arrays(offsets, pc.take(both, pa.array(order)))


def scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]], fill: pa.Scalar) -> pa.Array:
    """n rows from (row indices, values) parts, in row order; rows in no part get ``fill``.

    The one way every step puts rows worked apart (by path, product or reason) back in
    their lines' order.
    """
    parts = [(idx, values) for idx, values in parts if len(idx)]
    if len(parts) == 1 and len(parts[0][0]) == n:  # one part, all rows in order: as it is
        return parts[0][1].cast(fill.type)
    order = np.zeros(n, dtype=np.int64)
    pieces = [pa.array([fill.as_py()], fill.type)]
    at = 1
    for idx, values in parts:
        order[idx] = at + np.arange(len(idx))
        pieces.append(values.cast(fill.type))
        at += len(idx)
    return pc.take(pa.concat_arrays(pieces), pa.array(order))


NO_FIELDS = pa.scalar([], pa.list_(pa.string()))


def assemble(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.ListArray:
    """n rows of lists from (row indices, lists) parts; rows in no part are empty."""
    return scatter(n, parts, NO_FIELDS)


def take_field(
    lists: pa.ListArray | Columns, counts: np.ndarray, pos: int | np.ndarray
) -> pa.StringArray:
    """Field ``pos`` of each row, or field ``pos[i]`` of row i (null where the row is
    shorter)."""
    if isinstance(lists, Columns):
        if isinstance(pos, int | np.integer):  # every row has every column
            inside = 0 <= pos < len(lists.cols)
            return lists.cols[pos] if inside else pa.nulls(len(lists), pa.string())
        lists = lists.lists
    flat = lists.flatten()
    starts = lists.offsets.to_numpy()[:-1]
    has = (counts > pos) & (np.asarray(pos) >= 0)
    idx = np.where(has, starts + pos, 0)
    if not len(flat):
        return pa.nulls(len(lists), pa.string())
    got = pc.take(flat, pa.array(idx))
    return pc.if_else(pa.array(has), got, pa.scalar(None, pa.string()))


def factorize(values: pa.Array) -> tuple[np.ndarray, list]:
    """Each value as an index into its distinct values (-1 where null), and those values:
    a dictionary encoding in C, so that work a value is done once a distinct value."""
    encoded = pc.dictionary_encode(values)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return np.asarray(codes, dtype=np.int64), encoded.dictionary.to_pylist()


def flags(values: pa.Array, null: bool = False) -> np.ndarray:
    """A boolean Arrow column as a numpy mask (``null`` where it is null)."""
    return np.asarray(pc.fill_null(values, null).to_numpy(zero_copy_only=False), dtype=bool)


def series(values: pa.Array, index: pd.Index | None = None) -> pd.Series:
    """Arrow strings as a pandas ``str`` column, without a copy (pandas would otherwise
    turn Python strings back into Arrow, about a second a million rows)."""
    return pd.Series(pd.array(values, dtype="str"), index=index)


def from_objects(values: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Python strings (None or NaN where missing) as a pandas ``str`` column, converted by
    Arrow in C: two to four times faster than pandas' own conversion."""
    try:
        return series(pa.array(values, pa.string(), from_pandas=True), index)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all text: as pandas would have it
        return pd.Series(values, index=index)


def text(values: pd.Series) -> pa.StringArray:
    """A column of text as Arrow strings, null where missing or not text."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        got = pa.array(values.array)  # held as Arrow already: no copy
        got = got.combine_chunks() if isinstance(got, pa.ChunkedArray) else got
        return got if got.type == pa.string() else got.cast(pa.string())
    data = values.to_numpy(dtype=object)
    try:
        return pa.array(data, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if isinstance(v, str) else None for v in data], type=pa.string())


def plain(values: pd.Series) -> pa.StringArray:
    """``text`` with '' where missing."""
    return pc.fill_null(text(values), "")


def strip(values: pa.StringArray) -> pa.StringArray:
    """str.strip() on every value."""
    return pc.utf8_trim(values, characters=SPACE)


def decimals(
    values: pa.StringArray, separator: str
) -> tuple[pa.Decimal128Array, np.ndarray, np.ndarray]:
    """Held values (6 places, half away from zero) of plain numbers like ``-12.5``.

    Args:
        values: stripped text, null or empty where the field is blank.
        separator: the format's decimal separator.

    Returns:
        (held values, null where not taken; a mask of blank values; a mask of values left
        to the per-row parser: thousands separators, exponents, other separators, words)
    """
    blank = pc.fill_null(pc.equal(values, ""), True)
    simple = pc.fill_null(pc.match_substring_regex(values, _SIMPLE[separator]), False)
    text = pc.if_else(simple, values, pa.scalar(None, pa.string()))
    if separator == ",":
        text = pc.replace_substring(text, ",", ".")
    wide = pc.cast(text, _WIDE)
    held = pc.cast(pc.round(wide, 6, round_mode="half_towards_infinity"), HELD)
    blank_np = flags(blank)
    simple_np = flags(simple)
    return held, blank_np, ~blank_np & ~simple_np


def multiply_held(a: pa.Array, b: pa.Array) -> pa.Array:
    """a × b held at 6 places, exactly (decimal256 so no digit is lost on the way)."""
    narrow = pa.decimal256(19, 6)  # a held value below 10^12 has at most 19 digits
    product = pc.multiply(pc.cast(a, narrow), pc.cast(b, narrow))
    rounded = pc.round(product, 6, round_mode="half_towards_infinity")
    return pc.cast(rounded, pa.decimal256(76, 6))


_CLOCK = re.compile(r"^[0-9]{1,7}(:[0-9]{1,7}){1,2}$")


def durations(values: pa.StringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole seconds of ``75`` and ``H:MM:SS`` / ``MM:SS`` durations.

    Returns:
        (seconds as int64, a mask of blank values, a mask of values left to the per-row
        parser: decimals, negative numbers, words)
    """
    n = len(values)
    blank = flags(pc.equal(values, ""), null=True)
    whole = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{1,12}$"), False)
    clock = pc.fill_null(pc.match_substring_regex(values, _CLOCK.pattern), False)
    secs = np.zeros(n, dtype=np.int64)
    whole_np = flags(whole)
    if whole_np.any():
        got = pc.cast(pc.if_else(whole, values, "0"), pa.int64())
        secs[whole_np] = got.to_numpy()[whole_np]
    clock_np = flags(clock)
    if clock_np.any():
        parts = pc.split_pattern(pc.if_else(clock, values, "0"), ":")
        counts = pc.list_value_length(parts).to_numpy()
        flat = pc.cast(parts.flatten(), pa.int64()).to_numpy()
        starts = parts.offsets.to_numpy()[:-1]
        total = np.zeros(n, dtype=np.int64)
        for k in range(3):
            has = counts > k
            part = np.where(has, flat[np.where(has, starts + k, 0)], 0)
            total = np.where(has, total * 60 + part, total)
        secs[clock_np] = total[clock_np]
    return secs, blank, ~blank & ~whole_np & ~clock_np
