"""The life of a batch, for every recipe that makes one (import, retry): recorded pending in
the history, written into a hidden folder, renamed into place, then committed with the
keys it bills; on any failure neither the folder nor the record is kept, and what a killed
run left is recovered by the next command that holds the history (``hold``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from processor import row_digests
from processor.batch.alerts import previous_months, spend_alerts
from processor.batch.folder import BATCH_FILES, CHARGES, MANIFEST, MARKER, atomic_dir, partial_path
from processor.batch.manifest import read_manifest
from processor.batch.trust import file_sha256, folder_files
from processor.batch.writer import BatchWriter, describe
from processor.errors import HistoryError, UsageError
from processor.history import HistoryStore
from processor.history.store import LOCK_WAIT, Scope
from processor.ingest.formats.base import Format
from processor.ledger.key_set import MetKeys
from processor.reference.records import Reference
from schemas.checks import key


@dataclass(frozen=True)
class BatchPlan:
    """What a recipe makes a batch of: what the history records of it before it is
    written, and what its manifest says of it."""

    ref: Reference
    application: str
    location: str
    fmt: Format
    batch_date: dt.date
    workbooks: Path
    retry_of: str | None = None  # the batch whose unmatched rows a retry bills

    def record(self) -> dict:
        """What the history records of the batch before it is written."""
        extra = {"retry_of": self.retry_of} if self.retry_of else {}
        return {
            "location": self.ref.location(self.location).name,
            "location_key": key(self.location),
            "application": self.ref.applications[key(self.application)].name,
            "application_key": key(self.application),
            "format": self.fmt.name,
            "batch_date": self.batch_date.isoformat(),
            "workbooks_fingerprint": fingerprint(self.workbooks),
            **extra,
        }


@dataclass
class NewBatch:
    """A batch being written: its id, the hidden folder its writer writes into, and (once
    the recipe finishes it) its manifest and the digests of the row keys it bills."""

    id: str
    folder: Path
    plan: BatchPlan
    hist: HistoryStore
    writer: BatchWriter
    manifest: dict | None = None
    digests: np.ndarray | None = None
    removed: list[Path] = field(default_factory=list)  # leftovers of killed runs cleared
    met: MetKeys | None = field(default_factory=MetKeys)  # the keys this batch's rows met

    def finish(
        self, inputs: list[dict], match_on: list | tuple, allowances: dict | None = None
    ) -> None:
        """Finish the batch's files and keep what the commit needs: the manifest (with
        what allowances were used, ``Allowances.summary``) and the digests of the keys the
        writer billed."""
        plan, extra = self.plan, {"retry_of": self.plan.retry_of} if self.plan.retry_of else {}
        meta = describe(
            self.id,
            plan.ref,
            plan.location,
            plan.application,
            plan.fmt,
            inputs,
            match_on,
            plan.workbooks,
            self.hist.path,
            self.hist.history_id,
            **extra,
        )
        self.digests = self.writer.billed_digests()
        # spend alerts against what committed batches of the scope billed before
        earlier = self.hist.monthly_nets(
            key(plan.application), key(plan.location), previous_months(plan.batch_date)
        )
        writer = self.writer
        self.manifest = writer.finish(
            meta,
            plan.batch_date,
            allowances,
            lambda lines: spend_alerts(
                lines, writer.calls, earlier, plan.ref, plan.location, writer.sheet.places
            ),
        )

    def notes(self) -> list[str]:
        return [
            f"removed {p}, left by an import that was stopped before it finished"
            for p in self.removed
        ]


# The moments of a batch's life the kill tests stop an import at (pending, written,
# renamed; a void's voided): CHARGES_STOP_AT names one, and the process ends there at
# once, as a SIGKILL would end it. Unset in real use.


def stop_here(moment: str) -> None:
    """End the process now if the kill tests asked to stop at this moment."""
    if os.environ.get("CHARGES_STOP_AT") == moment:
        os._exit(137)


def recover(hist: HistoryStore) -> list[str]:
    """For a command that only reads the history (history, report): recover what killed
    commands left, as ``hold`` does, when no other command holds the history (a pending
    batch then is a live import's, and is left to it); the lock is let go after.

    Returns:
        What was cleared, for the user.
    """
    try:
        return hold(hist, wait=0)
    except HistoryError:
        return []  # another command is running: what is pending is its own
    finally:
        hist.unlock()


def hold(
    hist: HistoryStore,
    waiting: Callable[[str], None] | None = None,
    wait: float = LOCK_WAIT,
    scope: Scope | None = None,
) -> list[str]:
    """Hold the history's lock for this command (for ``scope`` only, an application at a
    location, when given: an import's or a retry's), then clear what killed imports left
    there: their pending records and the folders those name (only a folder that says it is
    that batch's).

    Returns:
        What was cleared, for the user.
    """
    hist.lock(wait, waiting=waiting, scope=scope)
    cleared = []
    for stopped in hist.pending(scope):  # the lock is held: none is a live import's
        folder = Path(stopped.folder) if stopped.folder else None
        manifest = _finished(folder, stopped.batch_id) if folder else None
        if manifest is not None:  # stopped after the rename: the batch is whole, roll forward
            hist.commit(stopped.batch_id, manifest, billed_digests(folder), folder_files(folder))
            cleared.append(
                f"committed batch {stopped.batch_id} ({folder}): an import was stopped after "
                "writing it and before recording it; its folder is whole"
            )
            continue
        for place in (stopped.partial, stopped.folder):
            p = Path(place) if place else None
            if p is not None and p.is_dir() and _belongs(p, stopped.batch_id):
                shutil.rmtree(p, ignore_errors=True)
                cleared.append(f"removed {p}, left by an import that was stopped")
        hist.abandon(stopped.batch_id)
        cleared.append(
            f"removed the unfinished record of batch {stopped.batch_id} from the history"
        )
    return cleared


def _finished(folder: Path, batch_id: str) -> dict | None:
    """The manifest of a batch folder that was renamed into place whole (every file there,
    its marker and manifest naming this batch), else None."""
    if not (folder.is_dir() and _belongs(folder, batch_id)):
        return None
    if not all((folder / f).is_file() for f in BATCH_FILES):
        return None
    try:
        manifest = read_manifest(folder, need_id=True)
    except UsageError:
        return None
    return manifest if manifest["batch_id"] == batch_id else None


def _belongs(folder: Path, batch_id: str) -> bool:
    """A folder is this batch's when its marker (or manifest) names the batch."""
    for name in (MARKER, MANIFEST):
        f = folder / name
        if f.is_file():
            try:
                text = f.read_text(encoding="utf-8")
            except OSError:
                return False
            if name == MARKER:
                return text.strip() == batch_id
            try:
                return json.loads(text).get("batch_id") == batch_id
            except ValueError:
                return False
    return False


@contextlib.contextmanager
def new_batch(
    hist: HistoryStore, out: Path, plan: BatchPlan, inputs: list[dict]
) -> Iterator[NewBatch]:
    """The life of a batch, for every recipe that makes one (import, retry).

    Records it pending, yields the batch with its writer over a hidden folder, renames the
    folder into place, and commits the batch with the keys its charges.parquet bills. On
    any failure, neither the folder nor the record is kept.
    """
    record = {**plan.record(), "folder": str(out), "partial": str(partial_path(out))}
    batch_id = hist.begin(record, inputs)
    stop_here("pending")
    removed: list[Path] = []
    try:
        with atomic_dir(out, removed, marker=batch_id) as tmp:
            writer = BatchWriter.for_batch(tmp, plan.ref, plan.location, plan.application)
            job = NewBatch(batch_id, tmp, plan, hist, writer, removed=removed)
            try:
                yield job
            except BaseException:
                job.writer.abandon()  # no thread left writing into the folder
                raise
            stop_here("written")
        stop_here("renamed")
        job.met = None  # the keys met are done with: room for the commit's sort
        billed = job.digests if job.digests is not None else billed_digests(out)
        hist.commit(batch_id, job.manifest, billed, folder_files(out))
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
    history: str = ""  # which history recorded it, and how many batches it holds now
    # seconds spent in each step (workbooks, read, ledger, match, price, write, finish)
    timings: dict[str, float] = field(default_factory=dict)
