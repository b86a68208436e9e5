"""Cell checks for workbook columns, declared once and run by pandera.

Each check is a vectorised function over a raw column (the values exactly as the
spreadsheet reader returned them: str, int, float, bool, date, datetime; blanks
are already None and pandera skips them). A check's ``name`` is a stable reason
code; ``MESSAGES`` holds the severity and the message template for each code,
so a failure-case table can be turned into sentences without Python objects
per error.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from schemas.currencies import MINOR_UNITS
from schemas.money import LIMIT

# severity, template. Placeholders: {label} (the column's label), {value}
# (the cell's value as the user typed it), {choices}.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_nullable": ("error", "{label} is required; fill it in"),
    "required": ("error", "{label} is required; fill it in"),
    "invalid-characters": (
        "error",
        '{label} "{value}" has characters other than letters and digits',
    ),
    "invalid-login-characters": (
        "error",
        '{label} "{value}" has characters other than letters, digits and . - _ @',
    ),
    "code-stored-as-number": (
        "warning",
        "{label} {value} is stored as a number, so leading zeros may have been lost; "
        "format the column as Text and type the code again",
    ),
    "not-a-number": ("error", '{label} "{value}" is not a number'),
    "negative-number": ("error", "{label} {value} is negative; use 0 or more"),
    "not-a-whole-number": ("error", "{label} {value} is not a whole number of 0 or more"),
    "percent-out-of-range": ("error", "{label} {value} is not a percentage from 0 to 100"),
    "percent-looks-like-fraction": (
        "error",
        "{label} {value} is between 0 and 1: write 20% as 20 (or format the cell as a "
        "percentage, so that it shows 20 %)",
    ),
    "number-too-large": (
        "error",
        "{label} {value} is larger than 1,000,000,000,000; check the cell",
    ),
    "formula-error": (
        "error",
        "{label} holds the formula error {value}; correct the formula in Excel, or type the value",
    ),
    "unknown-time-zone": (
        "error",
        '{label} "{value}" is not an IANA time zone name (e.g. Europe/London)',
    ),
    "not-a-date": (
        "error",
        '{label} "{value}" is not a date; type it as a date such as 2026-01-31',
    ),
    "invalid-choice": ("error", '{label} "{value}" is not one of: {choices}'),
    "unknown-currency": ("error", '{label} "{value}" is not an ISO 4217 currency code (e.g. GBP)'),
    "duplicate": ("error", '{label} "{value}" appears more than once; each must be unique'),
    "bad-column-ref": (
        "error",
        '{label} "{value}" must be a header text or a column position of 1 or more',
    ),
    "bad-delimiter": (
        "error",
        '{label} "{value}" is not one character (or one of: comma, semicolon, tab, pipe)',
    ),
    "unknown-encoding": ("error", '{label} "{value}" is not an encoding Python knows (e.g. utf-8)'),
    "bad-days": (
        "error",
        '{label} "{value}" is not a list of days: use Mon, Tue, Wed, Thu, Fri, Sat, Sun and '
        "Holiday, separated by commas, and ranges in week order such as Mon-Fri",
    ),
    "bad-clock": (
        "error",
        '{label} "{value}" is not a time of day; type it as HH:MM, e.g. 08:00 or 18:30',
    ),
    "bad-invoice-number": (
        "error",
        '{label} "{value}" is not an invoice number pattern: it needs {{account}} or a run '
        "of # (the next number), and may hold {{date}}; no other {{...}}",
    ),
    "bad-date-format": (
        "error",
        '{label} "{value}" is not a date format like %d/%m/%Y %H:%M (strftime codes)',
    ),
}


class CellError(str):
    """A formula error cell (#REF!, #N/A, ...), read as its error text."""


DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "\\t": "\t"}
_LETTERS_DIGITS = re.compile(r"^[A-Za-z0-9]+$")
# a print login or badge id on a Device Import Map: j.smith, jsmith@example.com, badge-0042
LOGIN = re.compile(r"^[A-Za-z0-9._@-]+$")


def as_text(value: object) -> str:
    """Return a cell value as the text a person would see (7.0 → "7")."""
    if type(value) is str:  # the common case, first
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value)


def key(value: object) -> str:
    """How names and codes compare: without case and surrounding spaces."""
    if type(value) is str:
        return _text_key(value)
    return as_text(value).strip().casefold()


# what str.strip() removes (every character whose isspace() is true; a test checks it)
SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _as_texts(values: pd.Series) -> pa_arrow.Array:
    """``as_text`` of each value, as Arrow text (text cells pass as they are)."""
    data = values.to_numpy(dtype=object)
    try:  # text cells and blanks only: converted in C (a number or a NaN is refused)
        return pa_arrow.array(data, pa_arrow.string())
    except (pa_arrow.ArrowTypeError, pa_arrow.ArrowInvalid):
        pass
    is_text = np.fromiter((type(v) is str for v in data), dtype=bool, count=len(data))
    if not is_text.all():
        data = data.copy()
        odd = np.flatnonzero(~is_text)
        data[odd] = [None if data[i] is None else as_text(data[i]) for i in odd]
    return pa_arrow.array(data, pa_arrow.string(), from_pandas=True)


def _stripped(values: pd.Series) -> pa_arrow.Array:
    return pc.utf8_trim(_as_texts(values), SPACE)


def texts(values: pd.Series) -> pd.Series:
    """``as_text`` of a column, stripped, None kept (text cells pass in bulk)."""
    got = _stripped(values).to_numpy(zero_copy_only=False)
    return pd.Series(got, index=values.index, dtype=object)


def keys(values: pd.Series) -> pd.Series:
    """``key`` of a column (None kept), in bulk: ASCII text folds in Arrow, the rest by
    str.casefold (ß → ss)."""
    arr = _stripped(values)
    ascii_ = pc.fill_null(pc.string_is_ascii(arr), True)
    out = pc.utf8_lower(arr).to_numpy(zero_copy_only=False)
    odd = np.flatnonzero(~np.asarray(ascii_.to_numpy(zero_copy_only=False), dtype=bool))
    for i in odd:
        out[i] = out[i] if out[i] is None else arr[int(i)].as_py().casefold()
    return pd.Series(out, index=values.index, dtype=object)


@functools.lru_cache(maxsize=1 << 16)
def _text_key(value: str) -> str:
    # names and codes repeat across sheets and rows: each is folded once
    return value.strip().casefold()


def to_decimal(value: object) -> Decimal | None:
    """Convert a numeric cell (or numeric text) to Decimal, None when it is not a number."""
    if isinstance(value, bool) or value is None or isinstance(value, CellError):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest repr: 0.1 stays 0.1
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def to_date(value: object) -> dt.date | None:
    """Convert a date cell (or ISO text) to a date, None when it is not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                pass
    return None


def to_dates(values) -> list[dt.date | None]:
    """``to_date`` of each value (date and blank cells, nearly all of them, done inline)."""
    return [
        v.date()
        if type(v) is dt.datetime
        else None
        if v is None or type(v) is float
        else to_date(v)
        for v in values
    ]


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
HOLIDAY = 7  # the day type of a holiday; Mon..Sun are 0..6, as Python's weekday()
DAY_SECONDS = 86_400
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)


def to_days(value: object) -> frozenset[int] | None:
    """The day types a Days cell names (Mon..Sun = 0..6, Holiday = 7), None when it is not
    a list of days. Tokens are trimmed and compared without case; a range runs in week
    order (Mon-Fri; Fri-Mon is not a range)."""
    out: set[int] = set()
    for part in as_text(value).split(","):
        names = [_day_index(p.strip().casefold()) for p in part.split("-")]
        if None in names or len(names) > 2:
            return None
        if len(names) == 1:
            out.add(names[0])
        elif HOLIDAY in names or names[0] > names[1]:
            return None
        else:
            out.update(range(names[0], names[1] + 1))
    return frozenset(out) if out else None


def _day_index(token: str) -> int | None:
    full = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
            "saturday": 5, "sunday": 6}  # fmt: skip
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    return full.get(token)


def to_clock(value: object) -> int | None:
    """A time of day as seconds after midnight (24:00 is midnight, 0), None when it is not
    one: an Excel time cell, the text HH:MM (or HH:MM:SS), or a day's fraction (0.75)."""
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return (seconds + round(value.microsecond / 1e6)) % DAY_SECONDS
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        return seconds % DAY_SECONDS if 0 <= seconds <= DAY_SECONDS else None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        fraction = to_decimal(value)
        if fraction is None or not 0 <= fraction <= 1:
            return None
        return int((fraction * DAY_SECONDS).to_integral_value()) % DAY_SECONDS
    if isinstance(value, str):
        m = _CLOCK.match(value.strip())
        if not m:
            return None
        h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if (h, mi, sec) == (24, 0, 0):
            return 0
        if h > 23 or mi > 59 or sec > 59:
            return None
        return h * 3600 + mi * 60 + sec
    return None


def clock_text(seconds: int) -> str:
    """Seconds after midnight as HH:MM (HH:MM:SS when it has seconds)."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def days() -> pa.Check:
    return pa.Check(lambda s: _map(s, lambda v: to_days(v) is not None), name="bad-days")


def clock() -> pa.Check:
    return pa.Check(lambda s: _map(s, lambda v: to_clock(v) is not None), name="bad-clock")


def _map(series: pd.Series, fn) -> pd.Series:
    return pd.Series([fn(v) for v in series], index=series.index, dtype=bool)


def _none_of(series: pd.Series, kinds: tuple[type, ...]) -> pd.Series:
    """True for each value that is not one of ``kinds``: the types present are found in one
    C-level pass, and values are looked at one by one only when a kind is among them."""
    values = series.to_numpy(dtype=object)
    if not any(issubclass(t, kinds) for t in set(map(type, values))):
        return pd.Series(np.ones(len(values), dtype=bool), index=series.index)
    return _map(series, lambda v: not isinstance(v, kinds))


def _matching(pattern: re.Pattern, name: str) -> pa.Check:
    """True for each cell whose text matches ``pattern`` (a column at a time, in Arrow)."""

    def check(s: pd.Series) -> pd.Series:
        text = _as_texts(s)
        ok = pc.fill_null(pc.match_substring_regex(text, pattern.pattern), False)
        return pd.Series(ok.to_numpy(zero_copy_only=False), index=s.index, dtype=bool)

    return pa.Check(check, name=name)


def letters_digits() -> pa.Check:
    """Codes and IDs: letters and digits only."""
    return _matching(_LETTERS_DIGITS, "invalid-characters")


def login_characters() -> pa.Check:
    """Device Import Map codes: letters, digits and . - _ @ (logins, e-mail addresses)."""
    return _matching(LOGIN, "invalid-login-characters")


def stored_as_text() -> pa.Check:
    """A code typed into a number cell loses its leading zeros: warn."""
    return pa.Check(
        lambda s: _none_of(s, (int, float)),
        name="code-stored-as-number",
    )


def no_formula_error() -> pa.Check:
    """A cell holding #REF!, #N/A and the like is named as a formula error."""
    return pa.Check(lambda s: _none_of(s, (CellError,)), name="formula-error")


def time_zone() -> pa.Check:
    def ok(v: object) -> bool:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(as_text(v).strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return False
        return True

    return pa.Check(lambda s: _map(s, ok), name="unknown-time-zone")


def number(minimum: int | None = 0) -> list[pa.Check]:
    checks = [
        pa.Check(lambda s: _map(s, lambda v: to_decimal(v) is not None), name="not-a-number"),
        pa.Check(
            lambda s: _map(s, lambda v: (d := to_decimal(v)) is None or abs(d) <= LIMIT),
            name="number-too-large",
        ),
    ]
    if minimum is not None:
        checks.append(
            pa.Check(
                lambda s: _map(s, lambda v: (d := to_decimal(v)) is None or d >= minimum),
                name="negative-number",
            )
        )
    return checks


def whole_number() -> pa.Check:
    def ok(v: object) -> bool:
        d = to_decimal(v)
        return d is not None and d >= 0 and d == d.to_integral_value()

    return pa.Check(lambda s: _map(s, ok), name="not-a-whole-number")


def percent() -> list[pa.Check]:
    def in_range(v: object) -> bool:
        d = to_decimal(v)
        return d is None or 0 <= d <= 100

    def not_fraction(v: object) -> bool:
        d = to_decimal(v)
        return d is None or not (0 < d < 1)

    return [
        *number(minimum=None),
        pa.Check(lambda s: _map(s, in_range), name="percent-out-of-range"),
        pa.Check(lambda s: _map(s, not_fraction), name="percent-looks-like-fraction"),
    ]


def date() -> pa.Check:
    return pa.Check(lambda s: _map(s, lambda v: to_date(v) is not None), name="not-a-date")


def choice(choices: list[str]) -> pa.Check:
    allowed = {c.casefold() for c in choices}
    return pa.Check(lambda s: keys(s).isin(allowed), name="invalid-choice")


def currency() -> pa.Check:
    return pa.Check(
        lambda s: _map(s, lambda v: as_text(v).strip().upper() in MINOR_UNITS),
        name="unknown-currency",
    )


def unique() -> pa.Check:
    """Unique without regard to case or surrounding spaces; later copies fail."""
    return pa.Check(
        lambda s: ~s.map(key).duplicated(keep="first"),
        name="duplicate",
    )


def column_ref() -> pa.Check:
    def ok(v: object) -> bool:
        if isinstance(v, (int, float)):
            d = to_decimal(v)
            return d is not None and d >= 1 and d == d.to_integral_value()
        return bool(as_text(v).strip())

    return pa.Check(lambda s: _map(s, ok), name="bad-column-ref")


def delimiter() -> pa.Check:
    def ok(v: object) -> bool:
        t = as_text(v)
        return len(t) == 1 or t.strip().casefold() in DELIMITER_NAMES

    return pa.Check(lambda s: _map(s, ok), name="bad-delimiter")


def encoding() -> pa.Check:
    def ok(v: object) -> bool:
        try:
            codecs.lookup(as_text(v).strip())
        except LookupError:
            return False
        return True

    return pa.Check(lambda s: _map(s, ok), name="unknown-encoding")


def date_format() -> pa.Check:
    def ok(v: object) -> bool:
        t = as_text(v)
        if "%" not in t:
            return False
        try:
            dt.datetime(2001, 2, 3, 4, 5, 6).strftime(t)
        except ValueError:
            return False
        return True

    return pa.Check(lambda s: _map(s, ok), name="bad-date-format")


_PATTERN_TOKEN = re.compile(r"\{[^{}]*\}")


def to_invoice_pattern(value: object) -> str | None:
    """An Invoice Number pattern, checked: {date}, {account} and at most one run of #,
    with {account} or # in it (each invoice of an export needs its own number)."""
    text = as_text(value).strip()
    tokens = _PATTERN_TOKEN.findall(text)
    rest = _PATTERN_TOKEN.sub("", text)
    if any(t.casefold() not in ("{date}", "{account}") for t in tokens) or "{" in rest:
        return None
    if "}" in rest or len(re.findall(r"#+", rest)) > 1:
        return None
    if "#" not in rest and "{account}" not in (t.casefold() for t in tokens):
        return None
    return text


def invoice_number() -> pa.Check:
    return pa.Check(
        lambda s: _map(s, lambda v: to_invoice_pattern(v) is not None), name="bad-invoice-number"
    )
