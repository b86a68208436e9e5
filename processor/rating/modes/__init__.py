"""Pricing modes: how a product's rows become charges, one module a mode, found by the
name on the Products sheet's Pricing column (``schemas.workbooks.PRICINGS``).

A mode takes one product's billed rows (a frame of ``READS``: the row's time, account,
destination, duration, quantity and cost) and returns each row's charge before rounding,
with the Minimum Charge applied, exact, and which rows are credits; rows it cannot price
(a call no tariff covers) are named with their reason. Rounding, zero prices and tax are
the same for every mode (``processor.rating.pricing``).
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from importlib import import_module

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.reference.records import Product, Reference
from schemas.checks import key
from schemas.money import EXACT

HUNDRED = Decimal(100)

# what every mode may read of a row
READS = ["occurred_at", "account_id", "destination", "duration", "quantity", "cost", "band"]
NARROW = pa.decimal256(19, 6)  # a held value: below 10^12, at 6 places


@dataclass
class Priced:
    """One product's rows priced by its mode."""

    value: pa.Array  # decimal256, exact: each priced row's charge before rounding
    credit: np.ndarray  # bool: the charge is below zero (billed negative, never raised)
    priced: np.ndarray | None = None  # bool per row given: which got a value (None: all)
    reason: str | None = None  # the reason code of the rows not priced
    detail: object = None  # and what their message names
    # what each priced row uses of an allowance (None: its held quantity); a Tariff call's
    # billable seconds
    usage: np.ndarray | None = None
    # what a client reads of each priced row beside its number: a Tariff rate's Destination
    label: np.ndarray | None = None
    premium: np.ndarray | None = None  # bool per priced row: a premium-rate destination


@dataclass(frozen=True)
class PricingMode:
    """A way of pricing a product's rows."""

    name: str  # as on the Products sheet
    price: Callable[[Product, pd.DataFrame, Reference, int], Priced]


_MODES: dict[str, PricingMode] = {}


def register(mode: PricingMode) -> PricingMode:
    """Add a pricing mode (its module calls this when imported)."""
    _MODES[key(mode.name)] = mode
    return mode


def get(name: str) -> PricingMode:
    """The mode a product's Pricing names (validated: it is one of ``names()``)."""
    _load()
    return _MODES[key(name)]


def names() -> list[str]:
    _load()
    return [m.name for m in _MODES.values()]


def _load() -> None:
    """Import every module of this package once: each registers its mode."""
    if not _MODES:
        for found in pkgutil.iter_modules(__path__):
            import_module(f"{__name__}.{found.name}")


def exact(value: Decimal) -> pa.Scalar:
    """A workbook figure as an exact Arrow decimal of just its own digits."""
    _, digits, exp = value.as_tuple()
    scale = max(-exp, 0)
    precision = max(len(digits) + max(exp, 0), scale, 1) + 1
    return pa.scalar(value, pa.decimal256(precision, scale))


def discounted(product: Product, value: Decimal) -> Decimal:
    """A charge less the account's Discount % (exact)."""
    if not product.discount:
        return value
    with localcontext(EXACT):
        return value * (1 - product.discount / HUNDRED)


def with_minimum(product: Product, value: pa.Array) -> Priced:
    """The price order after a mode's formula (README "Matching and pricing"), in one
    place: less the account's Discount %; a charge below zero is then a credit, billed
    negative and never raised or lowered; the others are raised to the Minimum Charge,
    then lowered to the Maximum Charge. Widened so no digit is lost."""
    if product.discount:
        with localcontext(EXACT):
            share = 1 - product.discount / HUNDRED
        value = pc.multiply(value, exact(share))
    value = pc.cast(value, pa.decimal256(76, max(value.type.scale, 6)))
    credit = arrow.flags(pc.less(value, 0))
    if product.minimum is not None:
        low = pc.and_(pc.invert(pa.array(credit)), pc.less(value, exact(product.minimum)))
        value = pc.if_else(low, pc.cast(exact(product.minimum), value.type), value)
    if product.maximum is not None:
        high = pc.and_(pc.invert(pa.array(credit)), pc.greater(value, exact(product.maximum)))
        value = pc.if_else(high, pc.cast(exact(product.maximum), value.type), value)
    return Priced(value, credit)
