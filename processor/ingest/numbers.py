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

from processor.reasons import excerpt
from schemas.money import EXACT, LIMIT, QUANTUM

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
