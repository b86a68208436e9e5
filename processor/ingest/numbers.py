"""Numbers in exports: parsed exactly, in the format's own locale, and held at 6 places.

A value is read once, here, and the held value (6 decimal places, half away from zero)
is the one priced, stored, summed and shown everywhere. With ``.`` as the decimal
separator a comma is accepted only as a thousands separator (1,234.50: a first group of
1 to 3 digits not starting with 0, then groups of three); with ``,`` the reverse.
Anything else, and any value whose magnitude is above 10^12, is an error naming the field.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.reasons import excerpt
from schemas.charges import DECIMAL
from schemas.money import EXACT, HELD, LIMIT, QUANTUM

_EXP = r"(?:[eE][+-]?\d{1,6})?"


def _pattern(point: str, group: str) -> re.Pattern:
    p, g = re.escape(point), re.escape(group)
    # ASCII digits only (re.ASCII): "٣" or "３" is no number here, as no code is a code
    return re.compile(
        rf"^[+-]?(?:(?:\d+|[1-9]\d{{0,2}}(?:{g}\d{{3}})+)(?:{p}\d*)?|{p}\d+){_EXP}\Z",
        re.ASCII,
    )


_PATTERNS = {".": _pattern(".", ","), ",": _pattern(",", ".")}


def hold(value: Decimal) -> Decimal:
    """Round to the held 6 decimal places, half away from zero."""
    return value.quantize(QUANTUM, rounding=ROUND_HALF_UP, context=EXACT)


def parse_number(text: str, what: str, separator: str = ".", hint: str = "") -> Decimal | str:
    """The held value of one number, or the error message saying why it is not one.

    Args:
        text: the field's text, stripped.
        what: the field's role in messages (quantity, cost, duration).
        separator: the format's decimal separator, "." or ",".
        hint: where that setting is changed, for the message.
    """
    if not _PATTERNS[separator].match(text):
        other = "," if separator == "." else "."
        if _PATTERNS[other].match(text) and other in text:
            return (
                f'{what} "{excerpt(text)}" is not a number with "{separator}" as the decimal '
                f'separator; if the device writes "{other}" for decimals, {hint or _HINT}'
            )
        return f'{what} "{excerpt(text)}" is not a number'
    group = "," if separator == "." else "."
    plain = text.replace(group, "")
    if separator == ",":
        plain = plain.replace(",", ".")
    try:
        value = Decimal(plain)
    except InvalidOperation:
        return f'{what} "{excerpt(text)}" is not a number'
    if abs(value) > LIMIT:
        return f'{what} "{excerpt(text)}" is out of range (more than 10^12)'
    return hold(value)


_HINT = (
    "describe the export on the Formats sheet with that Decimal Separator (or set it on "
    "the format's row there)"
)


def whole_seconds(value: Decimal) -> int:
    """A held duration as the whole seconds billed (a part second counts as a second)."""
    return int(value.to_integral_value(rounding=ROUND_CEILING))


HELD_DTYPE = DECIMAL


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
