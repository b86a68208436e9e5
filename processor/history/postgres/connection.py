"""A psycopg connection that runs the SQL the stores share (``sql_store``): ``?``
placeholders become ``%s``, and SQLite's ``instr`` on a blob is PostgreSQL's
``position``. Everything else in that SQL is the same in both."""

from __future__ import annotations

import re
from collections.abc import Iterable

_INSTR = re.compile(r"instr\((\w+), \?\)")


def translated(sql: str) -> str:
    sql = _INSTR.sub(r"position(? in \1)", sql)
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """``execute`` and ``executemany`` as sqlite3's connection has them."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Iterable = ()):
        cur = self.conn.cursor()
        cur.execute(translated(sql), tuple(params) or None)
        return cur

    def executemany(self, sql: str, rows: Iterable):
        cur = self.conn.cursor()
        rows = [tuple(r) for r in rows]
        if rows:
            cur.executemany(translated(sql), rows)
        return cur

    def close(self) -> None:
        self.conn.close()
