"""Loading and validating the workbooks: the entry points other steps call."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from processor import findings as fnd
from processor.errors import UsageError, WorkbookError  # noqa: F401  (re-exported)
from processor.reference.reading import iter_sheets
from processor.reference.validation import across_sheets, cell_findings


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector: reading workbooks makes a few hundred thousand cell
    values and records, none of them in a cycle, and each collection it set off walked
    every object the libraries hold (a noticeable share of the load). Freed memory is still
    freed."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def validate_folder(folder: Path) -> tuple[dict, pd.DataFrame]:
    """Read and validate the workbooks in ``folder``.

    Returns:
        The sheets read (by name) and every finding, errors and warnings.
    """
    folder = Path(folder)
    if folder.is_file():
        raise UsageError(
            f"{folder}: is a file; --workbooks names the folder that holds accounts.xlsx and "
            f"devices.xlsx (here: --workbooks {folder.parent})"
        )
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; create it with `charges init {folder}`")
    with _no_cycle_collection():
        # each sheet's cells are checked as soon as it is read, while others are read
        read = sorted(
            (
                (place, sheet, problems, cell_findings(sheet) if sheet is not None else [])
                for place, sheet, problems in iter_sheets(folder)
            ),
            key=lambda r: r[0],
        )  # then everything in the contract's order
        sheets = {sheet.name: sheet for _, sheet, _, _ in read if sheet is not None}
        found = [f for _, _, problems, _ in read for f in problems]
        cells = [f for _, _, _, checked in read for f in checked]
        return sheets, fnd.concat([fnd.frame(found), fnd.frame(cells + across_sheets(sheets))])


def load_reference(folder: Path):
    """Validated reference data, or None when the workbooks have errors.

    Returns:
        (Reference or None, findings).
    """
    from processor.reference.records import build

    sheets, found = validate_folder(folder)
    if len(fnd.errors(found)):
        return None, found
    with _no_cycle_collection():
        return build(sheets), found
