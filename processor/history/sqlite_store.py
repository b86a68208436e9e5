"""The import history: which batches were written, and every row key they billed (I/O edge).

One SQLite file (by default ``history.sqlite`` in the workbooks folder), in WAL mode, with
a schema version and migrations. It is what makes a row billed once, ever:

- an import holds the history's lock from its key check to its commit, so two imports
  at once never bill a row twice (the second waits for the first);
- a batch is recorded ``pending`` before its folder is written and ``committed``, with
  its keys, only after the folder is in place: a run killed at any point leaves a
  pending record that the next run removes together with the folder it names;
- ``void`` releases a batch's keys, so corrected data can be imported again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from processor import row_digests
from processor.errors import HistoryError
from processor.history import key_runs

SCHEMA_VERSION = 4
DEFAULT_NAME = "history.sqlite"
LOCK_WAIT = 600  # seconds an import waits for another one to finish

_V1 = """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL CHECK (status IN ('pending', 'committed', 'void')),
            location TEXT NOT NULL,
            location_key TEXT NOT NULL,
            application TEXT NOT NULL,
            application_key TEXT NOT NULL,
            format TEXT NOT NULL,
            batch_date TEXT NOT NULL,
            folder TEXT NOT NULL,
            partial TEXT,
            created_at TEXT NOT NULL,
            committed_at TEXT,
            workbooks_fingerprint TEXT,
            retry_of TEXT,
            rows_read INTEGER, rows_billed INTEGER, rows_unmatched INTEGER, rows_skipped INTEGER,
            net TEXT, tax TEXT, gross TEXT, currency TEXT,
            period_from TEXT, period_to TEXT,
            reasons TEXT,
            void_reason TEXT, voided_by TEXT, voided_at TEXT
        );
        CREATE TABLE inputs (
            batch_id TEXT NOT NULL REFERENCES batches(id),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            rows INTEGER NOT NULL
        );
        CREATE INDEX inputs_sha ON inputs (sha256);
        CREATE TABLE keys (
            application_key TEXT NOT NULL,
            location_key TEXT NOT NULL,
            row_key TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            PRIMARY KEY (application_key, location_key, row_key)
        ) WITHOUT ROWID;
        CREATE INDEX keys_batch ON keys (batch_id);
        CREATE TABLE retried (
            batch_id TEXT NOT NULL,
            row_key TEXT NOT NULL,
            into_batch TEXT NOT NULL,
            PRIMARY KEY (batch_id, row_key)
        ) WITHOUT ROWID;
"""


# version 2 holds each billed row as a 12-byte digest (``processor.seen``) under an integer
# scope and batch: a third of the bytes of version 1's text keys, and no index by batch
# (only ``void`` asks by batch, and it may scan), so committing a batch's keys costs
# about half as much
_V2 = """
    CREATE TABLE scopes (
        id INTEGER PRIMARY KEY,
        application_key TEXT NOT NULL,
        location_key TEXT NOT NULL,
        UNIQUE (application_key, location_key)
    );
    CREATE TABLE billed (
        scope INTEGER NOT NULL,
        digest BLOB NOT NULL,
        batch INTEGER NOT NULL,
        PRIMARY KEY (scope, digest)
    ) WITHOUT ROWID;
"""


def _run(db: sqlite3.Connection, script: str) -> None:
    """A script's statements one by one (executescript would commit the migration's
    transaction)."""
    for statement in filter(str.strip, script.split(";")):
        db.execute(statement)


def _to_v2(db: sqlite3.Connection) -> None:
    """Version 1's text keys become digests (inside the migration's transaction)."""
    _run(db, _V2)
    db.execute(
        "INSERT INTO scopes (application_key, location_key) "
        "SELECT DISTINCT application_key, location_key FROM keys"
    )
    rows = db.execute(
        "SELECT s.id, k.row_key, b.rowid FROM keys k JOIN scopes s "
        "ON s.application_key = k.application_key AND s.location_key = k.location_key "
        "JOIN batches b ON b.id = k.batch_id"
    )
    while part := rows.fetchmany(100_000):
        scopes, keys, batches = zip(*part, strict=True)
        found = row_digests.as_bytes(row_digests.digests(pa.array(keys, pa.string())))
        db.cursor().executemany(
            "INSERT INTO billed (scope, digest, batch) VALUES (?, ?, ?)",
            zip(scopes, found, batches, strict=True),
        )
    db.execute("DROP TABLE keys")


# version 3 holds each batch's billed digests as sorted runs (``processor.seen``): the first
# 8 bytes of each digest (little-endian uint64s end to end) in one blob, the last 4 in
# another. A commit is one insert a run instead of a B-tree insert a key at a random place;
# the key check reads a scope's runs once and searches them in memory; a void deletes its
# batch's runs. Version 2's B-tree made the key check against 12 million keys cost 1.6
# times the read of the file.
_V3 = """
    CREATE TABLE runs (
        batch INTEGER NOT NULL,
        part INTEGER NOT NULL,
        scope INTEGER NOT NULL,
        size INTEGER NOT NULL,
        heads BLOB NOT NULL,
        tails BLOB NOT NULL,
        PRIMARY KEY (batch, part)
    );
    CREATE INDEX runs_scope ON runs (scope)
"""


def _insert_v3_runs(db: sqlite3.Connection, scope: int, batch: int, digests: np.ndarray) -> None:
    """A batch's digests as version 3 stored them (a migration step on the way to 4)."""
    run = key_runs.of_batch(batch, digests)
    for part, start in enumerate(range(0, len(run), key_runs.RUN)):
        heads, tails = (
            run.heads[start : start + key_runs.RUN],
            run.tails[start : start + key_runs.RUN],
        )
        db.execute(
            "INSERT INTO runs (batch, part, scope, size, heads, tails) VALUES (?, ?, ?, ?, ?, ?)",
            (batch, part, scope, len(heads), heads.tobytes(), tails.tobytes()),
        )


def _to_v3(db: sqlite3.Connection) -> None:
    """Version 2's table of digests becomes each batch's sorted runs."""
    _run(db, _V3)
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    rows = db.execute("SELECT batch, scope, digest FROM billed")
    while part := rows.fetchmany(100_000):
        batches, scopes, digests = zip(*part, strict=True)
        held = np.array(digests, dtype=f"S{row_digests.WIDTH}")
        owners = (np.array(batches, dtype=np.int64) << 32) | np.array(scopes, dtype=np.int64)
        order = np.argsort(owners, kind="stable")
        owners, held = owners[order], held[order]
        cuts = np.flatnonzero(owners[1:] != owners[:-1]) + 1
        for owner, piece in zip(owners[np.r_[0, cuts]], np.split(held, cuts), strict=True):
            groups.setdefault((int(owner) & 0xFFFFFFFF, int(owner) >> 32), []).append(piece)
    for (scope, batch), parts in groups.items():
        _insert_v3_runs(db, scope, batch, np.concatenate(parts))
    db.execute("DROP TABLE billed")


def _to_v4(db: sqlite3.Connection) -> None:
    """Version 3's runs (one batch each) become version 4's (``processor.keyruns``: runs
    may hold several batches' digests), and each scope's are compacted."""
    db.execute("ALTER TABLE runs RENAME TO runs_v3")
    db.execute("DROP INDEX runs_scope")
    _run(db, key_runs.TABLE)
    db.execute(
        "INSERT INTO runs (scope, size, heads, tails, batches) "
        "SELECT scope, size, heads, tails, batch FROM runs_v3 ORDER BY batch, part"
    )
    # the batch's rowid as the 8 little-endian bytes version 4 holds
    for (rowid,) in db.execute("SELECT DISTINCT batches FROM runs").fetchall():
        packed = np.array([rowid], dtype="<i8").tobytes()
        db.execute("UPDATE runs SET batches = ? WHERE batches = ?", (packed, rowid))
    db.execute("DROP TABLE runs_v3")
    for (scope,) in db.execute("SELECT DISTINCT scope FROM runs").fetchall():
        key_runs.compact(db, scope)


# each runs inside one transaction: a migration applies whole or not at all
_MIGRATIONS = {1: lambda db: _run(db, _V1), 2: _to_v2, 3: _to_v3, 4: _to_v4}


def _wal(db: sqlite3.Connection, wait: float = 60) -> None:
    """Put the file in WAL mode. SQLite does not wait for a busy file here (it does for
    every other statement), so a history two imports create at once is retried."""
    deadline = time.monotonic() + wait
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# A scope's stored runs below this many digests are merged in memory when the key check
# reads them: compaction (``processor.keyruns``) leaves at most three of each size class, so
# this is a few hundred thousand digests at most, and one search instead of up to 27.
_SMALL_RUN = 1 << 17


@dataclass(frozen=True)
class Billed:
    """Where a row key was billed."""

    batch_id: str
    folder: str


class History:
    """An open history file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            _wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA temp_store=FILE")  # SQLite's own sorts stay off the heap
            self.db.execute("PRAGMA cache_size=-32768")  # 32 MiB of pages per database
            # the key check probes a large table at random: read it through the OS's page
            # cache (memory-mapped) rather than copying pages into SQLite's own
            self.db.execute("PRAGMA mmap_size=4294967296")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"{self.path}: is not an import history this program can read ({exc}); "
                "name another file with --history, or restore it from a backup"
            ) from None
        self._lock_file = None
        self._met = row_digests.KeySet()  # the keys this import has met
        self._file_ids: dict[str, int] = {}
        # (application, location) → the runs of digests its committed batches billed, read
        # once by the key check (the lock is held: no batch commits meanwhile)
        self._runs: dict[tuple[str, str], tuple] = {}

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: was written by a newer version of this program (history "
                f"schema {version}); upgrade device-charges"
            )
        for v in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                # another process may have migrated while this one waited for the lock
                if self.db.execute("PRAGMA user_version").fetchone()[0] < v:
                    _MIGRATIONS[v](self.db)
                    self.db.execute(f"PRAGMA user_version = {v}")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

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

    def lock(self, wait: float = LOCK_WAIT, waiting=None) -> list[str]:
        """Hold the history for one import (until ``unlock`` or the process ends); then
        clear what killed runs left. Returns what was cleared, for the user."""
        self._lock_file = open(str(self.path) + ".lock", "a+")
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
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
        return self.clear_pending()

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the lock
            self._lock_file = None

    def clear_pending(self) -> list[str]:
        """Remove the records (and folders) of imports that were killed before they committed.

        Only called with the lock held, so no pending record belongs to a live import.
        """
        cleared = []
        rows = self.db.execute(
            "SELECT id, folder, partial FROM batches WHERE status = 'pending'"
        ).fetchall()
        for batch_id, folder, partial in rows:
            for place in (partial, folder):
                p = Path(place) if place else None
                if p is not None and p.is_dir() and _belongs(p, batch_id):
                    shutil.rmtree(p, ignore_errors=True)
                    cleared.append(f"removed {p}, left by an import that was stopped")
            with self.transaction():  # a pending batch holds no keys: they come at commit
                self.db.execute("DELETE FROM inputs WHERE batch_id = ?", (batch_id,))
                self.db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            cleared.append(f"removed the unfinished record of batch {batch_id} from the history")
        return cleared

    # --- an import's life -----------------------------------------------------------------

    def begin(self, record: dict, inputs: list[dict]) -> str:
        """Record a batch as pending (before its folder is written); returns its id."""
        batch_id = record.get("id") or new_id()
        with self.transaction():
            self.db.execute(
                "INSERT INTO batches (id, status, location, location_key, application, "
                "application_key, format, batch_date, folder, partial, created_at, "
                "workbooks_fingerprint, retry_of) "
                "VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id,
                    record["location"],
                    record["location_key"],
                    record["application"],
                    record["application_key"],
                    record["format"],
                    record["batch_date"],
                    record["folder"],
                    record["partial"],
                    now(),
                    record.get("workbooks_fingerprint"),
                    record.get("retry_of"),
                ),
            )
            self.db.executemany(
                "INSERT INTO inputs (batch_id, path, sha256, size, rows) VALUES (?, ?, ?, ?, 0)",
                [(batch_id, i["path"], i["sha256"], i["size"]) for i in inputs],
            )
        return batch_id

    def commit(self, batch_id: str, manifest: dict, digests: np.ndarray) -> None:
        """Mark the batch committed with the digests of the row keys it billed (stored as
        sorted runs), in one transaction.

        Raises:
            HistoryError: a key is billed twice in the batch (cannot happen: the import's
                key check skips repeats).
        """
        rowid, app, loc = self.db.execute(
            "SELECT rowid, application_key, location_key FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        r, b = manifest["rows"], manifest["billed"]
        self._runs.clear()  # what the key check read is out of date once this commits
        try:
            run = key_runs.of_batch(rowid, digests)
        except ValueError:
            raise HistoryError("a batch would bill a row twice; nothing was written") from None
        with self.transaction():
            scope = self._scope(app, loc, create=True)
            key_runs.store(self.db, scope, run)
            for i in manifest["inputs"]:
                self.db.execute(
                    "UPDATE inputs SET rows = ? WHERE batch_id = ? AND path = ?",
                    (i["rows"], batch_id, i["path"]),
                )
            self.db.execute(
                "UPDATE batches SET status = 'committed', committed_at = ?, partial = NULL,"
                " rows_read = ?, rows_billed = ?, rows_unmatched = ?, rows_skipped = ?,"
                " net = ?, tax = ?, gross = ?, currency = ?, period_from = ?, period_to = ?,"
                " reasons = ? WHERE id = ?",
                (
                    now(),
                    r["read"],
                    r["matched"],
                    r["unmatched"],
                    r["skipped"],
                    b["net"],
                    b["tax"],
                    b["gross"],
                    manifest["currency"],
                    manifest.get("period", {}).get("from"),
                    manifest.get("period", {}).get("to"),
                    json.dumps(manifest["reasons"]),
                    batch_id,
                ),
            )

    def forget_met(self) -> None:
        """Drop the keys this import has met (the import is done: they make room)."""
        self._met = row_digests.KeySet()

    def abandon(self, batch_id: str) -> None:
        """Forget a pending batch whose import failed (its folder was not kept)."""
        with self.transaction():
            self.db.execute("DELETE FROM inputs WHERE batch_id = ?", (batch_id,))
            self.db.execute("DELETE FROM batches WHERE id = ? AND status = 'pending'", (batch_id,))

    # --- questions an import asks -----------------------------------------------------------

    def imported_file(self, sha256: str, application_key: str, location_key: str):
        """The committed batch that imported this file for this application and location."""
        return self.db.execute(
            "SELECT b.id, b.folder, i.path FROM inputs i JOIN batches b ON b.id = i.batch_id "
            "WHERE i.sha256 = ? AND b.application_key = ? AND b.location_key = ? "
            "AND b.status = 'committed' ORDER BY b.created_at LIMIT 1",
            (sha256, application_key, location_key),
        ).fetchone()

    # --- this import's own keys: in memory, as digests (processor.seen) -------------------------

    def _scope(self, application_key: str, location_key: str, create: bool = False):
        """The integer id of an (application, location), None when it has none yet."""
        if create:
            self.db.execute(
                "INSERT OR IGNORE INTO scopes (application_key, location_key) VALUES (?, ?)",
                (application_key, location_key),
            )
        row = self.db.execute(
            "SELECT id FROM scopes WHERE application_key = ? AND location_key = ?",
            (application_key, location_key),
        ).fetchone()
        return None if row is None else row[0]

    def first_seen(
        self,
        digests: np.ndarray,
        files: Sequence[str] | None = None,
        lines: Sequence | None = None,
    ) -> np.ndarray:
        """For each key (given as its digest, ``processor.seen``): None the first time this
        import meets it, else where it met it (``line N of FILE``; ``""`` when no files and
        lines are given). The import's keys are kept in memory as digests.
        """
        n = len(digests)
        if files is None or lines is None:
            places = np.zeros(n, dtype=np.int64)
        else:
            codes, names = pd.factorize(np.asarray(files, dtype=object))
            known = np.array([self._file_ids.setdefault(f, len(self._file_ids)) for f in names])
            ids = known[codes]
            places = (ids.astype(np.int64) << 40) | np.asarray(lines, dtype=np.int64)
        earlier = self._met.meet(digests, places)
        out = np.full(n, None, dtype=object)
        again = np.flatnonzero(earlier >= 0)
        if files is None or lines is None:
            out[again] = ""
            return out
        names = {i: f for f, i in self._file_ids.items()}
        out[again] = [f"line {p & ((1 << 40) - 1)} of {names[p >> 40]}" for p in earlier[again]]
        return out

    def billed(self, application_key: str, location_key: str, digests: np.ndarray) -> dict:
        """Which row keys (given as their digests) a committed batch billed:
        digest (12 bytes) → Billed."""
        which, places = self.billed_where(application_key, location_key, digests)
        hit = np.flatnonzero(which >= 0)
        return dict(
            zip(row_digests.as_bytes(digests[hit]), [places[i] for i in which[hit]], strict=True)
        )

    def billed_where(
        self, application_key: str, location_key: str, digests: np.ndarray
    ) -> tuple[np.ndarray, list[Billed]]:
        """Per row key (given as its digest), the index in the list returned with it of
        the committed batch that billed it, -1 where none did: a column, for a million
        keys billed before (a re-import)."""
        which = np.full(len(digests), -1, dtype=np.int64)
        runs, filters, places = self._scope_runs(application_key, location_key)
        if not len(digests) or not runs:
            return which, places
        head, tail = row_digests.halves(digests)
        order = np.argsort(head)  # sorted, the searches walk each run in order
        head, tail = head[order], tail[order]
        open_ = np.ones(len(head), dtype=bool)
        for run, (bitmap, shift) in zip(runs, filters, strict=True):
            # a run's batches are indexes into places here; only the keys not found yet
            # whose bit the run's bitmap sets are searched for in it
            asked = np.flatnonzero(open_ & row_digests.may_hold(bitmap, shift, head))
            at = row_digests.positions(run.heads, run.tails, head[asked], tail[asked])
            hit = at >= 0
            if hit.any():
                rows = asked[hit]
                open_[rows] = False
                owner = 0 if run.owners is None else run.owners[at[hit]]
                which[order[rows]] = run.batches[owner]
        return which, places

    def _scope_runs(
        self, application_key: str, location_key: str
    ) -> tuple[list[key_runs.Run], list[tuple[np.ndarray, np.uint64]], list[Billed]]:
        """The runs of digests an (application, location)'s committed batches billed (each
        run's batches given as indexes into the list of those batches returned last), and
        each run's ``row_digests.presence`` bitmap."""
        names = (application_key, location_key)
        if names not in self._runs:
            scope = self._scope(application_key, location_key)
            stored = [] if scope is None else key_runs.read(self.db, scope)
            small = [r for r in stored if len(r) < _SMALL_RUN]
            runs = [r for r in stored if len(r) >= _SMALL_RUN]
            if small:
                runs.append(key_runs.merge(small))
            rowids = np.unique(np.concatenate([r.batches for r in runs])) if runs else []
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
                    for r in runs
                ],
                [row_digests.presence(r.heads) for r in runs],
                places,
            )
        return self._runs[names]

    def retried_keys(self, batch_id: str) -> set[str]:
        return {
            k
            for (k,) in self.db.execute(
                "SELECT row_key FROM retried WHERE batch_id = ?", (batch_id,)
            )
        }

    def mark_retried(self, batch_id: str, keys: Iterable[str], into: str) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO retried (batch_id, row_key, into_batch) VALUES (?, ?, ?)",
                ((batch_id, k, into) for k in keys),
            )

    # --- what people ask ---------------------------------------------------------------------

    def batch(self, batch_id: str) -> dict | None:
        cur = self.db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,))
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip([d[0] for d in cur.description], row, strict=True))
        out["inputs"] = [
            dict(zip(("path", "sha256", "size", "rows"), r, strict=True))
            for r in self.db.execute(
                "SELECT path, sha256, size, rows FROM inputs WHERE batch_id = ?", (batch_id,)
            )
        ]
        out["reasons"] = json.loads(out["reasons"] or "{}")
        out["retried_rows"] = self.db.execute(
            "SELECT COUNT(*) FROM retried WHERE batch_id = ?", (batch_id,)
        ).fetchone()[0]
        return out

    def batches(self) -> list[dict]:
        """Every committed or void batch, newest first."""
        cur = self.db.execute(
            "SELECT id, status, location, application, format, batch_date, folder, created_at,"
            " period_from, period_to, rows_read, rows_billed, rows_unmatched, rows_skipped,"
            " net, tax, gross, currency, retry_of, void_reason"
            " FROM batches WHERE status != 'pending' ORDER BY created_at DESC, rowid DESC"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def void(self, batch_id: str, reason: str) -> dict:
        """Mark a committed batch void and release its keys.

        Raises:
            HistoryError: no such batch, or it is void already.
        """
        with self.transaction():
            row = self.db.execute(
                "SELECT status, voided_at, voided_by, void_reason FROM batches WHERE id = ?",
                (batch_id,),
            ).fetchone()
            if row is None:
                raise HistoryError(f"batch {batch_id} is not in the history {self.path}")
            if row[0] == "void":
                raise HistoryError(
                    f"batch {batch_id} was voided already, on {row[1]} by {row[2]} "
                    f'("{row[3]}"); nothing was changed'
                )
            who, when = _user(), now()
            self.db.execute(
                "UPDATE batches SET status = 'void', void_reason = ?, voided_by = ?, "
                "voided_at = ? WHERE id = ?",
                (reason, who, when, batch_id),
            )
            rowid = self.db.execute(
                "SELECT rowid FROM batches WHERE id = ?", (batch_id,)
            ).fetchone()[0]
            released = key_runs.release(self.db, rowid)
            self._runs.clear()
            # rows retried out of the void batch may be retried again
            self.db.execute("DELETE FROM retried WHERE into_batch = ?", (batch_id,))
        return {"by": who, "at": when, "released": released}


def new_id() -> str:
    """A batch id people can read and quote: the date and a short random part."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _belongs(folder: Path, batch_id: str) -> bool:
    """A folder is this batch's when its manifest (or marker) names the batch."""
    for name in (".batch-id", "manifest.json"):
        f = folder / name
        if f.is_file():
            try:
                text = f.read_text(encoding="utf-8")
            except OSError:
                return False
            if name == ".batch-id":
                return text.strip() == batch_id
            try:
                return json.loads(text).get("batch_id") == batch_id
            except ValueError:
                return False
    return False
