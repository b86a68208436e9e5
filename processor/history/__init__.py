"""The import history: batches, the row keys they billed, and the stores that keep them.

Every command opens it through ``open_history``, which picks the store from what
``--history`` names (a file path: the SQLite store).
"""

from __future__ import annotations

from pathlib import Path

from processor.errors import HistoryError
from processor.history.sqlite_store import DEFAULT_NAME, Billed, History

__all__ = ["Billed", "History", "HistoryError", "default_path", "open_history", "recorded_in"]


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


def open_history(where: Path | str) -> History:
    """Open (or start) the history ``where`` names; the one way every command opens it.

    Raises:
        HistoryError: it cannot be used as a history (nothing is billed).
    """
    return History(Path(where))
