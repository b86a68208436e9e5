"""The canonical chunk: a block of lines as rows (``schemas.rows.CANONICAL``), each
parsed, or carrying the error that makes it unparseable, or the reason it is skipped."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.ingest import print_media
from processor.ingest.blocks import Block
from processor.ingest.dates import EARLIEST, LATEST, parse_dates
from processor.ingest.formats.base import Format
from processor.ingest.header_plan import Plan
from processor.ingest.numbers import HELD_DTYPE, ZERO_HELD, held_durations, held_numbers, multiply
from processor.ingest.splitting import normalised, split_rows
from processor.reasons import excerpt
from schemas.rows import TEXT


def canonical_chunk(path: Path, fmt: Format, block: Block, plan: Plan) -> pd.DataFrame:
    """One block of ``path``'s lines as canonical rows, a column at a time: split, checked
    against the plan's field counts, dates and numbers parsed and held, and the format's
    own skips and zero values marked."""
    n = len(block)
    lists, counts = split_rows(fmt, block)
    error = np.full(n, None, dtype=object)
    skip = np.full(n, None, dtype=object)
    skip_detail = np.full(n, None, dtype=object)
    # a line of nothing but spaces or NUL padding (some loggers pad their files) is blank
    # anchored: a line is passed over at its first other character
    blank = arrow.flags(pc.match_substring_regex(block.texts, r"^[ \t\x00]*$"))
    skip[blank] = "blank-line"
    short = (counts < plan.min_fields) & ~blank
    error[short] = [
        f"has {c} fields; format {fmt.name} needs at least {plan.min_fields}" for c in counts[short]
    ]
    if plan.max_fields:
        # a trailing comma (PaperCut) adds empty fields the format declares; others are data
        # that would shift the columns, so the row is not guessed at
        kept = counts.copy()
        for _ in range(fmt.trailing_fields):
            over = (kept > plan.max_fields) & (plan.max_fields + fmt.trailing_fields >= kept)
            if not over.any():
                break
            last = arrow.strip(arrow.take_field(lists, counts, np.where(over, kept - 1, -1)))
            blank_last = arrow.flags(pc.equal(last, ""))
            kept = kept - (over & blank_last)
        long = (kept > plan.max_fields) & ~blank & pd.isna(error)
        error[long] = [
            f"has {c} fields, more than the {plan.max_fields} of "
            + ("its header" if fmt.has_header and not fmt.max_fields else f"format {fmt.name}")
            + " (extra fields)"
            for c in counts[long]
        ]
    if block.errors is not None:  # a line too long to be read at all
        unread = np.array(block.errors, dtype=object)
        error[pd.notna(unread)] = unread[pd.notna(unread)]
    if fmt.normalise is not None:
        lists, counts = normalised(fmt, lists, counts, pd.isna(error) & ~blank, error)

    stripped: dict[int | None, pd.Series] = {}

    def text(pos: int | None) -> pa.StringArray:
        if pos is None:
            return pa.nulls(n, pa.string())
        return arrow.strip(arrow.take_field(lists, counts, pos))

    def column(pos: int | None) -> pd.Series:
        if pos not in stripped:
            stripped[pos] = arrow.series(text(pos))
        return stripped[pos].copy()

    positions = plan.positions
    frame = pd.DataFrame(
        {
            "source_file": path.name,
            "line": np.arange(block.first, block.first + n, dtype=np.int64),
            "raw": arrow.series(block.texts),
            "note": (  # most blocks have no note at all: no value is made then
                pd.array([x or None for x in block.notes], TEXT)
                if block.notes
                else pd.array(pa.nulls(n, pa.large_string()), TEXT)
            ),
        }
    )
    for f, pos in plan.named.items():
        frame[f"field:{f}"] = column(pos)
    for i, pos in enumerate(plan.match_pos):
        frame[f"match_{i}"] = column(pos)

    # dates
    date_text = column(positions["date"])
    if positions["time"] is not None:
        date_text = (date_text.fillna("") + " " + column(positions["time"]).fillna("")).str.strip()
    occurred, zone_note, fold = parse_dates(date_text, plan.date_formats, plan.time_zone)
    bad_date = occurred.isna() & ~blank & pd.isna(error)
    error[bad_date.to_numpy()] = [
        f'date "{excerpt(t)}" is not a date in the expected format' if t else "has no date"
        for t in date_text[bad_date].fillna("")
    ]
    far = (occurred.notna() & ((occurred < EARLIEST) | (occurred > LATEST))) & pd.isna(error)
    far &= ~blank
    if far.any():
        error[far.to_numpy()] = [
            f'date "{excerpt(t)}" is {d.year:04d}-{d.month:02d}-{d.day:02d}, outside '
            f"{EARLIEST.year} to {LATEST.year}: check the year (a two-digit year 00-68 is "
            "read as 20xx, 69-99 as 19xx)"
            for t, d in zip(date_text[far].fillna(""), occurred[far], strict=True)
        ]
        occurred = occurred.where(~far)
    frame["occurred_at"] = occurred
    if fold.any():
        frame["fold"] = fold.to_numpy()
    if zone_note.notna().any():
        frame["note"] = pd.array(
            [
                "; ".join(x for x in (a, b) if isinstance(x, str) and x) or None
                for a, b in zip(frame["note"], zone_note, strict=True)
            ],
            TEXT,
        )

    def numbers(role: str, default: Decimal) -> tuple[pa.Array, np.ndarray]:
        return held_numbers(text(positions[role]), role, default, fmt.decimal_separator, plan.hint)

    quantity, q_err = numbers("quantity", Decimal(1))
    if positions["quantity_factor"] is not None:
        factor, f_err = numbers("quantity_factor", Decimal(1))
        quantity, m_err = multiply(quantity, factor)
        q_err = np.where(pd.isna(q_err), np.where(pd.isna(f_err), m_err, f_err), q_err)
    cost, c_err = numbers("cost", Decimal(0))
    duration, d_err = held_durations(text(positions["duration"]), fmt.decimal_separator, plan.hint)
    for problems in (q_err, c_err, d_err):
        take = ~pd.isna(problems) & ~blank & pd.isna(error)
        error[take] = problems[take]
    frame["quantity"] = pd.Series(pc.fill_null(quantity, ZERO_HELD), dtype=HELD_DTYPE)
    frame["cost"] = pd.Series(pc.fill_null(cost, ZERO_HELD), dtype=HELD_DTYPE)
    frame["duration"] = duration
    frame["destination"] = column(positions["destination"])
    frame["description"] = column(positions["description_field"]).fillna("")
    item = column(positions["item"])
    if fmt.item_map:
        # a column at a time; a row without the field keeps its blank
        mapped = item.str.casefold().map(fmt.item_map)
        item = mapped.where(mapped.notna(), item)
    frame["item"] = item
    frame["paper_size"] = print_media.paper_sizes(column(positions["paper_size"]))
    frame["duplex"] = print_media.duplexes(column(positions["duplex"]))

    # rows ignored on purpose: the format's own rules, zero values, further legs of a call
    open_ = pd.isna(error) & pd.isna(skip)
    if fmt.classify is not None:
        reason, detail = fmt.classify(frame)
        take = open_ & reason.notna().to_numpy()
        skip[take], skip_detail[take] = reason[take], detail[take]
    if fmt.ignore_zero:
        zero = (frame["quantity"] == 0).to_numpy(dtype=bool) & (frame["cost"] == 0).to_numpy(
            dtype=bool
        )
        zero &= pd.isna(error) & pd.isna(skip)
        skip[zero] = "zero-value"
    frame["error"] = arrow.from_objects(error)
    frame["skip"] = arrow.from_objects(skip)
    frame["skip_detail"] = arrow.from_objects(skip_detail)
    return frame
