"""Read device exports into canonical charge chunks (I/O edge).

Files are streamed in blocks, so memory stays flat however long the export.
Lines end in LF, CRLF or CR alone; a UTF-8 BOM is dropped; UTF-16 with a BOM and
gzip-compressed exports are read; a workbook, an archive or a binary file is refused
with what to do, unless the format reads Excel files (``spreadsheets``: a sheet's rows
become the lines). A line that is not valid in the declared encoding is decoded with
replacement (or as cp1252 when no encoding is declared) and flagged in its ``note``.
Every line after the header becomes exactly one row: parsed, or carrying the ``error``
that makes it unparseable, or the ``skip`` reason of a blank line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from processor.ingest.blocks import Block, iter_blocks, joined
from processor.ingest.chunks import canonical_chunk
from processor.ingest.formats.base import Format
from processor.ingest.header_plan import header_plan
from processor.ingest.splitting import split_line
from processor.ingest.spreadsheets import sheet_blocks

CHUNK_ROWS = 100_000  # larger: more memory; smaller: more per-chunk overhead (measured)


def read_export(
    path: Path,
    fmt: Format,
    match_on: list[str] | tuple,
    chunk_rows: int = CHUNK_ROWS,
    day_first: bool = True,
    done: list[int] | None = None,
    time_zone: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical chunks of one export file.

    Args:
        path: the export file.
        fmt: its format.
        match_on: the fields carrying the code, in order of preference.
        chunk_rows: rows per chunk.
        day_first: read ambiguous spreadsheet dates (10/02/20) day first.
        done: a one-item list that follows the bytes read (for progress bars).
        time_zone: the location's IANA zone: timestamps with an offset are converted to
            it (None: their wall-clock time is kept, and the row's note says so).

    Yields:
        Frames with source_file, line, raw, note, error, skip, skip_detail,
        occurred_at, quantity, cost, duration, destination, description, item and
        one ``match_N`` column per Match On field, plus ``field:NAME`` columns for
        the format's named fields.

    Raises:
        ExportError: the file is not a text export, lacks a column the format needs, or
            has two columns of one name that the format reads.
    """
    if fmt.file_type == "excel":
        blocks = sheet_blocks(path, fmt, done)
    else:
        blocks = iter_blocks(path, fmt.encoding, done=done)
    rest = Block(1, pa.array([], pa.string()), None)

    def next_line() -> tuple[int, str] | None:
        nonlocal rest
        while not len(rest):
            got = next(blocks, None)
            if got is None:
                return None
            rest = got
        text = rest.texts[0].as_py()
        number = rest.first
        rest = rest.slice(1)
        return number, text

    header: list[str] = []
    for _ in range(fmt.header_rows):
        line = next_line()
        if line is None:
            break
        if fmt.title_line and line[0] == 1 and line[1].startswith(fmt.title_line):
            line = next_line()  # an optional title above the header
            if line is None:
                break
        header = split_line(fmt, line[1])
    plan = header_plan(path, fmt, header, match_on, day_first, time_zone)

    # the last footer_rows lines of the file are not data: hold them back to the end
    pending, count = [rest], len(rest)  # blocks joined once a chunk's worth is in
    for got in blocks:
        pending.append(got)
        count += len(got)
        ready = count - fmt.footer_rows
        if ready < chunk_rows:
            continue
        held = joined(pending)
        for start in range(0, ready - ready % chunk_rows, chunk_rows):
            yield canonical_chunk(path, fmt, held.slice(start, start + chunk_rows), plan)
        pending = [held.slice(ready - ready % chunk_rows)]
        count = len(pending[0])
    held = joined(pending)
    ready = len(held) - fmt.footer_rows
    for start in range(0, max(ready, 0), chunk_rows):
        yield canonical_chunk(path, fmt, held.slice(start, min(start + chunk_rows, ready)), plan)
