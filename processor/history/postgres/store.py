"""The import history in a PostgreSQL database: one ledger for a team and many sites.

What it records and answers is ``sql_store``'s, the SQLite store's too; here are the
connection, the schema's creation and migrations, transactions, and the lock: a
PostgreSQL advisory lock, held by the connection, so a client that dies (killed, its
network gone) lets it go with its connection, and its open transaction is rolled back.
"""

from __future__ import annotations

import contextlib
import time
import uuid
import zlib

from processor.errors import HistoryError, NoHistoryError
from processor.history import key_runs
from processor.history.postgres import batch_runs
from processor.history.postgres.connection import Connection, unreachable
from processor.history.postgres.key_cache import KeyCache
from processor.history.postgres.place import public_url
from processor.history.postgres.schema import MIGRATIONS, SCHEMA_VERSION, TABLES
from processor.history.sql_store import SQLHistory
from processor.history.store import LOCK_WAIT, Scope

EXTRA = 'pip install "device-charges[postgres]"'
# the advisory locks' first key (this program's), then 0 for the whole history or a
# scope's own number; the next one's for a location's allowances
LOCK_NS = int.from_bytes(b"chg", "big")
CONNECT_TIMEOUT = 10  # seconds


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise HistoryError(
            "a PostgreSQL history needs the PostgreSQL driver, which is not installed; "
            f"install it with {EXTRA}, then run this again"
        ) from None
    return psycopg


class PostgresHistory(SQLHistory):
    """A history in a PostgreSQL database (``url``), shared by every machine that names it."""

    def __init__(self, url: str, create: bool = False) -> None:
        psycopg = _psycopg()
        self.url = url
        self.path = public_url(url)  # what people and manifests are told: no password
        self.warnings: list[str] = []
        try:
            raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise HistoryError(unreachable(self.path, exc)) from None
        self.db = Connection(raw, self.path)
        self._held = False
        try:
            if create:
                self._create()
            self.history_id = self._open()
            self.cache = KeyCache(self.history_id)
        except psycopg.Error as exc:
            raw.close()
            raise HistoryError(unreachable(self.path, exc)) from None
        except BaseException:
            raw.close()
            raise
        super().__init__()

    # --- the schema -----------------------------------------------------------------------

    def _tables(self) -> set[str]:
        rows = self.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {name for (name,) in rows}

    def _create(self) -> None:
        if self._tables():
            raise HistoryError(
                f"{self.path}: the database is not empty, so no history was created in it; "
                "create an empty database for the history (createdb), or name that one"
            )
        with self.transaction():
            for statement in TABLES.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("history_id", uuid.uuid4().hex), ("schema_version", str(SCHEMA_VERSION))],
            )

    def _open(self) -> str:
        if "meta" not in self._tables():
            raise NoHistoryError(
                f"{self.path}: no import history in this database; create one with "
                f"charges init --history {self.path}"
            )
        with self.transaction():  # a migration applies whole or not at all
            rows = dict(self.db.execute("SELECT key, value FROM meta FOR UPDATE").fetchall())
            version = int(rows.get("schema_version", 0))
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"{self.path}: the history was written by a newer version of this program "
                    f"(schema {version}; this one knows {SCHEMA_VERSION}); upgrade "
                    "device-charges on this machine"
                )
            try:
                self._migrate(version)
            except _psycopg().errors.InsufficientPrivilege:
                raise HistoryError(
                    f"{self.path}: the history is at schema {version} and this version of "
                    f"device-charges needs schema {SCHEMA_VERSION}; converting it is for the "
                    "database's owner: run charges history --history with the owner's role "
                    "once (README, Upgrading device-charges), then this again. Nothing was "
                    "changed"
                ) from None
            if version < SCHEMA_VERSION:
                self.db.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )
        return rows["history_id"]

    def _migrate(self, version: int) -> None:
        """Each migration from ``version`` on, in the transaction held."""
        for step in range(version + 1, SCHEMA_VERSION + 1):
            migration = MIGRATIONS.get(step, "")
            if callable(migration):
                migration(self.db)
                continue
            for statement in migration.split(";"):
                if statement.strip():
                    self.db.execute(statement)

    # --- transactions and the lock --------------------------------------------------------

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        return self.db.transaction()

    def lock(self, wait: float = LOCK_WAIT, waiting=None, scope: Scope | None = None) -> None:
        """An import holds the whole history's key shared and its scope's (application ×
        location) alone; a command of the whole history (void, export, history) holds the
        whole history's key alone, once no import holds it. Advisory locks of the
        connection: a client that dies lets them go with it."""
        if self._held:
            return
        wanted = (
            [("pg_try_advisory_lock", LOCK_NS, 0)]
            if scope is None
            else [
                ("pg_try_advisory_lock_shared", LOCK_NS, 0),
                (
                    "pg_try_advisory_lock",
                    LOCK_NS,
                    _lock_number(scope.application_key, scope.location_key),
                ),
            ]
        )
        told = (
            "another import is using the history"
            + ("" if scope is None else " for this application at this location")
            + "; waiting for it to finish"
        )
        self._held = self._take(wanted, wait, waiting, told)

    def lock_allowances(self, location_key: str, wait: float = LOCK_WAIT, waiting=None) -> None:
        """The location's allowances, alone: taken after the scope's lock (never before),
        so two imports cannot wait for each other."""
        if not self._held:
            raise HistoryError("the history's lock is not held")  # a bug, not the user's
        told = (
            "another import at this location is using its plans' allowances; waiting for "
            "it to finish"
        )
        self._held += self._take(
            [("pg_try_advisory_lock", LOCK_NS + 1, _lock_number(location_key))],
            wait,
            waiting,
            told,
        )

    def _take(self, wanted: list[tuple], wait: float, waiting, told: str) -> list[tuple]:
        """Every lock of ``wanted``, in order, waiting up to ``wait`` seconds for them."""
        deadline = time.monotonic() + wait
        said = False
        got: list[tuple] = []
        while True:
            for how, ns, key in wanted[len(got) :]:
                (ok,) = self.db.execute(f"SELECT {how}(?, ?)", (ns, key)).fetchone()
                if not ok:
                    break
                got.append((how, ns, key))
            if len(got) == len(wanted):
                return got
            if time.monotonic() > deadline:
                self._release(got)
                raise HistoryError(
                    f"{self.path}: another import has held the history for {wait:.0f} s; "
                    "let it finish, then run this one again"
                )
            if waiting and not said:
                waiting(told)
                said = True
            time.sleep(0.2)

    def _release(self, held: list[tuple]) -> None:
        for how, ns, key in reversed(held):
            unlock = (
                "pg_advisory_unlock_shared" if how.endswith("_shared") else "pg_advisory_unlock"
            )
            with contextlib.suppress(Exception):  # a lost connection let it go already
                self.db.execute(f"SELECT {unlock}(?, ?)", (ns, key))

    def unlock(self) -> None:
        if self._held:
            self._release(self._held)
            self._held = False

    def close(self) -> None:
        self.unlock()
        self.db.close()

    # --- the billed keys: a run a batch on the server, copied here (``batch_runs``) -------

    def _store_run(self, scope: int, run: key_runs.Run) -> None:
        batch_runs.store(self.db, scope, run, self.cache)

    def _release_run(self, rowid: int) -> int:
        return batch_runs.release(self.db, rowid)

    def _stored_runs(self, scope: int) -> list[key_runs.Run]:
        parts = batch_runs.listed(self.db, scope)
        data: dict[str, bytes | memoryview] = {}
        missing = []
        for part in parts:
            copy = self.cache.get(part.sha256, part.size)
            if copy is None:
                missing.append(part)
            else:
                data[part.sha256] = copy
        try:
            for part, fetched in batch_runs.fetched(self.db, missing):
                self.cache.put(part.sha256, fetched)
                data[part.sha256] = fetched
        except ValueError as exc:
            raise HistoryError(
                f"{self.path}: the billed keys of {exc} are not what the history recorded of "
                "them: the database is damaged. Nothing was written; restore it from its "
                "last backup (README, For a team)"
            ) from None
        return batch_runs.runs_of(parts, data)

    def batch(self, batch_id: str) -> dict | None:
        out = super().batch(batch_id)
        if out is not None:
            out.pop("rowid", None)  # as SQLite's SELECT * gives it: without
        return out


def _lock_number(*keys: str) -> int:
    """A scope's or a location's lock number (1 to 2^31 - 1; two that share one take
    turns)."""
    return zlib.crc32("\x1f".join(keys).encode()) % (2**31 - 1) + 1
