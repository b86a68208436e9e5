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
