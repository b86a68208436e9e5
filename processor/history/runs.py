"""The history's table of runs: each scope's sorted runs of billed digests stored as
blobs (SQLite) or bytea (PostgreSQL), merged as they are committed
(``processor.history.key_runs``) and released by a void. The SQL is the stores' shared
dialect (``sql_store``)."""

from __future__ import annotations

import numpy as np

from processor.history import key_runs
from processor.history.key_runs import Run, merge, pieces, size_class, without


def write(db, scope: int, run: Run) -> None:
    for piece in pieces(run):
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


def as_run(size: int, heads: bytes, tails: bytes, batches: bytes, owners: bytes | None) -> Run:
    named = np.frombuffer(batches, "<i8")
    owner = None
    if owners is not None:
        owner = np.frombuffer(owners, "<u2" if len(owners) == 2 * size else "<u4")
    return Run(np.frombuffer(heads, "<u8"), np.frombuffer(tails, "<u4"), named, owner)


def read(db, scope: int) -> list[Run]:
    """A scope's stored runs."""
    rows = db.execute(
        "SELECT size, heads, tails, batches, owners FROM runs WHERE scope = ?", (scope,)
    )
    return [as_run(*row) for row in rows]


def store(db, scope: int, run: Run) -> None:
    """Add a run to a scope, then merge what that leaves too many of (``compact``)."""
    write(db, scope, run)
    compact(db, scope)


def compact(db, scope: int) -> None:
    """Merge the scope's unsettled runs while FAN_IN or more share a size class (the
    smallest class first: a merge may fill the next)."""
    while True:
        classes: dict[int, list[int]] = {}
        for rowid, size in db.execute(
            "SELECT id, size FROM runs WHERE scope = ? AND size < ? ORDER BY id",
            (scope, key_runs.SETTLED),
        ):
            classes.setdefault(size_class(size), []).append(rowid)
        full = [ids for _, ids in sorted(classes.items()) if len(ids) >= key_runs.FAN_IN]
        if not full:
            return
        ids = full[0]
        marks = ",".join("?" * len(ids))
        rows = db.execute(
            f"SELECT size, heads, tails, batches, owners FROM runs WHERE id IN ({marks})", ids
        ).fetchall()
        db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
        write(db, scope, merge([as_run(*row) for row in rows]))


def release(db, batch: int) -> int:
    """Remove a batch's digests from every run that holds them (then compact what that
    shrank); how many were removed."""
    released, touched = 0, set()
    packed = np.array([batch], dtype="<i8").tobytes()
    rows = db.execute(
        "SELECT id, scope, size, heads, tails, batches, owners FROM runs"
        " WHERE instr(batches, ?) > 0",  # position(? in batches) in PostgreSQL
        (packed,),
    ).fetchall()
    for rowid, scope, *stored in rows:
        run = as_run(*stored)
        if batch not in run.batches:  # the bytes matched across two rowids
            continue
        left = without(run, batch)
        released += len(run) - (0 if left is None else len(left))
        db.execute("DELETE FROM runs WHERE id = ?", (rowid,))
        if left is not None:
            write(db, scope, left)
        touched.add(scope)
    for scope in touched:
        compact(db, scope)
    return released
