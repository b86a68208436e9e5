"""Every error a command reports, in one light module (the CLI catches these without
importing pandas, pyarrow or the report stack; each module raises its own)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from processor import findings as fnd

if TYPE_CHECKING:
    import pandas as pd


class UsageError(Exception):
    """The command was given something it cannot use (exit 2)."""


class WorkbookError(Exception):
    """The workbooks have errors; ``findings`` lists them all."""

    def __init__(self, findings: pd.DataFrame, action: str = "") -> None:
        self.findings = findings
        self.action = action or "nothing was imported; fix the errors above and run again"
        n = len(fnd.errors(findings))
        super().__init__(f"the workbooks have {n} error{'s' if n != 1 else ''}")

    def __reduce__(self):  # raised in a report worker process, told in the main one
        return type(self), (self.findings, self.action)


class NothingBilled(Exception):
    """A retry found no row that bills now: nothing was written or recorded. Not a failure
    (the CLI exits 0, or 3 with --fail-on-unmatched); ``unmatched`` counts the rows that
    still do not match."""

    def __init__(self, message: str, unmatched: int) -> None:
        super().__init__(message)
        self.unmatched = unmatched


class ExportError(Exception):
    """A whole file cannot be read as its format (the message says why and what to do)."""


class HistoryError(Exception):
    """The history cannot be used as asked (the message says why and what to do)."""


class NoHistoryError(HistoryError):
    """No history where one was named: a usage error (exit 2), since a command never starts
    a history silently (``charges init`` creates one)."""


class OutputError(Exception):
    """The batch folder cannot be written (read-only, full disk...); nothing was left."""


class ReportError(Exception):
    """A batch folder cannot be reported on (the message says why and what to do)."""


class RenderError(Exception):
    """A notebook failed; the executed notebook with the error is kept at ``notebook``."""

    def __init__(self, message: str, notebook: Path) -> None:
        super().__init__(message)
        self.notebook = notebook

    def __reduce__(self):  # raised in a report worker process, told in the main one
        return type(self), (str(self), self.notebook)
