"""Schemas of the frames an import writes: billed charges, unmatched and skipped rows.

Money and quantities are Arrow decimal128 (never float); text is Arrow string. Values
are held at 6 decimal places; 38 digits leave room for any sum of values up to 10^12.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow

from schemas.money import HELD

DECIMAL = pd.ArrowDtype(HELD)
TEXT = pd.ArrowDtype(pyarrow.string())
INT = pd.ArrowDtype(pyarrow.int64())
TIMESTAMP = pd.ArrowDtype(pyarrow.timestamp("us"))
BOOL = pd.ArrowDtype(pyarrow.bool_())


def _col(dtype, nullable: bool = True, **kw) -> pa.Column:
    return pa.Column(dtype, nullable=nullable, **kw)


_ROW_SOURCE = {
    "source_file": _col(TEXT, False),
    "line": _col(INT, False, checks=pa.Check.ge(1)),
    "occurred_at": _col(TIMESTAMP),
    # what makes the row the same row in another export (processor.ledger.row_keys); empty for
    # blank and unreadable lines
    "row_key": _col(TEXT),
}

CHARGES = pa.DataFrameSchema(
    {
        **_ROW_SOURCE,
        "account_id": _col(TEXT, False),
        "account_name": _col(TEXT, False),
        "code": _col(TEXT, False),
        "product": _col(TEXT, False),
        "description": _col(TEXT),
        "item": _col(TEXT),
        "destination": _col(TEXT),
        # the name of where a call went, from its Tariff rate (Destination), for statements
        "destination_name": _col(TEXT),
        # what the toll-fraud alert counts (README "Spend alerts"): a call to a destination
        # its Tariff marks Premium, and a call made out of hours
        "premium": _col(BOOL),
        "out_of_hours": _col(BOOL),
        "quantity": _col(DECIMAL, False),
        "duration": _col(INT),
        "cost": _col(DECIMAL, False),
        "net": _col(DECIMAL, False),
        "tax_rate": _col(DECIMAL, False),
        # empty when the location rounds tax per Batch Sheet line (see LINES)
        "tax": _col(DECIMAL),
        "gross": _col(DECIMAL),
        "note": _col(TEXT),
        # what an allowance covered (README "Allowances"): the quantity (a Tariff call's
        # seconds), and the value waived, exact (the net without it less the net billed)
        "included_quantity": _col(DECIMAL, False),
        "included_amount": _col(DECIMAL, False),
    },
    name="charges",
    strict=True,
    ordered=True,
)

# The Batch Sheet: one line per account × product, tax as the location rounds it.
LINES = pa.DataFrameSchema(
    {
        "account_id": _col(TEXT, False),
        "account_name": _col(TEXT, False),
        "product": _col(TEXT, False),
        "description": _col(TEXT),
        "quantity": _col(DECIMAL, False),
        "net": _col(DECIMAL, False),
        "tax_rate": _col(DECIMAL, False),
        "tax": _col(DECIMAL, False),
        "gross": _col(DECIMAL, False),
        "gl_code": _col(TEXT),
        "rows": _col(INT, False),
        "included_quantity": _col(DECIMAL, False),
        "included_amount": _col(DECIMAL, False),
    },
    name="lines",
    strict=True,
    ordered=True,
)

_UNBILLED = {
    **_ROW_SOURCE,
    "code": _col(TEXT),
    "reason": _col(TEXT, False),
    "message": _col(TEXT, False),
    "detail": _col(TEXT),  # the reason's particulars (what the message was made from)
    # every Match On field's value, separated by U+001F, and the item: what `charges
    # retry` needs to match the row again
    "match_values": _col(TEXT),
    "item": _col(TEXT),
    "paper_size": _col(TEXT),
    "duplex": _col(TEXT),
    "account_id": _col(TEXT),
    "product": _col(TEXT),
    "description": _col(TEXT),
    "destination": _col(TEXT),
    "quantity": _col(DECIMAL),
    "duration": _col(INT),
    "cost": _col(DECIMAL, False),
    "raw": _col(TEXT, False),
    "note": _col(TEXT),
}

UNMATCHED = pa.DataFrameSchema(
    # at_stake: what the row would have been billed had it matched, an estimate (README
    # "Reports"), worked out at import for rows of Unit Price and Tariff products
    {**_UNBILLED, "at_stake": _col(DECIMAL)},
    name="unmatched",
    strict=True,
    ordered=True,
)
SKIPPED = pa.DataFrameSchema(_UNBILLED, name="skipped", strict=True, ordered=True)
