"""The import history: batches, the row keys they billed, and the stores that keep them.

Every command opens it through ``open_history``, which picks the store from what
``--history`` (or CHARGES_HISTORY) names: a file path is the SQLite store (``sqlite``), a
``postgresql://`` URL the PostgreSQL store (``postgres``). A new backend is one package
here implementing ``store.HistoryStore`` (most of it ``sql_store.SQLHistory``), and one
branch in ``open_history``.
"""

from __future__ import annotations

from pathlib import Path

from processor.errors import HistoryError, NoHistoryError
from processor.history.postgres.place import is_url
from processor.history.sqlite import DEFAULT_NAME, SQLiteHistory
from processor.history.store import Billed, HistoryStore, Pending

__all__ = [
    "Billed",
    "HistoryError",
    "HistoryStore",
    "NoHistoryError",
    "Pending",
    "create_history",
    "default_path",
    "history_place",
    "open_history",
    "recorded_in",
    "same_place",
]


def default_path(workbooks: Path) -> Path:
    """Where the history lives unless --history names another: beside the workbooks."""
    return Path(workbooks) / DEFAULT_NAME


def history_place(where: Path | str) -> Path | str:
    """A history's place as ``--history`` gives it: a PostgreSQL URL stays text, anything
    else is a file path."""
    text = str(where)
    return text.strip() if is_url(text) else Path(where)


def same_place(where: Path | str) -> Path | str:
    """A history's place, normalised so that two namings of one history are equal: a file's
    absolute path, a URL without its password."""
    from processor.history.postgres.place import public_url

    place = history_place(where)
    return public_url(place) if isinstance(place, str) else place.resolve()


def recorded_in(manifest: dict, given: Path | str | None = None) -> Path | str:
    """The history a batch was recorded in, as its manifest names it (unless ``given``)."""
    if given:
        return history_place(given)
    if manifest.get("history"):
        return history_place(manifest["history"])
    return default_path(Path(manifest["workbooks"]))


def open_history(where: Path | str) -> HistoryStore:
    """Open the history ``where`` names; the one way every command opens it. It is never
    created here: ``create_history`` (``charges init``) does that, on purpose.

    Raises:
        NoHistoryError: there is none there.
        HistoryError: it cannot be used as a history (nothing is billed).
    """
    place = history_place(where)
    if isinstance(place, str):
        from processor.history.postgres.store import PostgresHistory

        return PostgresHistory(place)
    return SQLiteHistory(place)


def create_history(where: Path | str) -> Path | str:
    """Create a new, empty history at ``where`` (a file and its folders, or the tables in
    an empty PostgreSQL database) and return where it is, as people are told.

    Raises:
        HistoryError: something is there already (it is left as it was).
    """
    place = history_place(where)
    if isinstance(place, str):
        from processor.history.postgres.store import PostgresHistory

        hist = PostgresHistory(place, create=True)
    else:
        hist = SQLiteHistory(place, create=True)
    hist.close()
    return hist.path
