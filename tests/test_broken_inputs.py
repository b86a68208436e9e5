"""A corpus of broken and hostile inputs, each with the exact outcome a user sees.

Every case builds its small input here, runs `charges` as a user would, and asserts
what it says: exit code and message (naming the file and line, or workbook › sheet ›
cell, with nothing written), or the row's outcome with its reason and money that
reconciles. Never a traceback. ``docs/broken-inputs.md`` is generated from this corpus
(`make docs`), and a test keeps it current.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from processor.cli import main
from tests.conftest import GENERIC_HEADER, base, put, use_sheet_format, write_books
from tests.test_import import import_args

DOC = Path(__file__).parent.parent / "docs" / "broken-inputs.md"
ROW = "100,2026-10-01,call,1,1.00"  # a good row: A1, 1.00 cost, 1.10 net


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    what: str  # the broken input, in words
    sees: str  # what the user sees ({dir}: the test folder)
    run: Callable[[Path], str]


# --- how a case is run --------------------------------------------------------------------


class Run:
    """Runs `charges import` as a user would and reports what they see."""

    def __init__(self, tmp: Path, capsys) -> None:
        self.tmp, self.capsys = tmp, capsys

    def books(self, change: Callable[[dict], None] | None = None) -> Path:
        data = base()
        if change:
            change(data)
        return write_books(self.tmp / "wb", data)

    def export(self, content: bytes | list[str], name: str = "e.csv") -> Path:
        path = self.tmp / name
        if isinstance(content, list):
            content = ("\n".join(content) + "\n").encode("utf-8")
        path.write_bytes(content)
        return path

    def charges(self, *args: str, books: Path, files: list[Path], out: Path | None = None):
        out = out or self.tmp / "batch"
        self.capsys.readouterr()
        (export,) = files
        code = main(import_args(books, out, export, "--batch-date", "2026-10-31", *args))
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        return code, captured.err, out

    def refused(self, code: int, err: str, out: Path) -> str:
        """An import that wrote nothing: exit code and the message."""
        assert code != 0, err
        assert not out.exists() and not list(out.parent.glob(f".{out.name}.partial-*"))
        lines = [ln.strip() for ln in err.strip().splitlines()]
        if lines and lines[0].startswith("Errors ("):  # workbook findings: the first error
            return f"exit {code}: {lines[1]}"
        return f"exit {code}: {lines[-1]}"

    def row(self, out: Path, line: int = 2) -> str:
        """What became of one line of the export, after checking nothing was lost."""
        m = json.loads((out / "manifest.json").read_text())
        frames = {
            s: pd.read_parquet(out / f"{f}.parquet")
            for s, f in (("billed", "charges"), ("unmatched", "unmatched"), ("skipped", "skipped"))
        }
        total = sum(len(f) for f in frames.values())
        assert total == m["rows"]["read"]
        cost = sum((Decimal(str(c)) for f in frames.values() for c in f["cost"]), Decimal(0))
        assert cost == Decimal(m["cost"]["read"])
        for status, f in frames.items():
            hit = f[f["line"] == line]
            if not len(hit):
                continue
            r = hit.iloc[0]
            if status == "billed":
                when = "" if pd.isna(r.occurred_at) else f"{r.occurred_at:%Y-%m-%d %H:%M:%S}, "
                note = f"; note: {r.note}" if isinstance(r.note, str) else ""
                return (
                    f"billed: {when}quantity {Decimal(str(r.quantity)).normalize()}, cost "
                    f"{Decimal(str(r.cost)).normalize()}, net {r.net.normalize()}{note}"
                )
            return f"{status} {r.reason}: {r.message}"
        raise AssertionError(f"line {line} is nowhere")

    def rows(self, content, change=None, args=(), line: int = 2, name: str = "e.csv") -> str:
        books = self.books(change)
        code, err, out = self.charges(*args, books=books, files=[self.export(content, name)])
        assert code == 0, err
        return self.row(out, line)

    def refuse(self, content, change=None, args=(), name: str = "e.csv") -> str:
        books = self.books(change)
        return self.refused(*self.charges(*args, books=books, files=[self.export(content, name)]))


def generic(*rows: str, header: str = GENERIC_HEADER) -> list[str]:
    return [header, *rows]


def xlsx_bytes(tmp: Path) -> bytes:
    return (write_books(tmp / "x") / "accounts.xlsx").read_bytes()


def zip_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("export.csv", "\n".join(generic(ROW)))
    return buf.getvalue()


def product(**over) -> Callable[[dict], None]:
    """Change the CALLS product (Cost Plus, 10 % markup) for a case."""

    def change(data: dict) -> None:
        put(data, "Products", 0, {k.replace("_", " "): v for k, v in over.items()})

    return change


def location(**over) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        put(data, "Locations", 0, {k.replace("_", " "): v for k, v in over.items()})

    return change


def comma_format(data: dict) -> None:
    """A layout on the Formats sheet whose numbers use a decimal comma."""
    use_sheet_format(
        data,
        "Comma",
        Delimiter="semicolon",
        Code_Column="Code",
        Date_Column="Date",
        Quantity_Column="Quantity",
        Cost_Column="Cost",
        Decimal_Separator=",",
    )


def papercut(data: dict) -> None:
    put(data, "Applications", 0, {"Format": "papercut-print-logger"})
    data["Products"][0] = ["CALLS", "Print", "Unit Price", 0.1, None, None, None, None, None]
    data["Products"][0] += [None, "No"]


PAPERCUT_HEADER = (
    "Time,User,Pages,Copies,Printer,Document Name,Client,Paper Size,Language,Height,Width,"
    "Duplex,Grayscale,Size"
)


def papercut_row(extra: str = "") -> str:
    return f"2026-10-01 09:00:00,100,2,1,HP,report.pdf,PC1,A4,PCL,11,8,NOT DUPLEX,GRAYSCALE,80kb,{extra}"


# --- workbook damage ----------------------------------------------------------------------


def rewrite_member(path: Path, member: str, data: bytes | None = None, corrupt: bool = False):
    """Copy a workbook with one member replaced (or its compressed bytes damaged)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == member and data is not None:
                body = data
            dst.writestr(info, body)
    tmp.replace(path)
    if corrupt:  # flip bytes inside the member's compressed stream
        raw = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(member)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for i in range(start + 5, start + min(info.compress_size, 60)):
            raw[i] ^= 0xFF
        path.write_bytes(bytes(raw))


def bomb(path: Path) -> None:
    """Add a member that unpacks a thousand times larger than it packs."""
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.xml", b"<a/>" * (10 << 20))


def far_cell(path: Path) -> None:
    wb = load_workbook(path)
    wb["Accounts"]["XFD1048576"] = "far away"
    wb.save(path)


def cell_format(path: Path, sheet: str, cell: str, value, number_format: str) -> None:
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb[sheet][cell].number_format = number_format
    wb.save(path)


def workbook_case(damage: Callable[[Path], None], book: str = "accounts.xlsx"):
    """Damage a valid pair, then run an import: it must stop, naming the place."""

    def run(r: Run) -> str:
        books = r.books()
        damage(books / book)
        return r.refused(*r.charges(books=books, files=[r.export(generic(ROW))]))

    return run


def workbook_then_row(damage: Callable[[Path], None], book: str = "accounts.xlsx"):
    def run(r: Run) -> str:
        books = r.books()
        damage(books / book)
        code, err, out = r.charges(books=books, files=[r.export(generic(ROW))])
        assert code == 0, err
        return r.row(out)

    return run


# --- output folders -----------------------------------------------------------------------


def out_case(where: Callable[[Run, Path, Path], Path]):
    def run(r: Run) -> str:
        books = r.books()
        export = r.export(generic(ROW))
        out = where(r, books, export)
        code, err, _ = r.charges(books=books, files=[export], out=out)
        assert code == 2
        return f"exit {code}: {err.strip().splitlines()[-1]}"

    return run


def parent_is_a_file(r: Run) -> str:
    books, export = r.books(), r.export(generic(ROW))
    (r.tmp / "afile").write_text("x")
    code, err, _ = r.charges(books=books, files=[export], out=r.tmp / "afile" / "batch")
    assert code == 1 and not (r.tmp / "afile").is_dir()
    return f"exit {code}: {err.strip().splitlines()[-1]}"


def full_disk(r: Run) -> str:
    books, export = r.books(), r.export(generic(ROW))

    real = Path.write_text

    def full(self, *a, **k):
        if self.name == "manifest.json":  # the disk fills as the manifest is written
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    Path.write_text = full
    try:
        return r.refused(*r.charges(books=books, files=[export]))
    finally:
        Path.write_text = real


def leftover_partial(r: Run) -> str:
    books, export = r.books(), r.export(generic(ROW))
    dead = r.tmp / ".older-batch.partial-999999999"
    dead.mkdir()
    (dead / "charges.parquet").write_bytes(b"half")
    code, err, out = r.charges(books=books, files=[export])
    assert code == 0 and out.is_dir() and not dead.exists()
    return f"exit {code}: {err.strip().splitlines()[0]}"


# --- reports ------------------------------------------------------------------------------


def manifest_case(change: Callable[[dict], object]):
    def run(r: Run) -> str:
        books, export = r.books(), r.export(generic(ROW))
        code, err, out = r.charges(books=books, files=[export])
        assert code == 0, err
        path = out / "manifest.json"
        m = json.loads(path.read_text())
        changed = change(m)
        path.write_text(changed if isinstance(changed, str) else json.dumps(m))
        r.capsys.readouterr()
        code = main(["report", str(out)])
        err = r.capsys.readouterr().err
        assert "Traceback" not in err and not (out / "reports" / "billing.html").exists()
        return f"exit {code}: {err.strip().splitlines()[-1]}"

    return run


def set_in(path: str, value):
    def change(m: dict) -> None:
        *parents, last = path.split(".")
        for p in parents:
            m = m[p]
        m[last] = value

    return change


# --- histories, batch folders, long lines (issue 20) -----------------------------------


def history_case(damage: Callable[[Path], None]):
    """An import into a history that cannot be used as it is: refused, nothing written."""

    def run(r: Run) -> str:
        books, export = r.books(), r.export(generic(ROW))
        damage(books / "history.sqlite")
        return r.refused(*r.charges(books=books, files=[export]))

    return run


def _replace(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)


def _without_batches(path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DROP TABLE batches")
    db.commit()
    db.close()


def _lock_is_a_folder(path: Path) -> None:
    lock = Path(str(path) + ".lock")
    if lock.exists():
        lock.unlink()
    lock.mkdir()


def batch_case(change: Callable[[Path], None], command: Callable[[Run, Path], list[str]]):
    """A batch folder changed after its commit, then reported, retried or voided."""

    def run(r: Run) -> str:
        books, export = r.books(), r.export(generic(ROW, "999,2026-10-02,x,1,2.00"))
        code, err, out = r.charges(books=books, files=[export])
        assert code == 0, err
        change(out)
        r.capsys.readouterr()
        code = main(command(r, out))
        err = r.capsys.readouterr().err
        assert "Traceback" not in err and not (out / "reports").exists()
        batch_id = json.loads((out / "manifest.json").read_text())["batch_id"]
        return f"exit {code}: {err.strip().splitlines()[-1]}".replace(batch_id, "BATCH_ID").replace(
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d}", "TODAY"
        )

    return run


def _edit_net(out: Path) -> None:
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    m["billed"]["net"] = "1003.00"
    path.write_text(json.dumps(m, indent=2))


def _add_unmatched_row(out: Path) -> None:
    rows = pd.read_parquet(out / "unmatched.parquet")
    pd.concat([rows, rows]).to_parquet(out / "unmatched.parquet")


def _copy(out: Path) -> None:
    import shutil

    shutil.copytree(out, out.parent / "copy")


# --- the corpus ---------------------------------------------------------------------------

EXPORT_REFUSED = "nothing was written"
CASES: list[Case] = [
    # exports that are not text CSV
    Case(
        "xlsx-as-export",
        "Exports that are not text CSV",
        "An Excel workbook given as the export",
        "exit 1: charges: e.xlsx: is an Excel workbook (.xlsx), not a text export; open it in "
        "Excel, save it as CSV UTF-8 (File › Save As), and import the .csv; or describe its "
        "layout on the Formats sheet with File Type Excel; nothing was written",
        lambda r: r.refuse(xlsx_bytes(r.tmp), name="e.xlsx"),
    ),
    Case(
        "zip-archive",
        "Exports that are not text CSV",
        "A zip archive holding the export",
        "exit 1: charges: e.zip: is a zip archive; unzip it and import the export files inside; "
        "nothing was written",
        lambda r: r.refuse(zip_bytes(), name="e.zip"),
    ),
    Case(
        "gzip-export",
        "Exports that are not text CSV",
        "A gzip-compressed CSV export (e.csv.gz)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(gzip.compress("\n".join(generic(ROW)).encode()), name="e.csv.gz"),
    ),
    Case(
        "gzip-damaged",
        "Exports that are not text CSV",
        "A gzip file cut short in copying",
        "exit 1: charges: e.csv.gz: is a damaged gzip file (it ends early or is corrupt); copy "
        "the export again from the device; nothing was written",
        lambda r: r.refuse(
            gzip.compress(("\n".join(generic(*[ROW] * 2000))).encode())[:-40], name="e.csv.gz"
        ),
    ),
    Case(
        "binary-file",
        "Exports that are not text CSV",
        "A binary file (an image) given as the export",
        "exit 1: charges: e.png: is a binary file, not a text export (it holds NUL bytes); check "
        "that you chose the export file itself; nothing was written",
        lambda r: r.refuse(
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), name="e.png"
        ),
    ),
    Case(
        "utf16-le-bom",
        "Exports that are not text CSV",
        'UTF-16 little-endian with a BOM (Excel\'s "Unicode Text")',
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows("\n".join(generic(ROW)).encode("utf-16")),
    ),
    Case(
        "utf16-be-bom",
        "Exports that are not text CSV",
        "UTF-16 big-endian with a BOM, CRLF line ends",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(b"\xfe\xff" + "\r\n".join(generic(ROW)).encode("utf-16-be")),
    ),
    Case(
        "utf16-no-bom",
        "Exports that are not text CSV",
        "UTF-16 without a byte-order mark",
        "exit 1: charges: e.csv: looks like UTF-16 text without a byte-order mark (Excel's \"Unicode "
        'Text" as saved by another program); open it in the program that made it and save it as '
        "CSV UTF-8, then import that; nothing was written",
        lambda r: r.refuse("\n".join(generic(ROW)).encode("utf-16-le")),
    ),
    Case(
        "pdf",
        "Exports that are not text CSV",
        "A PDF report instead of the export",
        "exit 1: charges: e.pdf: is a PDF document, not a text export; export the data from the "
        "device as CSV; nothing was written",
        lambda r: r.refuse(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", name="e.pdf"),
    ),
    Case(
        "xls",
        "Exports that are not text CSV",
        "An old Excel .xls file",
        "exit 1: charges: e.xls: is an old Excel (.xls) or other Office file, not a text export; "
        "open it in the program that made it and save it as CSV UTF-8, then import that; or "
        "describe its layout on the Formats sheet with File Type Excel; nothing was written",
        lambda r: r.refuse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, name="e.xls"),
    ),
    Case(
        "empty-file",
        "Exports that are not text CSV",
        "An empty file where a header is expected",
        "exit 1: charges: e.csv: is empty; expected a header line; nothing was written",
        lambda r: r.refuse(b""),
    ),
    Case(
        "sniff-xlsx",
        "Exports that are not text CSV",
        "`charges sniff` on an Excel workbook",
        "exit 1: charges: e.xlsx: is an Excel workbook (.xlsx), not a text export; open it in "
        "Excel, save it as CSV UTF-8 (File › Save As), and import the .csv; or describe its "
        "layout on the Formats sheet with File Type Excel",
        lambda r: sniff_refused(r, xlsx_bytes(r.tmp), "e.xlsx"),
    ),
    Case(
        "control-characters",
        "Exports that are not text CSV",
        "A code holding control characters (BEL, ESC)",
        'unmatched invalid-code: code "?100?[0m" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("\x07100\x1b[0m,2026-10-01,call,1,1.00")),
    ),
    Case(
        "nul-in-data",
        "Exports that are not text CSV",
        "A NUL byte inside a row, far into the file",
        'unmatched invalid-code: code "1?00" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(
            ("\n".join(generic(*[ROW] * 400, "1\x0000,2026-10-01,call,1,1.00")) + "\n").encode(),
            line=402,
        ),
    ),
    Case(
        "nul-padding",
        "Exports that are not text CSV",
        "A log padded with NUL bytes at its end",
        "skipped blank-line: the line is blank",
        lambda r: r.rows(("\n".join(generic(ROW)) + "\n").encode() + b"\x00" * 300, line=3),
    ),
    # rows that do not fit the layout
    Case(
        "extra-fields",
        "Rows that do not fit the layout",
        "A row with more fields than the header (an unquoted comma in a description)",
        "unmatched unparseable-row: the line cannot be read: has 6 fields, more than the 5 of "
        "its header (extra fields); check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call, to Paris,1,1.00")),
    ),
    Case(
        "too-few-fields",
        "Rows that do not fit the layout",
        "A row cut short",
        "unmatched unparseable-row: the line cannot be read: has 3 fields; format generic-csv "
        "needs at least 5; check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call")),
    ),
    Case(
        "papercut-trailing-comma",
        "Rows that do not fit the layout",
        "PaperCut's trailing comma (declared by the format)",
        "billed: 2026-10-01 09:00:00, quantity 2, cost 0, net 0.2",
        lambda r: r.rows([PAPERCUT_HEADER, papercut_row()], papercut),
    ),
    Case(
        "papercut-extra-field",
        "Rows that do not fit the layout",
        "A PaperCut row with data after its trailing comma",
        "unmatched unparseable-row: the line cannot be read: has 15 fields, more than the 14 of "
        "its header (extra fields); check this line of the file",
        lambda r: r.rows([PAPERCUT_HEADER, papercut_row("oops")], papercut),
    ),
    Case(
        "papercut-cut-short",
        "Rows that do not fit the layout",
        "A PaperCut row cut short after its Paper Size field",
        "unmatched unparseable-row: the line cannot be read: has 8 fields; format "
        "papercut-print-logger needs at least 14; check this line of the file",
        lambda r: r.rows([PAPERCUT_HEADER, papercut_row().split(",A4,")[0] + ",A4"], papercut),
    ),
    Case(
        "duplicate-export-header",
        "Rows that do not fit the layout",
        "Two columns headed Cost in an export",
        'exit 1: charges: e.csv line 1: columns 5 and 6 are both headed "Cost", so it is not '
        "clear which to read; rename or remove one and import again; nothing was written",
        lambda r: r.refuse(
            generic("100,2026-10-01,call,1,1.00,9.99", header=GENERIC_HEADER + ",Cost")
        ),
    ),
    Case(
        "duplicate-unused-header",
        "Rows that do not fit the layout",
        "Two columns of one name that the format does not read",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(generic(ROW + ",a,b", header=GENERIC_HEADER + ",Notes,Notes")),
    ),
    Case(
        "unbalanced-quote",
        "Rows that do not fit the layout",
        "An unbalanced quote (it must not swallow the lines after it)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(generic('"100,2026-10-01,call,1,1.00', ROW), line=3),
    ),
    Case(
        "header-only",
        "Rows that do not fit the layout",
        "A header and no rows",
        "exit 0: charges: nothing to bill: e.csv has no rows after its header",
        lambda r: header_only(r),
    ),
    # large fields
    Case(
        "field-10mb-billed",
        "Large fields",
        "A 10 MB description on a billable row",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(generic(f"100,2026-10-01,{'x' * (10 << 20)},1,1.00")),
    ),
    Case(
        "field-10mb-unmatched",
        "Large fields",
        "A 10 MB field on an unmatched row: batch.xlsx cuts the raw row and says where it is",
        "Raw Row: 32,767 characters, ending … [cut: 10,485,782 characters in all; the whole is "
        "line 2 of e.csv, and in unmatched.parquet]",
        lambda r: big_unmatched(r),
    ),
    Case(
        "field-200kb",
        "Large fields",
        "A 200 KB field (over the CSV reader's usual 128 KiB limit)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(generic(f'100,2026-10-01,"{"y" * 200_000}",1,1.00')),
    ),
    Case(
        "sniff-10mb",
        "Large fields",
        "`charges sniff` on a file with a 10 MB field",
        "exit 0: generic-csv",
        lambda r: sniff_big(r),
    ),
    # numbers
    Case(
        "decimal-comma-thousands-dot",
        "Numbers in their own locale",
        'Cost 1.234,50 where the format says "." is the decimal separator',
        'unmatched unparseable-row: the line cannot be read: cost "1.234,50" is not a number with '
        '"." as the decimal separator; if the device writes "," for decimals, describe the export '
        "on the Formats sheet with that Decimal Separator; check this line of the file",
        lambda r: r.rows(generic('100,2026-10-01,call,1,"1.234,50"')),
    ),
    Case(
        "decimal-comma",
        "Numbers in their own locale",
        'Cost 1,5 with "." as the decimal separator',
        'unmatched unparseable-row: the line cannot be read: cost "1,5" is not a number with "." '
        'as the decimal separator; if the device writes "," for decimals, describe the export on '
        "the Formats sheet with that Decimal Separator; check this line of the file",
        lambda r: r.rows(generic('100,2026-10-01,call,1,"1,5"')),
    ),
    Case(
        "leading-zero-group",
        "Numbers in their own locale",
        'Cost 0,125 with "." as the decimal separator (not a thousands group)',
        'unmatched unparseable-row: the line cannot be read: cost "0,125" is not a number with '
        '"." as the decimal separator; if the device writes "," for decimals, describe the '
        "export on the Formats sheet with that Decimal Separator; check this line of the file",
        lambda r: r.rows(generic('100,2026-10-01,call,1,"0,125"')),
    ),
    Case(
        "thousands-comma",
        "Numbers in their own locale",
        "Cost 1,234.50: a comma as thousands separator",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1234.5, net 1357.95",
        lambda r: r.rows(generic('100,2026-10-01,call,1,"1,234.50"')),
    ),
    Case(
        "bad-group",
        "Numbers in their own locale",
        "Cost 12,34.5: groups that are not of three",
        'unmatched unparseable-row: the line cannot be read: cost "12,34.5" is not a number; '
        "check this line of the file",
        lambda r: r.rows(generic('100,2026-10-01,call,1,"12,34.5"')),
    ),
    Case(
        "comma-format-reads-comma",
        "Numbers in their own locale",
        'Cost 1.234,50 on a Formats-sheet layout with Decimal Separator ","',
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1234.5, net 1357.95",
        lambda r: r.rows(["Code;Date;Quantity;Cost", "100;2026-10-01;1;1.234,50"], comma_format),
    ),
    Case(
        "comma-format-refuses-dot",
        "Numbers in their own locale",
        'Cost 1,234.50 on a layout with Decimal Separator ","',
        'unmatched unparseable-row: the line cannot be read: cost "1,234.50" is not a number with '
        '"," as the decimal separator; if the device writes "." for decimals, set Decimal '
        'Separator to "." for format Comma on the Formats sheet; check this line of the file',
        lambda r: r.rows(["Code;Date;Quantity;Cost", "100;2026-10-01;1;1,234.50"], comma_format),
    ),
    Case(
        "huge-exponent",
        "Numbers in their own locale",
        "Cost 1e30",
        'unmatched unparseable-row: the line cannot be read: cost "1e30" is out of range (more '
        "than 10^12); check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,1,1e30")),
    ),
    Case(
        "huge-integer",
        "Numbers in their own locale",
        "Quantity 123456789012345678",
        'unmatched unparseable-row: the line cannot be read: quantity "123456789012345678" is out '
        "of range (more than 10^12); check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,123456789012345678,1")),
    ),
    Case(
        "nan",
        "Numbers in their own locale",
        "Cost NaN",
        'unmatched unparseable-row: the line cannot be read: cost "NaN" is not a number; check '
        "this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,1,NaN")),
    ),
    Case(
        "infinity",
        "Numbers in their own locale",
        "Cost Infinity",
        'unmatched unparseable-row: the line cannot be read: cost "Infinity" is not a number; '
        "check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,1,Infinity")),
    ),
    Case(
        "currency-symbol",
        "Numbers in their own locale",
        "Cost £1.50 (a currency symbol)",
        'unmatched unparseable-row: the line cannot be read: cost "£1.50" is not a number; check '
        "this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,1,£1.50")),
    ),
    Case(
        "non-ascii-digits",
        "Numbers in their own locale",
        "Quantity ٣ (an Arabic-Indic digit)",
        'unmatched unparseable-row: the line cannot be read: quantity "٣" is not a number; '
        "check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,٣,1")),
    ),
    Case(
        "words-for-quantity",
        "Numbers in their own locale",
        "Quantity one",
        'unmatched unparseable-row: the line cannot be read: quantity "one" is not a number; '
        "check this line of the file",
        lambda r: r.rows(generic("100,2026-10-01,call,one,1")),
    ),
    Case(
        "held-half",
        "Numbers in their own locale",
        "Cost 2.6749999 (held at 6 places as 2.675000, priced on that)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 2.675, net 2.68",
        lambda r: r.rows(generic("100,2026-10-01,call,1,2.6749999"), product(**{"Markup %": 0})),
    ),
    Case(
        "held-tiny",
        "Numbers in their own locale",
        "Cost 0.0049999 (held as 0.005000: billed 0.01, not zero-price)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 0.005, net 0.01",
        lambda r: r.rows(generic("100,2026-10-01,call,1,0.0049999"), product(**{"Markup %": 0})),
    ),
    Case(
        "credit-with-minimum",
        "Numbers in their own locale",
        "Cost −1.50 on a product with a 0.10 Minimum Charge (a credit, never raised)",
        "billed: 2026-10-01 00:00:00, quantity 1, cost -1.5, net -1.65",
        lambda r: r.rows(generic("100,2026-10-01,call,1,-1.50"), product(Minimum_Charge=0.1)),
    ),
    Case(
        "duration-too-many-parts",
        "Numbers in their own locale",
        "Duration 1:02:03:04",
        'unmatched unparseable-row: the line cannot be read: duration "1:02:03:04" is not a '
        "number of seconds or H:MM:SS; check this line of the file",
        lambda r: r.rows(generic(ROW + ",,1:02:03:04", header=GENERIC_HEADER + ",Item,Duration")),
    ),
    Case(
        "duration-negative",
        "Numbers in their own locale",
        "Duration −30",
        'unmatched unparseable-row: the line cannot be read: duration "-30" is negative; check '
        "this line of the file",
        lambda r: r.rows(generic(ROW + ",,-30", header=GENERIC_HEADER + ",Item,Duration")),
    ),
    # time zones
    Case(
        "offset-converted",
        "Time zones",
        "A timestamp with +02:00, location in Europe/London",
        "billed: 2026-10-01 08:30:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(
            generic("100,2026-10-01T09:30:00+02:00,call,1,1.00"),
            location(Time_Zone="Europe/London"),
        ),
    ),
    Case(
        "zulu-converted",
        "Time zones",
        "A timestamp in UTC (Z), location in Europe/London (summer time)",
        "billed: 2026-10-01 10:30:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(
            generic("100,2026-10-01T09:30:00Z,call,1,1.00"), location(Time_Zone="Europe/London")
        ),
    ),
    Case(
        "offset-no-zone",
        "Time zones",
        "A timestamp with an offset, location without a Time Zone",
        "billed: 2026-10-01 09:30:00, quantity 1, cost 1, net 1.1; note: time zone -0500 ignored "
        "(the location has no Time Zone): wall-clock time kept",
        lambda r: r.rows(generic("100,2026-10-01 09:30:00-0500,call,1,1.00")),
    ),
    Case(
        "one-offset-among-naive",
        "Time zones",
        "One offset timestamp among naive ones (naive times are local)",
        "billed: 2026-10-02 11:00:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(
            generic(ROW, "100,2026-10-02T10:00:00Z,call,1,1.00", "100,2026-10-03 08:00,c,1,1"),
            location(Time_Zone="Europe/London"),
            line=3,
        ),
    ),
    # codes
    Case(
        "dotless-i",
        "Codes",
        "Code ıd7 (dotless i), where an account holds ID7",
        'unmatched invalid-code: code "ıd7" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("ıd7,2026-10-01,call,1,1.00"), held_code("ID7")),
    ),
    Case(
        "long-s",
        "Codes",
        "Code ſs1 (long s), where an account holds SS1",
        'unmatched invalid-code: code "ſs1" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("ſs1,2026-10-01,call,1,1.00"), held_code("SS1")),
    ),
    Case(
        "kelvin-sign",
        "Codes",
        "Code \u212a1 (the Kelvin sign), where an account holds K1",
        'unmatched invalid-code: code "\u212a1" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("\u212a1,2026-10-01,call,1,1.00"), held_code("K1")),
    ),
    Case(
        "fullwidth-digits",
        "Codes",
        "Code １００ in full-width digits, where an account holds 100",
        'unmatched invalid-code: code "１００" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("１００,2026-10-01,call,1,1.00")),
    ),
    Case(
        "space-inside-code",
        "Codes",
        "Code 10 0 (a space inside)",
        'unmatched invalid-code: code "10 0" has characters other than letters, digits and . - _ @; '
        "correct it at the device (or bill the row by hand)",
        lambda r: r.rows(generic("10 0,2026-10-01,call,1,1.00")),
    ),
    # workbooks
    Case(
        "workbook-corrupt-member",
        "Workbooks",
        "A valid zip whose sheet member is corrupt",
        "exit 1: accounts.xlsx: is damaged and cannot be read; open it in Excel, save it as "
        "Excel Workbook (.xlsx), and run again",
        workbook_case(lambda p: rewrite_member(p, "xl/worksheets/sheet1.xml", corrupt=True)),
    ),
    Case(
        "workbook-truncated-xml",
        "Workbooks",
        "A sheet whose XML is cut off",
        'exit 1: accounts.xlsx: sheet "Locations" is damaged and cannot be read; open the '
        "workbook in Excel, save it as Excel Workbook (.xlsx), and run again",
        workbook_case(
            lambda p: rewrite_member(
                p, "xl/worksheets/sheet1.xml", b'<worksheet xmlns="http://schemas.openxmlformats'
            )
        ),
    ),
    Case(
        "workbook-zip-bomb",
        "Workbooks",
        "A 40 KB workbook that unpacks to 40 MB (out of proportion)",
        "exit 1: accounts.xlsx: unpacks to 40 MiB from 46 KiB, out of proportion for a workbook; "
        "it was not read. Save it again from Excel, or copy the sheets into a new workbook",
        workbook_case(bomb),
    ),
    Case(
        "workbook-far-cell",
        "Workbooks",
        "A value in cell XFD1048576, far beyond the data",
        'exit 1: accounts.xlsx: sheet "Accounts" holds data far beyond its rows (a cell at the far '
        "edge of the sheet, spanning more than 8 million cells); delete the rows and columns "
        "after your data, save, and run again",
        workbook_case(far_cell),
    ),
    Case(
        "formula-ref-error",
        "Workbooks",
        "#REF! in Locations › Tax Rate %",
        "exit 1: accounts.xlsx › Locations › C2: Tax Rate % holds the formula error #REF!; "
        "correct the formula in Excel, or type the value",
        workbook_case(lambda p: cell_format(p, "Locations", "C2", "#REF!", "General")),
    ),
    Case(
        "formula-na-error",
        "Workbooks",
        "#N/A in Account Codes › Code (a failed lookup)",
        "exit 1: accounts.xlsx › Account Codes › C2: code holds the formula error #N/A; correct "
        "the formula in Excel, or type the value",
        workbook_case(lambda p: cell_format(p, "Account Codes", "C2", "#N/A", "General")),
    ),
    Case(
        "percent-formatted",
        "Workbooks",
        "Tax Rate % formatted as a percentage (shows 20 %, holds 0.2): read as 20",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1 (tax 0.22 on the line)",
        lambda r: percent_formatted(r),
    ),
    Case(
        "percent-as-text",
        "Workbooks",
        'Tax Rate % typed as the text "17.5%"',
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1 (tax 0.19 on the line)",
        lambda r: percent_formatted(r, "17.5%", "@"),
    ),
    Case(
        "percent-as-fraction",
        "Workbooks",
        "Tax Rate % typed as 0.2 in a plain cell",
        "exit 1: accounts.xlsx › Locations › C2: Tax Rate % 0.2 is between 0 and 1: write 20% "
        "as 20 (or format the cell as a percentage, so that it shows 20 %)",
        workbook_case(lambda p: cell_format(p, "Locations", "C2", 0.2, "General")),
    ),
    Case(
        "markup-percent-formatted",
        "Workbooks",
        "Markup % formatted as a percentage (shows 10 %, holds 0.1): read as 10",
        "billed: 2026-10-01 00:00:00, quantity 1, cost 1, net 1.1",
        workbook_then_row(lambda p: cell_format(p, "Products", "E2", 0.1, "0%"), "devices.xlsx"),
    ),
    Case(
        "duplicate-workbook-header",
        "Workbooks",
        "Two columns headed Code on Account Codes",
        'exit 1: accounts.xlsx › Account Codes › C1: columns C and D are both headed "Code"; '
        "delete or rename one, so it is clear which to read",
        workbook_case(lambda p: cell_format(p, "Account Codes", "D1", "Code", "General")),
    ),
    Case(
        "not-a-zip",
        "Workbooks",
        "A text file saved as accounts.xlsx",
        "exit 1: accounts.xlsx: is not a valid .xlsx file (it may be corrupt or another format); "
        "save it again from Excel",
        workbook_case(lambda p: p.write_text("Location,Currency\nLondon,GBP\n")),
    ),
    Case(
        "unknown-time-zone",
        "Workbooks",
        "Time Zone Mars/Olympus",
        'exit 1: accounts.xlsx › Locations › E2: Time Zone "Mars/Olympus" is not an IANA time zone '
        "name (e.g. Europe/London)",
        lambda r: r.refuse(generic(ROW), location(Time_Zone="Mars/Olympus")),
    ),
    Case(
        "unknown-tax-rounding",
        "Workbooks",
        "Tax Rounding Per Invoice",
        'exit 1: accounts.xlsx › Locations › D2: Tax Rounding "Per Invoice" is not one of: Per '
        "Line, Per Charge",
        lambda r: r.refuse(generic(ROW), location(Tax_Rounding="Per Invoice")),
    ),
    Case(
        "bad-decimal-separator",
        "Workbooks",
        "Decimal Separator ; on the Formats sheet",
        'exit 1: devices.xlsx › Formats › R2: Decimal Separator ";" is not one of: ".", ","',
        lambda r: r.refuse(generic(ROW), bad_separator),
    ),
    Case(
        "number-too-large",
        "Workbooks",
        "Unit Price 10000000000000 (above 10^12)",
        "exit 1: devices.xlsx › Products › D2: Unit Price 10000000000000 is larger than "
        "1,000,000,000,000; check the cell",
        lambda r: r.refuse(generic(ROW), product(Unit_Price=10_000_000_000_000)),
    ),
    # output folders
    Case(
        "out-is-input",
        "Output folders",
        "--out names the export file itself",
        "exit 2: charges: --out {dir}/e.csv: is the input {dir}/e.csv; choose a batch folder apart "
        "from the inputs and the workbooks, e.g. batches/2026-10",
        out_case(lambda r, books, export: export),
    ),
    Case(
        "out-inside-workbooks",
        "Output folders",
        "--out inside the workbooks folder",
        "exit 2: charges: --out {dir}/wb/batch: is inside the workbooks folder; choose a batch "
        "folder apart from the inputs and the workbooks, e.g. batches/2026-10",
        out_case(lambda r, books, export: books / "batch"),
    ),
    Case(
        "out-holds-input",
        "Output folders",
        "--out is the folder the export sits in (written relative, with ..)",
        "exit 2: charges: --out {dir}: holds the input {dir}/e.csv; choose a batch folder apart "
        "from the inputs and the workbooks, e.g. batches/2026-10",
        out_case(lambda r, books, export: r.tmp / "wb" / ".."),
    ),
    Case(
        "out-is-workbooks",
        "Output folders",
        "--out names the workbooks folder",
        "exit 2: charges: --out {dir}/wb: is the workbooks folder; choose a batch folder apart "
        "from the inputs and the workbooks, e.g. batches/2026-10",
        out_case(lambda r, books, export: books),
    ),
    Case(
        "out-parent-is-file",
        "Output folders",
        "--out under a path that is a file",
        "exit 1: charges: {dir}/afile: is a file, not a folder; nothing was written. Choose "
        "another --out folder, or free or unlock the disk, and run again",
        parent_is_a_file,
    ),
    Case(
        "disk-full",
        "Output folders",
        "The disk fills up while the batch is written",
        "exit 1: charges: {dir}: is on a disk that is full; nothing was written. Choose another "
        "--out folder, or free or unlock the disk, and run again",
        full_disk,
    ),
    Case(
        "leftover-partial",
        "Output folders",
        "A hidden partial folder left by a killed import in the same parent folder",
        "exit 0: charges: removed {dir}/.older-batch.partial-999999999, left by an import that "
        "was stopped before it finished",
        leftover_partial,
    ),
    # reports
    Case(
        "manifest-count-as-text",
        "Reports",
        'manifest.json with rows.read as text ("10")',
        'exit 1: charges: {dir}/batch/manifest.json: "rows.read" is missing or not a whole number; '
        "it was changed or damaged after the import: import again into a new folder",
        manifest_case(set_in("rows.read", "10")),
    ),
    Case(
        "manifest-money-as-number",
        "Reports",
        "manifest.json with billed.net as a number, not text",
        'exit 1: charges: {dir}/batch/manifest.json: "billed.net" is missing or not an amount '
        "written as text; it was changed or damaged after the import: import again into a new "
        "folder",
        manifest_case(set_in("billed.net", 1.1)),
    ),
    Case(
        "manifest-not-json",
        "Reports",
        "manifest.json that is not JSON",
        "exit 1: charges: {dir}/batch/manifest.json: is not valid JSON (Expecting value: line 1 "
        "column 1 (char 0)); import again into a new folder",
        manifest_case(lambda m: "not json"),
    ),
    Case(
        "manifest-list",
        "Reports",
        "manifest.json holding a list",
        "exit 1: charges: {dir}/batch/manifest.json: is not a JSON object; it was changed or "
        "damaged after the import: import again into a new folder",
        manifest_case(lambda m: "[1, 2]"),
    ),
    Case(
        "manifest-unknown-currency",
        "Reports",
        "manifest.json with currency XYZ",
        'exit 1: charges: {dir}/batch/manifest.json: "currency" is not a currency code (XYZ); it '
        "was changed or damaged after the import: import again into a new folder",
        manifest_case(set_in("currency", "XYZ")),
    ),
    # import histories
    Case(
        "history-missing",
        "Import histories",
        "No history.sqlite beside the workbooks (a copied workbooks folder, a mistyped path)",
        "exit 2: charges: {dir}/wb/history.sqlite: there is no import history here, so nothing "
        "was done. If this is where a new history belongs, create it with: charges init "
        "--history {dir}/wb/history.sqlite. If you have one elsewhere, name it with --history",
        history_case(lambda p: p.unlink()),
    ),
    Case(
        "history-empty",
        "Import histories",
        "A history of 0 bytes",
        "exit 1: charges: {dir}/wb/history.sqlite: is empty (0 bytes), so it is not a usable "
        "import history: it was cut short, perhaps by a copy or a full disk. Restore it from a "
        "backup; do not start a new history for exports imported before, or their rows would "
        "be billed again",
        history_case(lambda p: _replace(p, b"")),
    ),
    Case(
        "history-not-sqlite",
        "Import histories",
        "A history that is not a SQLite file",
        "exit 1: charges: {dir}/wb/history.sqlite: is not an import history this program can "
        "read (file is not a database). Restore it from a backup; do not start a new history "
        "for exports imported before, or their rows would be billed again",
        history_case(lambda p: _replace(p, b"Location,Currency\n" * 300)),
    ),
    Case(
        "history-missing-table",
        "Import histories",
        "A history whose batches table was dropped",
        "exit 1: charges: {dir}/wb/history.sqlite: is damaged: its batches table is missing. "
        "Restore it from a backup; nothing was done",
        history_case(_without_batches),
    ),
    Case(
        "history-lock-folder",
        "Import histories",
        "A folder where the history's lock file belongs",
        "exit 1: charges: {dir}/wb/history.sqlite.lock: cannot be opened as the history's lock "
        "file (Is a directory); remove or rename what is there (the lock file is made again "
        "when needed)",
        history_case(_lock_is_a_folder),
    ),
    # batch folders changed after their commit
    Case(
        "batch-manifest-net-edited",
        "Batch folders",
        "manifest.json's billed net edited from 1.10 to 1003.00, then reported",
        "exit 2: charges: {dir}/batch/manifest.json: has changed since batch BATCH_ID was "
        "committed on TODAY (it is not the file the history recorded), so the batch is not "
        "trusted. Restore the folder from a backup, or void the batch and import again; "
        "nothing was done",
        batch_case(_edit_net, lambda r, out: ["report", str(out)]),
    ),
    Case(
        "batch-unmatched-row-added",
        "Batch folders",
        "A row added to unmatched.parquet, then retried",
        "exit 2: charges: {dir}/batch/unmatched.parquet: has changed since batch BATCH_ID was "
        "committed on TODAY (it is not the file the history recorded), so the batch is not "
        "trusted. Restore the folder from a backup, or void the batch and import again; "
        "nothing was done",
        batch_case(
            _add_unmatched_row, lambda r, out: ["retry", str(out), "--out", str(r.tmp / "r")]
        ),
    ),
    Case(
        "batch-copy-voided",
        "Batch folders",
        "A copy of a batch folder, voided",
        "exit 2: charges: {dir}/copy: is a copy of batch BATCH_ID, whose folder is {dir}/batch; "
        "name that folder instead; nothing was done",
        batch_case(_copy, lambda r, out: ["void", str(out.parent / "copy"), "--reason", "x"]),
    ),
    Case(
        "void-folder-unwritable",
        "Batch folders",
        "A void whose folder cannot take VOID.txt (a folder of that name is in the way)",
        "exit 1: charges: batch BATCH_ID is void in the history, but its folder {dir}/batch "
        "could not be marked (Is a directory); make the folder writable, then run the same "
        "void again: it marks the folder",
        lambda r: void_unmarkable(r),
    ),
    # hostile text and workbooks open elsewhere
    Case(
        "account-id-con-name-markup",
        "Hostile text",
        "Account ID CON (a name Windows reserves) named <h1>FAKE TOTAL, reported",
        "billing.html shows it as text: True; statements: CON-a3dbc4b6.csv, CON-a3dbc4b6.pdf, CON-a3dbc4b6.xlsx",
        lambda r: hostile_account(r),
    ),
    Case(
        "apply-codes-excel-open",
        "Hostile text",
        "apply-codes while Excel has accounts.xlsx open (~$accounts.xlsx is there)",
        "exit 2: charges: {dir}/wb/accounts.xlsx: is open in Excel (~$accounts.xlsx is there); "
        "close it in Excel, then run again (a workbook Excel has open would overwrite these "
        "codes when saved); nothing was changed",
        lambda r: excel_open(r),
    ),
    # exports: NUL bytes, endless lines, typed years, the clock going back
    Case(
        "nul-only-file",
        "Exports: NUL bytes, long lines, dates",
        "An 8 MB file of NUL bytes",
        "exit 1: charges: e.csv: starts with nothing but NUL bytes, where an export has text (a "
        "preallocated or damaged file, or a copy that failed); copy the export again from the "
        "device; nothing was written",
        lambda r: r.refuse(b"\x00" * 8_000_000),
    ),
    Case(
        "nul-padding-200mb",
        "Exports: NUL bytes, long lines, dates",
        "3 rows, then 200 MB of NUL padding (a sparse file): the padding is one blank line",
        "skipped blank-line: the line is blank",
        lambda r: nul_padded(r),
    ),
    Case(
        "endless-line",
        "Exports: NUL bytes, long lines, dates",
        "A line of 70 MiB without a break between two good rows",
        "unmatched unparseable-row: the line cannot be read: the line is 73,400,320 bytes long, "
        "more than the 64 MiB a line may hold, so it was not read; check this line of the file",
        lambda r: r.rows(
            ("\n".join(generic(ROW)) + "\n" + "x" * (70 << 20) + "\n" + ROW + "\n").encode(),
            line=3,
        ),
    ),
    Case(
        "year-typed-3026",
        "Exports: NUL bytes, long lines, dates",
        "A row dated 3026-10-01 (a typo)",
        'unmatched unparseable-row: the line cannot be read: date "3026-10-01" is 3026-10-01, '
        "outside 1990 to 2100: check the year (a two-digit year 00-68 is read as 20xx, 69-99 "
        "as 19xx); check this line of the file",
        lambda r: r.rows(generic("100,3026-10-01,call,1,1.00")),
    ),
    Case(
        "two-digit-year-69",
        "Exports: NUL bytes, long lines, dates",
        "A row dated 26/10/69 (two-digit year)",
        'unmatched unparseable-row: the line cannot be read: date "26/10/69" is 1969-10-26, '
        "outside 1990 to 2100: check the year (a two-digit year 00-68 is read as 20xx, 69-99 "
        "as 19xx); check this line of the file",
        lambda r: r.rows(generic("100,26/10/69,call,1,1.00")),
    ),
    Case(
        "clock-goes-back",
        "Exports: NUL bytes, long lines, dates",
        "Calls at 00:30Z and 01:30Z on 25 October 2026 in London (both 01:30 local): the second",
        "billed: 2026-10-25 01:30:00, quantity 1, cost 1, net 1.1",
        lambda r: r.rows(
            generic("100,2026-10-25T00:30:00Z,call,1,1.00", "100,2026-10-25T01:30:00Z,call,1,1.00"),
            location(Time_Zone="Europe/London"),
            line=3,
        ),
    ),
]


def nul_padded(r: Run) -> str:
    path = r.export(generic(ROW, ROW.replace("10-01", "10-02"), ROW.replace("10-01", "10-03")))
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size + 200_000_000)  # sparse: no disk used
    books = r.books()
    code, err, out = r.charges(books=books, files=[path])
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows"] == {"read": 4, "matched": 3, "unmatched": 0, "skipped": 1}
    return r.row(out, line=5)


def void_unmarkable(r: Run) -> str:
    """A void whose folder cannot take VOID.txt: void in the history, and the same void
    again marks the folder."""
    books, export = r.books(), r.export(generic(ROW))
    code, err, out = r.charges(books=books, files=[export])
    assert code == 0, err
    (out / "VOID.txt").mkdir()
    r.capsys.readouterr()
    code = main(["void", str(out), "--reason", "wrong month"])
    told = r.capsys.readouterr().err.strip()
    batch_id = json.loads((out / "manifest.json").read_text())["batch_id"]
    (out / "VOID.txt").rmdir()
    assert main(["void", str(out), "--reason", "wrong month"]) == 0
    assert (out / "VOID.txt").is_file()
    return f"exit {code}: {told}".replace(batch_id, "BATCH_ID")


def excel_open(r: Run) -> str:
    books, export = r.books(), r.export(generic("ABC9,2026-10-01,call,1,1.00"))
    code, err, out = r.charges(books=books, files=[export])
    assert code == 0, err
    assert main(["report", str(out)]) == 0
    path = out / "reports" / "codes-to-add.xlsx"
    wb = load_workbook(path)
    wb["Codes To Add"]["A3"] = "A1 — Acme Ltd"
    wb.save(path)
    (books / "~$accounts.xlsx").write_bytes(b"clerk")
    r.capsys.readouterr()
    code = main(["apply-codes", str(path), "--workbooks", str(books)])
    return f"exit {code}: {r.capsys.readouterr().err.strip()}"


def hostile_account(r: Run) -> str:
    def change(data: dict) -> None:
        put(data, "Accounts", 0, {"Account ID": "CON", "Account Name": "<h1>FAKE TOTAL"})
        put(data, "Account Codes", 0, {"Account ID": "CON"})
        put(data, "Device Import Maps", 0, {"Account ID": "CON"})

    books = r.books(change)
    code, err, out = r.charges(books=books, files=[r.export(generic(ROW))])
    assert code == 0, err
    assert main(["report", str(out)]) == 0
    html = (out / "reports" / "billing.html").read_text(encoding="utf-8")
    assert "<h1>FAKE" not in html
    names = sorted(p.name for p in (out / "reports" / "statements").iterdir())
    shown = "&lt;h1&gt;FAKE TOTAL" in html
    return f"billing.html shows it as text: {shown}; statements: {', '.join(names)}"


def held_code(code: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["Account Codes"].append(["A1", "PBX", code])

    return change


def bad_separator(data: dict) -> None:
    comma_format(data)
    put(data, "Formats", 0, {"Decimal Separator": ";"})


def header_only(r: Run) -> str:
    books = r.books()
    code, err, out = r.charges(books=books, files=[r.export(generic())])
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows"]["read"] == 0 and m["billed"]["net"] == "0"
    return f"exit {code}: {err.strip().splitlines()[-1]}"


def big_unmatched(r: Run) -> str:
    books = r.books()
    code, err, out = r.charges(
        books=books, files=[r.export(generic(f"999,2026-10-01,{'z' * (10 << 20)},1,1.00"))]
    )
    assert code == 0, err
    raw = load_workbook(out / "batch.xlsx", read_only=True)["Unmatched"]["J2"].value
    whole = pd.read_parquet(out / "unmatched.parquet")["raw"][0]
    assert len(whole) == 15 + (10 << 20) + 7 and raw.startswith(whole[:1000])
    return f"Raw Row: {len(raw):,} characters, ending {raw[raw.index(' … [cut') :].strip()}"


def sniff_big(r: Run) -> str:
    path = r.export(generic(f"100,2026-10-01,{'x' * (10 << 20)},1,1.00"))
    r.capsys.readouterr()
    code = main(["sniff", str(path)])
    out = r.capsys.readouterr().out
    best = out.splitlines()[1].split(":")[0].strip()
    return f"exit {code}: {best}"


def sniff_refused(r: Run, content: bytes, name: str) -> str:
    path = r.export(content, name)
    r.capsys.readouterr()
    code = main(["sniff", str(path)])
    err = r.capsys.readouterr().err
    return f"exit {code}: {err.strip()}"


def percent_formatted(r: Run, value=0.2, number_format="0%") -> str:
    books = r.books()
    cell_format(books / "accounts.xlsx", "Locations", "C2", value, number_format)
    code, err, out = r.charges(books=books, files=[r.export(generic(ROW))])
    assert code == 0, err
    tax = pd.read_parquet(out / "lines.parquet")["tax"][0]
    return f"{r.row(out)} (tax {tax.normalize()} on the line)"


# --- tests --------------------------------------------------------------------------------


def test_the_corpus_has_sixty_cases_with_unique_ids():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input(case, tmp_path, capsys):
    seen = case.run(Run(tmp_path, capsys))
    assert seen == case.sees.format(dir=tmp_path)


def doc_table() -> str:
    """docs/broken-inputs.md: each broken input and what the user sees."""
    out = [
        "# Broken inputs and what you see",
        "",
        "Generated from `tests/test_broken_inputs.py` by `make docs`; every row is a test that "
        "asserts exactly this outcome. `{dir}` stands for the folder the command ran in, "
        "`BATCH_ID` for the batch's id and `TODAY` for the day it was committed. "
        "`billed`, `unmatched` and `skipped` rows are in the batch (`batch.xlsx` and the "
        "parquet files); `exit 1` and `exit 2` write nothing.",
        "",
    ]
    group = None
    for c in CASES:
        if c.group != group:
            group = c.group
            out += [
                "",
                f"## {group}",
                "",
                "| Case | Broken input | What you see |",
                "|---|---|---|",
            ]
        sees = c.sees.replace("|", "\\|")
        what = c.what.replace("|", "\\|")
        out.append(f"| `{c.id}` | {what} | {sees} |")
    return "\n".join(out).strip() + "\n"


def test_the_doc_table_is_current():
    assert DOC.read_text(encoding="utf-8") == doc_table(), "run `make docs`"


def test_no_outcome_quotes_control_characters():
    for c in CASES:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", c.sees), c.id


if __name__ == "__main__":  # make docs
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(doc_table(), encoding="utf-8")
    print(f"wrote {DOC}")
    _ = os
