"""FreeSWITCH mod_cdr_csv with its default `example` template (accountcode is field 13).

Calls in the `public` context came in from outside and are not billed; a call with
no answer_stamp or no billed seconds was not answered.
"""

from __future__ import annotations

from processor.ingest.formats.base import Format
from processor.ingest.formats.calls import field, skips
from processor.ingest.formats.registry import register


def classify(frame):
    answered = field(frame, "answer_stamp") != ""
    return skips(
        frame,
        (field(frame, "context").str.casefold() == "public", "inbound-call", None),
        (
            ~answered | (frame["duration"].fillna(0) <= 0),
            "unanswered-call",
            field(frame, "hangup_cause").replace("", "no answer"),
        ),
    )


FORMAT = register(
    Format(
        name="freeswitch-cdr-csv",
        record_ids=(("uuid",),),
        notes=(
            "Calls in the public context are inbound and skipped; no answer_stamp or 0 "
            "billsec is unanswered."
        ),
        description="FreeSWITCH mod_cdr_csv, default template (no header; accountcode is "
        "column 13)",
        fields=(
            "caller_id_name",
            "caller_id_number",
            "destination_number",
            "context",
            "start_stamp",
            "answer_stamp",
            "end_stamp",
            "duration",
            "billsec",
            "hangup_cause",
            "uuid",
            "bleg_uuid",
            "accountcode",
            "read_codec",
            "write_codec",
        ),
        match_on=("accountcode", "caller_id_number"),
        date="start_stamp",
        date_formats=("%Y-%m-%d %H:%M:%S",),
        min_fields=13,
        max_fields=15,
        optional=("read_codec", "write_codec"),
        duration="billsec",
        destination="destination_number",
        description_field="destination_number",
        classify=classify,
    )
)
