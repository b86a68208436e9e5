"""The header plan: where each field the format reads is in this file's lines, worked out
once from its header (or the format's own fields), with the limits a line is held to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from processor.errors import ExportError
from processor.ingest.dates import spreadsheet_dates
from processor.ingest.formats.base import Format
from processor.reasons import excerpt


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
    "paper_size",
    "duplex",
)


@dataclass
class Plan:
    """Where each role sits in a row of this file, worked out once from the header."""

    positions: dict[str, int | None]
    match_pos: list[int | None]
    named: dict[str, int | None]
    min_fields: int
    max_fields: int | None  # more is an error, beyond the format's trailing empty fields
    date_formats: tuple[str, ...]
    time_zone: str | None
    hint: str  # where the decimal separator is set, for messages


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


def header_plan(
    path: Path,
    fmt: Format,
    header: list[str],
    match_on: list[str] | tuple,
    day_first: bool,
    time_zone: str | None,
) -> Plan:
    """Where each field is in this file's lines, from its header (or the format's fields).

    Raises:
        ExportError: a column the format needs is missing, or two columns of one name are
            both read.
    """
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
    plan = Plan(
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
    return plan
