"""This machine's copy of a PostgreSQL history's batch runs (``batch_runs``): an import
fetches only the runs committed since it last looked.

A run is kept as a file named by the sha256 the server records for it (checked when it is
fetched), so a copy is never out of date: a void deletes the run on the server, and the
file is no longer asked for. Each file ends with a CRC-32 of its content, checked when it
is read: a damaged copy is fetched again. Files are written whole or not at all (renamed
into place). A folder that cannot be written means no copy, not an error: the runs are
then fetched each time.

Where: ``CHARGES_KEY_CACHE``, else the user's cache folder (``~/.cache`` on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows), in ``device-charges/keys``,
a folder per history id.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import zlib
from pathlib import Path

ENV = "CHARGES_KEY_CACHE"
_HEX = re.compile(r"[0-9a-f]{16,64}")  # what names a folder or file here: nothing else


def default_folder() -> Path:
    """Where this user's copies go."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "device-charges" / "keys"


class KeyCache:
    """The copies of one history's runs on this machine."""

    def __init__(self, history_id: str, folder: Path | None = None) -> None:
        ok = bool(_HEX.fullmatch(history_id))  # text from the database: never a path as it is
        self.folder = (folder or default_folder()) / history_id if ok else None

    def _path(self, sha256: str) -> Path | None:
        if self.folder is None or not _HEX.fullmatch(sha256):
            return None
        return self.folder / f"{sha256}.run"

    def get(self, sha256: str, size: int) -> memoryview | None:
        """A run's data (``size`` digests) as copied here, None when there is no sound copy."""
        path = self._path(sha256)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        data = memoryview(raw)[:-4]
        if len(raw) != 12 * size + 4 or zlib.crc32(data).to_bytes(4, "little") != raw[-4:]:
            with contextlib.suppress(OSError):
                path.unlink()  # damaged: fetched again, and copied again
            return None
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Keep a copy of a run's data (checked against ``sha256`` by the caller)."""
        path = self._path(sha256)
        if path is None or path.exists():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".run-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.write(zlib.crc32(data).to_bytes(4, "little"))
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError:
            self.folder = None  # not writable here: fetched each time instead
