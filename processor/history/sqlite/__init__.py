"""The SQLite history store: one file, the default for one clerk on one machine."""

from processor.history.sqlite.store import DEFAULT_NAME, SQLiteHistory

__all__ = ["DEFAULT_NAME", "SQLiteHistory"]
