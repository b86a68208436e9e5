"""A batch folder checked against its history for a command that reads it (report,
export), and a void batch's folder made to say VOID as its history does."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from processor.batch.folder import WORKBOOK
from processor.batch.life import recover
from processor.batch.manifest import read_manifest
from processor.batch.trust import file_sha256, trusted
from processor.batch.void_mark import mark_void, read_void, void_text, void_workbook
from processor.errors import NoHistoryError, ReportError, UsageError
from processor.history import HistoryStore, open_history, recorded_in


@dataclass
class Checked:
    """A batch folder checked against its history: the history's record of it (None for a
    batch from before batch ids), which history, and what was set right on the way."""

    record: dict | None
    history: str = ""
    notes: list[str] = field(default_factory=list)


def check_folder(folder: Path, history: Path | str | None = None) -> Checked:
    """Check a batch folder against the history it was recorded in (or ``history``), for
    a command that reads it without changing the history (report, export). A void batch
    whose folder does not say so yet (a void stopped between its writes) is marked.

    Raises:
        ReportError: not a batch folder.
        UsageError: the history is not there, the batch is not in it, a file changed.
    """
    folder = Path(folder).resolve()
    manifest = read_manifest(folder, ReportError)
    if not isinstance(manifest.get("batch_id"), str):
        return Checked(None, notes=[f"{folder}: was imported before the history was kept"])
    where = recorded_in(manifest, history)
    try:
        hist = open_history(where)
    except NoHistoryError:
        raise UsageError(
            f"batch {manifest['batch_id']} ({folder}) was recorded in the history {where}, "
            "which is not there; name it with --history; nothing was done"
        ) from None
    try:
        recovered = recover(hist)  # what a killed command left, first
        record = trusted(hist, folder, manifest)
        checked = Checked(record, hist.said(), [*hist.warnings, *recovered])
        if record["status"] == "void":
            checked.notes += settle_void(hist, folder, record)
    finally:
        hist.close()
    return checked


def voided_text(record: dict) -> str:
    """VOID.txt of a batch, from its record in the history."""
    info = {"by": record.get("voided_by"), "at": record.get("voided_at")}
    return void_text(record["id"], info, record.get("void_reason") or "")


def marked(hist: HistoryStore, folder: Path, batch_id: str) -> bool:
    """The folder of a batch void in the history says so: its VOID.txt, and batch.xlsx as
    void rewrote it (a batch from before batch files were recorded: VOID.txt alone)."""
    if read_void(folder) is None:
        return False
    held = hist.files(batch_id).get(WORKBOOK)
    book = folder / WORKBOOK
    return held is None or not book.is_file() or file_sha256(book) == held["void_sha256"]


def settle_void(hist: HistoryStore, folder: Path, record: dict) -> list[str]:
    """Make the folder of a batch that is void in the history say so: the VOID sheet in
    batch.xlsx (its sha256 recorded), VOID.txt and the reports' banner. Each step is
    whole, so a void stopped anywhere is finished here.

    Returns:
        What was done, for the user (nothing when the folder said so already).
    """
    if marked(hist, folder, record["id"]):
        return []
    text = voided_text(record)
    held = hist.files(record["id"]).get(WORKBOOK)
    book = folder / WORKBOOK
    if held is not None and book.is_file() and file_sha256(book) == held["sha256"]:
        prepared = void_workbook(folder, text)
        try:
            hist.void_file(record["id"], WORKBOOK, file_sha256(prepared))
        except BaseException:
            with contextlib.suppress(OSError):
                prepared.unlink()
            raise
        os.replace(prepared, book)
    mark_void(folder, text)
    return [f"{folder}: is void in the history; its folder now says so (VOID.txt, batch.xlsx)"]
