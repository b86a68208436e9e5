"""Time bands: the band each charge is rated in (README "Time bands").

A charge's day type is Holiday when its start date is a holiday at the location, else its
weekday; its band is the one whose Days hold that day type and whose times hold its start
time (From inclusive, To exclusive), on the location's wall clock. Each moment is judged
by its own date. Bands never overlap (``charges validate`` refuses two that do), so a
moment has one band or none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from processor.reference.records import Reference
from schemas.checks import HOLIDAY

_US = 1_000_000  # microseconds a second: start times are compared to the microsecond


def day_types(when: pd.Series, holidays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per start time: its day type (Mon..Sun = 0..6, Holiday = 7), its microseconds after
    midnight, and whether it has a time at all."""
    ts = np.asarray(when.to_numpy(dtype="datetime64[us]"))
    known = ~np.isnat(ts)
    day = ts.astype("datetime64[D]")
    # 1970-01-01 was a Thursday (3, counting Monday as 0)
    weekday = (day.astype(np.int64) + 3) % 7
    if holidays:
        off = np.isin(day, np.array(sorted(holidays), dtype="datetime64[D]"))
        weekday = np.where(off, HOLIDAY, weekday)
    micros = (ts - day).astype("timedelta64[us]").astype(np.int64)
    return weekday, micros, known


def band_of(when: pd.Series, ref: Reference, location: str) -> np.ndarray:
    """Per start time, the name of its band (None where no band holds it)."""
    out = np.full(len(when), None, dtype=object)
    if not ref.band_times or not len(when):
        return out
    day, micros, known = day_types(when, ref.holidays_at(location))
    for row in ref.band_times:
        held = known & np.isin(day, list(row.days))
        inside = np.zeros(len(when), dtype=bool)
        for start, end in row.spans():
            inside |= (micros >= start * _US) & (micros < end * _US)
        out[held & inside] = row.band
    return out


EVENING, MORNING = 20, 7  # out of hours when no band is named: 20:00 to 07:00


def out_of_hours(when: pd.Series, ref: Reference, location: str, bands=None) -> np.ndarray:
    """Per start time, whether it is out of hours (toll-fraud alerts): in the location's
    Out Of Hours Band, or from 20:00 to 07:00 when it names none. ``bands``: the band of
    each time, when the caller has them."""
    named = ref.location(location).out_of_hours
    if named:
        held = band_of(when, ref, location) if bands is None else bands
        target = named.casefold()
        return np.array([isinstance(b, str) and b.casefold() == target for b in held], bool)
    ts = np.asarray(when.to_numpy(dtype="datetime64[us]"))
    known = ~np.isnat(ts)
    hour = (ts - ts.astype("datetime64[D]")).astype("timedelta64[h]").astype(np.int64)
    return known & ((hour >= EVENING) | (hour < MORNING))
