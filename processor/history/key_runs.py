"""A history's billed digests as sorted runs, and their upkeep (history schema 4).

A run is a sorted array of row-key digests (``processor.seen``: the first 8 bytes as
little-endian uint64 heads, the last 4 as uint32 tails), the batches whose digests it holds
(their history rowids) and, when it holds more than one batch's, the owner of each digest
(an index into its batches). The key check searches every run of a scope once a chunk, so
the number of runs is what it costs: a commit that leaves four runs of one size class
(powers of 4) merges them into one, as a log-structured store does. A history of three
years of weekly 200,000-row batches is then about 16 runs instead of 156, and each digest
is rewritten about four times in its life. Runs of 2M digests or more are settled: merging
them would cost a commit seconds for little.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from processor import row_digests

RUN = 1 << 22  # digests a stored run at most: 32 MiB of heads, far below SQLite's blob limit
SETTLED = 1 << 21  # a run this large is never merged again (at most RUN: a merge then
# leaves fewer unsettled runs than it took, so compaction ends)
FAN_IN = 4  # runs of one size class merged at a time


@dataclass(frozen=True)
class Run:
    """A sorted run of billed digests and whose they are."""

    heads: np.ndarray  # <u8, sorted (row_digests.sort_order)
    tails: np.ndarray  # <u4
    batches: np.ndarray  # int64 history rowids
    owners: np.ndarray | None = None  # index into batches, a digest; None: one batch

    def __len__(self) -> int:
        return len(self.heads)

    def owner(self) -> np.ndarray:
        """Each digest's index into ``batches``."""
        if self.owners is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.owners.astype(np.int64)


def of_batch(batch: int, digests: np.ndarray) -> Run:
    """One batch's digests as a run.

    Raises:
        ValueError: a digest is there twice (an import bills a row once).
    """
    head, tail = row_digests.halves(digests)
    order = row_digests.sort_order(head, tail)
    head, tail = head[order], tail[order]
    if ((head[1:] == head[:-1]) & (tail[1:] == tail[:-1])).any():
        raise ValueError("a batch would bill a row twice")
    return Run(head, tail, np.array([batch], dtype=np.int64))


def merge(runs: list[Run]) -> Run:
    """One sorted run of the digests of several (a batch's may be in more than one)."""
    if len(runs) == 1:
        return runs[0]
    batches, owners, base = [], [], 0
    for run in runs:
        batches.append(run.batches)
        owners.append(run.owner() + base)
        base += len(run.batches)
    named, where = np.unique(np.concatenate(batches), return_inverse=True)
    owner = where[np.concatenate(owners)]
    heads = np.concatenate([r.heads for r in runs])
    tails = np.concatenate([r.tails for r in runs])
    order = row_digests.sort_order(heads, tails)  # runs already sorted: timsort merges them
    return _owned(heads[order], tails[order], named, owner[order])


def without(run: Run, batch: int) -> Run | None:
    """The run less one batch's digests (None when nothing is left)."""
    keep = run.batches != batch
    if keep.all():
        return run
    gone = int(np.flatnonzero(~keep)[0])
    owner = run.owner()
    kept = owner != gone
    if not kept.any():
        return None
    owner = owner[kept]
    return _owned(run.heads[kept], run.tails[kept], run.batches[keep], owner - (owner > gone))


def _owned(heads: np.ndarray, tails: np.ndarray, batches: np.ndarray, owner: np.ndarray) -> Run:
    """A run with its owners held as narrowly as they fit, or not at all for one batch."""
    if len(batches) == 1:
        return Run(heads, tails, batches)
    width = np.uint16 if len(batches) <= 1 << 16 else np.uint32
    return Run(heads, tails, batches, owner.astype(width))


def _pieces(run: Run) -> list[Run]:
    """The run cut into stored runs of at most RUN digests, each naming only its own batches."""
    if len(run) <= RUN:
        return [run]
    out = []
    owner = run.owner()
    for start in range(0, len(run), RUN):
        part = slice(start, start + RUN)
        used, local = np.unique(owner[part], return_inverse=True)
        out.append(_owned(run.heads[part], run.tails[part], run.batches[used], local))
    return out


def size_class(size: int) -> int:
    """Which power of 4 a run's size is in."""
    return (int(size).bit_length() - 1) // 2


# --- storage ---------------------------------------------------------------------------------

TABLE = """
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


def _write(db: sqlite3.Connection, scope: int, run: Run) -> None:
    for piece in _pieces(run):
        db.execute(
            "INSERT INTO runs (scope, size, heads, tails, batches, owners)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                scope,
                len(piece),
                piece.heads.astype("<u8").tobytes(),
                piece.tails.astype("<u4").tobytes(),
                piece.batches.astype("<i8").tobytes(),
                None if piece.owners is None else piece.owners.tobytes(),
            ),
        )


def _run(size: int, heads: bytes, tails: bytes, batches: bytes, owners: bytes | None) -> Run:
    named = np.frombuffer(batches, "<i8")
    owner = None
    if owners is not None:
        owner = np.frombuffer(owners, "<u2" if len(owners) == 2 * size else "<u4")
    return Run(np.frombuffer(heads, "<u8"), np.frombuffer(tails, "<u4"), named, owner)


def read(db: sqlite3.Connection, scope: int) -> list[Run]:
    """A scope's stored runs."""
    rows = db.execute(
        "SELECT size, heads, tails, batches, owners FROM runs WHERE scope = ?", (scope,)
    )
    return [_run(*row) for row in rows]


def store(db: sqlite3.Connection, scope: int, run: Run) -> None:
    """Add a run to a scope, then merge what that leaves too many of (``compact``)."""
    _write(db, scope, run)
    compact(db, scope)


def compact(db: sqlite3.Connection, scope: int) -> None:
    """Merge the scope's unsettled runs while FAN_IN or more share a size class (the
    smallest class first: a merge may fill the next)."""
    while True:
        classes: dict[int, list[int]] = {}
        for rowid, size in db.execute(
            "SELECT id, size FROM runs WHERE scope = ? AND size < ? ORDER BY id", (scope, SETTLED)
        ):
            classes.setdefault(size_class(size), []).append(rowid)
        full = [ids for _, ids in sorted(classes.items()) if len(ids) >= FAN_IN]
        if not full:
            return
        ids = full[0]
        marks = ",".join("?" * len(ids))
        rows = db.execute(
            f"SELECT size, heads, tails, batches, owners FROM runs WHERE id IN ({marks})", ids
        ).fetchall()
        db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
        _write(db, scope, merge([_run(*row) for row in rows]))


def release(db: sqlite3.Connection, batch: int) -> int:
    """Remove a batch's digests from every run that holds them (then compact what that
    shrank); how many were removed."""
    released, touched = 0, set()
    packed = np.array([batch], dtype="<i8").tobytes()
    rows = db.execute(
        "SELECT id, scope, size, heads, tails, batches, owners FROM runs"
        " WHERE instr(batches, ?) > 0",
        (packed,),
    ).fetchall()
    for rowid, scope, *stored in rows:
        run = _run(*stored)
        if batch not in run.batches:  # the bytes matched across two rowids
            continue
        left = without(run, batch)
        released += len(run) - (0 if left is None else len(left))
        db.execute("DELETE FROM runs WHERE id = ?", (rowid,))
        if left is not None:
            _write(db, scope, left)
        touched.add(scope)
    for scope in touched:
        compact(db, scope)
    return released
