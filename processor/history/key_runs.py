"""A history's billed digests as sorted runs: made, merged, cut and searched in memory, the
same for every store (the SQLite store keeps them as blobs, schema 4).

A run is a sorted array of row-key digests (``processor.row_digests``: the first 8 bytes as
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
    run = batch_run(batch, *row_digests.halves(digests))
    if ((run.heads[1:] == run.heads[:-1]) & (run.tails[1:] == run.tails[:-1])).any():
        raise ValueError("a batch would bill a row twice")
    return run


def batch_run(batch: int, head: np.ndarray, tail: np.ndarray) -> Run:
    """One batch's digests, as halves in any order, as a run (sorted)."""
    order = row_digests.sort_order(head, tail)
    return Run(head[order], tail[order], np.array([batch], dtype=np.int64))


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


def pieces(run: Run) -> list[Run]:
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


def search(
    runs: list[Run], filters: list[tuple[np.ndarray, np.uint64]], digests: np.ndarray
) -> np.ndarray:
    """Per digest, the entry of its run's ``batches`` that billed it, -1 where none did.

    Args:
        runs: a scope's runs (their ``batches`` as the caller numbers them).
        filters: each run's ``row_digests.presence`` bitmap, which spares most searches.
        digests: the keys asked about (dtype S12).
    """
    which = np.full(len(digests), -1, dtype=np.int64)
    if not len(digests) or not runs:
        return which
    head, tail = row_digests.halves(digests)
    order = np.argsort(head)  # sorted, the searches walk each run in order
    head, tail = head[order], tail[order]
    open_ = np.ones(len(head), dtype=bool)
    for run, (bitmap, shift) in zip(runs, filters, strict=True):
        # only the keys not found yet whose bit the run's bitmap sets are searched for in it
        asked = np.flatnonzero(open_ & row_digests.may_hold(bitmap, shift, head))
        at = row_digests.positions(run.heads, run.tails, head[asked], tail[asked])
        hit = at >= 0
        if hit.any():
            rows = asked[hit]
            open_[rows] = False
            owner = 0 if run.owners is None else run.owners[at[hit]]
            which[order[rows]] = run.batches[owner]
    return which
