"""The SQLite history's schema: its versions, and the migrations from each to the next.

Each migration runs inside one transaction (a migration applies whole or not at all), and
the file's ``user_version`` says which version it holds.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa

from processor import row_digests
from processor.errors import HistoryError
from processor.history import key_runs, runs

SCHEMA_VERSION = 8

RUNS = """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        scope INTEGER NOT NULL,
        size INTEGER NOT NULL,
        heads BLOB NOT NULL,
        tails BLOB NOT NULL,
        batches BLOB NOT NULL,
        owners BLOB
    );
    CREATE INDEX runs_scope ON runs (scope)
"""

V1 = """
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


# version 2 holds each billed row as a 12-byte digest (``processor.row_digests``) under an integer
# scope and batch: a third of the bytes of version 1's text keys, and no index by batch
# (only ``void`` asks by batch, and it may scan), so committing a batch's keys costs less
V2 = """
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
    _run(db, V2)
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


# version 3 holds each batch's billed digests as sorted runs (``processor.row_digests``): the first
# 8 bytes of each digest (little-endian uint64s end to end) in one blob, the last 4 in
# another. A commit is one insert a run instead of a B-tree insert a key at a random place;
# the key check reads a scope's runs once and searches them in memory; a void deletes its
# batch's runs (the README's history bench compares the two).
V3 = """
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
    _run(db, V3)
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
    """Version 3's runs (one batch each) become version 4's (``processor.history.key_runs``: runs
    may hold several batches' digests), and each scope's are compacted."""
    db.execute("ALTER TABLE runs RENAME TO runs_v3")
    db.execute("DROP INDEX runs_scope")
    _run(db, RUNS)
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
        runs.compact(db, scope)


# version 5 gives every history an id of its own, made once: a batch's manifest records it,
# so a batch is never retried or voided through another history
V5 = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def _to_v5(db: sqlite3.Connection) -> None:
    _run(db, V5)
    db.execute("INSERT INTO meta (key, value) VALUES ('history_id', ?)", (uuid.uuid4().hex,))


# version 6 records each batch file's sha256 at commit: report, retry, void and export check
# the folder against it before trusting it (``void_sha256``: batch.xlsx as void rewrote it)
V6 = """
    CREATE TABLE batch_files (
        batch_id TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        void_sha256 TEXT,
        PRIMARY KEY (batch_id, name)
    ) WITHOUT ROWID
"""

# version 7 records what each committed batch used of plans' allowances, per account ×
# product × month × kind (quantity or amount): later imports use what is left, and a void
# releases it (only committed batches count)
V7 = """
    CREATE TABLE allowance_use (
        batch_id TEXT NOT NULL,
        account_key TEXT NOT NULL,
        product_key TEXT NOT NULL,
        month TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('quantity', 'amount')),
        account_id TEXT NOT NULL,
        product TEXT NOT NULL,
        used TEXT NOT NULL,
        PRIMARY KEY (batch_id, account_key, product_key, month, kind)
    ) WITHOUT ROWID
"""

# version 8 records what `charges export` wrote for the accounting system: each export, the
# batches it covered (a batch is exported once, unless --again) and each account's invoice
# number (numbers count on from the last; --again gives an invoice its number again); and
# each committed batch's net per account, which spend alerts compare a new batch with
V8 = """
    CREATE TABLE account_nets (
        batch_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        net TEXT NOT NULL,
        PRIMARY KEY (batch_id, account_id)
    ) WITHOUT ROWID;
    CREATE TABLE exports (
        id TEXT PRIMARY KEY,
        system TEXT NOT NULL,
        files TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        invoices INTEGER NOT NULL,
        net TEXT NOT NULL,
        tax TEXT NOT NULL,
        gross TEXT NOT NULL,
        currency TEXT NOT NULL,
        again INTEGER NOT NULL
    );
    CREATE TABLE export_batches (
        export_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        PRIMARY KEY (export_id, batch_id)
    ) WITHOUT ROWID;
    CREATE INDEX export_batches_batch ON export_batches (batch_id);
    CREATE TABLE export_invoices (
        export_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        number TEXT NOT NULL,
        sequence INTEGER,
        PRIMARY KEY (export_id, account_id)
    ) WITHOUT ROWID;
"""

# each runs inside one transaction: a migration applies whole or not at all
_MIGRATIONS = {
    1: lambda db: _run(db, V1),
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
    5: _to_v5,
    6: lambda db: _run(db, V6),
    7: lambda db: _run(db, V7),
    8: lambda db: _run(db, V8),
}

# the tables of a whole history at SCHEMA_VERSION
TABLES = (
    "batches",
    "inputs",
    "scopes",
    "runs",
    "retried",
    "meta",
    "batch_files",
    "allowance_use",
    "exports",
    "export_batches",
    "export_invoices",
    "account_nets",
)


def whole(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a history missing one of its tables (damaged, or edited by hand).

    Raises:
        HistoryError: naming the missing table.
    """
    held = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [t for t in TABLES if t not in held]
    if missing:
        raise HistoryError(
            f"{path}: is damaged: its {', '.join(missing)} table"
            f"{'s are' if len(missing) > 1 else ' is'} missing. Restore it from a backup; "
            "nothing was done"
        )


def ours(db: sqlite3.Connection, path: Path, create: bool) -> None:
    """Refuse a SQLite file that holds no history (unless it is being created), before
    anything is written into it.

    Raises:
        HistoryError: a SQLite file, but no history.
    """
    if db.execute("PRAGMA user_version").fetchone()[0] == 0 and not create:
        raise HistoryError(
            f"{path}: is a SQLite database but not an import history (it has no history "
            "schema); name the history file with --history, or restore it from a backup"
        )


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring an open history up to SCHEMA_VERSION, one version at a time (from nothing: a
    history being created; ``ours`` refused any other file of no version).

    Raises:
        HistoryError: it was written by a newer version of this program.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: was written by a newer version of this program (history "
            f"schema {version}); upgrade device-charges"
        )
    for v in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while this one waited for the lock
            if db.execute("PRAGMA user_version").fetchone()[0] < v:
                _MIGRATIONS[v](db)
                db.execute(f"PRAGMA user_version = {v}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def wal(db: sqlite3.Connection, wait: float = 60) -> None:
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
