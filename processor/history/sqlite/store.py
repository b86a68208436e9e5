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

import numpy as np

from processor import row_digests
from processor.errors import HistoryError
from processor.history import key_runs, runs
from processor.history.sql_store import SQLHistory
from processor.history.sqlite.lock import FileLock
from processor.history.sqlite.schema import migrate, ours, wal, whole
from processor.history.sqlite.usable import network_warning, read_only, usable
from processor.history.store import LOCK_WAIT, Billed, Scope

DEFAULT_NAME = "history.sqlite"
# A scope's stored runs below this many digests are merged in memory when the key check
# reads them: compaction (``runs.compact``) leaves at most three of each size class,
# so this is a few hundred thousand digests at most, and one search instead of up to 27.
_SMALL_RUN = 1 << 17


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
        # (application, location) → the runs of digests its committed batches billed, read
        # once by the key check (the lock is held: no batch commits meanwhile)
        self._runs: dict[tuple[str, str], tuple] = {}

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

    # --- the billed keys: sorted runs, read whole by the key check --------------------------

    def _store_keys(self, scope: int, rowid: int, digests: np.ndarray) -> None:
        self._runs.clear()  # what the key check read is out of date once this commits
        runs.store(self.db, scope, key_runs.of_batch(rowid, digests))

    def _release_keys(self, rowid: int) -> int:
        self._runs.clear()
        return runs.release(self.db, rowid)

    def billed_where(
        self, application_key: str, location_key: str, digests: np.ndarray
    ) -> tuple[np.ndarray, list[Billed]]:
        """Per row key (given as its digest), the index in the list returned with it of
        the committed batch that billed it, -1 where none did: a column, for a million
        keys billed before (a re-import)."""
        held, filters, places = self._scope_runs(application_key, location_key)
        return key_runs.search(held, filters, digests), places

    def _scope_runs(
        self, application_key: str, location_key: str
    ) -> tuple[list[key_runs.Run], list[tuple[np.ndarray, np.uint64]], list[Billed]]:
        """The runs of digests an (application, location)'s committed batches billed (each
        run's batches given as indexes into the list of those batches returned last), and
        each run's ``row_digests.presence`` bitmap."""
        names = (application_key, location_key)
        if names not in self._runs:
            scope = self.scope_id(application_key, location_key)
            stored = [] if scope is None else runs.read(self.db, scope)
            small = [r for r in stored if len(r) < _SMALL_RUN]
            held = [r for r in stored if len(r) >= _SMALL_RUN]
            if small:
                held.append(key_runs.merge(small))
            rowids = np.unique(np.concatenate([r.batches for r in held])) if held else []
            # only committed batches hold runs (a commit writes them, a void removes them)
            committed = {
                rowid: Billed(batch_id, folder)
                for rowid, batch_id, folder in self.db.execute(
                    "SELECT rowid, id, folder FROM batches WHERE application_key = ? "
                    "AND location_key = ? AND status = 'committed'",
                    names,
                )
            }
            places = [committed[int(b)] for b in rowids]
            self._runs[names] = (
                [
                    key_runs.Run(r.heads, r.tails, np.searchsorted(rowids, r.batches), r.owners)
                    for r in held
                ],
                [row_digests.presence(r.heads) for r in held],
                places,
            )
        return self._runs[names]
