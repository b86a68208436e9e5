"""Cost Plus: the device's cost, marked up by Markup % and Markup Fixed."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor.rating.modes import NARROW, Priced, PricingMode, exact, register, with_minimum
from processor.reference.records import Product, Reference
from schemas.money import EXACT


def price(product: Product, rows: pd.DataFrame, ref: Reference, places: int) -> Priced:
    """cost × (1 + Markup % / 100) + Markup Fixed, then the Minimum Charge."""
    with localcontext(EXACT):
        factor = 1 + product.markup_pct / Decimal(100)
    base = pc.multiply(pc.cast(pa.array(rows["cost"]), NARROW), exact(factor))
    return with_minimum(product, pc.add(base, exact(product.markup_fixed)))


MODE = register(PricingMode("Cost Plus", price))
