"""Tariff: a call priced by the tariff's rate for the longest prefix of the number dialled:
billable seconds × Rate Per Minute / 60 + Connection Fee, rounded to the currency."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor.rating.modes import Priced, PricingMode, discounted, register
from processor.reference.records import Product, Rate, Reference
from schemas.checks import key
from schemas.money import EXACT

SIXTY = Decimal(60)
# a per-minute rate over 60 need not end (0.07 × 61 / 60): a charge is held to 20 places,
# where such a value repeats 3s or 6s, so rounding it to the currency is as rounding the
# exact value, and what an allowance leaves of it is worked before rounding
PLACES = 20
_WIDE = pa.decimal256(76, PLACES)
_QUANTUM = Decimal(1).scaleb(-PLACES)


def rate_index(rates: list[Rate], destinations: pa.Array) -> np.ndarray:
    """Per row, the index in ``rates`` (sorted longest prefix first) of the rate with the
    longest prefix of the dialled number's digits; -1 where none (or no digits)."""
    digits = pc.replace_substring_regex(pc.fill_null(destinations, ""), r"[^0-9]", "")
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    found = np.full(len(digits), -1, dtype=np.int64)
    by_length: dict[int, list[int]] = {}
    for i, r in enumerate(rates):
        by_length.setdefault(len(r.prefix), []).append(i)
    for size in sorted(by_length, reverse=True):
        todo = (found < 0) & (length >= max(size, 1))
        if not todo.any():
            continue
        head = pc.utf8_slice_codeunits(digits, 0, size)
        which = by_length[size]
        got = pc.index_in(head, pa.array([rates[i].prefix for i in which], pa.string()))
        pos = pc.fill_null(got, -1).to_numpy(zero_copy_only=False)
        take = todo & (pos >= 0)
        found[take] = np.asarray(which)[pos[take]]
    return found


def billable(duration: np.ndarray, minimum: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Seconds raised to the minimum, then rounded up to a multiple of the increment."""
    secs = np.maximum(duration, minimum)
    return -(-secs // step) * step


def charge(product: Product, rate: Rate, seconds: int) -> tuple[Decimal, bool]:
    """One call's charge before rounding (held to ``PLACES``), and whether it is a credit
    (a negative Connection Fee)."""
    with localcontext(EXACT):
        value = Decimal(seconds) * rate.per_minute / SIXTY + rate.connection
    value = discounted(product, value)
    credit = value < 0
    if not credit and product.minimum is not None and value < product.minimum:
        value = product.minimum
    if not credit and product.maximum is not None and value > product.maximum:
        value = product.maximum
    with localcontext(EXACT):
        return value.quantize(_QUANTUM), credit


def banded_index(rates: list[Rate], destinations: pa.Array, bands: np.ndarray) -> np.ndarray:
    """Per row, the index in ``rates`` of its rate: the longest prefix among the rows whose
    Band is the row's band or blank, a row with the band winning at equal length; -1 where
    none."""
    if not any(r.band for r in rates):
        return rate_index(rates, destinations)
    found = np.full(len(destinations), -1, dtype=np.int64)
    names = np.array([key(b) if b else "" for b in bands], dtype=object)
    for band in pd.unique(names):
        at = np.flatnonzero(names == band)
        # the band's rows before the blank ones, so a prefix given for both is the band's
        usable: dict[str, int] = {}
        for i in sorted(
            (i for i, r in enumerate(rates) if not r.band or key(r.band) == band),
            key=lambda i: not rates[i].band,
        ):
            usable.setdefault(rates[i].prefix, i)
        which = np.array(list(usable.values()), dtype=np.int64)
        got = rate_index([rates[i] for i in which], destinations.take(pa.array(at)))
        found[at] = np.where(got >= 0, which[np.maximum(got, 0)], -1)
    return found


def _unrated(product: Product, rates: list[Rate], bands: np.ndarray) -> object:
    """What a no-tariff message names: the tariff, and the band where the tariff has bands."""
    if not any(r.band for r in rates):
        return product.tariff
    return np.array(
        [
            f"{product.tariff} (time band {b})"
            if b
            else f"{product.tariff} (outside every time band)"
            for b in bands
        ],
        dtype=object,
    )


def price(product: Product, rows: pd.DataFrame, ref: Reference, places: int) -> Priced:
    """Each call's charge, worked once per distinct (rate, billable seconds) by the exact
    rules; calls whose number no rate's prefix begins (in their band) are ``no-tariff``."""
    rates = ref.tariffs.get(key(product.tariff), [])
    bands = (
        rows["band"].to_numpy(dtype=object)
        if "band" in rows
        else np.full(len(rows), None, dtype=object)
    )
    found = banded_index(rates, pa.array(rows["destination"].to_numpy(), pa.string()), bands)
    priced = found >= 0
    idx = found[priced]
    duration = rows["duration"].to_numpy(dtype="float64", na_value=0).astype(np.int64)[priced]
    minimum = np.array([r.minimum_seconds for r in rates], dtype=np.int64)[idx]
    step = np.array([r.increment_seconds for r in rates], dtype=np.int64)[idx]
    seconds = billable(duration, minimum, step)
    pairs, inverse = np.unique(np.stack([idx, seconds]), axis=1, return_inverse=True)
    worked = [
        charge(product, rates[int(i)], int(s)) for i, s in zip(pairs[0], pairs[1], strict=True)
    ]
    values = pa.array([v for v, _ in worked], _WIDE).take(pa.array(inverse.ravel()))
    credit = np.array([c for _, c in worked], dtype=bool)[inverse.ravel()]
    usage = seconds
    unrated = _unrated(product, rates, bands)
    if isinstance(unrated, np.ndarray):
        unrated = unrated[~priced]
    names = np.array([r.destination for r in rates] or [""], dtype=object)[idx]
    premium = np.array([r.premium for r in rates] or [False], dtype=bool)[idx]
    return Priced(
        values, credit, priced, "no-tariff", unrated, usage=usage, label=names, premium=premium
    )


MODE = register(PricingMode("Tariff", price))
