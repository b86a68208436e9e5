"""What unbilled rows would have been billed: each unmatched row of a Unit Price or Tariff
product priced as if it had matched, by the product's own pricing (no account's prices,
no plan), rounded to the currency. An estimate, labelled so wherever it is shown: a row's
account, and so its own prices and allowances, is what is unknown."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from processor.rating import modes
from processor.rating.bands import band_of
from processor.reference.records import Reference
from processor.reports.batch import Batch
from schemas.checks import key

ESTIMATED = ("unit price", "tariff")  # Cost Plus rows show their device cost already


def value_at_stake(batch: Batch, ref: Reference | None) -> pd.Series:
    """Per unmatched row (the frame's order), its estimated net, or None where it has no
    Unit Price or Tariff product, the workbooks are not at hand, or no rate covers it."""
    u = batch.unmatched
    out = np.full(len(u), None, dtype=object)
    if ref is None or not len(u) or "product" not in u:
        return pd.Series(out, index=u.index, dtype=object)
    location = batch.manifest["location"]
    if key(location) not in ref.locations:
        return pd.Series(out, index=u.index, dtype=object)
    places = ref.minor_unit(location)
    products = u["product"].to_numpy(dtype=object)
    for name in pd.unique(products[pd.notna(products)]):
        product = ref.products.get(key(name))
        if product is None or product.pricing not in ESTIMATED:
            continue
        at = np.flatnonzero(products == name)
        rows = u.iloc[at].copy()
        rows["account_id"] = None
        # as the pipeline holds text: None where missing (the batch's Arrow text has NA)
        rows["destination"] = (
            rows["destination"].astype(object).where(rows["destination"].notna(), None)
        )
        rows["band"] = band_of(rows["occurred_at"], ref, location)
        rows["quantity"] = rows["quantity"].fillna(Decimal(0))
        got = modes.get(product.pricing).price(product, rows[modes.READS], ref, places)
        priced = np.ones(len(at), dtype=bool) if got.priced is None else got.priced
        unit = Decimal(1).scaleb(-places)
        rounded = pc.round(got.value, places, round_mode="half_towards_infinity").to_pylist()
        out[at[priced]] = [v.quantize(unit) for v in rounded]
    return pd.Series(out, index=u.index, dtype=object)


def at_stake_by_code(
    batch: Batch, ref: Reference | None, values: pd.Series | None = None
) -> dict[str, Decimal]:
    """The estimated value of each code's unmatched rows (codes with one only);
    ``values``: ``value_at_stake``'s, when the caller has them."""
    values = value_at_stake(batch, ref) if values is None else values
    u = batch.unmatched
    out: dict[str, Decimal] = {}
    for code, v in zip(u["code"], values, strict=True):
        if v is not None and isinstance(code, str):
            out[code] = out.get(code, Decimal(0)) + v
    return out


def total_at_stake(
    batch: Batch, ref: Reference | None, values: pd.Series | None = None
) -> Decimal | None:
    """The estimated value of every unmatched row that has one (None: none has)."""
    values = value_at_stake(batch, ref) if values is None else values
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if known else None


__all__ = ["at_stake_by_code", "total_at_stake", "value_at_stake"]
