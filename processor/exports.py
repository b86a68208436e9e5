"""Read device exports into canonical charge chunks (I/O edge).

Files are streamed in blocks, so memory stays flat however long the export.
Lines end in LF, CRLF or CR alone; a UTF-8 BOM is dropped; a line that is not
valid in the declared encoding is decoded with replacement (or as cp1252 when no
encoding is declared) and flagged in its ``note``. Every line after the header
becomes exactly one row: parsed, or carrying the ``error`` that makes it
unparseable, or the ``skip`` reason of a blank line.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from processor.formats.base import Format

LINE_BREAK = re.compile(rb"\r\n|\r|\n")
BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 50_000
SEEN_CALLS = 200_000  # call ids remembered for de-duplicating the rows of one call


class ExportError(Exception):
    """A whole file cannot be read as its format (the message says why and what to do)."""


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    note: str


def iter_lines(
    path: Path, encoding: str | None, block: int = 1 << 20, done: list[int] | None = None
) -> Iterator[Line]:
    """Decoded lines of a file, numbered from 1, whatever the line endings.

    ``done[0]``, when given, follows the bytes read so far (for progress bars).
    """
    number = 0
    first = True
    buf = b""
    with path.open("rb") as fh:
        while True:
            data = fh.read(block)
            if done is not None:
                done[0] += len(data)
            if first and data.startswith(BOM):
                data = data[len(BOM) :]
            first = False
            if not data:
                break
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
    date_formats: tuple[str, ...]
    # calls already billed (or reported), most recent last; bounded so memory stays flat:
    # the rows of one call sit close together in an export
    seen_calls: dict[str, None] = field(default_factory=dict)


def read_export(
    path: Path,
    fmt: Format,
    match_on: list[str] | tuple,
    chunk_rows: int = CHUNK_ROWS,
    day_first: bool = True,
    done: list[int] | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical chunks of one export file.

    Args:
        path: the export file.
        fmt: its format.
        match_on: the fields carrying the code, in order of preference.
        chunk_rows: rows per chunk.
        day_first: read ambiguous spreadsheet dates (10/02/20) day first.
        done: a one-item list that follows the bytes read (for progress bars).

    Yields:
        Frames with source_file, line, raw, note, error, skip, skip_detail,
        occurred_at, quantity, cost, duration, destination, description, item and
        one ``match_N`` column per Match On field, plus ``field:NAME`` columns for
        the format's named fields.

    Raises:
        ExportError: the file lacks a column the format needs.
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
        names = {" ".join(h.split()).casefold(): i for i, h in enumerate(header)}
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
    plan = _Plan(
        positions=positions,
        match_pos=match_pos,
        named={f: names.get(f.casefold()) for f in fmt.fields},
        min_fields=max(fmt.min_fields or 0, needed),
        # the format's own layouts, then ISO, then what a spreadsheet may have made of it
        date_formats=(*fmt.date_formats, "ISO8601", *spreadsheet_dates(day_first)),
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
    return next(csv.reader((text,), delimiter=fmt.delimiter), [])


def _chunk(path: Path, fmt: Format, batch: list[Line], plan: _Plan) -> pd.DataFrame:
    rows = [_split(fmt, ln.text) for ln in batch]
    n = len(batch)
    error = np.full(n, None, dtype=object)
    skip = np.full(n, None, dtype=object)
    skip_detail = np.full(n, None, dtype=object)
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    blank = np.array([not ln.text.strip() for ln in batch], dtype=bool)
    skip[blank] = "blank-line"
    short = (counts < plan.min_fields) & ~blank
    error[short] = [
        f"has {c} fields; format {fmt.name} needs at least {plan.min_fields}" for c in counts[short]
    ]
    if fmt.max_fields:
        long = (counts > fmt.max_fields) & ~blank
        error[long] = [
            f"has {c} fields; format {fmt.name} has at most {fmt.max_fields}" for c in counts[long]
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
    occurred = parse_dates(date_text, plan.date_formats)
    bad_date = occurred.isna() & ~blank & pd.isna(error)
    error[bad_date.to_numpy()] = [
        f'date "{t}" is not a date in the expected format' if t else "has no date"
        for t in date_text[bad_date].fillna("")
    ]
    frame["occurred_at"] = occurred

    quantity, q_err = parse_decimals(column(positions["quantity"]), default=Decimal(1))
    if positions["quantity_factor"] is not None:
        factor, f_err = parse_decimals(column(positions["quantity_factor"]), default=Decimal(1))
        quantity = [
            q * f if q is not None and f is not None else None
            for q, f in zip(quantity, factor, strict=True)
        ]
        q_err = q_err | f_err
    cost, c_err = parse_decimals(column(positions["cost"]), default=Decimal(0))
    duration, d_err = parse_durations(column(positions["duration"]))
    for mask, what in ((q_err, "quantity"), (c_err, "cost"), (d_err, "duration")):
        m = mask & ~blank & pd.isna(error)
        if m.any():
            error[m] = [f"{what} is not a number" for _ in range(int(m.sum()))]
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
    if fmt.call_id is not None:
        calls = frame[f"field:{fmt.call_id}"].to_numpy()
        for i in np.flatnonzero(pd.isna(error) & pd.isna(skip)):
            call = calls[i]
            if not call:
                continue
            if call in plan.seen_calls:
                skip[i], skip_detail[i] = "duplicate-leg", call
            else:
                plan.seen_calls[call] = None
                if len(plan.seen_calls) > SEEN_CALLS:
                    del plan.seen_calls[next(iter(plan.seen_calls))]
    frame["error"] = error
    frame["skip"] = skip
    frame["skip_detail"] = skip_detail
    return frame


def parse_dates(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Parse with each format in turn (each only on what is still unparsed) → NaT if none."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for f in formats:
        todo = out.isna() & text.notna() & (text != "")
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], errors="coerce", format=f)
        out.loc[todo] = parsed.astype("datetime64[us]")
    return out


def parse_decimals(text: pd.Series, default: Decimal) -> tuple[list, np.ndarray]:
    """Decimal per value (blank → default); a second array marks the bad ones."""
    values = []
    bad = np.zeros(len(text), dtype=bool)
    for i, v in enumerate(text):
        if v is None or v == "":
            values.append(default)
            continue
        try:
            d = Decimal(v.replace(",", "") if v.count(",") and "." in v else v.replace(",", "."))
            if not d.is_finite():
                raise InvalidOperation
            values.append(d)
        except InvalidOperation:
            values.append(None)
            bad[i] = True
    return values, bad


def parse_durations(text: pd.Series) -> tuple[list, np.ndarray]:
    """Seconds from `75`, `75.4`, `01:15` or `00:01:15`; blank → None."""
    values: list[int | None] = []
    bad = np.zeros(len(text), dtype=bool)
    for i, v in enumerate(text):
        if v is None or v == "":
            values.append(None)
            continue
        try:
            if ":" in v:
                parts = [int(p) for p in v.split(":")]
                secs = 0
                for p in parts:
                    secs = secs * 60 + p
                values.append(secs)
            else:
                values.append(int(Decimal(v).to_integral_value(rounding="ROUND_CEILING")))
        except (ValueError, InvalidOperation):
            values.append(None)
            bad[i] = True
    return values, bad
