"""`charges history copy --to URL`: a SQLite history moved into an empty PostgreSQL database.

Every table is copied row for row in one transaction (the ids the billed keys' runs refer
to included), under the SQLite history's lock, then checked: the same rows in every
table, the same billed keys, rows and money. The copy keeps the history's id, so the batch
folders it recorded are trusted against it. The SQLite file is only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from processor.errors import HistoryError
from processor.history import runs
from processor.history.key_runs import batch_run
from processor.history.postgres import batch_runs
from processor.history.postgres.store import PostgresHistory
from processor.history.sqlite import SQLiteHistory

# the tables in an order that keeps references whole; those with a rowid the runs (or
# the order of exports) rely on copy it
TABLES = [
    "batches",
    "inputs",
    "retried",
    "scopes",
    "batch_files",
    "allowance_use",
    "account_nets",
    "exports",
    "export_batches",
    "export_invoices",
]
WITH_ROWID = {"batches", "exports"}
SEQUENCES = [("batches", "rowid"), ("exports", "rowid"), ("scopes", "id")]


@dataclass(frozen=True)
class Copied:
    history: str  # where the copy is (no password)
    history_id: str
    rows: dict[str, int]  # per table
    keys: int  # billed keys
    batches: int


def _columns(src: SQLiteHistory, table: str) -> list[str]:
    names = [r[1] for r in src.db.execute(f"PRAGMA table_info({table})")]
    return (["rowid"] if table in WITH_ROWID else []) + names


def _facts(db, keys_sql: str) -> dict[str, object]:
    """What the check compares: rows per table, billed keys, rows and money per status."""
    facts: dict[str, object] = {
        t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES
    }
    facts["keys"] = int(db.execute(keys_sql).fetchone()[0])
    money: dict[tuple, list] = {}
    for status, currency, billed, net, tax, gross in db.execute(
        "SELECT status, currency, rows_billed, net, tax, gross FROM batches"
    ):
        got = money.setdefault((status, currency), [0, Decimal(0), Decimal(0), Decimal(0)])
        got[0] += billed or 0
        for i, v in enumerate((net, tax, gross), start=1):
            got[i] += Decimal(v or 0)
    facts["money"] = {k: tuple(v) for k, v in sorted(money.items(), key=str)}
    return facts


def copy_history(source: Path, url: str) -> Copied:
    """Copy the SQLite history at ``source`` into the empty PostgreSQL database ``url``.

    Raises:
        HistoryError: the database is not empty, the source has an import in progress
            (or one stopped: run any command on it first), or the check found a difference
            (nothing is kept then).
    """
    src = SQLiteHistory(Path(source))
    try:
        src.lock(wait=0)
        if src.pending():
            raise HistoryError(
                f"{src.path}: holds an import that is in progress or was stopped; let it "
                "finish (or run charges history on it, which clears a stopped one), then copy"
            )
        dst = PostgresHistory(url, create=True)  # refuses a database that is not empty
        try:
            with dst.transaction():
                for table in TABLES:
                    cols = _columns(src, table)
                    rows = src.db.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
                    marks = ", ".join("?" * len(cols))
                    dst.db.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows
                    )
                for (scope,) in src.db.execute("SELECT DISTINCT scope FROM runs").fetchall():
                    _copy_runs(src, dst, scope)  # merged runs become a run a batch
                for table, column in SEQUENCES:
                    dst.db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                    )
                dst.db.execute(
                    "UPDATE meta SET value = ? WHERE key = 'history_id'", (src.history_id,)
                )
                want = _facts(src.db, "SELECT COALESCE(SUM(size), 0) FROM runs")
                got = _facts(dst.db, "SELECT COALESCE(SUM(size), 0) FROM batch_runs")
                if want != got:  # raising here rolls the whole copy back
                    differ = [k for k in want if want[k] != got.get(k)]
                    raise HistoryError(
                        f"the copy into {dst.path} did not match {src.path} "
                        f"({', '.join(differ)}); nothing was kept"
                    )
            return Copied(
                dst.path,
                src.history_id,
                {t: int(want[t]) for t in TABLES},
                int(want["keys"]),
                int(want["batches"]),
            )
        except BaseException:
            _empty(dst)
            raise
        finally:
            dst.close()
    finally:
        src.close()


def _copy_runs(src: SQLiteHistory, dst: PostgresHistory, scope: int) -> None:
    """A scope's runs in the file (merged as batches were committed) as the server keeps
    them: a run a batch."""
    pieces: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for run in runs.read(src.db, scope):
        owner = run.owner()
        for i, batch in enumerate(run.batches):
            mine = owner == i
            pieces.setdefault(int(batch), []).append((run.heads[mine], run.tails[mine]))
    for batch, parts in sorted(pieces.items()):
        head = np.concatenate([h for h, _ in parts])
        tail = np.concatenate([t for _, t in parts])
        batch_runs.store(dst.db, scope, batch_run(batch, head, tail), dst.cache)


def _empty(dst: PostgresHistory) -> None:
    """Take the new history's tables away again after a failed copy: the database is
    left empty, as it was given."""
    import contextlib

    with contextlib.suppress(Exception):
        with dst.transaction():
            for table in [*TABLES, "batch_runs", "meta"]:
                dst.db.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
