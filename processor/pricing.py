"""Price matched charges exactly (pure functions, Decimal throughout).

The rules (README "Matching and pricing"):

- the held quantity, cost and duration (6 decimal places, fixed at read time) are priced;
- a charge whose price is below zero before the Minimum Charge is a credit: billed
  negative, never raised; every other charge (zero included) is raised to the minimum;
- each charge's net is rounded half away from zero to the currency's minor unit, and
  ``zero-price`` is judged on that rounded net;
- tax is the product's rate, else the location's. With Tax Rounding ``Per Charge`` each
  charge's tax is rounded on its net; with ``Per Line`` (the default) tax is worked on
  each Batch Sheet line (``processor.batchsheet``) and the charge carries none.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import numpy as np
import pandas as pd

from processor.reference import Product, Rate, Reference
from schemas.checks import key

HUNDRED = Decimal(100)
SIXTY = Decimal(60)
# wide enough that no intermediate product or quotient of held values is ever rounded
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)
PER_LINE, PER_CHARGE = "per line", "per charge"


def round_money(value: Decimal, places: int) -> Decimal:
    """Round half away from zero to the currency's minor unit (never -0)."""
    with localcontext(EXACT):
        out = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return out.copy_abs() if out == 0 else out


def tax_on(net: Decimal, rate: Decimal, places: int) -> Decimal:
    """Tax on a net amount at ``rate`` percent, rounded half away from zero."""
    with localcontext(EXACT):
        return round_money(net * rate / HUNDRED, places)


def find_rate(rates: list[Rate], destination: str | None) -> Rate | None:
    """The rate with the longest prefix of the dialled number (digits only compared)."""
    if not destination:
        return None
    digits = "".join(ch for ch in destination if "0" <= ch <= "9")
    if not digits:
        return None
    for rate in rates:  # sorted longest prefix first
        if digits.startswith(rate.prefix):
            return rate
    return None


def billable_seconds(duration: int | None, rate: Rate) -> int:
    """Raise to the minimum, then round up to a multiple of the increment."""
    secs = max(duration or 0, rate.minimum_seconds)
    return math.ceil(secs / rate.increment_seconds) * rate.increment_seconds


def unrounded(
    product: Product, quantity: Decimal, cost: Decimal, rate: Rate | None, duration: int | None
) -> tuple[Decimal, bool]:
    """The charge before rounding, with the Minimum Charge applied, and whether it is a credit."""
    with localcontext(EXACT):
        if product.pricing == "cost plus":
            value = cost * (1 + product.markup_pct / HUNDRED) + product.markup_fixed
        elif product.pricing == "unit price":
            value = quantity * product.unit_price
        else:
            value = (
                Decimal(billable_seconds(duration, rate)) * rate.per_minute / SIXTY
                + rate.connection
            )
    credit = value < 0
    if not credit and product.minimum is not None and value < product.minimum:
        value = product.minimum
    return value, credit


def price(frame: pd.DataFrame, ref: Reference, location: str) -> pd.DataFrame:
    """Add net, tax_rate, tax and gross to billed rows; unpriceable rows become unmatched.

    Args:
        frame: a matched chunk (status, product, quantity, cost, duration, destination).
        ref: the reference data.
        location: the import's location (its currency, tax rate and tax rounding).

    Returns:
        The frame with net, tax_rate, tax, gross (Decimal, None where not billed; tax and
        gross None on every row when the location rounds tax per line) and with
        ``no-tariff`` and ``zero-price`` rows moved to unmatched.
    """
    out = frame.copy()
    places = ref.minor_unit(location)
    loc = ref.location(location)
    per_charge = loc.tax_rounding == PER_CHARGE
    n = len(out)
    net = np.full(n, None, dtype=object)
    tax_rate = np.full(n, None, dtype=object)
    tax = np.full(n, None, dtype=object)
    gross = np.full(n, None, dtype=object)
    status = out["status"].to_numpy().copy()
    reason = out["reason"].to_numpy().copy()
    detail = out["detail"].to_numpy().copy()
    quantity, cost = out["quantity"].to_numpy(), out["cost"].to_numpy()
    duration, destination = out["duration"].to_numpy(), out["destination"].to_numpy()
    products = out["product"].to_numpy()
    for i in np.flatnonzero(status == "billed"):
        product = ref.products[key(products[i])]
        rate = None
        if product.pricing == "tariff":
            rate = find_rate(ref.tariffs.get(key(product.tariff), []), destination[i])
            if rate is None:
                status[i], reason[i], detail[i] = "unmatched", "no-tariff", product.tariff
                continue
        d = None if pd.isna(duration[i]) else int(duration[i])
        value, _ = unrounded(product, quantity[i], cost[i], rate, d)
        value = round_money(value, places)
        if value == 0 and not product.can_be_zero:
            status[i], reason[i] = "unmatched", "zero-price"
            continue
        r = product.tax_rate if product.tax_rate is not None else loc.tax_rate
        net[i], tax_rate[i] = value, r
        if per_charge:
            t = tax_on(value, r, places)
            tax[i], gross[i] = t, value + t
    out["status"], out["reason"], out["detail"] = status, reason, detail
    out["net"], out["tax_rate"], out["tax"], out["gross"] = net, tax_rate, tax, gross
    return out
