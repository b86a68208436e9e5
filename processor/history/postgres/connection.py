"""A psycopg connection that runs the SQL the stores share (``sql_store``): ``?``
placeholders become ``%s``, and SQLite's ``instr`` on a blob is PostgreSQL's
``position``. Everything else in that SQL is the same in both."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator

from processor.errors import HistoryError

_INSTR = re.compile(r"instr\((\w+), \?\)")


def translated(sql: str) -> str:
    sql = _INSTR.sub(r"position(? in \1)", sql)
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """``execute`` and ``executemany`` as sqlite3's connection has them. A connection lost
    on the way (the server restarted or stopped, the network gone) is a ``HistoryError``
    that says so: PostgreSQL rolled back what was open, so nothing half-done is kept."""

    def __init__(self, conn, where: str) -> None:
        self.conn = conn
        self.where = where

    @contextlib.contextmanager
    def _told(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise HistoryError(unreachable(self.where, exc)) from None

    def execute(self, sql: str, params: Iterable = ()):
        with self._told():
            cur = self.conn.cursor()
            cur.execute(translated(sql), tuple(params) or None)
            return cur

    def executemany(self, sql: str, rows: Iterable):
        rows = [tuple(r) for r in rows]
        with self._told():
            cur = self.conn.cursor()
            if rows:
                cur.executemany(translated(sql), rows)
            return cur

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed whole when the block ends, else rolled back."""
        with self._told(), self.conn.transaction():
            yield self

    def close(self) -> None:
        self.conn.close()


def unreachable(where: str, exc: Exception) -> str:
    """What a clerk is told when the server cannot be used (never the password)."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"{where}: the PostgreSQL history cannot be used ({detail}); check that the server "
        "is running and reachable and that the user may log in, then run this again. "
        "Nothing was written"
    )
