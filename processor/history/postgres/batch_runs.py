"""The PostgreSQL history's billed keys: each committed batch's as one sorted run, searched
on the machine that imports.

A commit adds its batch's run (bytea, in parts of at most PART digests) and a void deletes
it, whatever the history holds, so neither grows with the history. A key check needs the
scope's runs: each machine keeps a copy of those it has read (``key_cache``), named by
the content's sha256 that the server records beside it, so that an import fetches only
the runs committed since, and searches them in memory, as the SQLite history does.

A keyed table (a row a key, schema 9) was measured and left: on a durable server, a commit
of 1,000,000 keys into a scope of 100,000,000 rewrote most of the index's pages, and took
minutes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from processor.history.key_runs import Run

PART = 1 << 20  # digests a stored part at most: 12 MiB
FETCH = 32  # parts fetched from the server in one query (about 400 MB at most)

TABLE = """
    CREATE TABLE batch_runs (
        batch BIGINT NOT NULL,
        part INTEGER NOT NULL,
        scope BIGINT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (batch, part)
    );
    CREATE INDEX batch_runs_scope ON batch_runs (scope);
    ALTER TABLE batch_runs ALTER COLUMN data SET STORAGE EXTERNAL;
"""  # EXTERNAL: digests are random bytes, which compression only slows


@dataclass(frozen=True)
class Part:
    """One stored part of a batch's run, as the server lists it."""

    batch: int
    part: int
    size: int
    sha256: str


def encode(heads: np.ndarray, tails: np.ndarray) -> bytes:
    """A sorted run's digests as stored: the heads (little-endian u8), then the tails (u4)."""
    return heads.astype("<u8").tobytes() + tails.astype("<u4").tobytes()


def decode(data: bytes | memoryview, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``encode``'s heads and tails again (read-only views of ``data``)."""
    return (
        np.frombuffer(data, "<u8", count=size),
        np.frombuffer(data, "<u4", count=size, offset=8 * size),
    )


def store(db, scope: int, run: Run, cache=None) -> None:
    """Record a batch's run (one batch's: ``key_runs.of_batch``), inside the commit's
    transaction; ``cache`` keeps a copy, so this machine never fetches it."""
    (batch,) = (int(b) for b in run.batches)
    for part, start in enumerate(range(0, len(run), PART)):  # none for a batch of no keys
        heads, tails = run.heads[start : start + PART], run.tails[start : start + PART]
        data = encode(heads, tails)
        digest = hashlib.sha256(data).hexdigest()
        db.execute(
            "INSERT INTO batch_runs (batch, part, scope, size, sha256, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (batch, part, scope, len(heads), digest, data),
        )
        if cache is not None:
            cache.put(digest, data)


def release(db, batch: int) -> int:
    """Forget a void batch's keys; how many there were."""
    (n,) = db.execute(
        "SELECT COALESCE(SUM(size), 0) FROM batch_runs WHERE batch = ?", (batch,)
    ).fetchone()
    db.execute("DELETE FROM batch_runs WHERE batch = ?", (batch,))
    return int(n)


def listed(db, scope: int) -> list[Part]:
    """The scope's stored parts, by batch and part (no data)."""
    return [
        Part(int(b), int(p), int(n), sha)
        for b, p, n, sha in db.execute(
            "SELECT batch, part, size, sha256 FROM batch_runs WHERE scope = ? ORDER BY batch, part",
            (scope,),
        )
    ]


def fetched(db, parts: list[Part]) -> Iterator[tuple[Part, bytes]]:
    """The data of these parts, from the server, a few at a time.

    Raises:
        ValueError: a part's data is not what the server recorded of it.
    """
    for start in range(0, len(parts), FETCH):
        group = {(p.batch, p.part): p for p in parts[start : start + FETCH]}
        wanted = " OR ".join("(batch = ? AND part = ?)" for _ in group)
        flat = [v for pair in group for v in pair]
        for batch, part, data in db.execute(
            f"SELECT batch, part, data FROM batch_runs WHERE {wanted}", flat
        ):
            p = group[(int(batch), int(part))]
            data = bytes(data)
            if len(data) != 12 * p.size or hashlib.sha256(data).hexdigest() != p.sha256:
                raise ValueError(f"batch {p.batch}, part {p.part}")
            yield p, data


def runs_of(parts: list[Part], data: dict[str, bytes]) -> list[Run]:
    """One run a batch: its parts' digests in order (each part continues the one before)."""
    by_batch: dict[int, list[Part]] = {}
    for p in parts:
        by_batch.setdefault(p.batch, []).append(p)
    out = []
    for batch, mine in by_batch.items():
        halves = [decode(data[p.sha256], p.size) for p in mine]
        heads = halves[0][0] if len(halves) == 1 else np.concatenate([h for h, _ in halves])
        tails = halves[0][1] if len(halves) == 1 else np.concatenate([t for _, t in halves])
        out.append(Run(heads, tails, np.array([batch], dtype=np.int64)))
    return out
