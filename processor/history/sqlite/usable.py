"""Whether a file can be used as the SQLite history, checked before SQLite opens it: a
history is never made by accident (only ``charges init`` creates one), and a file that
cannot be used as it is (missing, empty, a folder, read-only) is a clear error that bills
nothing, never mistaken for a new history."""

from __future__ import annotations

import os
from pathlib import Path

from processor.errors import HistoryError, NoHistoryError

# file systems on which SQLite's locking is not to be trusted (its own documentation warns
# of network file systems); /proc/mounts names them so
NETWORK_FILE_SYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ncpfs", "fuse.sshfs"}

_NEVER_NEW = (
    "do not start a new history for exports imported before, or their rows would be billed again"
)


def read_only(path: Path) -> str:
    return (
        f"{path}: cannot be written (the file or its folder is read-only), and every command "
        "records what it does in the history. Make it writable, or copy it to a writable "
        "place and name the copy with --history; nothing was done"
    )


def usable(path: Path, create: bool) -> None:
    """Refuse a path that cannot be opened as a history as it is (or created, with
    ``create``).

    Raises:
        NoHistoryError: nothing there, and not asked to create one.
        HistoryError: a folder, an empty file, a read-only file; one there already when
            asked to create.
    """
    if create:
        if path.exists():
            raise HistoryError(
                f"{path}: is there already; a history is created once, and this one was "
                "left as it was. Name it with --history to use it"
            )
        return
    if not path.exists():
        raise NoHistoryError(
            f"{path}: there is no import history here, so nothing was done. If this is where "
            f"a new history belongs, create it with: charges init --history {path}. If you "
            "have one elsewhere, name it with --history"
        )
    if path.is_dir():
        raise HistoryError(
            f"{path}: is a folder, not an import history; name the history file with --history"
        )
    if path.stat().st_size == 0:
        raise HistoryError(
            f"{path}: is empty (0 bytes), so it is not a usable import history: it was cut "
            f"short, perhaps by a copy or a full disk. Restore it from a backup; {_NEVER_NEW}"
        )
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        raise HistoryError(read_only(path))


def file_system(path: Path, mounts: str | None = None) -> str | None:
    """The type of the file system ``path`` is on, from /proc/mounts (None where unknown)."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    best, kind = "", None
    target = str(path)
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind


def network_warning(path: Path, mounts: str | None = None) -> str | None:
    """A warning when the history is on a network file system, where SQLite is not safe."""
    kind = file_system(path, mounts)
    if kind in NETWORK_FILE_SYSTEMS:
        return (
            f"{path}: is on a network file system ({kind}), where SQLite's locks are not "
            "reliable: two people importing at once could damage it. Keep the history on a "
            "local disk of one machine"
        )
    return None
