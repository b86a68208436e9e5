"""What every history store keeps and answers: the interface a backend implements.

A store records batches (pending → committed → void), the inputs each imported, and the
row keys (as 12-byte digests, ``processor.row_digests``) each committed batch billed, per
application and location. A command holds the store's lock from its key check to its
commit, so two imports of one scope never bill a row twice.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

LOCK_WAIT = 600  # seconds a command waits for another one to finish


def use_key(account_id: str, product: str, month: str, kind: str) -> tuple[str, str, str, str]:
    """How what batches used of an allowance is added up: account and product without
    case, the month (YYYY-MM) and the kind (quantity or amount)."""
    return account_id.strip().casefold(), product.strip().casefold(), month, kind


@dataclass(frozen=True)
class Billed:
    """Where a row key was billed."""

    batch_id: str
    folder: str


@dataclass(frozen=True)
class Scope:
    """What an import or a retry holds: one application's exports at one location (keys)."""

    application_key: str
    location_key: str


@dataclass(frozen=True)
class Pending:
    """A batch recorded pending: its import was stopped before it committed (when no live
    command holds the lock), and its folders may be left on disk."""

    batch_id: str
    folder: str | None
    partial: str | None


class HistoryStore(ABC):
    """An open import history."""

    path: Path  # what --history named, as the user reads it in messages and manifests
    history_id: str  # made once when the history is created; every manifest records it
    warnings: list[str]  # what the user should know about where it is kept

    def said(self) -> str:
        """Which history a command used and how many batches it holds, for the user."""
        n = self.count()
        return (
            f"history {self.path} (id {self.history_id[:8]}): {n:,} batch{'es' if n != 1 else ''}"
        )

    @abstractmethod
    def count(self) -> int:
        """How many batches it holds (committed or void)."""

    # --- the lock and the connection ----------------------------------------------------

    @abstractmethod
    def lock(
        self,
        wait: float = LOCK_WAIT,
        waiting: Callable[[str], None] | None = None,
        scope: Scope | None = None,
    ) -> None:
        """Hold the history for one command (until ``unlock``, ``close`` or its end).

        ``scope``: an import's application and location. An import holds its scope only,
        so imports of other scopes run meanwhile; a store that cannot hold less (SQLite:
        one lock file) holds the whole history. Without it (void, export, history) the
        whole history is held, once no scope is.
        """

    @abstractmethod
    def lock_allowances(
        self,
        location_key: str,
        wait: float = LOCK_WAIT,
        waiting: Callable[[str], None] | None = None,
    ) -> None:
        """Hold a location's allowances, from reading what batches used of them to the
        commit (a scope's lock is held already): imports of the location's other
        applications may use the same allowances."""

    @abstractmethod
    def unlock(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Let go of the lock and the connection."""

    # --- a batch's life -------------------------------------------------------------------

    @abstractmethod
    def pending(self, scope: Scope | None = None) -> list[Pending]:
        """The batches recorded pending (of ``scope``, when given); with the
        lock held on them, none is a live import's."""

    @abstractmethod
    def begin(self, record: dict, inputs: list[dict]) -> str:
        """Record a batch as pending (before its folder is written); returns its id."""

    @abstractmethod
    def commit(
        self, batch_id: str, manifest: dict, digests: np.ndarray, files: dict[str, tuple]
    ) -> None:
        """Mark the batch committed, with the digests of the row keys it billed and its
        files' (sha256, size) by name, at once."""

    @abstractmethod
    def allowances_used(self) -> dict[tuple, Decimal]:
        """What committed batches used of plans' allowances, added up by ``use_key`` (a
        void batch's use is released)."""

    @abstractmethod
    def files(self, batch_id: str) -> dict[str, dict]:
        """A committed batch's files as recorded at commit: name → {"sha256", "size",
        "void_sha256"} (empty for a batch from before files were recorded)."""

    @abstractmethod
    def void_file(self, batch_id: str, name: str, sha256: str) -> None:
        """Record the sha256 of a void batch's file as void rewrote it."""

    @abstractmethod
    def abandon(self, batch_id: str) -> None:
        """Forget a pending batch: its import failed, or was stopped (a pending batch holds
        no keys: they come at commit)."""

    # --- questions an import asks -----------------------------------------------------------

    @abstractmethod
    def imported_file(self, sha256: str, application_key: str, location_key: str):
        """The committed batch (id, folder, path) that imported this file for this
        application and location, or None."""

    @abstractmethod
    def billed_where(
        self, application_key: str, location_key: str, digests: np.ndarray
    ) -> tuple[np.ndarray, list[Billed]]:
        """Per row key (given as its digest), the index in the list returned with it of
        the committed batch that billed it, -1 where none did."""

    @abstractmethod
    def retried_keys(self, batch_id: str) -> set[str]:
        """The row keys of a batch's unmatched rows that a retry billed."""

    @abstractmethod
    def mark_retried(self, batch_id: str, keys: Iterable[str], into: str) -> None: ...

    @abstractmethod
    def monthly_nets(
        self, application_key: str, location_key: str, months: list[str]
    ) -> dict[str, dict[str, Decimal]]:
        """Per Account ID, the net its committed batches of this application and location
        billed in each of these months (YYYY-MM, by batch date); void batches count not."""

    # --- what was exported to the books ---------------------------------------------------

    @abstractmethod
    def exports_of(self, batch_ids: Iterable[str]) -> list[dict]:
        """The exports that covered any of these batches, oldest first: {"id", "system",
        "files" (a list), "created_at", "created_by", "invoices", "batches" (a list)}."""

    @abstractmethod
    def last_number(self, system: str) -> int | None:
        """The highest invoice sequence number exported for a system (None: none yet)."""

    @abstractmethod
    def invoice_numbers(self, export_id: str) -> dict[str, tuple[str, int | None]]:
        """An export's invoice number and sequence number per Account ID."""

    @abstractmethod
    def numbers_used(self, system: str, numbers: Iterable[str]) -> dict[str, dict]:
        """Which of these invoice numbers earlier exports for a system used: number →
        {"export_id", "created_at", "account_id"}."""

    @abstractmethod
    def record_export(self, record: dict, batch_ids: list[str], invoices: list[tuple]) -> None:
        """Record an export at once: its record (id, system, files, created_at, created_by,
        invoices, net, tax, gross, currency, again), its batches, and its invoices as
        (account_id, number, sequence) tuples."""

    # --- what people ask ----------------------------------------------------------------------

    @abstractmethod
    def batch(self, batch_id: str) -> dict | None:
        """One batch's record, its inputs, reasons and retried rows."""

    @abstractmethod
    def batches(self) -> list[dict]:
        """Every committed or void batch, newest first."""

    @abstractmethod
    def void(
        self,
        batch_id: str,
        reason: str,
        by: str | None = None,
        at: str | None = None,
        files: dict[str, str] | None = None,
    ) -> dict:
        """Mark a committed batch void and release its keys, at once with the sha256 of
        each file void rewrote (``files``, by name): {"by", "at", "released"}. ``by`` and
        ``at`` default to the OS user and now."""


def now() -> str:
    """The time a record is made, in UTC to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_id() -> str:
    """A batch id people can read and quote: the date and a short random part."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def user() -> str:
    """Who is running the command (the OS user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
