"""The import history: batches, the row keys they billed, and the stores that keep them.

Every command opens it through ``open_history``, which picks the store from what
``--history`` names: a file path is the SQLite store (``sqlite``). A new backend is one
package here implementing ``store.HistoryStore``, and one branch in ``open_history``.
"""

from __future__ import annotations

from pathlib import Path

from processor.errors import HistoryError, NoHistoryError
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
    "open_history",
    "recorded_in",
]


def default_path(workbooks: Path) -> Path:
    """Where the history lives unless --history names another: beside the workbooks."""
    return Path(workbooks) / DEFAULT_NAME


def recorded_in(manifest: dict, given: Path | str | None = None) -> Path:
    """The history a batch was recorded in, as its manifest names it (unless ``given``)."""
    if given:
        return Path(given)
    if manifest.get("history"):
        return Path(manifest["history"])
    return default_path(Path(manifest["workbooks"]))


def open_history(where: Path | str) -> HistoryStore:
    """Open the history ``where`` names; the one way every command opens it. It is never
    created here: ``create_history`` (``charges init``) does that, on purpose.

    Raises:
        NoHistoryError: there is none there.
        HistoryError: it cannot be used as a history (nothing is billed).
    """
    return SQLiteHistory(Path(where))


def create_history(where: Path | str) -> Path:
    """Create a new, empty history at ``where`` (its folders too) and return its path.

    Raises:
        HistoryError: something is there already (it is left as it was).
    """
    hist = SQLiteHistory(Path(where), create=True)
    hist.close()
    return hist.path
