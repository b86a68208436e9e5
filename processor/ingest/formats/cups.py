"""CUPS page_log: `printer user job-id [date] page-number num-copies job-billing host
job-name media sides`, with job-billing (`-` when absent) as the code."""

from __future__ import annotations

import re

import pandas as pd

from processor.ingest.formats.base import Format
from processor.ingest.formats.registry import register

LINE = re.compile(
    r"^(\S+) (\S+) (\S+) \[([^\]]*)\] (\S+) (\S+)(?: (\S+))?(?: (\S+))?(?: (.*?))?"
    r"(?: (\S+) (\S+))?\s*$"
)


def split(text: str) -> list[str]:
    m = LINE.match(text)
    if not m:
        return text.split()[:3] if text.strip() else []
    return [g or "" for g in m.groups()]


def clean_code(codes: pd.Series) -> pd.Series:
    return codes.mask(codes == "-", "")


FORMAT = register(
    Format(
        name="cups-page-log",
        record_ids=(("printer", "job-id", "page-number"),),
        notes=(
            "job-billing `-` counts as no code, so the user is tried next; the time's offset"
            " is converted to the location's Time Zone (kept as wall-clock time when it has"
            " none); quantity is num-copies."
        ),
        description="CUPS page_log (space-separated, date in brackets)",
        fields=(
            "printer",
            "user",
            "job-id",
            "date",
            "page-number",
            "num-copies",
            "job-billing",
            "job-originating-host-name",
            "job-name",
            "media",
            "sides",
        ),
        match_on=("job-billing", "user"),
        date="date",
        date_formats=("%d/%b/%Y:%H:%M:%S",),
        min_fields=6,
        optional=("job-originating-host-name", "job-name", "media", "sides"),
        splitter=split,
        quantity="num-copies",
        description_field="job-name",
        paper_size="media",
        duplex="sides",
        clean_code=clean_code,
    )
)
