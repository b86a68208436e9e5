"""The ledger step: a row is billed once, ever (between reading and matching).

For each canonical chunk: give every row its key; skip a row already met in this import
as ``duplicate-row``, and one a committed batch billed as ``already-billed`` (naming
that batch); then bill only the first billable row of a call (``duplicate-leg``). The
keys an import has met are held as 12-byte digests (``processor.seen``); the history
holds the billed ones the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor import arrow, row_digests
from processor.history.sqlite_store import History
from processor.ingest.formats.base import Format
from processor.ledger.row_keys import row_keys
from processor.outputs import files
from schemas.checks import key

if TYPE_CHECKING:  # batchfiles reads the ledger's digests: imported for the type only
    from processor.batch.writer import BatchWriter


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
    if keys is None:
        keys, digests = row_keys(out, fmt, application)
    else:
        keys = pa.array(np.asarray(keys, dtype=object), pa.string(), from_pandas=True)
        digests = row_digests.digests(pc.fill_null(keys, ""))
    out["row_key"] = arrow.series(keys, out.index)
    out[DIGEST] = pd.Series(_fixed(digests), dtype=pd.ArrowDtype(_DIGEST_TYPE), index=out.index)
    skip = out["skip"].to_numpy(dtype=object).copy()
    detail = out["skip_detail"].to_numpy(dtype=object).copy()

    idx = np.flatnonzero(np.asarray(keys.is_valid()))
    if len(idx):
        digests = digests[idx]
        met = history.first_seen(
            digests, out["source_file"].to_numpy()[idx], out["line"].to_numpy()[idx]
        )
        again = met != None  # noqa: E711 (elementwise)
        skip[idx[again]], detail[idx[again]] = "duplicate-row", met[again]
        fresh = np.flatnonzero(~again)
        which, places = history.billed_where(app_key, loc_key, digests[fresh])
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
            met = history.first_seen(row_digests.text_digests(ids, "call"))
            later = met != None  # noqa: E711 (elementwise)
            skip[open_[later]] = "duplicate-leg"
            detail[open_[later]] = ids.filter(pa.array(later)).to_numpy(zero_copy_only=False)
    out["skip"] = arrow.from_objects(skip, out.index)
    out["skip_detail"] = arrow.from_objects(detail, out.index)
    return out


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


@dataclass
class NewBatch:
    """A batch being written: its id, the hidden folder it is written into, and (set by the
    recipe when done) its manifest and the digests of the row keys it bills."""

    id: str
    folder: Path
    manifest: dict | None = None
    digests: np.ndarray | None = None
    removed: list[Path] = field(default_factory=list)  # leftovers of killed runs cleared
    writer: BatchWriter | None = None

    def writes(self, writer: BatchWriter) -> BatchWriter:
        """The writer of this batch's files (stopped, if the batch fails, before its
        folder is removed)."""
        self.writer = writer
        return writer

    def finish(self, meta: dict, batch_date: dt.date) -> None:
        """Finish the batch's files (its writer's ``BatchWriter.finish``) and keep what the
        commit needs: the manifest and the digests of the keys the writer billed."""
        self.digests = self.writer.billed_digests()
        self.manifest = self.writer.finish(meta, batch_date)

    def notes(self) -> list[str]:
        return [
            f"removed {p}, left by an import that was stopped before it finished"
            for p in self.removed
        ]


def batch_record(
    ref,
    application: str,
    location: str,
    fmt: Format,
    batch_date: dt.date,
    workbooks: Path,
    **extra,
) -> dict:
    """What the history records of a batch before it is written."""
    return {
        "location": ref.location(location).name,
        "location_key": key(location),
        "application": ref.applications[key(application)][0],
        "application_key": key(application),
        "format": fmt.name,
        "batch_date": batch_date.isoformat(),
        "workbooks_fingerprint": fingerprint(workbooks),
        **extra,
    }


@contextlib.contextmanager
def new_batch(hist: History, out: Path, record: dict, inputs: list[dict]) -> Iterator[NewBatch]:
    """The life of a batch, for every recipe that makes one (import, retry).

    Records it pending, yields the hidden folder to write into, renames the folder into
    place, and commits the batch with the keys its charges.parquet bills. On any failure,
    neither the folder nor the record is kept.
    """
    batch_id = hist.begin(
        {**record, "folder": str(out), "partial": str(files.partial_path(out))}, inputs
    )
    removed: list[Path] = []
    try:
        with files.atomic_dir(out, removed, marker=batch_id) as tmp:
            job = NewBatch(batch_id, tmp, removed=removed)
            try:
                yield job
            except BaseException:
                if job.writer is not None:
                    job.writer.abandon()  # no thread left writing into the folder
                raise
        hist.forget_met()  # the keys met are done with: room for the commit's sort
        billed = job.digests if job.digests is not None else billed_digests(out)
        hist.commit(batch_id, job.manifest, billed)
    except BaseException:
        marker = out / ".batch-id"
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == batch_id:
            shutil.rmtree(out, ignore_errors=True)  # renamed, not committed: not kept
        hist.abandon(batch_id)
        raise


def billed_row_keys(batch_dir: Path) -> Iterator[pa.Array]:
    """The row keys a batch folder bills, read back from its charges.parquet a part at a
    time."""
    pa.default_memory_pool().release_unused()  # what the import's chunks left in the pool
    for batch in pq.ParquetFile(batch_dir / "charges.parquet").iter_batches(
        batch_size=1_000_000, columns=["row_key"]
    ):
        yield batch.column(0)


def billed_digests(batch_dir: Path) -> np.ndarray:
    """The digests of the row keys a batch folder bills (12 bytes a row)."""
    parts = [row_digests.digests(keys) for keys in billed_row_keys(batch_dir)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=f"S{row_digests.WIDTH}")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(workbooks: Path) -> str:
    """The workbooks' content, as one hash (which reference data a batch was made with)."""
    h = hashlib.sha256()
    for name in ("accounts.xlsx", "devices.xlsx"):
        p = Path(workbooks) / name
        if p.is_file():
            h.update(name.encode())
            h.update(file_sha256(p).encode())
    return h.hexdigest()[:16]
