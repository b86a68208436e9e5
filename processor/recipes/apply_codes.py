"""`charges apply-codes`: copy the rows a clerk filled in on codes-to-add.xlsx into the
Account Codes sheet of accounts.xlsx.

The new workbook is validated before anything is replaced; it is written beside the old
one and renamed over it (atomic), and the old one is kept as a dated backup.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from processor import findings as fnd
from processor.reference.loading import UsageError, WorkbookError, validate_folder
from processor.reports.codes_to_add import CODES_HEADER_ROW, CODES_SHEET, ID_NAME
from schemas.checks import as_text, key


@dataclass
class Applied:
    """What apply-codes did."""

    added: list[tuple[str, str, str]] = field(default_factory=list)  # account, app, code
    already: list[tuple[str, str, str]] = field(default_factory=list)  # held already
    backup: Path | None = None
    rows: tuple[int, int] | None = None  # the Account Codes rows written


def read_choices(path: Path) -> list[tuple[int, str, str, str]]:
    """(row, account id, application, code) of every row with an account chosen."""
    from openpyxl import load_workbook

    try:
        ws = load_workbook(path, read_only=True, data_only=True)[CODES_SHEET]
    except KeyError:
        raise UsageError(
            f'{path}: has no sheet "{CODES_SHEET}"; is it a codes-to-add.xlsx?'
        ) from None
    except Exception:
        raise UsageError(f"{path}: cannot be read as an .xlsx workbook") from None
    out = []
    for r, row in enumerate(
        ws.iter_rows(min_row=CODES_HEADER_ROW + 1, values_only=True), start=CODES_HEADER_ROW + 1
    ):
        chosen = as_text(row[0]).strip() if row and row[0] is not None else ""
        if not chosen:
            continue
        account = chosen.split(ID_NAME)[0].strip()
        out.append((r, account, as_text(row[1] or "").strip(), as_text(row[2] or "").strip()))
    return out


def apply_codes(path: Path, workbooks: Path) -> Applied:
    """Add the chosen codes to Account Codes, after validating the result.

    Raises:
        UsageError: the file is not a codes-to-add workbook, or nothing is chosen.
        WorkbookError: the workbooks would have errors with these codes (nothing changed).
    """
    from openpyxl import load_workbook

    path, workbooks = Path(path), Path(workbooks)
    target = workbooks / "accounts.xlsx"
    if not target.is_file():
        raise UsageError(f"{target}: not found; name the workbooks folder with --workbooks")
    choices = read_choices(path)
    if not choices:
        raise UsageError(
            f"{path}: no account is chosen in column A; choose the account for each code "
            "to add, save, and run again"
        )
    sheets, _ = validate_folder(workbooks)
    held = set()
    if "Account Codes" in sheets:
        for _, r in sheets["Account Codes"].rows():
            held.add((key(r["Account ID"]), key(r["Application"]), key(r["Code"])))
    result = Applied()
    wb = load_workbook(target)
    if "Account Codes" not in wb.sheetnames:
        raise UsageError(f'{target}: has no sheet "Account Codes"')
    ws = wb["Account Codes"]
    header = [" ".join(str(c.value or "").split()).casefold() for c in ws[1]]
    try:
        cols = [header.index(h) + 1 for h in ("account id", "application", "code")]
    except ValueError:
        raise UsageError(
            f"{target} › Account Codes: needs the columns Account ID, Application and Code"
        ) from None
    row = ws.max_row
    while row > 1 and all(ws.cell(row, c).value in (None, "") for c in cols):
        row -= 1  # append after the last filled row, not after formatted blanks
    first = row + 1
    for _, account, app, code in choices:
        if (key(account), key(app), key(code)) in held:
            result.already.append((account, app, code))
            continue
        row += 1
        for c, v in zip(cols, (account, app, code), strict=True):
            cell = ws.cell(row, c, v)
            cell.data_type = "s"
            cell.number_format = "@"  # codes stay text: leading zeros kept
        held.add((key(account), key(app), key(code)))
        result.added.append((account, app, code))
    if not result.added:
        return result
    # validate the workbooks as they would be, in a scratch folder, before touching them
    with tempfile.TemporaryDirectory(dir=workbooks) as scratch:
        scratch = Path(scratch)
        wb.save(scratch / "accounts.xlsx")
        for other in workbooks.glob("*.xlsx"):
            if other.name != "accounts.xlsx":
                shutil.copy2(other, scratch / other.name)
        _, found = validate_folder(scratch)
        errors = fnd.errors(found)
        if len(errors):
            raise WorkbookError(
                errors,
                f"{target} was not changed: the codes chosen in {path} would make these "
                "errors; correct the choices and run again",
            )
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = workbooks / f"accounts.backup-{stamp}.xlsx"
        shutil.copy2(target, backup)
        os.replace(scratch / "accounts.xlsx", target)  # atomic: same folder, same disk
    result.backup = backup
    result.rows = (first, row)
    return result
