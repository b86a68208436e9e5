"""`charges apply-codes`: copy the rows a clerk filled in on codes-to-add.xlsx into the
Account Codes sheet of accounts.xlsx.

The new workbook is validated before anything is replaced; it is written beside the old
one and renamed over it (atomic), and the old one is kept as a dated backup. One runs at a
time per workbooks folder, never while Excel has accounts.xlsx open.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from processor import findings as fnd
from processor.reference.loading import UsageError, WorkbookError, validate_folder
from processor.reports.codes_to_add import CODES_HEADER_ROW, CODES_SHEET, ID_NAME, LOCATION_CELL
from schemas.checks import as_text, key


@dataclass
class Applied:
    """What apply-codes did."""

    added: list[tuple[str, str, str]] = field(default_factory=list)  # account, app, code
    already: list[tuple[str, str, str]] = field(default_factory=list)  # held already
    backup: Path | None = None
    rows: tuple[int, int] | None = None  # the Account Codes rows written
    warnings: list[str] = field(default_factory=list)  # choices that will not bill as hoped
    mapped: list[tuple[str, str, str]] = field(default_factory=list)  # added to a map
    map_backup: Path | None = None
    map_rows: tuple[int, int] | None = None  # the Device Import Maps rows written


def read_choices(path: Path) -> tuple[list[tuple[int, str, str, str]], str | None]:
    """(row, account id, application, code) of every row with an account chosen, and the
    location the codes were met at (None in a file from before it was kept)."""
    from openpyxl import load_workbook

    if not Path(path).is_file():
        raise UsageError(
            f"{path}: no such file; `charges report BATCH_DIR` writes it as "
            "BATCH_DIR/reports/codes-to-add.xlsx (or `charges import --report`)"
        )
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb[CODES_SHEET]
    except KeyError:
        raise UsageError(
            f'{path}: has no sheet "{CODES_SHEET}"; is it a codes-to-add.xlsx?'
        ) from None
    except Exception:
        raise UsageError(f"{path}: cannot be read as an .xlsx workbook") from None
    location = None
    if "Accounts" in wb.sheetnames:
        location = wb["Accounts"].cell(1, LOCATION_CELL).value
    out = []
    for r, row in enumerate(
        ws.iter_rows(min_row=CODES_HEADER_ROW + 1, values_only=True), start=CODES_HEADER_ROW + 1
    ):
        chosen = as_text(row[0]).strip() if row and row[0] is not None else ""
        if not chosen:
            continue
        account = chosen.split(ID_NAME)[0].strip()
        out.append((r, account, as_text(row[1] or "").strip(), as_text(row[2] or "").strip()))
    return out, (as_text(location) if location else None)


def _open_in_excel(target: Path) -> Path | None:
    """Excel's lock file beside a workbook it has open (``~$`` and the name, or the name
    without its first two characters, as Excel writes it), if there is one."""
    for name in (f"~${target.name}", f"~${target.name[2:]}"):
        if (target.parent / name).exists():
            return target.parent / name
    return None


@contextlib.contextmanager
def _held(workbooks: Path, wait: float = 600) -> Iterator[None]:
    """One apply-codes at a time on a workbooks folder: the second waits for the first, then
    reads the workbook as the first left it (no codes lost)."""
    with (workbooks / ".apply-codes.lock").open("a+") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"{workbooks}: another apply-codes has been changing accounts.xlsx for "
                        f"{wait:.0f} s; let it finish, then run this one again"
                    ) from None
                time.sleep(0.1)
        yield  # closing the file lets go


def _backup(real: Path) -> Path:
    """A copy of the workbook under a name no other backup has (never overwritten)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        name = f"{real.stem}.backup-{stamp}{'' if n == 1 else f'-{n}'}.xlsx"
        try:
            with (real.parent / name).open("xb") as out, real.open("rb") as src:
                shutil.copyfileobj(src, out)
            return real.parent / name
        except FileExistsError:
            continue
    raise UsageError(f"{real.parent}: too many backups of {real.name} this second")


def _warnings(sheets: dict, added: list[tuple[str, str, str]], location: str | None) -> list[str]:
    """Choices that will not bill what the clerk expects: an Inactive account, or one at
    another location than the codes were met at."""
    out = []
    if "Accounts" not in sheets:
        return out
    accounts = {key(r["Account ID"]): r for _, r in sheets["Accounts"].rows() if r["Account ID"]}
    for account, app, code in added:
        r = accounts.get(key(account))
        if r is None:
            continue
        if r["Status"] is not None and key(r["Status"]) == "inactive":
            out.append(
                f"{code} for {app} went to account {account}, which is Inactive: its rows stay "
                "unmatched (inactive-account) until the account is Active"
            )
        if location and r["Location"] is not None and key(r["Location"]) != key(location):
            out.append(
                f"{code} for {app} went to account {account}, which is at {as_text(r['Location'])}"
                f": the code was met at {location}, where it still matches no account"
            )
    return out


def apply_codes(path: Path, workbooks: Path) -> Applied:
    """Add the chosen codes to Account Codes, after validating the result.

    One apply-codes at a time per workbooks folder; refused while Excel has accounts.xlsx
    open; a symlinked accounts.xlsx is written through its link; every backup is kept.

    Raises:
        UsageError: the file is not a codes-to-add workbook, nothing is chosen, or
            accounts.xlsx is open in Excel.
        WorkbookError: the workbooks would have errors with these codes (nothing changed).
    """
    path, workbooks = Path(path), Path(workbooks)
    target = workbooks / "accounts.xlsx"
    if not target.is_file():
        raise UsageError(f"{target}: not found; name the workbooks folder with --workbooks")
    choices, location = read_choices(path)
    if not choices:
        raise UsageError(
            f"{path}: no account is chosen in column A; choose the account for each code "
            "to add, save, and run again"
        )
    with _held(workbooks):
        return _apply(path, workbooks, target, choices, location)


# a code an Account Code can hold (Operate's rule); any other valid code (a login with
# . - _ @) goes on the Device Import Map of the application at the location
_ACCOUNT_CODE = re.compile(r"[A-Za-z0-9]+")


@dataclass
class _Book:
    """One workbook apply-codes adds rows to: where it is, its sheet and columns."""

    target: Path
    sheet: str
    columns: tuple[str, ...]
    wb: object = None
    first: int = 0
    last: int = 0

    @property
    def real(self) -> Path:
        return self.target.resolve()  # a symlinked workbook is written where it really is

    def open(self) -> None:
        from openpyxl import load_workbook

        self.wb = load_workbook(self.real)
        if self.sheet not in self.wb.sheetnames:
            raise UsageError(f'{self.target}: has no sheet "{self.sheet}"')
        ws = self.wb[self.sheet]
        header = [" ".join(str(c.value or "").split()).casefold() for c in ws[1]]
        try:
            self.cols = [header.index(h.casefold()) + 1 for h in self.columns]
        except ValueError:
            raise UsageError(
                f"{self.target} › {self.sheet}: needs the columns {', '.join(self.columns)}"
            ) from None
        row = ws.max_row
        while row > 1 and all(ws.cell(row, c).value in (None, "") for c in self.cols):
            row -= 1  # append after the last filled row, not after formatted blanks
        self.first, self.last = row + 1, row  # rows first..last are added

    def add(self, values: tuple[str, ...]) -> None:
        ws = self.wb[self.sheet]
        self.last += 1
        for c, v in zip(self.cols, values, strict=True):
            cell = ws.cell(self.last, c, v)
            cell.data_type = "s"
            cell.number_format = "@"  # codes stay text: leading zeros kept


def _apply(path, workbooks, target, choices, location) -> Applied:
    books = {
        "codes": _Book(target, "Account Codes", ("Account ID", "Application", "Code")),
        "maps": _Book(
            workbooks / "devices.xlsx",
            "Device Import Maps",
            ("Application", "Location", "Code", "Account ID"),
        ),
    }
    for book in books.values():
        excel = _open_in_excel(book.target)
        if excel is not None:
            raise UsageError(
                f"{book.target}: is open in Excel ({excel.name} is there); close it in Excel, "
                "then run again (a workbook Excel has open would overwrite these codes when "
                "saved); nothing was changed"
            )
    sheets, _ = validate_folder(workbooks)
    held = set()
    if "Account Codes" in sheets:
        for _, r in sheets["Account Codes"].rows():
            held.add(("codes", key(r["Account ID"]), key(r["Application"]), key(r["Code"])))
    if "Device Import Maps" in sheets:
        for _, r in sheets["Device Import Maps"].rows():
            held.add(("maps", key(r["Account ID"]), key(r["Application"]), key(r["Code"])))
    result = Applied()
    for _, account, app, code in choices:
        kind = "codes" if _ACCOUNT_CODE.fullmatch(code) else "maps"
        if (kind, key(account), key(app), key(code)) in held:
            result.already.append((account, app, code))
            continue
        book = books[kind]
        if book.wb is None:
            book.open()
        if kind == "codes":
            book.add((account, app, code))
        else:
            if not location:
                raise UsageError(
                    f"{path}: names no location, so login {code} cannot go on a Device Import "
                    "Map; make codes-to-add.xlsx again with charges report, and run again"
                )
            book.add((app, location, code, account))
            result.mapped.append((account, app, code))
        held.add((kind, key(account), key(app), key(code)))
        result.added.append((account, app, code))
    if not result.added:
        return result
    changed = [b for b in books.values() if b.wb is not None]
    # validate the workbooks as they would be, in a scratch folder, before touching them
    with tempfile.TemporaryDirectory(dir=workbooks) as scratch:
        scratch = Path(scratch)
        for book in changed:
            book.wb.save(scratch / book.target.name)
        for other in workbooks.glob("*.xlsx"):
            if not (scratch / other.name).exists():
                shutil.copy2(other, scratch / other.name)
        _, found = validate_folder(scratch)
        errors = fnd.errors(found)
        if len(errors):
            names = " and ".join(str(b.target) for b in changed)
            raise WorkbookError(
                errors,
                f"{names} {'were' if len(changed) > 1 else 'was'} not changed: the codes "
                f"chosen in {path} would make these errors; correct the choices and run again",
            )
        for book in changed:
            backup = _backup(book.real)
            # beside the real file, then renamed over it: atomic, and a link stays a link
            fresh = book.real.parent / f".{book.real.name}.apply-{os.getpid()}"
            shutil.copyfile(scratch / book.target.name, fresh)
            os.replace(fresh, book.real)
            if book is books["codes"]:
                result.backup, result.rows = backup, (book.first, book.last)
            else:
                result.map_backup, result.map_rows = backup, (book.first, book.last)
    result.warnings = _warnings(sheets, result.added, location)
    return result
