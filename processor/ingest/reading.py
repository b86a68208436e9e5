"""Read device exports into canonical charge chunks (I/O edge).

Files are streamed in blocks, so memory stays flat however long the export.
Lines end in LF, CRLF or CR alone; a UTF-8 BOM is dropped; UTF-16 with a BOM and
gzip-compressed exports are read; a workbook, an archive or a binary file is refused
with what to do. A line that is not valid in the declared encoding is decoded with
replacement (or as cp1252 when no encoding is declared) and flagged in its ``note``.
Every line after the header becomes exactly one row: parsed, or carrying the ``error``
that makes it unparseable, or the ``skip`` reason of a blank line.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.errors import ExportError
from processor.ingest.formats.base import Format
from processor.ingest.numbers import parse_number, whole_seconds
from processor.reasons import excerpt
from schemas.money import HELD, LIMIT

csv.field_size_limit(sys.maxsize)  # a field of any size is read (device text can be huge)

LINE_BREAK = re.compile(rb"\r\n|\r|\n")
BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 100_000  # larger: more memory; smaller: more per-chunk overhead (measured)


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    note: str


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
SAVE_AS_CSV = "open it in the program that made it and save it as CSV UTF-8, then import that"


def _refuse(head: bytes, path: Path, opened) -> str | None:
    """Why a file that starts with ``head`` is not a text export (None when it is)."""
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(opened(path, "rb")) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            names = []
        if "xl/workbook.xml" in names:
            return (
                "is an Excel workbook (.xlsx), not a text export; open it in Excel, save it as "
                "CSV UTF-8 (File › Save As), and import the .csv"
            )
        return "is a zip archive; unzip it and import the export files inside"
    if head.startswith(OLE_MAGIC):
        return f"is an old Excel (.xls) or other Office file, not a text export; {SAVE_AS_CSV}"
    if head.startswith(b"%PDF"):
        return "is a PDF document, not a text export; export the data from the device as CSV"
    if b"\x00" in head.rstrip(b"\x00"):  # NUL padding at the end of a log is not binary
        evens, odds = head[0::2], head[1::2]
        if head and (odds.count(0) > len(odds) * 0.6 or evens.count(0) > len(evens) * 0.6):
            return (
                'looks like UTF-16 text without a byte-order mark (Excel\'s "Unicode Text" as '
                f"saved by another program); {SAVE_AS_CSV}"
            )
        return (
            "is a binary file, not a text export (it holds NUL bytes); check that you chose "
            "the export file itself"
        )
    return None


def open_blocks(
    path: Path, encoding: str | None, block: int = 1 << 20, done: list[int] | None = None
) -> tuple[Iterator[bytes], str | None]:
    """The file's bytes in blocks (gzip unpacked, UTF-16 turned into UTF-8), and the
    encoding to decode them with.

    Raises:
        ExportError: the file is a workbook, an archive, a PDF or binary.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    opened = open
    if head.startswith(GZIP_MAGIC):
        opened = gzip.open
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
        except (OSError, EOFError, zlib.error):
            raise ExportError(
                f"{path.name}: is a damaged gzip file; copy the export again from the device"
            ) from None
    utf16 = head.startswith(UTF16_BOMS) or (
        encoding is not None and codecs.lookup(encoding).name.startswith("utf-16")
    )
    if not utf16:
        problem = _refuse(head, path, opened)
        if problem:
            raise ExportError(f"{path.name}: {problem}")

    def raw() -> Iterator[bytes]:
        with path.open("rb") as base:
            fh = gzip.GzipFile(fileobj=base) if opened is gzip.open else base
            try:
                while True:
                    data = fh.read(block)
                    if done is not None:
                        done[0] = base.tell()
                    if not data:
                        return
                    yield data
            except (OSError, EOFError, zlib.error):
                raise ExportError(
                    f"{path.name}: is a damaged gzip file (it ends early or is corrupt); copy "
                    "the export again from the device"
                ) from None

    if not utf16:
        return raw(), encoding

    def transcoded() -> Iterator[bytes]:
        # a byte-order mark says what the file is, whatever the Formats sheet declares
        name = "utf-16" if head.startswith(UTF16_BOMS) else encoding
        decoder = codecs.getincrementaldecoder(name)(errors="replace")
        for data in raw():
            yield decoder.decode(data).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")

    return transcoded(), "utf-8"


@dataclass(frozen=True)
class Block:
    """Consecutive lines of a file: the first one's number, their text, their notes."""

    first: int
    texts: pa.StringArray
    notes: list[str] | None  # None: no line has a note

    def __len__(self) -> int:
        return len(self.texts)

    def slice(self, start: int, stop: int | None = None) -> Block:
        stop = len(self) if stop is None else stop
        notes = None if self.notes is None else self.notes[start:stop]
        return Block(self.first + start, self.texts.slice(start, stop - start), notes)


def _joined(blocks: list[Block]) -> Block:
    """Consecutive blocks as one (their lines copied once)."""
    blocks = [b for b in blocks if len(b)] or blocks[:1]
    if len(blocks) == 1:
        return blocks[0]
    notes = None
    if any(b.notes is not None for b in blocks):
        notes = [n for b in blocks for n in (b.notes or [""] * len(b))]
    return Block(blocks[0].first, pa.concat_arrays([b.texts for b in blocks]), notes)


def iter_blocks(
    path: Path,
    encoding: str | None,
    block: int = 1 << 20,
    done: list[int] | None = None,
    piece: int = 8 << 20,
) -> Iterator[Block]:
    """The decoded lines of a file in blocks of about ``piece`` bytes, numbered from 1,
    whatever the line endings.

    ``done[0]``, when given, follows the bytes read so far (for progress bars).

    Raises:
        ExportError: the file is not a text export (see ``open_blocks``).
    """
    blocks, encoding = open_blocks(path, encoding, block, done)
    number = 0
    first = True
    buf = b""
    parts: list[bytes] = []  # joined once a piece is full (+= would copy it each block)
    size = 0
    for data in blocks:
        if first and data.startswith(BOM):
            data = data[len(BOM) :]
        first = False
        parts.append(data)
        size += len(data)
        if size < piece:
            continue
        buf, parts, size = b"".join(parts), [], 0
        # cut after the last line break; a CR at the very end may be half a CRLF
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r", 0, len(buf) - 1))
        head, buf = buf[: cut + 1], buf[cut + 1 :]
        parts, size = [buf], len(buf)
        if cut < 0:
            continue  # one line longer than a piece: read on
        out = _lines(number + 1, head, encoding)
        number += len(out)
        yield out
    buf = b"".join(parts)
    if buf and not buf.endswith(b"\n"):
        buf += b"\n"  # the last line has no break (or ends in a CR alone)
    if buf:
        yield _lines(number + 1, buf, encoding)


def _lines(first: int, piece: bytes, encoding: str | None) -> Block:
    """A piece of a file ending in a line break, as a block of lines."""
    texts = arrow.lines_of(piece, encoding)
    if texts is not None:
        return Block(first, texts, None)
    # the per-line reader: CR-only breaks, bytes not in the encoding (flagged in the note)
    parts = LINE_BREAK.split(piece)
    parts.pop()  # after the final break
    lines = [_decode(first + i, raw, encoding) for i, raw in enumerate(parts)]
    notes = [ln.note for ln in lines]
    return Block(
        first, pa.array([ln.text for ln in lines], pa.string()), notes if any(notes) else None
    )


def _decode(number: int, raw: bytes, encoding: str | None) -> Line:
    try:
        return Line(number, raw.decode(encoding or "utf-8"), "")
    except UnicodeDecodeError:
        if encoding is None:
            return Line(
                number,
                raw.decode("cp1252", errors="replace"),
                "not valid UTF-8; read as Windows-1252",
            )
        return Line(
            number,
            raw.decode(encoding, errors="replace"),
            f"invalid {encoding} bytes replaced with �",
        )


def _optional(ref: str | int | None, fmt: Format) -> bool:
    return isinstance(ref, str) and ref.casefold() in {o.casefold() for o in fmt.optional}


def _resolve(ref: str | int | None, names: dict[str, int], fmt: Format, path: Path) -> int | None:
    if ref is None:
        return None
    if isinstance(ref, int):
        return ref
    if ref.strip().isdigit() and not fmt.fields:
        return int(ref) - 1  # Match On names sheet-format columns by 1-based position
    pos = names.get(" ".join(ref.split()).casefold())
    if pos is None and ref.casefold() in {o.casefold() for o in fmt.optional}:
        return None
    if pos is None:
        raise ExportError(
            f'{path.name}: has no column "{ref}" that format {fmt.name} needs; the columns are: '
            f"{', '.join(names) or '(none)'}. Check the file is a {fmt.name} export, or fix the "
            "format's columns on the Formats sheet"
        )
    return pos


ROLES = (
    "date",
    "time",
    "quantity",
    "quantity_factor",
    "cost",
    "duration",
    "destination",
    "description_field",
    "item",
)


@dataclass
class _Plan:
    """Where each role sits in a row of this file, worked out once from the header."""

    positions: dict[str, int | None]
    match_pos: list[int | None]
    named: dict[str, int | None]
    min_fields: int
    max_fields: int | None  # more is an error, beyond the format's trailing empty fields
    date_formats: tuple[str, ...]
    time_zone: str | None
    hint: str  # where the decimal separator is set, for messages


def read_export(
    path: Path,
    fmt: Format,
    match_on: list[str] | tuple,
    chunk_rows: int = CHUNK_ROWS,
    day_first: bool = True,
    done: list[int] | None = None,
    time_zone: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical chunks of one export file.

    Args:
        path: the export file.
        fmt: its format.
        match_on: the fields carrying the code, in order of preference.
        chunk_rows: rows per chunk.
        day_first: read ambiguous spreadsheet dates (10/02/20) day first.
        done: a one-item list that follows the bytes read (for progress bars).
        time_zone: the location's IANA zone: timestamps with an offset are converted to
            it (None: their wall-clock time is kept, and the row's note says so).

    Yields:
        Frames with source_file, line, raw, note, error, skip, skip_detail,
        occurred_at, quantity, cost, duration, destination, description, item and
        one ``match_N`` column per Match On field, plus ``field:NAME`` columns for
        the format's named fields.

    Raises:
        ExportError: the file is not a text export, lacks a column the format needs, or
            has two columns of one name that the format reads.
    """
    blocks = iter_blocks(path, fmt.encoding, done=done)
    rest = Block(1, pa.array([], pa.string()), None)

    def next_line() -> tuple[int, str] | None:
        nonlocal rest
        while not len(rest):
            got = next(blocks, None)
            if got is None:
                return None
            rest = got
        text = rest.texts[0].as_py()
        number = rest.first
        rest = rest.slice(1)
        return number, text

    header: list[str] = []
    for _ in range(fmt.header_rows):
        line = next_line()
        if line is None:
            break
        if fmt.title_line and line[0] == 1 and line[1].startswith(fmt.title_line):
            line = next_line()  # an optional title above the header
            if line is None:
                break
        header = _split(fmt, line[1])
    if fmt.has_header:
        names = {}
        for i, h in enumerate(header):
            names.setdefault(" ".join(h.split()).casefold(), i)
        if fmt.fields and not header:
            raise ExportError(f"{path.name}: is empty; expected a header line")
    else:
        names = {f.casefold(): i for i, f in enumerate(fmt.fields)}
    positions = {role: _resolve(getattr(fmt, role), names, fmt, path) for role in ROLES}
    match_pos = [_resolve(m, names, fmt, path) for m in match_on]
    required = [
        p
        for role, p in positions.items()
        if p is not None and not _optional(getattr(fmt, role), fmt)
    ]
    needed = max([*required, *[p for p in match_pos if p is not None]], default=0) + 1
    named = {f: names.get(f.casefold()) for f in fmt.fields}
    if fmt.has_header:
        _refuse_duplicate_headers(path, header, {*positions.values(), *match_pos, *named.values()})
    max_fields = fmt.max_fields
    if fmt.has_header and header and not fmt.normalise:
        max_fields = len(header)
        while max_fields > 1 and not header[max_fields - 1].strip():
            max_fields -= 1  # a header with a trailing comma names no column there
    plan = _Plan(
        positions=positions,
        match_pos=match_pos,
        named=named,
        min_fields=max(fmt.min_fields or 0, needed),
        max_fields=max_fields,
        # the format's own layouts, then ISO, then what a spreadsheet may have made of it
        date_formats=(*fmt.date_formats, "ISO8601", *spreadsheet_dates(day_first)),
        time_zone=time_zone,
        hint=(
            f'set Decimal Separator to "{"," if fmt.decimal_separator == "." else "."}" for '
            f"format {fmt.name} on the Formats sheet"
            if fmt.sheet_defined
            else "describe the export on the Formats sheet with that Decimal Separator"
        ),
    )

    # the last footer_rows lines of the file are not data: hold them back to the end
    pending, count = [rest], len(rest)  # blocks joined once a chunk's worth is in
    for got in blocks:
        pending.append(got)
        count += len(got)
        ready = count - fmt.footer_rows
        if ready < chunk_rows:
            continue
        held = _joined(pending)
        for start in range(0, ready - ready % chunk_rows, chunk_rows):
            yield _chunk(path, fmt, held.slice(start, start + chunk_rows), plan)
        pending = [held.slice(ready - ready % chunk_rows)]
        count = len(pending[0])
    held = _joined(pending)
    ready = len(held) - fmt.footer_rows
    for start in range(0, max(ready, 0), chunk_rows):
        yield _chunk(path, fmt, held.slice(start, min(start + chunk_rows, ready)), plan)


def _refuse_duplicate_headers(path: Path, header: list[str], used: set[int | None]) -> None:
    """Two columns of one name are ambiguous: refuse when the format reads that name."""
    first: dict[str, int] = {}
    for i, h in enumerate(header):
        k = " ".join(h.split()).casefold()
        if not k:
            continue
        if k in first and first[k] in used:
            raise ExportError(
                f"{path.name} line 1: columns {first[k] + 1} and {i + 1} are both headed "
                f'"{excerpt(h.strip())}", so it is not clear which to read; rename or remove '
                "one and import again"
            )
        first.setdefault(k, i)


def spreadsheet_dates(day_first: bool) -> tuple[str, ...]:
    """Date layouts an export takes on after a trip through a spreadsheet."""
    dm = ("%d/%m/%Y", "%d/%m/%y") if day_first else ("%m/%d/%Y", "%m/%d/%y")
    out = []
    for d in ("%Y/%m/%d", "%Y-%m-%d", *dm, dm[0].replace("/", "-"), dm[0].replace("/", ".")):
        out += [f"{d} %H:%M:%S", f"{d} %H:%M", d]
    return tuple(out)


def _split(fmt: Format, text: str) -> list[str]:
    if fmt.splitter is not None:
        return fmt.splitter(text)
    # one reader per line: an unbalanced quote must not swallow the lines after it
    try:
        return next(csv.reader((text,), delimiter=fmt.delimiter), [])
    except csv.Error:
        return [text]  # an unreadable line: too few fields, reported as unparseable


def _rows(fmt: Format, block: Block) -> tuple[pa.ListArray | arrow.Columns, np.ndarray]:
    """Every line's fields (csv, or the format's splitter), and how many each has."""
    texts = block.texts
    n = len(texts)
    if fmt.splitter is None:
        lists, slow = arrow.split_fields(texts, fmt.delimiter)
        parts = [(np.flatnonzero(~slow), lists)]
        quoted = np.flatnonzero(slow)
        if len(quoted):  # quoted fields: Arrow's CSV parser, where the quoting is well formed
            every = len(quoted) == n
            some = texts if every else pc.take(texts, pa.array(quoted))
            got, left = arrow.parse_quoted(some, fmt.delimiter)
            if every and isinstance(got, arrow.Columns):  # an Asterisk chunk: one parse
                return got, np.full(n, len(got.cols), dtype=np.int64)
            got = arrow.listed(got)
            parts.append((quoted[~left], pc.filter(got, pa.array(~left))))
            slow = np.zeros(n, dtype=bool)
            slow[quoted[left]] = True
    else:
        parts, slow = [], np.ones(n, dtype=bool)
    idx = np.flatnonzero(slow)
    if len(idx):
        one = pc.take(texts, pa.array(idx)).to_pylist()
        parts.append((idx, pa.array([_split(fmt, t) for t in one], pa.list_(pa.string()))))
    lists = arrow.assemble(n, parts)
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    return lists, counts


def _normalised(
    fmt: Format,
    lists: pa.ListArray | arrow.Columns,
    counts: np.ndarray,
    todo: np.ndarray,
    error: np.ndarray,
) -> tuple[pa.ListArray, np.ndarray]:
    """Rows in the format's field order (``Format.normalise``), where ``todo``."""
    if fmt.positional and todo.any():
        # the layout follows from the field count alone: work it out once per count
        # from placeholder fields, then move whole columns
        width = 0
        plans = {}
        for c in np.unique(counts[todo]):
            try:
                got = fmt.normalise([f"\x00{i}" for i in range(c)])
            except (IndexError, ValueError):
                error[todo & (counts == c)] = f"cannot be read as format {fmt.name}"
                continue
            plans[c] = [int(v[1:]) if _PLACEHOLDER.match(v) else v for v in got]
            width = max(width, len(got))
        mixed = any(isinstance(v, str) and "\x00" in v for p in plans.values() for v in p)
        # a layout that keeps every field where it is (all 21 of cdr_csv) moves nothing
        plans = {c: p for c, p in plans.items() if p != list(range(c))}
        if not plans:
            return lists, counts
        lists = arrow.listed(lists)
        if mixed or len({len(p) for p in plans.values()}) > 1:
            return _normalised_rows(fmt, lists, counts, todo & np.isin(counts, list(plans)), error)
        flat = lists.flatten()
        starts = lists.offsets.to_numpy()[:-1]
        cols = []
        for k in range(width):
            col = np.full(len(lists), -1, dtype=np.int64)
            consts = np.full(len(lists), None, dtype=object)
            for c, plan in plans.items():
                rows = todo & (counts == c)
                if isinstance(plan[k], int):
                    col[rows] = starts[rows] + plan[k]
                else:  # a constant the layout puts there (a blank for an absent field)
                    consts[rows] = plan[k]
            values = pa.array(consts, pa.string())
            if len(flat):
                got = pc.take(flat, pa.array(np.maximum(col, 0)))
                values = pc.if_else(pa.array(col >= 0), got, values)
            cols.append(values)
        rows_idx = np.flatnonzero(todo & np.isin(counts, list(plans)))
        pieces = arrow.as_lists([pc.take(c, pa.array(rows_idx)) for c in cols])
        new_counts = counts.copy()
        new_counts[rows_idx] = width
        return _replaced(lists, rows_idx, pieces), new_counts
    return _normalised_rows(fmt, lists, counts, todo, error)


def _normalised_rows(
    fmt: Format,
    lists: pa.ListArray | arrow.Columns,
    counts: np.ndarray,
    todo: np.ndarray,
    error: np.ndarray,
) -> tuple[pa.ListArray, np.ndarray]:
    """``Format.normalise`` row by row (a layout that depends on the fields' content)."""
    lists = arrow.listed(lists)
    idx = np.flatnonzero(todo)
    fixed: list = []
    for i, row in zip(idx, pc.take(lists, pa.array(idx)).to_pylist(), strict=True):
        try:
            fixed.append(fmt.normalise(row))
        except (IndexError, ValueError):
            fixed.append(row)
            error[i] = f"cannot be read as format {fmt.name}"
    pieces = pa.array(fixed, pa.list_(pa.string()))
    new_counts = counts.copy()
    new_counts[idx] = pc.list_value_length(pieces).to_numpy(zero_copy_only=False)
    return _replaced(lists, idx, pieces), new_counts


def _replaced(lists: pa.ListArray, idx: np.ndarray, pieces: pa.ListArray) -> pa.ListArray:
    """``lists`` with rows ``idx`` replaced by ``pieces`` (in order)."""
    rest = np.ones(len(lists), dtype=bool)
    rest[idx] = False
    kept = (np.flatnonzero(rest), pc.filter(lists, pa.array(rest)))
    return arrow.assemble(len(lists), [kept, (idx, pieces)])


def _chunk(path: Path, fmt: Format, block: Block, plan: _Plan) -> pd.DataFrame:
    n = len(block)
    lists, counts = _rows(fmt, block)
    error = np.full(n, None, dtype=object)
    skip = np.full(n, None, dtype=object)
    skip_detail = np.full(n, None, dtype=object)
    # a line of nothing but spaces or NUL padding (some loggers pad their files) is blank
    # anchored: a line is passed over at its first other character
    blank = arrow.flags(pc.match_substring_regex(block.texts, r"^[ \t\x00]*$"))
    skip[blank] = "blank-line"
    short = (counts < plan.min_fields) & ~blank
    error[short] = [
        f"has {c} fields; format {fmt.name} needs at least {plan.min_fields}" for c in counts[short]
    ]
    if plan.max_fields:
        # a trailing comma (PaperCut) adds empty fields the format declares; others are data
        # that would shift the columns, so the row is not guessed at
        kept = counts.copy()
        for _ in range(fmt.trailing_fields):
            over = (kept > plan.max_fields) & (plan.max_fields + fmt.trailing_fields >= kept)
            if not over.any():
                break
            last = arrow.strip(arrow.take_field(lists, counts, np.where(over, kept - 1, -1)))
            blank_last = arrow.flags(pc.equal(last, ""))
            kept = kept - (over & blank_last)
        long = (kept > plan.max_fields) & ~blank & pd.isna(error)
        error[long] = [
            f"has {c} fields, more than the {plan.max_fields} of "
            + ("its header" if fmt.has_header and not fmt.max_fields else f"format {fmt.name}")
            + " (extra fields)"
            for c in counts[long]
        ]
    if fmt.normalise is not None:
        lists, counts = _normalised(fmt, lists, counts, pd.isna(error) & ~blank, error)

    stripped: dict[int | None, pd.Series] = {}

    def text(pos: int | None) -> pa.StringArray:
        if pos is None:
            return pa.nulls(n, pa.string())
        return arrow.strip(arrow.take_field(lists, counts, pos))

    def column(pos: int | None) -> pd.Series:
        if pos not in stripped:
            stripped[pos] = arrow.series(text(pos))
        return stripped[pos].copy()

    positions = plan.positions
    frame = pd.DataFrame(
        {
            "source_file": path.name,
            "line": np.arange(block.first, block.first + n, dtype=np.int64),
            "raw": arrow.series(block.texts),
            "note": [x or None for x in block.notes] if block.notes else None,
        }
    )
    for f, pos in plan.named.items():
        frame[f"field:{f}"] = column(pos)
    for i, pos in enumerate(plan.match_pos):
        frame[f"match_{i}"] = column(pos)

    # dates
    date_text = column(positions["date"])
    if positions["time"] is not None:
        date_text = (date_text.fillna("") + " " + column(positions["time"]).fillna("")).str.strip()
    occurred, zone_note = parse_dates(date_text, plan.date_formats, plan.time_zone)
    bad_date = occurred.isna() & ~blank & pd.isna(error)
    error[bad_date.to_numpy()] = [
        f'date "{excerpt(t)}" is not a date in the expected format' if t else "has no date"
        for t in date_text[bad_date].fillna("")
    ]
    frame["occurred_at"] = occurred
    if zone_note.notna().any():
        frame["note"] = [
            "; ".join(x for x in (a, b) if isinstance(x, str) and x) or None
            for a, b in zip(frame["note"], zone_note, strict=True)
        ]

    def numbers(role: str, default: Decimal) -> tuple[pa.Array, np.ndarray]:
        return held_numbers(text(positions[role]), role, default, fmt.decimal_separator, plan.hint)

    quantity, q_err = numbers("quantity", Decimal(1))
    if positions["quantity_factor"] is not None:
        factor, f_err = numbers("quantity_factor", Decimal(1))
        quantity, m_err = multiply(quantity, factor)
        q_err = np.where(pd.isna(q_err), np.where(pd.isna(f_err), m_err, f_err), q_err)
    cost, c_err = numbers("cost", Decimal(0))
    duration, d_err = held_durations(text(positions["duration"]), fmt.decimal_separator, plan.hint)
    for problems in (q_err, c_err, d_err):
        take = ~pd.isna(problems) & ~blank & pd.isna(error)
        error[take] = problems[take]
    frame["quantity"] = pd.Series(pc.fill_null(quantity, ZERO_HELD), dtype=HELD_DTYPE)
    frame["cost"] = pd.Series(pc.fill_null(cost, ZERO_HELD), dtype=HELD_DTYPE)
    frame["duration"] = duration
    frame["destination"] = column(positions["destination"])
    frame["description"] = column(positions["description_field"]).fillna("")
    item = column(positions["item"])
    if fmt.item_map:
        item = item.map(lambda v: fmt.item_map.get(v.casefold(), v) if v else v)
    frame["item"] = item

    # rows ignored on purpose: the format's own rules, zero values, further legs of a call
    open_ = pd.isna(error) & pd.isna(skip)
    if fmt.classify is not None:
        reason, detail = fmt.classify(frame)
        take = open_ & reason.notna().to_numpy()
        skip[take], skip_detail[take] = reason[take], detail[take]
    if fmt.ignore_zero:
        zero = (frame["quantity"] == 0).to_numpy(dtype=bool) & (frame["cost"] == 0).to_numpy(
            dtype=bool
        )
        zero &= pd.isna(error) & pd.isna(skip)
        skip[zero] = "zero-value"
    frame["error"] = arrow.from_objects(error)
    frame["skip"] = arrow.from_objects(skip)
    frame["skip_detail"] = arrow.from_objects(skip_detail)
    return frame


_OFFSET = re.compile(r"^(.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(Z|[+-]\d\d:?\d\d)$")
# what _OFFSET needs at the end, for Arrow's RE2 (whose \d is ASCII only; Python's is Nd)
_OFFSET_END = r"(Z|[+-]\p{Nd}\p{Nd}:?\p{Nd}\p{Nd})$"


def parse_dates(
    text: pd.Series, formats: tuple[str, ...], time_zone: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse with each format in turn (each only on what is still unparsed) → NaT if none.

    A timestamp written with an offset (``+02:00``, ``-0500``) or ``Z`` is converted to
    ``time_zone``; with no zone its wall-clock time is kept and the second Series (the
    row's note) says so. Naive timestamps are local time.

    Returns:
        (naive local timestamps, notes or None per row).
    """
    note = pd.Series([None] * len(text), index=text.index, dtype=object)
    parts = pd.DataFrame({0: None, 1: None}, index=text.index, dtype=object)
    # only text ending in an offset can carry one: found in bulk, matched one by one
    ends = pc.match_substring_regex(arrow.plain(text), _OFFSET_END)
    maybe = np.flatnonzero(arrow.flags(ends))
    if len(maybe):
        found = [_OFFSET.match(v) for v in text.iloc[maybe]]
        parts.iloc[maybe, 0] = [m[1] if m else None for m in found]
        parts.iloc[maybe, 1] = [m[2] if m else None for m in found]
    zoned = parts[1].notna()
    if zoned.any():
        text = text.where(~zoned, parts[0])
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for f in formats:
        todo = out.isna() & text.notna() & (text != "")
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], errors="coerce", format=f)
        if getattr(parsed.dt, "tz", None) is not None:  # an offset we did not recognise
            parsed = parsed.dt.tz_localize(None)
        out.loc[todo] = parsed.astype("datetime64[us]")
    zoned &= out.notna()
    if zoned.any():
        offsets = parts.loc[zoned, 1]
        if time_zone:
            minutes = offsets.map(_offset_minutes)
            utc = out[zoned] - pd.to_timedelta(minutes, unit="m")
            local = utc.dt.tz_localize("UTC").dt.tz_convert(time_zone).dt.tz_localize(None)
            out.loc[zoned] = local.astype("datetime64[us]")
        else:
            note[zoned] = [
                f"time zone {z} ignored (the location has no Time Zone): wall-clock time kept"
                for z in offsets
            ]
    return out, note


def _offset_minutes(z: str) -> int:
    if z == "Z":
        return 0
    sign = -1 if z[0] == "-" else 1
    digits = z[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))


def _fields_kept(row: list[str], most: int, trailing: int) -> int:
    """How many fields a row has once up to ``trailing`` empty fields past ``most`` are
    dropped."""
    n = len(row)
    while n > most and most + trailing >= n and not row[n - 1].strip():
        n -= 1
    return n


HELD_DTYPE = pd.ArrowDtype(HELD)
ZERO_HELD = pa.scalar(Decimal(0), HELD)


def held_numbers(
    values: pa.StringArray, role: str, default: Decimal, separator: str = ".", hint: str = ""
) -> tuple[pa.Array, np.ndarray]:
    """Held values (blank → default, null where the value is no number) and each value's
    error. Plain numbers are read in bulk; the rest one by one by ``parse_number``."""
    n = len(values)
    held, blank, slow = arrow.decimals(values, separator)
    errors = np.full(n, None, dtype=object)
    if blank.any():
        held = pc.if_else(pa.array(blank), pa.scalar(default, HELD), held)
    idx = np.flatnonzero(slow)
    if len(idx):
        what = _ROLE_WORDS.get(role, role)
        got = [parse_number(v, what, separator, hint) for v in pc.take(values, idx).to_pylist()]
        full = np.full(n, None, dtype=object)
        for i, g in zip(idx, got, strict=True):
            if isinstance(g, str):
                errors[i] = g
            else:
                full[i] = g
        held = pc.if_else(pa.array(slow), pa.array(full, HELD), held)
    return held, errors


_ROLE_WORDS = {"quantity_factor": "copies"}
_PLACEHOLDER = re.compile(r"\x00\d+\Z")


def multiply(a: pa.Array, b: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Held products of two held columns (Pages × Copies), refusing out-of-range results."""
    product = arrow.multiply_held(a, b)
    limit = pa.scalar(LIMIT, pa.decimal256(76, 6))
    over = pc.fill_null(pc.greater(pc.abs(product), limit), False)
    errors = np.full(len(a), None, dtype=object)
    idx = np.flatnonzero(arrow.flags(over))
    for i in idx:
        x, y = a[int(i)].as_py(), b[int(i)].as_py()
        errors[i] = f"quantity {x} × {y} is out of range (more than 10^12)"
    inside = pc.if_else(over, pa.scalar(None, product.type), product)
    return pc.cast(inside, HELD), errors


def held_durations(
    values: pa.StringArray, separator: str = ".", hint: str = ""
) -> tuple[pd.Series, np.ndarray]:
    """Whole seconds billed per value (blank → missing) and each value's error."""
    secs, blank, slow = arrow.durations(values)
    out = pd.array(secs, dtype="Int64")
    out[blank] = pd.NA
    errors = np.full(len(values), None, dtype=object)
    idx = np.flatnonzero(slow)
    if len(idx):
        one = pd.Series(pc.take(values, idx).to_pylist(), dtype=object)
        got, problems = parse_durations(one, separator, hint)
        for i, v, p in zip(idx, got, problems, strict=True):
            out[i] = pd.NA if v is None else v
            errors[i] = p
    return out, errors


def parse_durations(text: pd.Series, separator: str = ".", hint: str = "") -> tuple[list, list]:
    """Whole seconds billed from `75`, `75.4` (76), `01:15` or `00:01:15`; blank → None."""
    values: list[int | None] = []
    errors: list[str | None] = []
    for v in text:
        if v is None or v == "":
            values.append(None)
            errors.append(None)
            continue
        if ":" in v:
            parts = v.split(":")
            if len(parts) <= 3 and all(p.isascii() and p.isdigit() and len(p) <= 7 for p in parts):
                secs = 0
                for p in parts:
                    secs = secs * 60 + int(p)
                values.append(secs)
                errors.append(None)
            else:
                values.append(None)
                errors.append(f'duration "{excerpt(v)}" is not a number of seconds or H:MM:SS')
            continue
        got = parse_number(v, "duration", separator, hint)
        if isinstance(got, str):
            values.append(None)
            errors.append(got)
        elif got < 0:
            values.append(None)
            errors.append(f'duration "{excerpt(v)}" is negative')
        else:
            values.append(whole_seconds(got))
            errors.append(None)
    return values, errors
