"""Avaya IP Office SMDR: 30 classic fields, then up to 5 newer ones; no header, no quotes.

One line per call segment: segments sharing a Call ID are one call, billed once
(the first billable segment). Inbound (Direction I) and internal (Is Internal 1)
calls are not billed; Connected Time 00:00:00 was not answered. Extensions are
written E201 in the party fields; the E is dropped for matching.
"""

from __future__ import annotations

import pandas as pd

from processor.ingest.formats.base import Format
from processor.ingest.formats.calls import field, skips
from processor.ingest.formats.registry import register

FIELDS = (
    "call_start",
    "connected_time",
    "ring_time",
    "caller",
    "direction",
    "called_number",
    "dialled_number",
    "account",
    "is_internal",
    "call_id",
    "continuation",
    "party1_device",
    "party1_name",
    "party2_device",
    "party2_name",
    "hold_time",
    "park_time",
    "auth_valid",
    "auth_code",
    "user_charged",
    "call_charge",
    "currency",
    "amount_at_last_user_change",
    "call_units",
    "units_at_last_user_change",
    "cost_per_unit",
    "mark_up",
    "external_targeting_cause",
    "external_targeter_id",
    "external_targeted_number",
    "caller_server_ip",
    "caller_unique_call_id",
    "called_server_ip",
    "called_unique_call_id",
    "smdr_record_time",
)


def classify(frame):
    return skips(
        frame,
        (field(frame, "direction").str.upper() == "I", "inbound-call", None),
        (field(frame, "is_internal") == "1", "internal-call", None),
        (frame["duration"].fillna(0) <= 0, "unanswered-call", "connected for 0 seconds"),
    )


def clean_code(codes: pd.Series) -> pd.Series:
    return codes.str.replace(r"^E(\d+)$", r"\1", regex=True)


FORMAT = register(
    Format(
        name="avaya-ipo-smdr",
        record_ids=(("call_id", "call_start", "party1_device", "party2_device", "connected_time"),),
        notes=(
            "Segments sharing a Call ID are one call: the first billable segment is billed,"
            " the others skipped. Direction I (inbound), Is Internal 1 and Connected Time "
            "00:00:00 are skipped. E201 in party fields matches code 201."
        ),
        description="Avaya IP Office SMDR (no header; 30 fields, up to 35 on newer releases)",
        fields=FIELDS,
        match_on=("account", "caller"),
        date="call_start",
        date_formats=("%Y/%m/%d %H:%M:%S",),
        min_fields=30,
        max_fields=35,
        optional=FIELDS[30:],
        duration="connected_time",
        cost="call_charge",
        destination="called_number",
        description_field="called_number",
        classify=classify,
        clean_code=clean_code,
        call_id="call_id",
    )
)
