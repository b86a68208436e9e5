"""What a device format is: a layout of fields and how they become canonical charges.

A format names its fields (by position, or by header text when the file has a
header), says which field holds the date, the duration, the cost and so on, and
may add a ``classify`` step that skips rows on purpose (unanswered calls,
duplicate legs). ``processor.ingest`` does the reading; a format only describes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

# A classifier gets a parsed chunk (``field:NAME`` columns and the canonical ones)
# and returns, per row, a skip reason code (None keeps the row) and its detail.
Classifier = Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]]
Cleaner = Callable[[pd.Series], pd.Series]
# A normaliser maps one split row to the format's field order (column-count variants).
Normaliser = Callable[[list[str]], list[str]]
Splitter = Callable[[str], list[str]]


@dataclass(frozen=True)
class Format:
    """A device export layout.

    Attributes:
        name: registry name, used on the Applications sheet.
        description: one line for `charges formats`.
        fields: field names by position (files without a header), or the
            expected header names (files with one).
        match_on: the fields that carry the code, in order of preference.
        date: the field with the date (or date and time); time: a separate time field.
        date_formats: strftime formats tried in order; ISO is always tried last.
        has_header / header_rows / footer_rows: lines around the data.
        min_fields: a row with fewer fields is unparseable.
        quantity, cost, duration, destination, description, item: fields or None.
        quantity_factor: a second field multiplied into quantity (Pages × Copies).
        ignore_zero: skip rows whose quantity and cost are both zero.
        classify: format-specific skip rules.
        clean_code: format-specific clean-up of code values before matching.
        item_map: maps raw item values to item names (e.g. GRAYSCALE → mono).
        optional, max_fields: how many fields a row may have.
        normalise: maps a row to the field order (column-count variants).
        positional: normalise looks only at how many fields a row has, so the engine
            works the layout out once per count and moves whole columns.
        splitter: splits a line into fields when the file is not CSV.
        call_id: the field shared by the rows of one call; only the first
            billable row of a call is kept, the others are skipped.
        record_ids: fields holding the export's own record id, as alternatives (the
            first whose fields are all filled wins); a row without one is keyed by a
            hash of its normalised content (see ``processor.ledger.row_keys``).
        decimal_separator: "." (1,234.50) or "," (1.234,50); the other is accepted only
            as a thousands separator.
        file_type, sheet: "csv" (text) or "excel" (a workbook), and the sheet to read.
        trailing_fields: how many empty fields a row may carry beyond the header or
            max_fields (PaperCut's trailing comma); any other extra field is an error.
    """

    name: str
    description: str
    fields: tuple[str, ...]
    match_on: tuple[str, ...]
    date: str | int
    time: str | int | None = None
    date_formats: tuple[str, ...] = ()
    delimiter: str = ","
    encoding: str | None = None  # None: UTF-8, lines that are not fall back to cp1252
    has_header: bool = False
    header_rows: int = 0
    footer_rows: int = 0
    min_fields: int | None = None
    quantity: str | int | None = None
    quantity_factor: str | int | None = None
    cost: str | int | None = None
    duration: str | int | None = None
    destination: str | int | None = None
    description_field: str | int | None = None
    item: str | int | None = None
    # a print job's paper size and duplex, for Product Rules (``processor.ingest.print_media``)
    paper_size: str | int | None = None
    duplex: str | int | None = None
    ignore_zero: bool = False
    classify: Classifier | None = None
    clean_code: Cleaner | None = None
    item_map: dict[str, str] = field(default_factory=dict)
    title_line: str | None = None  # a line before the header that some exports write
    optional: tuple[str, ...] = ()  # fields that may be absent (read as blank)
    max_fields: int | None = None  # a row with more fields is unparseable
    normalise: Normaliser | None = None
    positional: bool = False  # normalise depends on the field count only (not the text)
    splitter: Splitter | None = None  # instead of CSV splitting
    call_id: str | None = None  # rows sharing it are one call, billed once
    record_ids: tuple[tuple[str, ...], ...] = ()  # the export's own record id (row keys)
    decimal_separator: str = "."  # "," for exports that write 1.234,50
    trailing_fields: int = 0  # empty fields a row may carry after the last one (a trailing comma)
    sheet_defined: bool = False  # described on the Formats sheet, not built in
    file_type: str = "csv"  # "excel": a workbook's sheet, read by ``ingest.spreadsheets``
    sheet: str | None = None  # the sheet of an Excel export (None: the first)
    sniff_hint: str | None = None  # a text found in such files (for `charges sniff`)
    notes: str = ""  # what the format skips and cleans, for the README
