"""The PostgreSQL history's billed keys: a keyed table, searched on the server.

The SQLite history reads a scope's sorted runs whole and searches them in memory; over a
network, a history of 100 million keys is 1.2 GB to read for every import. Here each key
is a row (scope, the digest's two halves, the batch that billed it) under a primary key,
so a key check sends only the import's digests (binary COPY into a temporary table) and
the server answers with one indexed join: its cost grows with the import, not the history.
"""

from __future__ import annotations

import struct

import numpy as np

from processor import row_digests

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


def halves(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A digest's first 8 bytes and last 4, as signed integers (PostgreSQL's bigint and
    integer): equal digests, equal halves."""
    head, tail = row_digests.halves(digests)
    return head.view(np.int64), tail.view(np.int32)


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


def store(db, scope: int, batch: int, digests: np.ndarray) -> None:
    """Record a batch's billed keys (inside the commit's transaction).

    Raises:
        ValueError: a key is there twice.
        psycopg.errors.UniqueViolation: a key is billed already (the key check, under the
            lock, makes that impossible; the transaction is rolled back).
    """
    head, tail = _in_order(*halves(digests))
    if ((head[1:] == head[:-1]) & (tail[1:] == tail[:-1])).any():
        raise ValueError("a key is there twice")
    n = len(head)
    copy_in(db, [np.full(n, scope, np.int64), head, tail, np.full(n, batch, np.int64)])


def _in_order(head: np.ndarray, tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys in the primary key's order: a commit then fills index pages one after another."""
    order = np.lexsort((tail, head))
    return head[order], tail[order]


def copy_in(db, columns: list[np.ndarray]) -> None:
    """Rows (scope, head, tail, batch) into ``keys``, as one binary COPY."""
    sql = "COPY keys (scope, head, tail, batch) FROM STDIN (FORMAT BINARY)"
    with db.conn.cursor().copy(sql) as cp:
        cp.write(copy_rows(columns))


def search(db, scope: int, digests: np.ndarray) -> np.ndarray:
    """Per digest, the rowid of the batch that billed it in this scope, -1 where none did."""
    which = np.full(len(digests), -1, dtype=np.int64)
    if not len(digests):
        return which
    head, tail = halves(digests)
    # in the index's order, so that neighbouring probes read neighbouring index pages
    order = np.lexsort((tail, head))
    head, tail = head[order], tail[order]
    with db.transaction():  # the temporary table goes with it
        db.execute(
            "CREATE TEMPORARY TABLE asked (i BIGINT, head BIGINT, tail INTEGER) ON COMMIT DROP"
        )
        cur = db.conn.cursor()
        with cur.copy("COPY asked (i, head, tail) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(copy_rows([order.astype(np.int64), head, tail]))
        # one index probe an asked key: never a scan of the whole table (and no plan to
        # weigh, or to compile)
        db.execute("SET LOCAL enable_hashjoin = off")
        db.execute("SET LOCAL enable_mergejoin = off")
        db.execute("SET LOCAL jit = off")
        out = bytearray()
        with cur.copy(
            "COPY (SELECT a.i, k.batch FROM asked a JOIN keys k ON k.scope = "
            f"{int(scope)} AND k.head = a.head AND k.tail = a.tail) TO STDOUT (FORMAT BINARY)"
        ) as cp:
            for block in cp:
                out += block
    if out:
        i, batch = read_pairs(bytes(out))
        which[i] = batch
    return which


def release(db, batch: int) -> int:
    """Forget a void batch's keys; how many there were."""
    cur = db.execute("DELETE FROM keys WHERE batch = ?", (batch,))
    return cur.rowcount
