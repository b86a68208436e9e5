"""Lines split into fields: column-wise for well-formed CSV, per line for the rest (an
unbalanced quote never swallows the lines after it), and formats' own normalising."""

from __future__ import annotations

import csv
import re
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.ingest.blocks import Block
from processor.ingest.formats.base import Format

_PLACEHOLDER = re.compile(r"\x00\d+\Z")  # a field the normaliser moved: its position

csv.field_size_limit(sys.maxsize)  # a field of any size is read (device text can be huge)


def split_line(fmt: Format, text: str) -> list[str]:
    if fmt.splitter is not None:
        return fmt.splitter(text)
    # one reader per line: an unbalanced quote must not swallow the lines after it
    try:
        return next(csv.reader((text,), delimiter=fmt.delimiter), [])
    except csv.Error:
        return [text]  # an unreadable line: too few fields, reported as unparseable


def split_rows(fmt: Format, block: Block) -> tuple[pa.ListArray | arrow.Columns, np.ndarray]:
    """Every line's fields (csv, or the format's splitter), and how many each has."""
    texts = block.texts
    n = len(texts)
    if fmt.splitter is None:
        lists, slow = arrow.split_fields(texts, fmt.delimiter)
        parts = [(np.flatnonzero(~slow), lists)]
        quoted = np.flatnonzero(slow)
        if len(quoted):  # quoted fields: Arrow's CSV parser, where the quoting is well formed
            every = len(quoted) == n
            some = texts if every else pc.take(texts, pa.array(quoted))
            got, left = arrow.parse_quoted(some, fmt.delimiter)
            if every and isinstance(got, arrow.Columns):  # an Asterisk chunk: one parse
                return got, np.full(n, len(got.cols), dtype=np.int64)
            got = arrow.listed(got)
            parts.append((quoted[~left], pc.filter(got, pa.array(~left))))
            slow = np.zeros(n, dtype=bool)
            slow[quoted[left]] = True
    else:
        parts, slow = [], np.ones(n, dtype=bool)
    idx = np.flatnonzero(slow)
    if len(idx):
        one = pc.take(texts, pa.array(idx)).to_pylist()
        parts.append((idx, pa.array([split_line(fmt, t) for t in one], pa.list_(pa.string()))))
    lists = arrow.assemble(n, parts)
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    return lists, counts


def normalised(
    fmt: Format,
    lists: pa.ListArray | arrow.Columns,
    counts: np.ndarray,
    todo: np.ndarray,
    error: np.ndarray,
) -> tuple[pa.ListArray, np.ndarray]:
    """Rows in the format's field order (``Format.normalise``), where ``todo``."""
    if fmt.positional and todo.any():
        # the layout follows from the field count alone: work it out once per count
        # from placeholder fields, then move whole columns
        width = 0
        plans = {}
        for c in np.unique(counts[todo]):
            try:
                got = fmt.normalise([f"\x00{i}" for i in range(c)])
            except (IndexError, ValueError):
                error[todo & (counts == c)] = f"cannot be read as format {fmt.name}"
                continue
            plans[c] = [int(v[1:]) if _PLACEHOLDER.match(v) else v for v in got]
            width = max(width, len(got))
        mixed = any(isinstance(v, str) and "\x00" in v for p in plans.values() for v in p)
        # a layout that keeps every field where it is (all 21 of cdr_csv) moves nothing
        plans = {c: p for c, p in plans.items() if p != list(range(c))}
        if not plans:
            return lists, counts
        lists = arrow.listed(lists)
        if mixed or len({len(p) for p in plans.values()}) > 1:
            return _normalised_rows(fmt, lists, counts, todo & np.isin(counts, list(plans)), error)
        flat = lists.flatten()
        starts = lists.offsets.to_numpy()[:-1]
        cols = []
        for k in range(width):
            col = np.full(len(lists), -1, dtype=np.int64)
            consts = np.full(len(lists), None, dtype=object)
            for c, plan in plans.items():
                rows = todo & (counts == c)
                if isinstance(plan[k], int):
                    col[rows] = starts[rows] + plan[k]
                else:  # a constant the layout puts there (a blank for an absent field)
                    consts[rows] = plan[k]
            values = pa.array(consts, pa.string())
            if len(flat):
                got = pc.take(flat, pa.array(np.maximum(col, 0)))
                values = pc.if_else(pa.array(col >= 0), got, values)
            cols.append(values)
        rows_idx = np.flatnonzero(todo & np.isin(counts, list(plans)))
        pieces = arrow.as_lists([pc.take(c, pa.array(rows_idx)) for c in cols])
        new_counts = counts.copy()
        new_counts[rows_idx] = width
        return _replaced(lists, rows_idx, pieces), new_counts
    return _normalised_rows(fmt, lists, counts, todo, error)


def _normalised_rows(
    fmt: Format,
    lists: pa.ListArray | arrow.Columns,
    counts: np.ndarray,
    todo: np.ndarray,
    error: np.ndarray,
) -> tuple[pa.ListArray, np.ndarray]:
    """``Format.normalise`` row by row (a layout that depends on the fields' content)."""
    lists = arrow.listed(lists)
    idx = np.flatnonzero(todo)
    fixed: list = []
    for i, row in zip(idx, pc.take(lists, pa.array(idx)).to_pylist(), strict=True):
        try:
            fixed.append(fmt.normalise(row))
        except (IndexError, ValueError):
            fixed.append(row)
            error[i] = f"cannot be read as format {fmt.name}"
    pieces = pa.array(fixed, pa.list_(pa.string()))
    new_counts = counts.copy()
    new_counts[idx] = pc.list_value_length(pieces).to_numpy(zero_copy_only=False)
    return _replaced(lists, idx, pieces), new_counts


def _replaced(lists: pa.ListArray, idx: np.ndarray, pieces: pa.ListArray) -> pa.ListArray:
    """``lists`` with rows ``idx`` replaced by ``pieces`` (in order)."""
    rest = np.ones(len(lists), dtype=bool)
    rest[idx] = False
    kept = (np.flatnonzero(rest), pc.filter(lists, pa.array(rest)))
    return arrow.assemble(len(lists), [kept, (idx, pieces)])
