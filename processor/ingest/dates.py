"""Dates and times in exports: the format's layouts, ISO 8601 and what a spreadsheet made of
them, and offsets converted to the location's wall clock."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from processor import arrow


def spreadsheet_dates(day_first: bool) -> tuple[str, ...]:
    """Date layouts an export takes on after a trip through a spreadsheet."""
    dm = ("%d/%m/%Y", "%d/%m/%y") if day_first else ("%m/%d/%Y", "%m/%d/%y")
    out = []
    for d in ("%Y/%m/%d", "%Y-%m-%d", *dm, dm[0].replace("/", "-"), dm[0].replace("/", ".")):
        out += [f"{d} %H:%M:%S", f"{d} %H:%M", d]
    return tuple(out)


_OFFSET = re.compile(r"^(.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(Z|[+-]\d\d:?\d\d)$")


# what _OFFSET needs at the end, for Arrow's RE2 (whose \d is ASCII only; Python's is Nd)
_OFFSET_END = r"(Z|[+-]\p{Nd}\p{Nd}:?\p{Nd}\p{Nd})$"


# the days a charge can fall on: a date outside them is a typo (3026, a placeholder 9999
# or 0001, a two-digit year 69 read as 1969) and the row is unparseable, never billed
EARLIEST, LATEST = pd.Timestamp("1990-01-01"), pd.Timestamp("2100-12-31 23:59:59.999999")


def parse_dates(
    text: pd.Series, formats: tuple[str, ...], time_zone: str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse with each format in turn (each only on what is still unparsed) → NaT if none.

    A timestamp written with an offset (``+02:00``, ``-0500``) or ``Z`` is converted to
    ``time_zone``; with no zone its wall-clock time is kept and the second Series (the
    row's note) says so. Naive timestamps are local time.

    Returns:
        (naive local timestamps, notes or None per row, ``fold``: True where a timestamp
        with an offset is the later of the two moments that share its wall-clock time on
        the night the clock goes back, so that its key tells it from the earlier one).
    """
    fold = pd.Series(False, index=text.index)
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
            # the first moment this wall-clock time names (summer time, where it names two)
            first = (
                local.dt.tz_localize(
                    time_zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT"
                )
                .dt.tz_convert("UTC")
                .dt.tz_localize(None)
            )
            fold.loc[zoned] = (first.notna() & (first != utc)).to_numpy()
        else:
            note[zoned] = [
                f"time zone {z} ignored (the location has no Time Zone): wall-clock time kept"
                for z in offsets
            ]
    return out, note, fold


def _offset_minutes(z: str) -> int:
    if z == "Z":
        return 0
    sign = -1 if z[0] == "-" else 1
    digits = z[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))
