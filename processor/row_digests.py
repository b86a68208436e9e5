"""The keys one import has met so far, in memory: 96-bit digests in sorted runs.

A row key is ``TAG:`` and 24 hex digits (``processor.ledger.row_keys``): its 12 bytes, mixed with
a digest of the tag, are the row's identity here (any other text is hashed to 12 bytes).
Each chunk's new digests become a run sorted by their first 8 bytes (as integers), with
where each was first met; runs of like size merge, so a chunk is checked against a
handful of runs with binary search. Ten million rows take about 200 MB; nothing per row
is a Python object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow

WIDTH = 12


def _blake(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=WIDTH).digest()


_UNHEX = np.full(256, 255, dtype=np.uint8)
_UNHEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)


def digests(keys: pa.Array) -> np.ndarray:
    """12 bytes per key (dtype S12): a row key's own digest (mixed with its tag's), else a
    hash of the text. The hex digits are read straight from Arrow's buffers."""
    n = len(keys)
    out = np.zeros((n, WIDTH), dtype=np.uint8)
    raw = keys.cast(pa.large_binary())
    # TAG:hex: one colon, then 24 lower-case hex digits to the end
    colons = np.asarray(pc.count_substring(keys, ":").to_numpy(zero_copy_only=False))
    lengths = np.asarray(pc.binary_length(raw).to_numpy(zero_copy_only=False))
    idx = np.flatnonzero((colons == 1) & (lengths > 2 * WIDTH))
    if len(idx) < n:
        raw = pc.take(raw, pa.array(idx))
    if len(idx):
        # each candidate's last 25 bytes, end to end: a (rows, 25) view of one buffer
        tails = arrow.body(pc.binary_slice(raw, -2 * WIDTH - 1))
        cells = np.frombuffer(tails, dtype=np.uint8).reshape(len(idx), -1)
        nibbles = _UNHEX[cells[:, 1:]]
        hexed = (nibbles != 255).all(axis=1) & (cells[:, 0] == ord(":"))
        idx, nibbles, raw = idx[hexed], nibbles[hexed], raw.filter(pa.array(hexed))
    if len(idx):
        held = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
        tags = pc.binary_slice(raw, 0, -2 * WIDTH - 1).cast(pa.string())
        codes, names = arrow.factorize(tags)
        masks = np.stack([tag_mask(t) for t in names])
        out[idx] = held ^ masks[codes]
    rest = np.ones(n, dtype=bool)
    rest[idx] = False
    rest = np.flatnonzero(rest)
    if len(rest):
        texts = pc.take(keys, pa.array(rest)).to_pylist()
        out[rest] = np.frombuffer(b"".join(_blake(t) for t in texts), dtype=np.uint8).reshape(
            -1, WIDTH
        )
    return out.view(f"S{WIDTH}").ravel()


def tag_mask(tag: str) -> np.ndarray:
    """What a row key's digest is mixed with, so that keys of two tags never meet."""
    return np.frombuffer(_blake(tag), dtype=np.uint8)


_SHORT = 64  # bytes: longer texts (rare) are hashed by blake2b
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX[0]
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX[1]
    return x ^ (x >> np.uint64(31))


def text_digests(texts: pa.StringArray, tag: str) -> np.ndarray:
    """12 bytes per text (dtype S12) for keys that live only in memory (a call's id), worked
    out column-wise: two 64-bit lanes that mix each 8 bytes of the text in turn, seeded
    with the text's length and the tag. Never stored: the history keeps blake2b digests.
    """
    n = len(texts)
    texts = pc.fill_null(texts, "").cast(pa.large_string())
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + n + 1]
    data = texts.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    short = lengths <= _SHORT
    width = int(-(-lengths[short].max(initial=0) // 8))
    # each short text's bytes, zero-padded to ``width`` words
    size = max(width, 1) * 8
    if short.all() and pc.all(pc.string_is_ascii(texts)).as_py() is not False:
        # ASCII (call ids are): Arrow pads every text to one width, end to end in a buffer
        even = arrow.body(pc.utf8_rpad(texts, width=size, padding="\x00"))
        padded = np.frombuffer(even, dtype=np.uint8).reshape(n, size)
    else:
        padded = np.zeros((n, size), dtype=np.uint8)
        rows = np.repeat(np.flatnonzero(short), lengths[short])
        starts = np.repeat(offsets[:-1][short], lengths[short])
        cols = np.arange(len(rows)) - np.repeat(
            np.cumsum(lengths[short]) - lengths[short], lengths[short]
        )
        padded[rows, cols] = raw[starts + cols]
    words = np.ascontiguousarray(padded).view("<u8")
    seed = np.frombuffer(hashlib.blake2b(tag.encode(), digest_size=16).digest(), dtype="<u8")
    one = _mix(lengths.astype(np.uint64) ^ seed[0])
    two = _mix(lengths.astype(np.uint64) * _MIX[0] ^ seed[1])
    words_in = -(-lengths // 8)  # a text's own words: padding past them is not mixed in
    for k in range(width):
        has = words_in > k
        one = np.where(has, _mix(one ^ words[:, k]), one)
        two = np.where(has, _mix((two + words[:, k]) * _MIX[1]), two)
    out = np.empty((n, WIDTH), dtype=np.uint8)
    out[:, :8] = one.view(np.uint8).reshape(n, 8)
    out[:, 8:] = two.view(np.uint8).reshape(n, 8)[:, :4]
    out = out.view(f"S{WIDTH}").ravel()
    long = np.flatnonzero(~short)
    if len(long):
        held = b"".join(_blake(f"{tag}:{v}") for v in pc.take(texts, long).to_pylist())
        out[long] = np.frombuffer(held, dtype=f"S{WIDTH}")
    return out


def as_bytes(digests: np.ndarray) -> Iterator[bytes]:
    """Each digest as its 12 bytes, one at a time (numpy's ``tolist`` would drop trailing NUL
    bytes, and a list of ten million would take half a gigabyte)."""
    raw = np.ascontiguousarray(digests).tobytes()
    return (raw[i : i + WIDTH] for i in range(0, len(raw), WIDTH))


class KeySet:
    """Digests met so far, each with where it was first met (an int64 chosen by the caller).

    Each run is sorted by the digests' first 8 bytes (``head``); the last 4 (``tail``)
    tell apart the rare digests whose heads are equal.
    """

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # head, tail, place

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
        head, tail = halves(keys)
        order = sort_order(head, tail)  # a key's rows stay in their order
        h, t = head[order], tail[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = (h[1:] != h[:-1]) | (t[1:] != t[:-1])
        group = np.cumsum(starts) - 1
        first = order[starts]  # each distinct key's first row
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = group
        repeat = first[inverse] != np.arange(n)
        earlier[repeat] = places[first[inverse[repeat]]]
        uh, ut = h[starts], t[starts]
        found = np.full(len(uh), -1, dtype=np.int64)
        for run_head, run_tail, run_places in self.runs:
            found = _look_up(run_head, run_tail, run_places, uh, ut, found)
        before = found >= 0
        earlier[first[before]] = found[before]
        self._push(uh[~before], ut[~before], places[first[~before]])
        return earlier

    def _push(self, head: np.ndarray, tail: np.ndarray, places: np.ndarray) -> None:
        if len(head):
            self.runs.append((head, tail, places))
        # like sizes merge, so there are only about log2(chunks) runs to search
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (h1, t1, p1), (h2, t2, p2) = self.runs[-2], self.runs.pop()
            # two sorted runs merge in one pass: where each of the second goes in the first
            at = np.searchsorted(h1, h2)
            self.runs[-1] = (np.insert(h1, at, h2), np.insert(t1, at, t2), np.insert(p1, at, p2))


def _look_up(
    run_head: np.ndarray,
    run_tail: np.ndarray,
    run_places: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    found: np.ndarray,
) -> np.ndarray:
    """``found`` with the places of the keys this run holds filled in."""
    at = positions(run_head, run_tail, head, tail, ~(found >= 0))
    hit = at >= 0
    found[hit] = run_places[at[hit]]
    return found


def halves(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A digest's first 8 bytes as a uint64 and its last 4 as a uint32 (both little-endian,
    as the history stores them): integers compare and move several times faster than
    12-byte strings."""
    raw = np.ascontiguousarray(digests).view(np.uint8).reshape(-1, WIDTH)
    head = raw[:, :8].copy().view("<u8").ravel()
    tail = raw[:, 8:].copy().view("<u4").ravel()
    return head, tail


def sort_order(head: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """The order that sorts digests by head, then tail (stable: equal digests keep their
    order). Sorting by head alone suffices unless two digests share a head (rare)."""
    order = np.argsort(head, kind="stable")
    h, t = head[order], tail[order]
    if ((h[1:] == h[:-1]) & (t[1:] != t[:-1])).any():
        order = np.lexsort((tail, head))
    return order


def presence(heads: np.ndarray) -> tuple[np.ndarray, np.uint64]:
    """A bitmap of a run's heads' top bits, about 8 bits a digest, and the shift that takes
    a head to its bit: a digest whose bit is clear is not in the run (about 1 in 9 that are
    not in it still find theirs set). Heads are blake2b bytes: their top bits are uniform.
    """
    bits = int(np.clip(np.ceil(np.log2(max(len(heads), 1) * 8)), 10, 27))
    shift = np.uint64(64 - bits)
    flags = np.zeros(1 << bits, dtype=bool)
    flags[heads >> shift] = True
    return np.packbits(flags, bitorder="little"), shift


def may_hold(bitmap: np.ndarray, shift: np.uint64, head: np.ndarray) -> np.ndarray:
    """Per head, whether its bit is set in a ``presence`` bitmap."""
    at = head >> shift
    return ((bitmap[at >> np.uint64(3)] >> (at & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)


def positions(
    run_head: np.ndarray,
    run_tail: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    asked: np.ndarray | None = None,
) -> np.ndarray:
    """Where each digest (head, tail) is in a run sorted by ``sort_order``, -1 where the
    run does not hold it (and where ``asked`` is False). Heads sorted ask fastest."""
    at = np.searchsorted(run_head, head)
    inside = at < len(run_head)
    same = np.zeros(len(head), dtype=bool)
    same[inside] = run_head[at[inside]] == head[inside]
    if asked is not None:
        same &= asked
    exact = np.zeros(len(head), dtype=bool)
    exact[same] = run_tail[at[same]] == tail[same]
    out = np.where(exact, at, -1)
    # a head the run holds more than once (two digests alike in 8 bytes): each looked at
    for i in np.flatnonzero(same & ~exact):
        j = at[i] + 1
        while j < len(run_head) and run_head[j] == head[i]:
            if run_tail[j] == tail[i]:
                out[i] = j
                break
            j += 1
    return out
