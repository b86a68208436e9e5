"""The canonical chunk: rows as every reader makes them from an export, and as ``retry``
makes them again from a batch's unmatched rows. Every stage after reading (ledger,
matching, pricing, the batch's files) takes this shape, whatever the device.

A row is parsed (``error`` empty), or carries the ``error`` that makes it unparseable, or
the ``skip`` reason (and ``skip_detail``) of a row ignored on purpose. ``match_N`` holds the
N-th Match On field; ``field:NAME`` the format's named fields, as text.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from schemas.charges import DECIMAL

TEXT = pd.StringDtype(na_value=float("nan"))  # pandas' own text (Arrow-backed), NaN for blank
MONEY = DECIMAL  # held values, as in the frames a batch writes


def _col(dtype, nullable: bool = True, coerce: bool = True, **kw) -> pa.Column:
    return pa.Column(dtype, nullable=nullable, coerce=coerce, **kw)


# pandera coerces every datetime to nanoseconds and accepts any unit: the unit is checked
MICROSECONDS = pa.Check(lambda s: str(s.dtype) == "datetime64[us]", error="datetime64[us]")


CANONICAL = pa.DataFrameSchema(
    {
        "source_file": _col(TEXT, nullable=False),  # the export's file name
        "line": _col("int64", nullable=False),  # its line number in the file
        "raw": _col(TEXT),  # the line as read
        "note": _col(TEXT),  # what the reader noticed (encoding, time zone)
        r"^field:.+$": _col(TEXT, regex=True, required=False),
        r"^match_\d+$": _col(TEXT, regex=True, required=False),
        "occurred_at": _col(
            "datetime64[us]", coerce=False, checks=MICROSECONDS
        ),  # on the location's wall clock
        # the later of two moments that share one wall-clock time (the night the clock goes
        # back), where the export gave the offset: its key tells the two apart
        "fold": _col("bool", required=False),
        "quantity": _col(MONEY, nullable=False),  # held at 6 places; a blank is 1 (0 on retry)
        "cost": _col(MONEY, nullable=False),  # the device's cost, held; a blank is 0
        "duration": _col("Int64"),  # whole seconds
        "destination": _col(TEXT),  # the number dialled, for tariffs
        "description": _col(TEXT, nullable=False),
        "item": _col(TEXT),  # the product the row names, if any
        # a print job's paper size and duplex (Yes / No), where the export records them
        "paper_size": _col(TEXT, required=False),
        "duplex": _col(TEXT, required=False),
        "error": _col(TEXT),  # why the row is unparseable
        "skip": _col(TEXT),  # the reason code of a row ignored on purpose
        "skip_detail": _col(TEXT),
    },
    strict=True,
    name="canonical chunk",
)
