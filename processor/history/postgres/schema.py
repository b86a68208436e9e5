"""The PostgreSQL history's schema: the SQLite history's tables (``sqlite.schema``, version
8) in PostgreSQL's types, but the billed keys as a run a batch (``batch_runs``, version
10) rather than runs merged as they are committed (version 8) or a keyed table (version
9); its version in ``meta``, and the migrations from each version to the next, each in one
transaction. ``batches`` and ``exports`` carry ``rowid``, which the shared SQL orders by,
as SQLite's own rowid."""

from __future__ import annotations

from processor.history.postgres import batch_runs, keys

SCHEMA_VERSION = 10

TABLES = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE batches (
        rowid BIGSERIAL UNIQUE,
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
        rows_read BIGINT, rows_billed BIGINT, rows_unmatched BIGINT, rows_skipped BIGINT,
        net TEXT, tax TEXT, gross TEXT, currency TEXT,
        period_from TEXT, period_to TEXT,
        reasons TEXT,
        void_reason TEXT, voided_by TEXT, voided_at TEXT
    );
    CREATE INDEX batches_scope ON batches (application_key, location_key, status);
    CREATE TABLE inputs (
        batch_id TEXT NOT NULL REFERENCES batches(id),
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL,
        rows BIGINT NOT NULL
    );
    CREATE INDEX inputs_sha ON inputs (sha256);
    CREATE INDEX inputs_batch ON inputs (batch_id);
    CREATE TABLE retried (
        batch_id TEXT NOT NULL,
        row_key TEXT NOT NULL,
        into_batch TEXT NOT NULL,
        PRIMARY KEY (batch_id, row_key)
    );
    CREATE TABLE scopes (
        id BIGSERIAL PRIMARY KEY,
        application_key TEXT NOT NULL,
        location_key TEXT NOT NULL,
        UNIQUE (application_key, location_key)
    );
    CREATE TABLE batch_files (
        batch_id TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL,
        void_sha256 TEXT,
        PRIMARY KEY (batch_id, name)
    );
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
    );
    CREATE TABLE account_nets (
        batch_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        net TEXT NOT NULL,
        PRIMARY KEY (batch_id, account_id)
    );
    CREATE TABLE exports (
        rowid BIGSERIAL UNIQUE,
        id TEXT PRIMARY KEY,
        system TEXT NOT NULL,
        files TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        invoices BIGINT NOT NULL,
        net TEXT NOT NULL,
        tax TEXT NOT NULL,
        gross TEXT NOT NULL,
        currency TEXT NOT NULL,
        again BIGINT NOT NULL
    );
    CREATE TABLE export_batches (
        export_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        PRIMARY KEY (export_id, batch_id)
    );
    CREATE INDEX export_batches_batch ON export_batches (batch_id);
    CREATE TABLE export_invoices (
        export_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        number TEXT NOT NULL,
        sequence BIGINT,
        PRIMARY KEY (export_id, account_id)
    );
"""
    + batch_runs.TABLE
)  # the billed keys: ``batch_runs``


def _to_v9(db) -> None:
    """Version 8 kept the keys as the SQLite history does, in sorted runs: each becomes a
    row of ``keys``."""
    import numpy as np

    from processor.history import runs

    for statement in keys.TABLE.split(";"):
        if statement.strip():
            db.execute(statement)
    for (scope,) in db.execute("SELECT DISTINCT scope FROM runs").fetchall():
        for run in runs.read(db, scope):
            batch = run.batches[run.owner()]
            n = len(run)
            db_rows = [np.full(n, scope, np.int64), run.heads.view(np.int64)]
            db_rows += [run.tails.view(np.int32), batch.astype(np.int64)]
            keys.copy_in(db, db_rows)
    db.execute("DROP TABLE runs")


def _to_v10(db) -> None:
    """Version 9 kept a row a key (``keys``): each batch's keys become its run."""
    from processor.history.key_runs import batch_run

    for statement in batch_runs.TABLE.split(";"):
        if statement.strip():
            db.execute(statement)
    stored = db.execute("SELECT DISTINCT scope, batch FROM keys ORDER BY batch").fetchall()
    for scope, batch in stored:
        batch_runs.store(db, scope, batch_run(batch, *keys.batch_keys(db, batch)))
    db.execute("DROP TABLE keys")


# version → what takes a history from the version before to it: statements, or a function
# of the connection (the first PostgreSQL history is version 8: the SQLite history's
# tables when this store came)
MIGRATIONS: dict[int, object] = {9: _to_v9, 10: _to_v10}
