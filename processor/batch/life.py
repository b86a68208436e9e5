"""The life of a batch, for every recipe that makes one (import, retry): recorded pending in
the history, written into a hidden folder, renamed into place, then committed with the
keys it bills; on any failure neither the folder nor the record is kept."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from processor import row_digests
from processor.batch.folder import CHARGES, MARKER, atomic_dir, partial_path
from processor.batch.writer import BatchWriter
from processor.history.sqlite_store import History
from processor.ingest.formats.base import Format
from schemas.checks import key


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
    batch_id = hist.begin({**record, "folder": str(out), "partial": str(partial_path(out))}, inputs)
    removed: list[Path] = []
    try:
        with atomic_dir(out, removed, marker=batch_id) as tmp:
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
        marker = out / MARKER
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == batch_id:
            shutil.rmtree(out, ignore_errors=True)  # renamed, not committed: not kept
        hist.abandon(batch_id)
        raise


def billed_row_keys(batch_dir: Path) -> Iterator[pa.Array]:
    """The row keys a batch folder bills, read back from its charges.parquet a part at a
    time."""
    pa.default_memory_pool().release_unused()  # what the import's chunks left in the pool
    for batch in pq.ParquetFile(batch_dir / CHARGES).iter_batches(
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


@dataclass
class ImportResult:
    """What an import wrote and counted."""

    batch_dir: Path
    manifest: dict
    warnings: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # things done on the way, for the user
    # seconds spent in each step (workbooks, read, ledger, match, price, write, finish)
    timings: dict[str, float] = field(default_factory=dict)
