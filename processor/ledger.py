"""The ledger step: a row is billed once, ever (between reading and matching).

For each canonical chunk: give every row its key; skip a row already met in this import
as ``duplicate-row``, and one a committed batch billed as ``already-billed`` (naming
that batch); then bill only the first billable row of a call (``duplicate-leg``). The
keys live in the history's temporary tables, so memory stays flat however long the
import.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from processor.formats.base import Format
from processor.history import History
from processor.rowkeys import row_keys


def screen(
    chunk: pd.DataFrame,
    fmt: Format,
    history: History,
    application: str,
    app_key: str,
    loc_key: str,
    keys: np.ndarray | None = None,
) -> pd.DataFrame:
    """The chunk with ``row_key`` set and duplicate, already-billed and later-leg rows
    skipped with their reasons.

    Args:
        chunk: a canonical chunk (``processor.exports``).
        fmt: its format (record ids, call id).
        history: the open history (its lock held).
        application, app_key, loc_key: the import's application, and the keys of the
            (application, location) the row keys are scoped by.
        keys: the rows' keys when they are known already (a retry), else worked out.
    """
    out = chunk.copy()
    keys = row_keys(out, fmt, application) if keys is None else keys
    out["row_key"] = keys
    skip = out["skip"].to_numpy(dtype=object).copy()
    detail = out["skip_detail"].to_numpy(dtype=object).copy()
    has_key = np.array([k is not None and k == k for k in keys], dtype=bool)

    idx = np.flatnonzero(has_key)
    if len(idx):
        places = [
            f"line {ln} of {f}"
            for f, ln in zip(
                out["source_file"].to_numpy()[idx], out["line"].to_numpy()[idx], strict=True
            )
        ]
        seen = history.first_seen([keys[i] for i in idx], places)
        for i, where in zip(idx, seen, strict=True):
            if where is not None:
                skip[i], detail[i] = "duplicate-row", where
        fresh = [i for i in idx if skip[i] != "duplicate-row"]
        billed = history.billed(app_key, loc_key)  # the chunk's keys, just stored
        for i in fresh:
            b = billed.get(keys[i])
            if b is not None:
                skip[i], detail[i] = "already-billed", f"{b.batch_id} ({b.folder})"

    # the rows of one call: only the first billable one counts (a retry's rows are past this)
    if fmt.call_id is not None and f"field:{fmt.call_id}" in out:
        calls = out[f"field:{fmt.call_id}"].fillna("").astype(str).str.strip().to_numpy()
        open_ = np.flatnonzero(out["error"].isna().to_numpy() & pd.isna(skip) & (calls != ""))
        if len(open_):
            ids = [f"call:{calls[i]}" for i in open_]
            seen = history.first_seen(ids, [""] * len(ids))
            for i, where in zip(open_, seen, strict=True):
                if where is not None:
                    skip[i], detail[i] = "duplicate-leg", calls[i]
    out["skip"], out["skip_detail"] = skip, detail
    return out
