"""batch.xlsx, the workbook people open: Batch Sheet, Unmatched, Skipped and Summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor import arrow
from processor.outputs.xlsx.workbook import Col, TableBook

XLSX_ROW_LIMIT = 1_000_000


BATCH_COLS = [
    Col("Account ID", width=12),
    Col("Account Name", width=30),
    Col("Product", width=14),
    Col("Description", width=26),
    Col("Quantity", "decimal", 10),
    Col("Net", "money", 12),
    Col("Tax Rate %", "percent", 12),
    Col("Tax", "money", 11),
    Col("Gross", "money", 13),
    Col("GL Code", width=11),
    Col("Batch Date", "date", 12),
    Col("Included", "decimal", 10),  # a Tariff line's as minutes:seconds
    Col("Waived", "money", 11),
]

INCLUDED_COLS = [
    Col("Account ID", width=12),
    Col("Account Name", width=30),
    Col("Product", width=14),
    Col("Included", "decimal", 10),
    Col("Waived", "money", 11),
]

ZERO_COLS = [
    Col("Account ID", width=12),
    Col("Account Name", width=30),
    Col("Product", width=14),
    Col("Quantity", "decimal", 10),
    Col("Rows", "int", 8),
]


SUMMARY_COLS = [
    Col("Item", width=52),
    Col("Rows", "int", 10),
    Col("Cost", "cost", 14),
    Col("Net", "money", 14),
    Col("Tax", "money", 14),
    Col("Gross", "money", 14),
]


UNBILLED_COLS = [
    Col("Source File", width=22),
    Col("Line", "int", 8),
    Col("Code", width=14),
    Col("Reason Code", width=20),
    Col("Reason", width=70, wrap=True),
    Col("Date", "datetime", 19),
    Col("Description", width=26),
    Col("Cost", "cost", 10),
    Col("Raw Row", width=60),
]
# what an unmatched row would have been billed had it matched (README "Reports")
UNMATCHED_COLS = [
    *UNBILLED_COLS[:-1],
    Col("At Stake (estimate)", "money", 14),
    UNBILLED_COLS[-1],
]


def totals_rows(lines: list[list]) -> list[list]:
    """Below the Batch Sheet's lines, after a blank row: their quantity, net, tax and gross
    summed (what the lines shown add up to; it is not a line to import)."""
    if not lines:
        return []
    total = [sum((ln[i] for ln in lines), 0) for i in (4, 5, 7, 8)]
    return [
        [None] * len(BATCH_COLS),
        [None, "Total of the lines above", None, None, total[0], total[1], None, total[2],
         total[3], None, None, None, None],
    ]  # fmt: skip


CELL_LIMIT = 32_767  # characters an Excel cell holds


def fit_cell(text: object, where: str) -> object:
    """Text longer than a cell can hold, cut, saying so and where the whole of it is."""
    if not isinstance(text, str) or len(text) <= CELL_LIMIT:
        return text
    tail = f" … [cut: {len(text):,} characters in all; the whole is {where}]"
    return text[: CELL_LIMIT - len(tail)] + tail


_UNBILLED_FIELDS = (
    "source_file",
    "line",
    "code",
    "reason",
    "message",
    "occurred_at",
    "description",
    "cost",
    "raw",
)


def _unbilled_columns(path: Path, fields: tuple[str, ...]) -> Iterator[list[pa.Array]]:
    """The Unmatched or Skipped sheet's columns, a batch at a time (at most
    XLSX_ROW_LIMIT rows); text longer than a cell is cut and says where the whole is."""
    left = XLSX_ROW_LIMIT
    texts = [fields.index(f) for f in ("code", "message", "description", "raw")]
    for batch in pq.ParquetFile(path).iter_batches(batch_size=20_000, columns=list(fields)):
        if left <= 0:
            return
        batch = batch.slice(0, left)
        left -= batch.num_rows
        cols = [batch.column(f) for f in fields]
        for i in texts:
            cols[i] = _fit_column(cols[i], batch, path)
        yield cols


def _fit_column(values: pa.Array, batch: pa.RecordBatch, path: Path) -> pa.Array:
    long = pc.fill_null(pc.greater(pc.utf8_length(values), CELL_LIMIT), False)
    idx = np.flatnonzero(arrow.flags(long))
    if not len(idx):
        return values
    lines, files = batch.column("line"), batch.column("source_file")
    fixed = [
        fit_cell(
            values[int(i)].as_py(), f"line {lines[int(i)]} of {files[int(i)]}, and in {path.name}"
        )
        for i in idx
    ]
    mask = np.zeros(len(values), dtype=bool)
    mask[idx] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(fixed, pa.string()))


def write_batch_xlsx(
    path: Path,
    batch_lines: list[list],
    summary: list[list],
    unmatched: Path,
    skipped: Path,
    places: int,
    included: list[list] | None = None,
    zero: list[list] | None = None,
    page: str = "",
) -> None:
    """batch.xlsx: Batch Sheet (its lines, then a totals row), Included, Zero Lines,
    Unmatched, Skipped, Summary; ``page`` heads every printed page (location, application,
    batch date and period)."""
    book = TableBook(path, places)
    book.table("Batch Sheet", BATCH_COLS, batch_lines, page=page, after=totals_rows(batch_lines))
    book.table(
        "Included",
        INCLUDED_COLS,
        included or [],
        empty="No line was wholly included in a plan.",
    )
    book.table(
        "Zero Lines",
        ZERO_COLS,
        zero or [],
        empty="No line priced at zero.",
    )
    # the raw row is for the screen: the printed page ends before it, and stays legible
    with_stake = (*_UNBILLED_FIELDS[:-1], "at_stake", _UNBILLED_FIELDS[-1])
    for name, rows, cols, fields, empty in (
        (
            "Unmatched",
            unmatched,
            UNMATCHED_COLS,
            with_stake,
            "No unmatched rows: every row was billed or skipped.",
        ),
        ("Skipped", skipped, UNBILLED_COLS, _UNBILLED_FIELDS, "No skipped rows."),
    ):
        book.arrow_table(
            name,
            cols,
            lambda rows=rows, fields=fields: _unbilled_columns(rows, fields),
            empty=empty,
            page=page,
            printed=len(cols) - 1,
        )
    book.table("Summary", SUMMARY_COLS, summary, page=page)
    book.close()
