"""`charges void`: mark a batch void, so its rows can be billed again.

The recipe: read the batch folder's manifest → lock the history → record who (the OS user),
when and why, and release the batch's keys → write VOID.txt into the folder and put VOID at
the top of its reports.
"""

from __future__ import annotations

from pathlib import Path

from processor.batch.life import hold
from processor.batch.manifest import read_manifest
from processor.batch.void_mark import mark_void, void_text
from processor.history import open_history, recorded_in


def void_batch(batch_dir: Path, reason: str, history: Path | None = None) -> dict:
    """Void a committed batch: release its keys, write VOID.txt, mark its reports.

    Returns:
        {"batch_id", "by", "at", "released"}.

    Raises:
        UsageError: not a batch folder of the history.
        HistoryError: not in the history, or void already.
    """
    batch_dir = Path(batch_dir).resolve()
    manifest = read_manifest(batch_dir, need_id=True)
    batch_id = manifest["batch_id"]
    reason = " ".join(reason.split())
    hist = open_history(recorded_in(manifest, history))
    try:
        hold(hist)
        info = hist.void(batch_id, reason)
    finally:
        hist.close()
    mark_void(batch_dir, void_text(batch_id, info, reason))
    return {"batch_id": batch_id, **info}
