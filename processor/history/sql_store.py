"""The history's records and questions in SQL that both stores run: SQLite as written,
PostgreSQL through a connection that swaps the placeholders (``postgres.connection``).

A store gives ``db`` (``execute`` and ``executemany`` with ``?`` placeholders, rows as
tuples), ``transaction()``, its lock, ``path`` (where it is, as people are told) and
``history_id``. Its tables are the same in both (``sqlite.schema``, ``postgres.schema``):
``batches`` and ``exports`` have an integer ``rowid`` in creation order. Both keep the
billed keys as sorted runs (``key_runs``), searched in memory: the file merges them as
they are committed (``runs``), the server keeps a run a batch (``postgres.batch_runs``).
"""

from __future__ import annotations

import contextlib
import json
from abc import abstractmethod
from collections.abc import Iterable
from decimal import Decimal

import numpy as np

from processor import row_digests
from processor.errors import HistoryError
from processor.history import key_runs
from processor.history.store import (
    Billed,
    HistoryStore,
    Pending,
    Scope,
    new_id,
    now,
    use_key,
    user,
)

# A scope's stored runs below this many digests are merged in memory when the key check
# reads them: the file's compaction (``runs.compact``) leaves at most three of each size
# class; the server keeps a run a batch (a year of daily ones: 365).
_SMALL_RUN = 1 << 17


class SQLHistory(HistoryStore):
    """What a history records and answers, in the SQL its stores share."""

    db: object
    path: object
    history_id: str

    def __init__(self) -> None:
        # (application, location) → the runs of digests its committed batches billed, read
        # once by the key check (the lock is held: no batch commits meanwhile)
        self._runs: dict[tuple[str, str], tuple] = {}

    def transaction(self) -> contextlib.AbstractContextManager:
        raise NotImplementedError

    def count(self) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM batches WHERE status != 'pending'").fetchone()
        return n

    def pending(self, scope: Scope | None = None) -> list[Pending]:
        sql = "SELECT id, folder, partial FROM batches WHERE status = 'pending'"
        rows = (
            self.db.execute(sql)
            if scope is None
            else self.db.execute(
                sql + " AND application_key = ? AND location_key = ?",
                (scope.application_key, scope.location_key),
            )
        )
        return [Pending(*row) for row in rows.fetchall()]

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

    def commit(
        self, batch_id: str, manifest: dict, digests: np.ndarray, files: dict[str, tuple]
    ) -> None:
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
            scope = self.scope_id(app, loc, create=True)
            self._store_run(scope, run)
            self.db.executemany(
                "INSERT INTO allowance_use (batch_id, account_key, product_key, month, kind, "
                "account_id, product, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(batch_id, account_key, product_key, month, kind) DO UPDATE SET "
                "account_id = excluded.account_id, product = excluded.product, "
                "used = excluded.used",
                [
                    (batch_id, *use_key(u["account_id"], u["product"], u["month"], u["kind"]),
                     u["account_id"], u["product"], u["used"])
                    for u in manifest.get("allowances", {}).get("used", [])
                ],
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO account_nets (batch_id, account_id, net) VALUES (?, ?, ?)"
                " ON CONFLICT (batch_id, account_id) DO UPDATE SET net = excluded.net",
                [(batch_id, a, net) for a, net in manifest.get("account_nets", {}).items()],
            )
            self.db.executemany(
                "INSERT INTO batch_files (batch_id, name, sha256, size) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (batch_id, name) DO UPDATE SET sha256 = excluded.sha256,"
                " size = excluded.size",
                [(batch_id, name, sha, size) for name, (sha, size) in files.items()],
            )
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

    def allowances_used(self) -> dict[tuple, Decimal]:
        """What committed batches used of allowances, by ``allowances.use_key`` (a void
        batch's use is released)."""
        rows = self.db.execute(
            "SELECT u.account_key, u.product_key, u.month, u.kind, u.used FROM allowance_use u "
            "JOIN batches b ON b.id = u.batch_id WHERE b.status = 'committed'"
        ).fetchall()
        out: dict[tuple, Decimal] = {}
        for account, product, month, kind, used in rows:
            k = (account, product, month, kind)
            out[k] = out.get(k, Decimal(0)) + Decimal(used)
        return out

    def files(self, batch_id: str) -> dict[str, dict]:
        return {
            name: {"sha256": sha, "size": size, "void_sha256": void_sha}
            for name, sha, size, void_sha in self.db.execute(
                "SELECT name, sha256, size, void_sha256 FROM batch_files WHERE batch_id = ?",
                (batch_id,),
            )
        }

    def void_file(self, batch_id: str, name: str, sha256: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE batch_files SET void_sha256 = ? WHERE batch_id = ? AND name = ?",
                (sha256, batch_id, name),
            )

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

    def scope_id(self, application_key: str, location_key: str, create: bool = False):
        """The integer id of an (application, location), None when it has none yet."""
        if create:
            self.db.execute(
                "INSERT INTO scopes (application_key, location_key) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (application_key, location_key),
            )
        row = self.db.execute(
            "SELECT id FROM scopes WHERE application_key = ? AND location_key = ?",
            (application_key, location_key),
        ).fetchone()
        return None if row is None else row[0]

    # --- the billed keys: sorted runs, stored as each store keeps them ----------------------

    @abstractmethod
    def _store_run(self, scope: int, run: key_runs.Run) -> None:
        """Record a committing batch's run (inside the commit's transaction)."""

    @abstractmethod
    def _release_run(self, rowid: int) -> int:
        """Forget a void batch's keys (inside the void's transaction); how many."""

    @abstractmethod
    def _stored_runs(self, scope: int) -> list[key_runs.Run]:
        """The runs a scope's committed batches billed."""

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
            stored = [] if scope is None else self._stored_runs(scope)
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
                "INSERT INTO retried (batch_id, row_key, into_batch) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
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

    def monthly_nets(
        self, application_key: str, location_key: str, months: list[str]
    ) -> dict[str, dict[str, Decimal]]:
        rows = self.db.execute(
            "SELECT n.account_id, substr(b.batch_date, 1, 7), n.net FROM account_nets n"
            " JOIN batches b ON b.id = n.batch_id WHERE b.status = 'committed'"
            " AND b.application_key = ? AND b.location_key = ?"
            f" AND substr(b.batch_date, 1, 7) IN ({','.join('?' * len(months))})",
            [application_key, location_key, *months],
        )
        out: dict[str, dict[str, Decimal]] = {}
        for account, month, net in rows:
            per = out.setdefault(account, {})
            per[month] = per.get(month, Decimal(0)) + Decimal(net)
        return out

    def exports_of(self, batch_ids: Iterable[str]) -> list[dict]:
        ids = sorted(set(batch_ids))
        marks = ",".join("?" * len(ids))
        cur = self.db.execute(
            "SELECT e.id, e.system, e.files, e.created_at, e.created_by, e.invoices FROM exports e"
            f" WHERE e.id IN (SELECT export_id FROM export_batches WHERE batch_id IN ({marks}))"
            " ORDER BY e.created_at, e.rowid",
            ids,
        )
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        batches: dict[str, list[str]] = {e["id"]: [] for e in out}
        if out:  # each export's batches, in one query (a round trip each, on a server)
            marks = ",".join("?" * len(batches))
            for export_id, batch_id in self.db.execute(
                "SELECT export_id, batch_id FROM export_batches WHERE export_id IN "
                f"({marks}) ORDER BY batch_id",
                list(batches),
            ):
                batches[export_id].append(batch_id)
        for e in out:
            e["files"] = json.loads(e["files"])
            e["batches"] = batches[e["id"]]
        return out

    def last_number(self, system: str) -> int | None:
        (n,) = self.db.execute(
            "SELECT MAX(i.sequence) FROM export_invoices i JOIN exports e ON e.id = i.export_id"
            " WHERE e.system = ?",
            (system,),
        ).fetchone()
        return n

    def invoice_numbers(self, export_id: str) -> dict[str, tuple[str, int | None]]:
        return {
            account: (number, seq)
            for account, number, seq in self.db.execute(
                "SELECT account_id, number, sequence FROM export_invoices WHERE export_id = ?",
                (export_id,),
            )
        }

    def numbers_used(self, system: str, numbers: Iterable[str]) -> dict[str, dict]:
        wanted = sorted(set(numbers))
        out: dict[str, dict] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters
            part = wanted[start : start + 500]
            rows = self.db.execute(
                "SELECT i.number, i.export_id, e.created_at, i.account_id FROM export_invoices i"
                " JOIN exports e ON e.id = i.export_id"
                f" WHERE e.system = ? AND i.number IN ({','.join('?' * len(part))})",
                [system, *part],
            )
            for n, export_id, at, account in rows:
                out.setdefault(n, {"export_id": export_id, "created_at": at, "account_id": account})
        return out

    def record_export(self, record: dict, batch_ids: list[str], invoices: list[tuple]) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO exports (id, system, files, created_at, created_by, invoices, net,"
                " tax, gross, currency, again) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["id"],
                    record["system"],
                    json.dumps(record["files"]),
                    record["created_at"],
                    record["created_by"],
                    record["invoices"],
                    str(record["net"]),
                    str(record["tax"]),
                    str(record["gross"]),
                    record["currency"],
                    int(record["again"]),
                ),
            )
            self.db.executemany(
                "INSERT INTO export_batches (export_id, batch_id) VALUES (?, ?)",
                [(record["id"], b) for b in sorted(set(batch_ids))],
            )
            self.db.executemany(
                "INSERT INTO export_invoices (export_id, account_id, number, sequence)"
                " VALUES (?, ?, ?, ?)",
                [(record["id"], *inv) for inv in invoices],
            )

    def void(
        self,
        batch_id: str,
        reason: str,
        by: str | None = None,
        at: str | None = None,
        files: dict[str, str] | None = None,
    ) -> dict:
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
            who, when = by or user(), at or now()
            self.db.execute(
                "UPDATE batches SET status = 'void', void_reason = ?, voided_by = ?, "
                "voided_at = ? WHERE id = ?",
                (reason, who, when, batch_id),
            )
            rowid = self.db.execute(
                "SELECT rowid FROM batches WHERE id = ?", (batch_id,)
            ).fetchone()[0]
            released = self._release_run(rowid)
            self.db.executemany(
                "UPDATE batch_files SET void_sha256 = ? WHERE batch_id = ? AND name = ?",
                [(sha, batch_id, name) for name, sha in (files or {}).items()],
            )
            self._runs.clear()
            # rows retried out of the void batch may be retried again
            self.db.execute("DELETE FROM retried WHERE into_batch = ?", (batch_id,))
        return {"by": who, "at": when, "released": released}
