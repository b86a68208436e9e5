"""Asterisk CDR formats: cdr_csv, cdr_custom (both write Master.csv) and FreePBX's download.

cdr_csv writes 16 fields, then uniqueid (loguniqueid), userfield (loguserfield)
and peeraccount, linkedid, sequence (newcdrcolumns): 16 to 21 fields, told apart
by count. Rows sharing a linkedid are one call (forked dials, transfers), billed
once. Answered legs are billed by billsec.
"""

from __future__ import annotations

from processor.ingest.formats.base import Format
from processor.ingest.formats.calls import asterisk_classify
from processor.ingest.formats.registry import register

BASE = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
EXTRA = ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence")


def cdr_csv_row(r: list[str]) -> list[str]:
    """Any of the 16–21 field variants → the 21-field order (absent fields blank)."""
    extra = r[16:]
    n = len(extra)
    if n == 1:  # uniqueid
        layout = [*extra, "", "", "", ""]
    elif n == 2:  # uniqueid, userfield
        layout = [*extra, "", "", ""]
    elif n == 3:  # newcdrcolumns only
        layout = ["", "", *extra]
    elif n == 4:  # uniqueid + newcdrcolumns
        layout = [extra[0], "", *extra[1:]]
    else:  # 16 or 21 fields
        layout = [*extra, "", "", "", "", ""][:5]
    return [*r[:16], *layout]


# what every Asterisk layout shares: codes, call rules, the billed-seconds duration
CALL_RULES = {
    "match_on": ("accountcode", "src"),
    "date_formats": ("%Y-%m-%d %H:%M:%S",),
    "duration": "billsec",
    "destination": "dst",
    "description_field": "dst",
    "classify": asterisk_classify,
}

CDR_CSV = register(
    Format(
        name="asterisk-cdr-csv",
        record_ids=(("linkedid", "sequence"), ("uniqueid",)),
        notes=(
            "Column count picks the variant (16: base; 17: +uniqueid; 18: +userfield; "
            "19-21: +peeraccount, linkedid, sequence). Answered calls billed by billsec; NO"
            " ANSWER, BUSY, FAILED and 0 billed seconds are skipped as unanswered; rows "
            "sharing a linkedid are one call, billed once. The file records no direction: "
            "inbound calls from trunks usually fall out as unknown-code."
        ),
        description="Asterisk cdr_csv Master.csv (no header; 16 to 21 columns)",
        fields=BASE + EXTRA,
        date="start",
        min_fields=16,
        max_fields=21,
        normalise=cdr_csv_row,
        positional=True,
        **CALL_RULES,
        call_id="linkedid",
    )
)

CUSTOM = (
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "uniqueid",
    "userfield",
    "sequence",
)

CDR_CUSTOM = register(
    Format(
        name="asterisk-cdr-custom",
        record_ids=(("uniqueid", "sequence"), ("uniqueid",)),
        notes=("Same rules as asterisk-cdr-csv; fractional durations round up to whole seconds."),
        description="Asterisk cdr_custom Master.csv, stock mapping (no header; accountcode is "
        "column 16)",
        fields=CUSTOM,
        date="start",
        min_fields=16,
        max_fields=19,
        optional=("uniqueid", "userfield", "sequence"),
        **CALL_RULES,
    )
)

FREEPBX = (
    "calldate",
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "uniqueid",
    "userfield",
)

FREEPBX_REPORT = register(
    Format(
        name="freepbx-cdr-report",
        record_ids=(("uniqueid",),),
        notes=("Columns found by header text, in any order; same rules as asterisk-cdr-csv."),
        description="FreePBX CDR Reports CSV download (header row, numeric amaflags)",
        fields=FREEPBX,
        date="calldate",
        has_header=True,
        header_rows=1,
        optional=(
            "clid",
            "dcontext",
            "channel",
            "dstchannel",
            "lastapp",
            "lastdata",
            "duration",
            "amaflags",
            "uniqueid",
            "userfield",
        ),
        **CALL_RULES,
        sniff_hint="calldate,clid,src,dst",
    )
)
