"""The row keys one import has met so far, in memory: what makes a repeated row a
``duplicate-row`` naming where it was first met, and a call's later legs ``duplicate-leg``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from processor import row_digests


class MetKeys:
    """The digests (``processor.row_digests``) an import has met, each with its place."""

    def __init__(self) -> None:
        self._met = row_digests.KeySet()
        self._file_ids: dict[str, int] = {}
        # (file id, digest) → how many identical rows keyed by content the file has had,
        # kept only for rows met again (a first occurrence that was met first is 1)
        self._counts: dict[tuple[int, bytes], int] = {}

    def meet(
        self, digests: np.ndarray, files: Sequence[str], lines: Sequence
    ) -> tuple[np.ndarray, np.ndarray]:
        """Add these keys (given as digests) met at these files and lines; returns, per
        row, the place it was met before (-1 the first time) and the row's file id."""
        codes, names = pd.factorize(np.asarray(files, dtype=object))
        known = np.array(
            [self._file_ids.setdefault(f, len(self._file_ids)) for f in names], dtype=np.int64
        )
        ids = known[codes] if len(codes) else np.zeros(0, dtype=np.int64)
        places = (ids << 40) | np.asarray(lines, dtype=np.int64)
        return self._met.meet(digests, places), ids

    def place(self, earlier: np.ndarray) -> np.ndarray:
        """``line N of FILE`` for each place ``meet`` returned (None where -1)."""
        out = np.full(len(earlier), None, dtype=object)
        again = np.flatnonzero(earlier >= 0)
        names = {i: f for f, i in self._file_ids.items()}
        out[again] = [f"line {p & ((1 << 40) - 1)} of {names[p >> 40]}" for p in earlier[again]]
        return out

    def occurrences(self, digests: np.ndarray, ids: np.ndarray, earlier: np.ndarray) -> np.ndarray:
        """For rows keyed by their content that were met before (in row order), each one's
        occurrence number among the identical rows of its own file (1: the file's first)."""
        out = np.ones(len(digests), dtype=np.int64)
        for i, (digest, file_id, before) in enumerate(zip(digests, ids, earlier, strict=True)):
            mine = (int(file_id), bytes(digest))
            if mine in self._counts:
                n = self._counts[mine] + 1
            else:  # met first in this file (that row is 1), or first in another file
                n = 2 if (int(before) >> 40) == file_id else 1
            self._counts[mine] = out[i] = n
        return out

    def first_seen(
        self,
        digests: np.ndarray,
        files: Sequence[str] | None = None,
        lines: Sequence | None = None,
    ) -> np.ndarray:
        """For each key (given as its digest): None the first time this import meets it,
        else where it met it (``line N of FILE``; ``""`` when no files and lines are given).
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
