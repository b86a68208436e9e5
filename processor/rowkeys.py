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

from processor import vectors
from processor.formats.base import Format


def _digests(tag: str, texts: pa.Array) -> list[str]:
    """``tag:`` and the digest of each text (hashlib, one call per row: the only per-row step)."""
    blake = hashlib.blake2b
    return [
        tag + blake(t.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        for t in texts.to_pylist()
    ]


def _text(values: pd.Series, upper: bool = False) -> pa.Array:
    """A column as stripped text, '' where missing."""
    arr = vectors.strip(vectors.plain(values))
    return pc.utf8_upper(arr) if upper else arr


def _field(chunk: pd.DataFrame, name: str) -> pa.Array:
    col = f"field:{name}"
    if col not in chunk:
        return pa.array([""] * len(chunk), pa.string())
    return _text(chunk[col])


def _join(parts: list[pa.Array], sep: str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def row_keys(chunk: pd.DataFrame, fmt: Format, application: str) -> np.ndarray:
    """One key per row of a canonical chunk (None for blank and unreadable lines)."""
    n = len(chunk)
    keys = np.full(n, None, dtype=object)
    todo = chunk["error"].isna().to_numpy() & (chunk["skip"] != "blank-line").to_numpy()
    app = application.strip().casefold()
    for fields in fmt.record_ids:
        values = [_field(chunk, f) for f in fields]
        filled = np.logical_and.reduce(
            [np.asarray(pc.not_equal(v, "").to_numpy(zero_copy_only=False)) for v in values]
        )
        filled &= todo
        if filled.any():
            mask = pa.array(filled)
            joined = _join(
                [pa.array([app] * int(filled.sum()), pa.string())]
                + [v.filter(mask) for v in values],
                "\x1f",
            )
            keys[filled] = _digests("+".join(fields) + ":", joined)
            todo &= ~filled
    if todo.any():
        keys[todo] = _digests("row:", _normalised(chunk[todo], app))
    return keys


def _normalised(rows: pd.DataFrame, app: str) -> pa.Array:
    """The text a row's hash is taken of: what identifies a charge, not how it was written."""
    n = len(rows)
    codes = [_text(rows[c], upper=True) for c in rows if c.startswith("match_")]
    code = _join(codes, "/") if len(codes) > 1 else (codes[0] if codes else _blank(n))
    when = rows["occurred_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    what = _join([vectors.plain(rows["destination"]), vectors.plain(rows["description"])], "|")
    duration = pa.array(rows["duration"].astype("string").fillna("").to_numpy(dtype=object))
    parts = [
        pa.array([app] * n, pa.string()),
        code,
        vectors.plain(when),
        what,
        duration,
        pc.cast(pa.array(rows["quantity"]), pa.string()),
        pc.cast(pa.array(rows["cost"]), pa.string()),
    ]
    return _join(parts, "\x1f")


def _blank(n: int) -> pa.Array:
    return pa.array([""] * n, pa.string())
