"""Schema 9's billed keys: a keyed table (a row a key: scope, the digest's two halves, the
batch that billed it), kept for the migrations through it (``schema``). Schema 10 keeps a
run a batch instead (``batch_runs``): a commit into a keyed table of 100 million keys, on
a durable server, rewrote most of its index and took minutes.
"""

from __future__ import annotations

import struct

import numpy as np

TABLE = """
    CREATE TABLE keys (
        scope BIGINT NOT NULL,
        head BIGINT NOT NULL,
        tail INTEGER NOT NULL,
        batch BIGINT NOT NULL,
        PRIMARY KEY (scope, head, tail)
    );
    CREATE INDEX keys_batch ON keys (batch);
"""

_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)


def copy_rows(columns: list[np.ndarray]) -> bytes:
    """Rows of integer columns (int64 or int32) in PostgreSQL's binary COPY format."""
    n = len(columns[0]) if columns else 0
    fields = [("count", ">i2")]
    for i, col in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"v{i}", ">i8" if col.dtype.itemsize == 8 else ">i4")]
    rows = np.empty(n, dtype=fields)
    rows["count"] = len(columns)
    for i, col in enumerate(columns):
        rows[f"len{i}"] = col.dtype.itemsize
        rows[f"v{i}"] = col
    return _HEADER + rows.tobytes() + _TRAILER


def read_pairs(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Two bigint columns from PostgreSQL's binary COPY output."""
    body = data[len(_HEADER) : len(data) - len(_TRAILER)]
    rows = np.frombuffer(
        body, dtype=[("count", ">i2"), ("l0", ">i4"), ("a", ">i8"), ("l1", ">i4"), ("b", ">i8")]
    )
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def copy_in(db, columns: list[np.ndarray]) -> None:
    """Rows (scope, head, tail, batch) into ``keys``, as one binary COPY."""
    sql = "COPY keys (scope, head, tail, batch) FROM STDIN (FORMAT BINARY)"
    with db.conn.cursor().copy(sql) as cp:
        cp.write(copy_rows(columns))


def batch_keys(db, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """One batch's keys in the table, as a run's heads and tails (``key_runs``), unsorted."""
    out = bytearray()
    with db.conn.cursor().copy(
        f"COPY (SELECT head, tail::BIGINT FROM keys WHERE batch = {int(batch)}) "
        "TO STDOUT (FORMAT BINARY)"
    ) as cp:
        for block in cp:
            out += block
    if not out:
        return np.empty(0, np.uint64), np.empty(0, np.uint32)
    head, tail = read_pairs(bytes(out))
    return head.view(np.uint64), tail.astype(np.int32).view(np.uint32)
