"""The import history in one SQLite file, by default ``history.sqlite`` beside the workbooks.

WAL mode, a schema version and migrations (``schema``), billed digests as sorted runs
(``runs``), and a lock file beside it (``lock``). It is the default store: right for one
clerk on one machine. What it records and answers is ``sql_store``'s, shared with the
PostgreSQL store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from processor.errors import HistoryError
from processor.history import key_runs, runs
from processor.history.sql_store import SQLHistory
from processor.history.sqlite.lock import FileLock
from processor.history.sqlite.schema import migrate, ours, wal, whole
from processor.history.sqlite.usable import network_warning, read_only, usable
from processor.history.store import LOCK_WAIT, Scope

DEFAULT_NAME = "history.sqlite"


class SQLiteHistory(SQLHistory):
    """A history in one SQLite file (WAL mode), its lock a file beside it."""

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = Path(path).resolve()
        usable(self.path, create)
        self.warnings = [w for w in [network_warning(self.path)] if w]
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # mode=rw never creates a file: only ``create`` (charges init) makes a history
            uri = f"{self.path.as_uri()}?mode={'rwc' if create else 'rw'}"
            self.db = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
            ours(self.db, self.path, create)  # before anything is written into it
            wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA temp_store=FILE")  # SQLite's own sorts stay off the heap
            self.db.execute("PRAGMA cache_size=-32768")  # 32 MiB of pages per database
            # the key check probes a large table at random: read it through the OS's page
            # cache (memory-mapped) rather than copying pages into SQLite's own
            self.db.execute("PRAGMA mmap_size=4294967296")
            migrate(self.db, self.path)
            whole(self.db, self.path)
            (self.history_id,) = self.db.execute(
                "SELECT value FROM meta WHERE key = 'history_id'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise HistoryError(read_only(self.path)) from None
            raise HistoryError(
                f"{self.path}: is not an import history this program can read ({exc}). "
                "Restore it from a backup; do not start a new history for exports imported "
                "before, or their rows would be billed again"
            ) from None
        self._lock = FileLock(self.path)
        super().__init__()

    def close(self) -> None:
        self.unlock()
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- the import lock ------------------------------------------------------------------

    def lock(self, wait: float = LOCK_WAIT, waiting=None, scope: Scope | None = None) -> None:
        self._lock.acquire(wait, waiting)  # one lock file: the whole history, whatever scope

    def lock_allowances(self, location_key: str, wait: float = LOCK_WAIT, waiting=None) -> None:
        pass  # ``lock`` holds the whole file already

    def unlock(self) -> None:
        self._lock.release()

    # --- the billed keys: sorted runs, merged as they are committed (``runs``) -------------

    def _store_run(self, scope: int, run: key_runs.Run) -> None:
        runs.store(self.db, scope, run)

    def _release_run(self, rowid: int) -> int:
        return runs.release(self.db, rowid)

    def _stored_runs(self, scope: int) -> list[key_runs.Run]:
        return runs.read(self.db, scope)
