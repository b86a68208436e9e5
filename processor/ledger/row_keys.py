"""Row keys: what makes a row the same row in another export (pure functions).

A format may name the fields that hold the export's own record id (``Format.record_ids``:
alternatives, the first whose fields are all filled wins), such as Asterisk's linkedid +
sequence or uniqueid, FreeSWITCH's uuid or CUPS's printer + job id + page. Otherwise the
key is a hash of the normalised row: application, code, start time to the second,
destination or document, duration or pages, quantity and cost. Keys are compared within
one (application, location), so the application is part of every key.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow, row_digests
from processor.ingest.formats.base import Format

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _digests(tag: str, texts: pa.Array) -> tuple[pa.StringArray, np.ndarray]:
    """``tag:`` and the hex digest of each text, and the digest as ``processor.row_digests`` holds
    it (mixed with the tag's). hashlib is the one step that runs per row."""
    mask = row_digests.tag_mask(tag)
    tag += ":"
    blake = hashlib.blake2b
    raw = b"".join(
        blake(t, digest_size=row_digests.WIDTH).digest()
        for t in texts.cast(pa.binary()).to_pylist()
    )
    held = np.frombuffer(raw, dtype=np.uint8).reshape(-1, row_digests.WIDTH)
    n, head = len(held), np.frombuffer(tag.encode("utf-8"), dtype=np.uint8)
    width = len(head) + 2 * row_digests.WIDTH
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, : len(head)] = head
    chars[:, len(head) :: 2] = _HEX[held >> 4]
    chars[:, len(head) + 1 :: 2] = _HEX[held & 15]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    keys = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    mixed = (held ^ mask).view(f"S{row_digests.WIDTH}").ravel()
    return keys.cast(pa.string()), mixed


def _text(values: pd.Series, upper: bool = False) -> pa.Array:
    """A column as stripped text, '' where missing."""
    arr = arrow.strip(arrow.plain(values))
    return pc.utf8_upper(arr) if upper else arr


def _field(chunk: pd.DataFrame, name: str) -> pa.Array:
    col = f"field:{name}"
    if col not in chunk:
        return pa.array([""] * len(chunk), pa.string())
    return _text(chunk[col])


def _join(parts: list[pa.Array], sep: str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def row_keys(chunk: pd.DataFrame, fmt: Format, application: str) -> tuple[pa.Array, np.ndarray]:
    """One key per row of a canonical chunk (null for blank and unreadable lines), and its
    digest as ``processor.row_digests`` holds it (zeros where there is no key)."""
    n = len(chunk)
    parts: list[tuple[np.ndarray, pa.Array]] = []
    held = np.zeros(n, dtype=f"S{row_digests.WIDTH}")
    todo = chunk["error"].isna().to_numpy() & (chunk["skip"] != "blank-line").to_numpy()
    app = application.strip().casefold()
    for fields in fmt.record_ids:
        values = [_field(chunk, f) for f in fields]
        filled = np.logical_and.reduce([arrow.flags(pc.not_equal(v, "")) for v in values])
        filled &= todo
        if filled.any():
            mask = pa.array(filled)
            joined = _join(
                [pa.array([app] * int(filled.sum()), pa.string())]
                + [v.filter(mask) for v in values],
                "\x1f",
            )
            idx = np.flatnonzero(filled)
            keys, held[idx] = _digests("+".join(fields), joined)
            parts.append((idx, keys))
            todo &= ~filled
    if todo.any():
        idx = np.flatnonzero(todo)
        # only the columns the key is made of are taken (a chunk has many more)
        used = [c for c in chunk.columns if c.startswith("match_") or c in _KEYED]
        keys, held[idx] = _digests("row", _normalised(chunk[used][todo], app))
        parts.append((idx, keys))
    return arrow.scatter(n, parts, pa.scalar(None, pa.string())), held


def occurrence_keys(keys: pa.Array, numbers: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The keys of the second, third... of identical rows keyed by their content in one
    file: the first row's key and the occurrence number, hashed (tag ``row`` as the first
    row's, so a history reads them alike)."""
    texts = _join(
        [pc.cast(keys, pa.string()), pa.array([str(int(n)) for n in numbers], pa.string())],
        "\x1f#",
    )
    return _digests("row", texts)


_KEYED = {"occurred_at", "fold", "destination", "description", "duration", "quantity", "cost"}


def _normalised(rows: pd.DataFrame, app: str) -> pa.Array:
    """The text a row's hash is taken of: what identifies a charge, not how it was written."""
    n = len(rows)
    codes = [_text(rows[c], upper=True) for c in rows if c.startswith("match_")]
    code = _join(codes, "/") if len(codes) > 1 else (codes[0] if codes else _blank(n))
    when = seconds_text(rows["occurred_at"])
    if "fold" in rows and rows["fold"].any():  # the second 01:30 of the night: its own key
        when = pc.if_else(
            pa.array(rows["fold"].to_numpy()),
            pc.binary_join_element_wise(when, " (after the clock went back)", ""),
            when,
        )
    what = _join([arrow.plain(rows["destination"]), arrow.plain(rows["description"])], "|")
    duration = pc.fill_null(pc.cast(pa.array(rows["duration"], pa.int64()), pa.string()), "")
    parts = [
        pa.repeat(pa.scalar(app, pa.string()), n),
        code,
        pc.fill_null(when, ""),
        what,
        duration,
        pc.cast(pa.array(rows["quantity"]), pa.string()),
        pc.cast(pa.array(rows["cost"]), pa.string()),
    ]
    return _join(parts, "\x1f")


# the seconds since 1970 of 0001-01-01 and 10000-01-01: years Arrow and strftime both
# write as four digits (a test compares them); any other goes to strftime
_FOUR_DIGIT_YEARS = (-62_135_596_800, 253_402_300_800)


def seconds_text(when: pd.Series) -> pa.Array:
    """Each time as ``YYYY-MM-DD HH:MM:SS`` (the second it falls in), null where missing:
    as strftime writes it, by Arrow's cast (several times faster)."""
    moments = when.to_numpy(dtype="datetime64[us]")
    missing = np.isnat(moments)
    seconds = moments.view(np.int64) // 1_000_000  # floored, before 1970 too
    known = seconds[~missing]
    if len(known) and (known.min() < _FOUR_DIGIT_YEARS[0] or known.max() >= _FOUR_DIGIT_YEARS[1]):
        return pa.array(when.dt.strftime("%Y-%m-%d %H:%M:%S"), pa.string(), from_pandas=True)
    stamps = pa.array(seconds, pa.timestamp("s"), mask=missing)
    return pc.cast(stamps, pa.string())


def _blank(n: int) -> pa.Array:
    return pa.array([""] * n, pa.string())
