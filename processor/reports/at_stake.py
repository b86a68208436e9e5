"""What unbilled rows would have been billed: each unmatched row of a Unit Price or Tariff
product priced as if it had matched, by the product's own pricing (no account's prices,
no plan), rounded to the currency. An estimate, labelled so wherever it is shown: a row's
account, and so its own prices and allowances, is what is unknown."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from processor.rating.estimates import estimated_nets
from processor.reference.records import Reference
from processor.reports.batch import Batch


def value_at_stake(batch: Batch, ref: Reference | None) -> pd.Series:
    """Per unmatched row (the frame's order), its estimated net, or None where it has no
    Unit Price or Tariff product, the workbooks are not at hand, or no rate covers it. A
    batch keeps the estimates made at its import (the Unmatched sheet shows them); an
    older batch's are made now."""
    u = batch.unmatched
    if "at_stake" in u:
        kept = [None if pd.isna(v) else Decimal(str(v)) for v in u["at_stake"]]
        return pd.Series(kept, index=u.index, dtype=object)
    return estimated_nets(u, ref, batch.manifest["location"])


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
