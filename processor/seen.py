"""The keys one import has met so far, in memory: 96-bit digests in sorted runs.

A row key is ``TAG:`` and 24 hex digits (``processor.rowkeys``): its 12 bytes, mixed with
a digest of the tag, are the row's identity here (any other text is hashed to 12 bytes).
Each chunk's new digests become a sorted run with where each was first met; runs of like
size merge, so a chunk is checked against a handful of runs with binary search. Ten
million rows take about 200 MB; nothing per row is a Python object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WIDTH = 12
_HEX_KEY = r"^[^:]*:[0-9a-f]{24}$"


def _blake(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=WIDTH).digest()


def digests(keys: pa.Array) -> np.ndarray:
    """12 bytes per key (dtype S12): a row key's own digest (mixed with its tag's), else a
    hash of the text."""
    n = len(keys)
    out = np.zeros((n, WIDTH), dtype=np.uint8)
    hexed = np.asarray(
        pc.fill_null(pc.match_substring_regex(keys, _HEX_KEY), False).to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    idx = np.flatnonzero(hexed)
    if len(idx):
        chosen = pc.take(keys, pa.array(idx))
        tails = pc.utf8_slice_codeunits(chosen, -24)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(idx)]), tails), "")
        raw = np.frombuffer(bytes.fromhex(joined[0].as_py()), dtype=np.uint8)
        rows = raw.reshape(-1, WIDTH).copy()
        tags = pc.utf8_slice_codeunits(chosen, 0, -25)
        codes, names = _factorize(tags)
        masks = np.stack([np.frombuffer(_blake(t), dtype=np.uint8) for t in names])
        out[idx] = rows ^ masks[codes]
    rest = np.flatnonzero(~hexed)
    if len(rest):
        texts = pc.take(keys, pa.array(rest)).to_pylist()
        out[rest] = np.frombuffer(b"".join(_blake(t) for t in texts), dtype=np.uint8).reshape(
            -1, WIDTH
        )
    return out.view(f"S{WIDTH}").ravel()


def as_bytes(digests: np.ndarray) -> Iterator[bytes]:
    """Each digest as its 12 bytes, one at a time (numpy's ``tolist`` would drop trailing NUL
    bytes, and a list of ten million would take half a gigabyte)."""
    raw = np.ascontiguousarray(digests).tobytes()
    return (raw[i : i + WIDTH] for i in range(0, len(raw), WIDTH))


def _factorize(values: pa.Array) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(values)
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


class KeySet:
    """Digests met so far, each with where it was first met (an int64 chosen by the caller)."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(r[0]) for r in self.runs)

    def meet(self, keys: np.ndarray, places: np.ndarray) -> np.ndarray:
        """Add a batch of digests; per row, where it was met before (-1 the first time).

        A key repeated within the batch names its first row in the batch; a key met in an
        earlier batch names that earlier place (at its first row in this batch).
        """
        n = len(keys)
        earlier = np.full(n, -1, dtype=np.int64)
        if not n:
            return earlier
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        repeat = first[inverse] != np.arange(n)
        earlier[repeat] = places[first[inverse[repeat]]]
        found = np.full(len(uniq), -1, dtype=np.int64)
        for run_keys, run_places in self.runs:
            pos = np.searchsorted(run_keys, uniq)
            inside = pos < len(run_keys)
            hit = np.zeros(len(uniq), dtype=bool)
            hit[inside] = run_keys[pos[inside]] == uniq[inside]
            hit &= found < 0
            found[hit] = run_places[pos[hit]]
        before = found >= 0
        earlier[first[before]] = found[before]
        self._push(uniq[~before], places[first[~before]])
        return earlier

    def _push(self, keys: np.ndarray, places: np.ndarray) -> None:
        if len(keys):
            self.runs.append((keys, places))
        # like sizes merge, so there are only about log2(chunks) runs to search
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k1, p1), (k2, p2) = self.runs[-2], self.runs.pop()
            # two sorted runs merge in one pass: where each of the second goes in the first
            at = np.searchsorted(k1, k2)
            self.runs[-1] = (np.insert(k1, at, k2), np.insert(p1, at, p2))
