"""What unbilled rows would have been billed: each row of a Unit Price or Tariff product
priced as if it had matched, by the product's own pricing (no account's prices, no plan),
rounded to the currency. An estimate, labelled so wherever it is shown: a row's account,
and so its own prices and allowances, is what is unknown. Cost Plus rows show their
device cost already, so they have none."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from processor.rating import modes
from processor.rating.bands import band_of
from processor.reference.records import Reference
from schemas.checks import key

ESTIMATED = ("unit price", "tariff")


def estimated_nets(rows: pd.DataFrame, ref: Reference | None, location: str) -> pd.Series:
    """Per row (the frame's order), its estimated net, or None where it has no Unit Price
    or Tariff product, the workbooks are not at hand, or no rate covers it."""
    out = np.full(len(rows), None, dtype=object)
    if ref is None or not len(rows) or "product" not in rows or key(location) not in ref.locations:
        return pd.Series(out, index=rows.index, dtype=object)
    places = ref.minor_unit(location)
    unit = Decimal(1).scaleb(-places)
    products = rows["product"].to_numpy(dtype=object)
    for name in pd.unique(products[pd.notna(products)]):
        product = ref.products.get(key(name))
        if product is None or product.pricing not in ESTIMATED:
            continue
        at = np.flatnonzero(products == name)
        some = rows.iloc[at].copy()
        some["account_id"] = None
        # as the pipeline holds text: None where missing (a batch's Arrow text has NA)
        some["destination"] = (
            some["destination"].astype(object).where(some["destination"].notna(), None)
        )
        some["band"] = band_of(some["occurred_at"], ref, location)
        some["quantity"] = some["quantity"].fillna(Decimal(0))
        got = modes.get(product.pricing).price(product, some[modes.READS], ref, places)
        priced = np.ones(len(at), dtype=bool) if got.priced is None else got.priced
        rounded = pc.round(got.value, places, round_mode="half_towards_infinity").to_pylist()
        out[at[priced]] = [v.quantize(unit) for v in rounded]
    return pd.Series(out, index=rows.index, dtype=object)
