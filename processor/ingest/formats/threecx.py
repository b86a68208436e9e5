"""3CX v16–v18 CDR log: 27 fields in the documented order, no header.

Durations are HH:MM:SS (empty when never answered); bill-code is the account code
dialled after the number, written with the dialled prefix (`**Sales`), which is
stripped; bill-cost is 3CX's own cost, for Cost Plus products. Calls from
outside and calls between extensions are not billed.
"""

from __future__ import annotations

import pandas as pd

from processor.ingest.formats.base import Format
from processor.ingest.formats.calls import field, skips
from processor.ingest.formats.registry import register

FIELDS = (
    "historyid",
    "callid",
    "duration",
    "time-start",
    "time-answered",
    "time-end",
    "reason-terminated",
    "from-no",
    "to-no",
    "from-dn",
    "to-dn",
    "dial-no",
    "reason-changed",
    "final-number",
    "final-dn",
    "bill-code",
    "bill-rate",
    "bill-cost",
    "bill-name",
    "chain",
    "from-type",
    "to-type",
    "final-type",
    "from-dispname",
    "to-dispname",
    "final-dispname",
    "missed-queue-calls",
)


def classify(frame):
    from_type = field(frame, "from-type").str.casefold()
    to_type = (
        field(frame, "final-type")
        .str.casefold()
        .where(field(frame, "final-type") != "", field(frame, "to-type").str.casefold())
    )
    return skips(
        frame,
        (
            frame["duration"].fillna(0) <= 0,
            "unanswered-call",
            field(frame, "reason-terminated").replace("", "not answered"),
        ),
        (from_type == "external", "inbound-call", None),
        ((from_type == "internal") & (to_type == "internal"), "internal-call", None),
    )


def clean_code(codes: pd.Series) -> pd.Series:
    """`**Sales` → `Sales`; `Ext.610` → `610`."""
    return codes.str.lstrip("*#").str.replace(r"^Ext\.", "", regex=True)


FORMAT = register(
    Format(
        name="3cx-cdr",
        record_ids=(("historyid", "callid"), ("callid",)),
        notes=(
            "bill-code loses its dialled prefix (`**Sales` → `Sales`) and `Ext.` is dropped from "
            "extensions; bill-cost is the cost for Cost Plus products. Never answered "
            "(empty duration), from outside (from-type External) and extension-to-extension"
            " calls are skipped."
        ),
        description="3CX v16-v18 CDR log (no header; 27 fields; HH:MM:SS durations)",
        fields=FIELDS,
        match_on=("bill-code", "from-dn"),
        date="time-start",
        date_formats=("%Y/%m/%d %H:%M:%S",),
        min_fields=23,
        max_fields=27,
        optional=("from-dispname", "to-dispname", "final-dispname", "missed-queue-calls"),
        duration="duration",
        cost="bill-cost",
        destination="to-no",
        description_field="to-no",
        classify=classify,
        clean_code=clean_code,
        sniff_hint="Chain:",
    )
)
