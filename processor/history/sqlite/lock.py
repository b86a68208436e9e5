"""The SQLite history's lock: a file beside it, held with flock by one command at a time
(released when the command closes it or its process ends, however it ends)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable
from pathlib import Path

from processor.errors import HistoryError


class FileLock:
    """An exclusive lock on ``PATH.lock``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = None

    def acquire(self, wait: float, waiting: Callable[[str], None] | None = None) -> None:
        """Hold the lock, waiting at most ``wait`` seconds for another holder (told once
        through ``waiting``).

        Raises:
            HistoryError: another command held it all that time.
        """
        where = str(self.path) + ".lock"
        try:
            self._file = open(where, "a+")
        except OSError as exc:
            raise HistoryError(
                f"{where}: cannot be opened as the history's lock file ({exc.strerror}); "
                "remove or rename what is there (the lock file is made again when needed)"
            ) from None
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HistoryError(
                        f"{self.path}: another import has held the history for "
                        f"{wait:.0f} s; let it finish, then run this one again"
                    ) from None
                if waiting and not told:
                    waiting("another import is using the history; waiting for it to finish")
                    told = True
                time.sleep(0.2)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None
