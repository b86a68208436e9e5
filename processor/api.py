"""Loading and validating the workbooks: the entry points other steps call."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from processor import findings as fnd
from processor.validate import validate_sheets
from processor.workbooks import read_workbooks


class UsageError(Exception):
    """The command was given something it cannot use (exit 2)."""


class WorkbookError(Exception):
    """The workbooks have errors; ``findings`` lists them all."""

    def __init__(self, findings: pd.DataFrame, action: str = "") -> None:
        self.findings = findings
        self.action = action or "nothing was imported; fix the errors above and run again"
        n = len(fnd.errors(findings))
        super().__init__(f"the workbooks have {n} error{'s' if n != 1 else ''}")


def validate_folder(folder: Path) -> tuple[dict, pd.DataFrame]:
    """Read and validate the workbooks in ``folder``.

    Returns:
        The sheets read (by name) and every finding, errors and warnings.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; create it with `charges init {folder}`")
    sheets, found = read_workbooks(folder)
    return sheets, fnd.concat([fnd.frame(found), validate_sheets(sheets)])


def load_reference(folder: Path):
    """Validated reference data, or None when the workbooks have errors.

    Returns:
        (Reference or None, findings).
    """
    from processor.reference import build

    sheets, found = validate_folder(folder)
    if len(fnd.errors(found)):
        return None, found
    return build(sheets), found
