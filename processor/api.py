"""Loading and validating the workbooks: the entry points other steps call."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from processor import findings as fnd
from processor.errors import UsageError, WorkbookError  # noqa: F401  (re-exported)
from processor.validate import validate_sheets
from processor.workbooks import read_workbooks


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
