"""Price matched charges exactly (pure functions, Decimal throughout).

Each charge's net is rounded half-up (away from zero) to the currency's minor
unit; tax is the product's rate, else the location's, on that net, rounded the
same way; gross = net + tax. Totals elsewhere are sums of these rounded lines.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from processor.reference import Product, Rate, Reference
from schemas.checks import key

HUNDRED = Decimal(100)
SIXTY = Decimal(60)


def round_money(value: Decimal, places: int) -> Decimal:
    """Round half-up (away from zero) to the currency's minor unit."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def find_rate(rates: list[Rate], destination: str | None) -> Rate | None:
    """The rate with the longest prefix of the dialled number (digits only compared)."""
    if not destination:
        return None
    digits = "".join(ch for ch in destination if ch.isdigit())
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
) -> Decimal:
    """The charge before rounding, with the Minimum Charge applied."""
    if product.pricing == "cost plus":
        value = cost * (1 + product.markup_pct / HUNDRED) + product.markup_fixed
    elif product.pricing == "unit price":
        value = quantity * product.unit_price
    else:
        value = (
            Decimal(billable_seconds(duration, rate)) * rate.per_minute / SIXTY + rate.connection
        )
    if product.minimum is not None and value < product.minimum:
        value = product.minimum
    return value


def price(frame: pd.DataFrame, ref: Reference, location: str) -> pd.DataFrame:
    """Add net, tax_rate, tax and gross to billed rows; unpriceable rows become unmatched.

    Args:
        frame: a matched chunk (status, product, quantity, cost, duration, destination).
        ref: the reference data.
        location: the import's location (its currency and default tax rate).

    Returns:
        The frame with net, tax_rate, tax, gross (Decimal, None where not billed)
        and with ``no-tariff`` and ``zero-price`` rows moved to unmatched.
    """
    out = frame.copy()
    places = ref.minor_unit(location)
    loc_rate = ref.locations[key(location)][2]
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
        value = round_money(unrounded(product, quantity[i], cost[i], rate, d), places)
        if value == 0 and not product.can_be_zero:
            status[i], reason[i] = "unmatched", "zero-price"
            continue
        r = product.tax_rate if product.tax_rate is not None else loc_rate
        t = round_money(value * r / HUNDRED, places)
        net[i], tax_rate[i], tax[i], gross[i] = value, r, t, value + t
    out["status"], out["reason"], out["detail"] = status, reason, detail
    out["net"], out["tax_rate"], out["tax"], out["gross"] = net, tax_rate, tax, gross
    return out
