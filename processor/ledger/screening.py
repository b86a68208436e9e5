"""The ledger step: a row is billed once, ever (between reading and matching).

For each canonical chunk: give every row its key; skip a row already met in this import
as ``duplicate-row``, and one a committed batch billed as ``already-billed`` (naming
that batch); then bill only the first billable row of a call (``duplicate-leg``). The
keys an import has met are held as 12-byte digests (``processor.row_digests``); the history
holds the billed ones the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow, row_digests
from processor.history import HistoryStore
from processor.ingest.formats.base import Format
from processor.ledger.key_set import MetKeys
from processor.ledger.row_keys import occurrence_keys, row_keys

if TYPE_CHECKING:  # batchfiles reads the ledger's digests: imported for the type only
    pass


def screen(
    chunk: pd.DataFrame,
    fmt: Format,
    history: HistoryStore,
    met: MetKeys,
    application: str,
    app_key: str,
    loc_key: str,
    keys: np.ndarray | None = None,
) -> pd.DataFrame:
    """The chunk with ``row_key`` set and duplicate, already-billed and later-leg rows
    skipped with their reasons.

    Args:
        chunk: a canonical chunk (``processor.ingest``).
        fmt: its format (record ids, call id).
        history: the open history (its lock held).
        met: the keys this import has met so far (this chunk's are added).
        application, app_key, loc_key: the import's application, and the keys of the
            (application, location) the row keys are scoped by.
        keys: the rows' keys when they are known already (a retry), else worked out.
    """
    out = chunk.copy()
    numbered = keys is None  # a retry's rows carry the keys their import numbered
    if keys is None:
        keys, digests = row_keys(out, fmt, application)
    else:
        keys = pa.array(np.asarray(keys, dtype=object), pa.string(), from_pandas=True)
        digests = row_digests.digests(pc.fill_null(keys, ""))
    skip = out["skip"].to_numpy(dtype=object).copy()
    detail = out["skip_detail"].to_numpy(dtype=object).copy()

    idx = np.flatnonzero(np.asarray(keys.is_valid()))
    if len(idx):
        files, lines = out["source_file"].to_numpy()[idx], out["line"].to_numpy()[idx]
        earlier, ids = met.meet(digests[idx], files, lines)
        if numbered:
            keys = _number_identical(keys, digests, idx, earlier, ids, files, lines, met)
        again = earlier >= 0
        skip[idx[again]], detail[idx[again]] = "duplicate-row", met.place(earlier[again])
        fresh = np.flatnonzero(~again)
        which, places = history.billed_where(app_key, loc_key, digests[idx][fresh])
        hits = np.flatnonzero(which >= 0)
        if len(hits):  # the rows billed before, named a column at a time
            named = np.array([f"{b.batch_id} ({b.folder})" for b in places], dtype=object)
            rows = idx[fresh[hits]]
            skip[rows], detail[rows] = "already-billed", named[which[hits]]

    # the rows of one call: only the first billable one counts (a retry's rows are past this)
    if fmt.call_id is not None and f"field:{fmt.call_id}" in out:
        calls = arrow.strip(arrow.plain(out[f"field:{fmt.call_id}"]))
        named = arrow.flags(pc.not_equal(calls, ""))
        open_ = np.flatnonzero(out["error"].isna().to_numpy() & pd.isna(skip) & named)
        if len(open_):
            ids = pc.take(calls, pa.array(open_))
            legs = met.first_seen(row_digests.text_digests(ids, "call"))
            later = legs != None  # noqa: E711 (elementwise)
            skip[open_[later]] = "duplicate-leg"
            detail[open_[later]] = ids.filter(pa.array(later)).to_numpy(zero_copy_only=False)
    out["row_key"] = arrow.series(keys, out.index)
    out[DIGEST] = pd.Series(_fixed(digests), dtype=pd.ArrowDtype(_DIGEST_TYPE), index=out.index)
    out["skip"] = arrow.from_objects(skip, out.index)
    out["skip_detail"] = arrow.from_objects(detail, out.index)
    return out


def _number_identical(
    keys: pa.Array,
    digests: np.ndarray,
    idx: np.ndarray,
    earlier: np.ndarray,
    ids: np.ndarray,
    files: np.ndarray,
    lines: np.ndarray,
    met: MetKeys,
) -> pa.Array:
    """Identical rows keyed by their content (no record id) are distinct charges within
    one file: the second, third... of them get their occurrence number in their key (the
    first keeps its key, so a history from before stays valid), and are met under it.
    ``digests`` and ``earlier`` are updated in place; returns the keys."""
    content = arrow.flags(pc.starts_with(pc.fill_null(keys.take(pa.array(idx)), ""), "row:"))
    repeat = np.flatnonzero(content & (earlier >= 0))
    if not len(repeat):
        return keys
    numbers = met.occurrences(digests[idx[repeat]], ids[repeat], earlier[repeat])
    later = repeat[numbers > 1]
    if not len(later):
        return keys
    new_keys, new_digests = occurrence_keys(keys.take(pa.array(idx[later])), numbers[numbers > 1])
    digests[idx[later]] = new_digests
    earlier[later] = met.meet(new_digests, files[later], lines[later])[0]
    mask = np.zeros(len(keys), dtype=bool)
    mask[idx[later]] = True
    return pc.replace_with_mask(keys, pa.array(mask), new_keys)


DIGEST = "row_digest"  # the chunk's column of row-key digests, for the commit
_DIGEST_TYPE = pa.binary(row_digests.WIDTH)


def _fixed(digests: np.ndarray) -> pa.Array:
    raw = pa.py_buffer(np.ascontiguousarray(digests).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(_DIGEST_TYPE, len(digests), [None, raw])


def digests_of(rows: pd.DataFrame) -> np.ndarray:
    """The row-key digests ``screen`` gave these rows (dtype S12)."""
    got = pa.array(rows[DIGEST].array)
    got = got.combine_chunks() if isinstance(got, pa.ChunkedArray) else got
    flat = np.frombuffer(got.buffers()[1], dtype=f"S{row_digests.WIDTH}")
    return flat[got.offset : got.offset + len(got)]
