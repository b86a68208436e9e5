"""Rounding money and tax, by the README's rules: half away from zero, to the currency's
minor unit; tax at the product's rate, else the location's, rounded per charge or per
Batch Sheet line as the location's Tax Rounding says."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from schemas.money import EXACT

HUNDRED = Decimal(100)
PER_LINE, PER_CHARGE = "per line", "per charge"  # a location's Tax Rounding, keyed


def round_money(value: Decimal, places: int) -> Decimal:
    """Round half away from zero to the currency's minor unit (never -0)."""
    with localcontext(EXACT):
        out = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return out.copy_abs() if out == 0 else out


def tax_on(net: Decimal, rate: Decimal, places: int) -> Decimal:
    """Tax on a net amount at ``rate`` percent, rounded half away from zero."""
    with localcontext(EXACT):
        return round_money(net * rate / HUNDRED, places)
