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
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from processor.formats.base import Format
from processor.numbers import LIMIT, excerpt, hold, parse_number, whole_seconds

csv.field_size_limit(sys.maxsize)  # a field of any size is read (device text can be huge)

LINE_BREAK = re.compile(rb"\r\n|\r|\n")
BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 50_000


class ExportError(Exception):
    """A whole file cannot be read as its format (the message says why and what to do)."""


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


def iter_lines(
    path: Path, encoding: str | None, block: int = 1 << 20, done: list[int] | None = None
) -> Iterator[Line]:
    """Decoded lines of a file, numbered from 1, whatever the line endings.

    ``done[0]``, when given, follows the bytes read so far (for progress bars).

    Raises:
        ExportError: the file is not a text export (see ``open_blocks``).
    """
    blocks, encoding = open_blocks(path, encoding, block, done)
    number = 0
    first = True
    buf = b""
    for data in blocks:
        if first and data.startswith(BOM):
            data = data[len(BOM) :]
        first = False
        if not data:
            continue
        buf += data
        # a CR at the end of a block may be the first half of a CRLF: hold it back
        tail = b""
        if buf.endswith(b"\r"):
            buf, tail = buf[:-1], b"\r"
        parts = LINE_BREAK.split(buf)
        buf = parts.pop() + tail
        for raw in parts:
            number += 1
            yield _decode(number, raw, encoding)
    if buf.endswith(b"\r"):
        buf = buf[:-1]
        number += 1
        yield _decode(number, buf, encoding)
    elif buf:
        number += 1
        yield _decode(number, buf, encoding)


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
    lines = iter_lines(path, fmt.encoding, done=done)
    header: list[str] = []
    for _ in range(fmt.header_rows):
        line = next(lines, None)
        if line is None:
            break
        if fmt.title_line and line.number == 1 and line.text.startswith(fmt.title_line):
            line = next(lines, None)  # an optional title above the header
            if line is None:
                break
        header = _split(fmt, line.text)
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

    held: deque[Line] = deque()
    batch: list[Line] = []
    for line in lines:
        held.append(line)
        if len(held) > fmt.footer_rows:
            batch.append(held.popleft())
        if len(batch) >= chunk_rows:
            yield _chunk(path, fmt, batch, plan)
            batch = []
    if batch:
        yield _chunk(path, fmt, batch, plan)


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


def _chunk(path: Path, fmt: Format, batch: list[Line], plan: _Plan) -> pd.DataFrame:
    rows = [_split(fmt, ln.text) for ln in batch]
    n = len(batch)
    error = np.full(n, None, dtype=object)
    skip = np.full(n, None, dtype=object)
    skip_detail = np.full(n, None, dtype=object)
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    # a line of nothing but spaces or NUL padding (some loggers pad their files) is blank
    blank = np.array([not ln.text.strip(" \t\x00") for ln in batch], dtype=bool)
    skip[blank] = "blank-line"
    short = (counts < plan.min_fields) & ~blank
    error[short] = [
        f"has {c} fields; format {fmt.name} needs at least {plan.min_fields}" for c in counts[short]
    ]
    if plan.max_fields:
        # a trailing comma (PaperCut) adds empty fields the format declares; others are data
        # that would shift the columns, so the row is not guessed at
        kept = np.fromiter(
            (_fields_kept(r, plan.max_fields, fmt.trailing_fields) for r in rows),
            dtype=np.int64,
            count=n,
        )
        long = (kept > plan.max_fields) & ~blank & pd.isna(error)
        error[long] = [
            f"has {c} fields, more than the {plan.max_fields} of "
            + ("its header" if fmt.has_header and not fmt.max_fields else f"format {fmt.name}")
            + " (extra fields)"
            for c in counts[long]
        ]
    if fmt.normalise is not None:
        for i in np.flatnonzero(pd.isna(error) & ~blank):
            try:
                rows[i] = fmt.normalise(rows[i])
            except (IndexError, ValueError):
                error[i] = f"cannot be read as format {fmt.name}"

    def column(pos: int | None) -> pd.Series:
        if pos is None:
            return pd.Series([None] * n, dtype=object)
        return pd.Series([r[pos].strip() if pos < len(r) else None for r in rows], dtype=object)

    positions = plan.positions
    frame = pd.DataFrame(
        {
            "source_file": path.name,
            "line": np.fromiter((ln.number for ln in batch), dtype=np.int64, count=n),
            "raw": [ln.text for ln in batch],
            "note": [ln.note or None for ln in batch],
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

    def numbers(role: str, default: Decimal | None) -> tuple[list, list]:
        return parse_decimals(
            column(positions[role]), role, default, fmt.decimal_separator, plan.hint
        )

    quantity, q_err = numbers("quantity", Decimal(1))
    if positions["quantity_factor"] is not None:
        factor, f_err = numbers("quantity_factor", Decimal(1))
        quantity, m_err = multiply(quantity, factor)
        q_err = [a or b or c for a, b, c in zip(q_err, f_err, m_err, strict=True)]
    cost, c_err = numbers("cost", Decimal(0))
    duration, d_err = parse_durations(
        column(positions["duration"]), fmt.decimal_separator, plan.hint
    )
    for problems in (q_err, c_err, d_err):
        for i, problem in enumerate(problems):
            if problem and not blank[i] and error[i] is None:
                error[i] = problem
    frame["quantity"] = [q if q is not None else Decimal(0) for q in quantity]
    frame["cost"] = [c if c is not None else Decimal(0) for c in cost]
    frame["duration"] = pd.array(duration, dtype="Int64")
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
        zero = np.array(
            [q == 0 and c == 0 for q, c in zip(frame["quantity"], frame["cost"], strict=True)],
            dtype=bool,
        )
        zero &= pd.isna(error) & pd.isna(skip)
        skip[zero] = "zero-value"
    frame["error"] = error
    frame["skip"] = skip
    frame["skip_detail"] = skip_detail
    return frame


_OFFSET = re.compile(r"^(.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(Z|[+-]\d\d:?\d\d)$")


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
    parts = text.fillna("").str.extract(_OFFSET)
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


def parse_decimals(
    text: pd.Series, role: str, default: Decimal | None, separator: str = ".", hint: str = ""
) -> tuple[list, list]:
    """Held Decimal per value (blank → default); a second list holds each value's error."""
    what = _ROLE_WORDS.get(role, role)
    values: list = []
    errors: list = []
    for v in text:
        if v is None or v == "":
            values.append(default)
            errors.append(None)
            continue
        got = parse_number(v, what, separator, hint)
        if isinstance(got, str):
            values.append(None)
            errors.append(got)
        else:
            values.append(got)
            errors.append(None)
    return values, errors


_ROLE_WORDS = {"quantity_factor": "copies"}


def multiply(a: list, b: list) -> tuple[list, list]:
    """Held products of two held columns (Pages × Copies), refusing out-of-range results."""
    values, errors = [], []
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            values.append(None)
            errors.append(None)
            continue
        v = hold(x * y)
        if abs(v) > LIMIT:
            values.append(None)
            errors.append(f"quantity {x} × {y} is out of range (more than 10^12)")
        else:
            values.append(v)
            errors.append(None)
    return values, errors


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
