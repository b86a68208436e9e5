"""Unit Price: the row's quantity times the product's Unit Price."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor.rating.modes import NARROW, Priced, PricingMode, exact, register, with_minimum
from processor.reference.records import Product, Reference


def price(product: Product, rows: pd.DataFrame, ref: Reference, places: int) -> Priced:
    """quantity × Unit Price, then the Minimum Charge."""
    quantity = pc.cast(pa.array(rows["quantity"]), NARROW)
    return with_minimum(product, pc.multiply(quantity, exact(product.unit_price)))


MODE = register(PricingMode("Unit Price", price))
