"""`charges void`: mark a batch void, so its rows can be billed again.

The recipe: read the batch folder's manifest → hold the history → check the folder against
it (the batch's own folder, every file as committed) → refuse a batch whose retry batches
are in use, unless they are voided with it → for each batch, retries first: write its
batch.xlsx with a VOID sheet beside it, then record who (the OS user), when and why in the
history with that file's sha256, releasing its keys, then put the file in place, write
VOID.txt, and put VOID at the top of its reports and statements.

The history is the truth: a void stopped after its record and before its marks leaves a
batch that the next `void` (or `report`) marks, never a batch marked but not void.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from processor.batch.checked import settle_void
from processor.batch.folder import REPORTS, WORKBOOK
from processor.batch.life import hold, stop_here
from processor.batch.manifest import read_manifest
from processor.batch.trust import file_sha256, trusted
from processor.batch.void_mark import mark_void, void_text, void_workbook
from processor.errors import HistoryError, UsageError
from processor.history import HistoryStore, open_history, recorded_in
from processor.history.store import now, user
from processor.reports.batch import load_batch
from processor.reports.statement_files import write_statements


def _retries(hist: HistoryStore, batch_id: str) -> list[dict]:
    """The committed batches that retried this one's rows, and theirs, deepest first."""
    children: dict[str, list[dict]] = {}
    for b in hist.batches():
        if b["retry_of"] and b["status"] == "committed":
            children.setdefault(b["retry_of"], []).append(b)
    found: list[dict] = []

    def walk(parent: str) -> None:
        for child in children.get(parent, []):
            walk(child["id"])
            found.append(child)

    walk(batch_id)
    return found


def _statements(folder: Path) -> None:
    """Write the statements of a void batch again, VOID at their top (when it has any)."""
    statements = folder / REPORTS / "statements"
    if statements.is_dir():
        write_statements(load_batch(folder), statements)


def _void_one(
    hist: HistoryStore, batch_id: str, folder: Path | None, reason: str, who: str, when: str
) -> dict:
    """Void one batch: the history first (with the VOID workbook's sha256), then its
    folder's marks, when the folder is there."""
    text = void_text(batch_id, {"by": who, "at": when}, reason)
    book = folder / WORKBOOK if folder is not None else None
    prepared = void_workbook(folder, text) if book is not None and book.is_file() else None
    try:
        files = {WORKBOOK: file_sha256(prepared)} if prepared else None
        info = hist.void(batch_id, reason, who, when, files)
    except BaseException:
        if prepared is not None:
            with contextlib.suppress(OSError):
                prepared.unlink()
        raise
    stop_here("voided")  # the kill tests' moment between the history and the folder
    if folder is not None and folder.is_dir():
        try:
            if prepared is not None:
                os.replace(prepared, book)
            mark_void(folder, text)
            _statements(folder)
        except OSError as exc:
            raise HistoryError(
                f"batch {batch_id} is void in the history, but its folder {folder} could not "
                f"be marked ({exc.strerror or exc}); make the folder writable, then run the "
                "same void again: it marks the folder"
            ) from None
    return info


def void_batch(
    batch_dir: Path, reason: str, history: Path | None = None, with_retries: bool = False
) -> dict:
    """Void a committed batch: release its keys, and mark its folder VOID (a VOID sheet in
    front of batch.xlsx, VOID.txt, a banner on its reports, VOID at the top of its
    statements). A batch void in the history whose folder does not say so yet (a void
    that was stopped) gets its marks.

    Args:
        batch_dir: the batch folder.
        reason: why (recorded, and written into VOID.txt).
        history: the history (default: the one the batch was recorded in).
        with_retries: void the batch's retry batches too; without it, a batch whose rows
            a retry billed is refused, naming them.

    Returns:
        {"batch_id", "by", "at", "released", "retries", "marked_only", "history",
        "exported" (the exports to the books that held it: credit their invoices there)}:
        ``retries`` the retry batches voided with it ({"batch_id", "folder",
        "released"} each); ``marked_only`` when the batch was void already and only its
        folder's marks were finished.

    Raises:
        UsageError: not a batch folder of the history, a copy, a changed file; retry
            batches in use.
        HistoryError: void already (and marked), or its folder cannot be marked.
    """
    batch_dir = Path(batch_dir).resolve()
    manifest = read_manifest(batch_dir, need_id=True)
    batch_id = manifest["batch_id"]
    reason = " ".join(reason.split())
    hist = open_history(recorded_in(manifest, history))
    voided = []
    try:
        hold(hist)
        record = trusted(hist, batch_dir, manifest, original=True)
        said = hist.said()
        if record["status"] == "void":
            if not settle_void(hist, batch_dir, record):
                raise HistoryError(
                    f"batch {batch_id} was voided already, on {record['voided_at']} by "
                    f'{record["voided_by"]} ("{record["void_reason"]}"); nothing was changed'
                )
            _statements(batch_dir)
            return {
                "batch_id": batch_id,
                "by": record["voided_by"],
                "at": record["voided_at"],
                "released": 0,
                "retries": [],
                "marked_only": True,
                "history": said,
            }
        retries = _retries(hist, batch_id)
        if retries and not with_retries:
            named = ", ".join(f"{b['id']} ({b['folder']})" for b in retries)
            raise UsageError(
                f"batch {batch_id} has retry batches that bill its rows: {named}; give "
                "--with-retries to void them with it, or void them first"
            )
        who, when = user(), now()
        why = f"{reason} (a retry of batch {batch_id}, voided with it)"
        for b in retries:  # the deepest first: no batch is left retrying a void one
            folder = Path(b["folder"])
            done = _void_one(hist, b["id"], folder if folder.is_dir() else None, why, who, when)
            voided.append((b, done))
        info = _void_one(hist, batch_id, batch_dir, reason, who, when)
        said = hist.said()
        exported = hist.exports_of([batch_id, *(b["id"] for b in retries)])
    finally:
        hist.close()
    return {
        "batch_id": batch_id,
        **info,
        "retries": [
            {"batch_id": b["id"], "folder": b["folder"], "released": done["released"]}
            for b, done in voided
        ],
        "marked_only": False,
        "history": said,
        # its invoices are in the accounting system already: they are credited there
        "exported": exported,
    }
