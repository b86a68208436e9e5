"""A batch folder checked against the history before it is trusted: the history it was
recorded in, its record there, and each of its files against the sha256 the history
recorded when the batch was committed. A batch folder is data from disk: an edited
manifest or an added unmatched row must never be billed, voided or reported as genuine."""

from __future__ import annotations

import hashlib
from pathlib import Path

from processor.batch.folder import BATCH_FILES
from processor.errors import UsageError
from processor.history import HistoryStore


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_files(folder: Path) -> dict[str, tuple[str, int]]:
    """A whole batch folder's files as the history records them: name → (sha256, size)."""
    return {
        name: (file_sha256(folder / name), (folder / name).stat().st_size) for name in BATCH_FILES
    }


def check_recorded_in(manifest: dict, folder: Path, hist: HistoryStore) -> None:
    """Refuse a batch recorded in another history than ``hist`` (its manifest names the
    history's id; a batch from before history ids names none, and is let through)."""
    theirs = manifest.get("history_id")
    if theirs and theirs != hist.history_id:
        raise UsageError(
            f"batch {manifest['batch_id']} ({folder}) was recorded in another history (id "
            f"{theirs}, at {manifest.get('history', 'an unknown place')}), not in {hist.path} "
            f"(id {hist.history_id}); name the history it was recorded in with --history"
        )


def trusted(hist: HistoryStore, folder: Path, manifest: dict, original: bool = False) -> dict:
    """The history's record of the batch in ``folder``, once the folder is checked against
    it: recorded in this history, in it, and every file as it was committed (or as void
    rewrote it). With ``original``, a copy of the batch's folder is refused while the folder
    the history names is still there (void and retry change the batch itself).

    Raises:
        UsageError: naming the history, the file changed or missing, or the original folder.
    """
    folder = Path(folder)
    batch_id = manifest["batch_id"]
    check_recorded_in(manifest, folder, hist)
    record = hist.batch(batch_id)
    if record is None:
        raise UsageError(
            f"batch {batch_id} ({folder}) is not in the history {hist.path}; name the history "
            "it was recorded in with --history; nothing was done"
        )
    when = (record.get("committed_at") or record.get("created_at") or "")[:10]
    for name, held in sorted(hist.files(batch_id).items()):
        path = folder / name
        if not path.is_file():
            raise UsageError(
                f"{path}: is missing; it was part of batch {batch_id} when it was committed on "
                f"{when}. Restore the folder from a backup; nothing was done"
            )
        if file_sha256(path) not in {held["sha256"], held["void_sha256"]}:
            raise UsageError(
                f"{path}: has changed since batch {batch_id} was committed on {when} (it is "
                "not the file the history recorded), so the batch is not trusted. Restore the "
                "folder from a backup, or void the batch and import again; nothing was done"
            )
    named = Path(record["folder"])
    if original and named.is_dir() and not named.samefile(folder):
        raise UsageError(
            f"{folder}: is a copy of batch {batch_id}, whose folder is {named}; name that "
            "folder instead; nothing was done"
        )
    return record
