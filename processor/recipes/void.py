"""`charges void`: mark a batch void, so its rows can be billed again.

The recipe: read the batch folder's manifest → lock the history → refuse a batch whose
retry batches are in use, unless they are voided with it → record who (the OS user), when
and why, and release each batch's keys, retries first → write VOID.txt into each folder
and put VOID at the top of its reports.
"""

from __future__ import annotations

from pathlib import Path

from processor.batch.life import check_recorded_in, hold
from processor.batch.manifest import read_manifest
from processor.batch.void_mark import mark_void, void_text
from processor.errors import UsageError
from processor.history import HistoryStore, open_history, recorded_in


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


def void_batch(
    batch_dir: Path, reason: str, history: Path | None = None, with_retries: bool = False
) -> dict:
    """Void a committed batch: release its keys, write VOID.txt, mark its reports.

    Args:
        batch_dir: the batch folder.
        reason: why (recorded, and written into VOID.txt).
        history: the history (default: the one the batch was recorded in).
        with_retries: void the batch's retry batches too; without it, a batch whose rows
            a retry billed is refused, naming them.

    Returns:
        {"batch_id", "by", "at", "released", "retries"}: ``retries`` the retry batches
        voided with it ({"batch_id", "folder", "released"} each).

    Raises:
        UsageError: not a batch folder of the history; retry batches in use.
        HistoryError: not in the history, or void already.
    """
    batch_dir = Path(batch_dir).resolve()
    manifest = read_manifest(batch_dir, need_id=True)
    batch_id = manifest["batch_id"]
    reason = " ".join(reason.split())
    hist = open_history(recorded_in(manifest, history))
    voided = []
    try:
        hold(hist)
        check_recorded_in(manifest, batch_dir, hist)
        retries = _retries(hist, batch_id)
        if retries and not with_retries:
            named = ", ".join(f"{b['id']} ({b['folder']})" for b in retries)
            raise UsageError(
                f"batch {batch_id} has retry batches that bill its rows: {named}; give "
                "--with-retries to void them with it, or void them first"
            )
        why = f"{reason} (a retry of batch {batch_id}, voided with it)"
        for b in retries:  # the deepest first: no batch is left retrying a void one
            voided.append((b, hist.void(b["id"], why)))
        info = hist.void(batch_id, reason)
    finally:
        hist.close()
    mark_void(batch_dir, void_text(batch_id, info, reason))
    for b, done in voided:
        if Path(b["folder"]).is_dir():
            mark_void(Path(b["folder"]), void_text(b["id"], done, why))
    return {
        "batch_id": batch_id,
        **info,
        "retries": [
            {"batch_id": b["id"], "folder": b["folder"], "released": done["released"]}
            for b, done in voided
        ],
    }
