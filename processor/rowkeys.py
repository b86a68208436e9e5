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

from processor.formats.base import Format


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _field(chunk: pd.DataFrame, name: str) -> pd.Series:
    col = f"field:{name}"
    if col not in chunk:
        return pd.Series([""] * len(chunk), index=chunk.index, dtype=object)
    return chunk[col].fillna("").astype(str).str.strip()


def row_keys(chunk: pd.DataFrame, fmt: Format, application: str) -> np.ndarray:
    """One key per row of a canonical chunk (None for blank and unreadable lines)."""
    n = len(chunk)
    keys = np.full(n, None, dtype=object)
    todo = chunk["error"].isna().to_numpy() & (chunk["skip"] != "blank-line").to_numpy()
    app = application.strip().casefold()
    for fields in fmt.record_ids:
        values = [_field(chunk, f) for f in fields]
        filled = np.logical_and.reduce([(v != "").to_numpy() for v in values]) & todo
        if filled.any():
            joined = values[0][filled]
            for v in values[1:]:
                joined = joined + "\x1f" + v[filled]
            tag = "+".join(fields)
            keys[filled] = [f"{tag}:{_digest(app + chr(31) + j)}" for j in joined]
            todo &= ~filled
    if todo.any():
        keys[todo] = [_digest(t) for t in _normalised(chunk[todo], app)]
        keys[todo] = ["row:" + k for k in keys[todo]]
    return keys


def _normalised(rows: pd.DataFrame, app: str) -> list[str]:
    """The text a row's hash is taken of: what identifies a charge, not how it was written."""
    codes = [
        rows[c].fillna("").astype(str).str.strip().str.upper()
        for c in rows
        if c.startswith("match_")
    ]
    code = codes[0] if codes else pd.Series([""] * len(rows), index=rows.index)
    for c in codes[1:]:
        code = code + "/" + c
    when = rows["occurred_at"].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    what = (
        rows["destination"].fillna("").astype(str)
        + "|"
        + rows["description"].fillna("").astype(str)
    )
    duration = rows["duration"].astype("string").fillna("")
    return [
        "\x1f".join((app, c, w, d, du, str(q), str(k)))
        for c, w, d, du, q, k in zip(
            code, when, what, duration, rows["quantity"], rows["cost"], strict=True
        )
    ]
