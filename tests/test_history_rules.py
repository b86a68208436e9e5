"""One history, on purpose (issue 20, part 3): no command creates a history silently,
a history that cannot be used as it is bills nothing, every command says which history it
used, and a batch folder is checked against its history before it is trusted."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from processor import create_history, open_history
from processor.cli import main
from processor.history.sqlite.usable import network_warning
from tests.conftest import GENERIC_HEADER, write_books, write_csv

ROWS = ["100,2026-10-01,a,1,1.00", "200,2026-10-02,b,1,2.00", "999,2026-10-03,c,1,3.00"]


def imp(folder: Path, export: Path, out: Path, *extra: str) -> int:
    args = ["import", "--workbooks", str(folder), "--location", "London", "--application"]
    return main(
        [*args, "PBX", "--batch-date", "2026-10-31", "--out", str(out), *extra, str(export)]
    )


@pytest.fixture
def setup(tmp_path):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *ROWS])
    return folder, export


def test_an_import_into_a_history_that_is_not_there_is_refused(tmp_path, setup, capsys):
    folder, export = setup
    typo = tmp_path / "histroy" / "history.sqlite"
    assert imp(folder, export, tmp_path / "b", "--history", str(typo)) == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: {typo}: there is no import history here, so nothing was done. If this is "
        f"where a new history belongs, create it with: charges init --history {typo}. If you "
        "have one elsewhere, name it with --history"
    )
    # nothing written: no batch folder, no history, not even its folder
    assert not (tmp_path / "b").exists() and not typo.parent.exists()
    # a copied workbooks folder without its history: the same refusal
    copy = write_books(tmp_path / "copy")
    (copy / "history.sqlite").unlink()
    assert imp(copy, export, tmp_path / "b") == 2
    assert "there is no import history here" in capsys.readouterr().err
    assert not (copy / "history.sqlite").exists()
    for argv in (["history", "--history", str(typo)], ["history", "--workbooks", str(copy)]):
        assert main(argv) == 2


def test_init_creates_the_history_once_and_the_import_uses_it(tmp_path, setup, capsys):
    folder, export = setup
    assert main(["init", str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert f"created the import history {tmp_path / 'new' / 'history.sqlite'}" in out
    assert (tmp_path / "new" / "history.sqlite").is_file()

    path = tmp_path / "elsewhere" / "h.sqlite"
    assert main(["init", "--history", str(path)]) == 0
    assert capsys.readouterr().out == f"created the import history {path}\n"
    before = path.read_bytes()
    assert main(["init", "--history", str(path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"charges: {path}: is there already; a history is created once, and this one was left "
        "as it was. Name it with --history to use it"
    )
    assert path.read_bytes() == before
    assert main(["init"]) == 2

    assert imp(folder, export, tmp_path / "b", "--history", str(path)) == 0
    hist = open_history(path)
    history_id = hist.history_id
    hist.close()
    # the import says which history recorded it, and how many batches it holds
    assert (
        f"  recorded in the history {path} (id {history_id[:8]}): 1 batch\n"
        in capsys.readouterr().out
    )
    assert main(["history", "--history", str(path)]) == 0
    assert capsys.readouterr().out.startswith(
        f"The history {path} (id {history_id[:8]}): 1 batch\n"
    )


def _zero_bytes(path: Path) -> None:
    path.unlink()
    path.write_bytes(b"")


def _noise(path: Path) -> None:
    path.unlink()
    path.write_bytes(os.urandom(8192))


def _foreign(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (name)")
    db.commit()
    db.close()


def _missing_table(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TABLE batches")
    db.commit()
    db.close()


def _lock_folder(path: Path) -> None:
    Path(str(path) + ".lock").unlink()
    Path(str(path) + ".lock").mkdir()


def _history_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE = {
    "empty": (
        _zero_bytes,
        "{p}: is empty (0 bytes), so it is not a usable import history: it was cut short, "
        "perhaps by a copy or a full disk. Restore it from a backup; do not start a new "
        "history for exports imported before, or their rows would be billed again",
    ),
    "noise": (
        _noise,
        "{p}: is not an import history this program can read (file is not a database). "
        "Restore it from a backup; do not start a new history for exports imported before, "
        "or their rows would be billed again",
    ),
    "foreign": (
        _foreign,
        "{p}: is a SQLite database but not an import history (it has no history schema); "
        "name the history file with --history, or restore it from a backup",
    ),
    "missing-table": (
        _missing_table,
        "{p}: is damaged: its batches table is missing. Restore it from a backup; nothing was done",
    ),
    "lock-is-a-folder": (
        _lock_folder,
        "{p}.lock: cannot be opened as the history's lock file (Is a directory); remove or "
        "rename what is there (the lock file is made again when needed)",
    ),
    "a-folder": (
        _history_folder,
        "{p}: is a folder, not an import history; name the history file with --history",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_history_that_cannot_be_used_bills_nothing(tmp_path, setup, capsys, damage):
    folder, export = setup
    path = folder / "history.sqlite"
    assert imp(folder, export, tmp_path / "first") == 0
    harm, message = DAMAGE[damage]
    harm(path)
    before = path.read_bytes() if path.is_file() else None
    capsys.readouterr()
    assert imp(folder, export, tmp_path / "again", "--reimport") == 1
    assert capsys.readouterr().err.strip() == f"charges: {message.format(p=path)}"
    assert not (tmp_path / "again").exists()
    assert (path.read_bytes() if path.is_file() else None) == before  # never made anew


def test_a_read_only_history_is_refused_not_replaced(tmp_path, setup, capsys, monkeypatch):
    folder, export = setup
    path = folder / "history.sqlite"
    assert imp(folder, export, tmp_path / "first") == 0
    before = path.read_bytes()
    real = os.access
    # as on a read-only disk (the tests may run as root, whom file modes do not stop)
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and mode != os.W_OK)
    capsys.readouterr()
    assert imp(folder, export, tmp_path / "again", "--reimport") == 1
    assert capsys.readouterr().err.strip() == (
        f"charges: {path}: cannot be written (the file or its folder is read-only), and every "
        "command records what it does in the history. Make it writable, or copy it to a "
        "writable place and name the copy with --history; nothing was done"
    )
    assert not (tmp_path / "again").exists() and path.read_bytes() == before


def test_a_history_on_a_network_file_system_gets_a_warning(tmp_path):
    mounts = (
        "/dev/sda1 / ext4 rw 0 0\n"
        "//nas/billing /mnt/billing cifs rw 0 0\n"
        "nas:/export /mnt/nfs nfs4 rw 0 0\n"
    )
    assert network_warning(Path("/home/clerk/history.sqlite"), mounts) is None
    assert network_warning(Path("/mnt/billing/wb/history.sqlite"), mounts) == (
        "/mnt/billing/wb/history.sqlite: is on a network file system (cifs), where SQLite's "
        "locks are not reliable: two people importing at once could damage it. Keep the "
        "history on a local disk of one machine"
    )
    assert "(nfs4)" in network_warning(Path("/mnt/nfs/h.sqlite"), mounts)
    assert network_warning(Path("/mnt/billingX/h.sqlite"), mounts) is None


def _batch(tmp_path, setup) -> Path:
    folder, export = setup
    assert imp(folder, export, tmp_path / "b") == 0
    return tmp_path / "b"


def test_an_edited_manifest_is_not_reported_as_balanced(tmp_path, setup, capsys, backend):
    batch = _batch(tmp_path, setup)
    path = batch / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["billed"]["net"] == "1.10"
    manifest["billed"]["net"] = "1003.00"
    path.write_text(json.dumps(manifest, indent=2))
    capsys.readouterr()
    assert main(["report", str(batch)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .startswith(
            f"charges: {path}: has changed since batch {manifest['batch_id']} was committed on "
        )
    )
    assert not (batch / "reports").exists()


def test_a_row_added_to_unmatched_parquet_is_never_billed_by_retry(
    tmp_path, setup, capsys, backend
):
    import pandas as pd

    batch = _batch(tmp_path, setup)
    rows = pd.read_parquet(batch / "unmatched.parquet")
    pd.concat([rows, rows.tail(1)]).to_parquet(batch / "unmatched.parquet")
    capsys.readouterr()
    assert main(["retry", str(batch), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{batch / 'unmatched.parquet'}: has changed since batch" in err
    assert "so the batch is not trusted" in err and not (tmp_path / "r").exists()


def test_void_of_a_copy_of_a_batch_folder_is_refused(tmp_path, setup, capsys, backend):
    import shutil

    batch = _batch(tmp_path, setup)
    copy = tmp_path / "copy"
    shutil.copytree(batch, copy)
    batch_id = json.loads((batch / "manifest.json").read_text())["batch_id"]
    capsys.readouterr()
    assert main(["void", str(copy), "--reason", "x"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: {copy}: is a copy of batch {batch_id}, whose folder is {batch}; name that "
        "folder instead; nothing was done"
    )
    hist = open_history(os.environ.get("CHARGES_HISTORY") or setup[0] / "history.sqlite")
    assert hist.batch(batch_id)["status"] == "committed"
    hist.close()
    # the folder moved (the history's is gone): the moved folder is the batch, checked by
    # its files
    moved = tmp_path / "moved"
    batch.rename(moved)
    shutil.rmtree(copy)
    assert main(["void", str(moved), "--reason", "x"]) == 0


def test_report_of_a_batch_whose_history_is_gone_names_it(tmp_path, setup, capsys):
    batch = _batch(tmp_path, setup)
    history = setup[0] / "history.sqlite"
    history.rename(tmp_path / "kept.sqlite")
    batch_id = json.loads((batch / "manifest.json").read_text())["batch_id"]
    capsys.readouterr()
    assert main(["report", str(batch)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: batch {batch_id} ({batch}) was recorded in the history {history}, which is "
        "not there; name it with --history; nothing was done"
    )
    assert not (batch / "reports").exists()
    assert main(["report", str(batch), "--history", str(tmp_path / "kept.sqlite")]) == 0
    assert f"  checked against the history {tmp_path / 'kept.sqlite'}" in capsys.readouterr().out


def test_create_history_refuses_to_replace_anything(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_text("notes")
    with pytest.raises(Exception, match="is there already"):
        create_history(path)
    assert path.read_text() == "notes"


def _cells(path: Path, sheet: str) -> list[tuple]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames[0] == "VOID" and wb.active.title == "VOID"
    return [tuple(c.value for c in r) for r in wb[sheet].iter_rows()]


def test_void_marks_the_workbook_the_reports_and_every_statement(tmp_path, setup, capsys, backend):
    import csv

    from openpyxl import load_workbook

    folder, export = setup
    assert imp(folder, export, tmp_path / "b", "--report") == 0
    batch = tmp_path / "b"
    lines_before = [r for r in load_workbook(batch / "batch.xlsx")["Batch Sheet"].values]
    reason = '=HYPERLINK("x") wrong month <b>'
    assert main(["void", str(batch), "--reason", reason]) == 0
    said = capsys.readouterr().out
    assert "  recorded in the history " in said
    text = (batch / "VOID.txt").read_text()
    first = text.splitlines()[0]
    # a VOID sheet in front, the other sheets as they were; the reason is text, not a formula
    assert _cells(batch / "batch.xlsx", "VOID") == [
        (first,),
        (f"Reason: {reason}",),
        ("Do not bill from this batch. Its rows are released: import the corrected export "
         "again into a new batch folder.",),
    ]  # fmt: skip
    book = load_workbook(batch / "batch.xlsx")
    assert book.sheetnames == [
        "VOID",
        "Batch Sheet",
        "Included",
        "Zero Lines",
        "Unmatched",
        "Skipped",
        "Summary",
    ]
    assert [r for r in book["Batch Sheet"].values] == lines_before
    assert book["VOID"]["A2"].data_type == "s"
    # reports and statements, as they were written before the void and when rendered again
    for again in (False, True):
        if again:
            assert main(["report", str(batch)]) == 0
        assert "void-banner" in (batch / "reports" / "billing.html").read_text()
        statements = sorted((batch / "reports" / "statements").glob("*.csv"))
        assert statements
        for path in statements:
            top = next(csv.reader(path.open(encoding="utf-8")))
            assert top == [f"{first} Reason: {reason} Do not send this statement."]
        for path in (batch / "reports" / "statements").glob("*.xlsx"):
            cell = load_workbook(path).active["A1"].value
            assert cell.startswith("VOID: batch ")
    # the workbook as void rewrote it is the one the history trusts
    assert main(["report", str(batch)]) == 0


def test_a_void_whose_folder_cannot_be_marked_is_finished_by_the_next(
    tmp_path, setup, capsys, backend
):
    folder, export = setup
    assert imp(folder, export, tmp_path / "b") == 0
    batch = tmp_path / "b"
    batch_id = json.loads((batch / "manifest.json").read_text())["batch_id"]
    (batch / "VOID.txt").mkdir()  # VOID.txt cannot be written
    capsys.readouterr()
    assert main(["void", str(batch), "--reason", "wrong"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"charges: batch {batch_id} is void in the history, but its folder {batch} could not be "
        "marked (Is a directory); make the folder writable, then run the same void again: it "
        "marks the folder"
    )
    (batch / "VOID.txt").rmdir()
    # the same void again: marks the folder, says so
    assert main(["void", str(batch), "--reason", "wrong"]) == 0
    assert capsys.readouterr().out.startswith(f"batch {batch_id} was void already (by ")
    assert (batch / "VOID.txt").read_text().splitlines()[1] == "Reason: wrong"
    # once marked, a third is refused: voided already
    assert main(["void", str(batch), "--reason", "wrong"]) == 1
    assert "was voided already" in capsys.readouterr().err


def test_a_void_stopped_between_history_and_folder_is_marked_by_the_report(
    tmp_path, setup, capsys, backend
):
    import subprocess
    import sys

    folder, export = setup
    assert imp(folder, export, tmp_path / "b") == 0
    batch = tmp_path / "b"
    env = {**os.environ, "CHARGES_STOP_AT": "voided"}
    code = "import sys; from processor.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "void", str(batch), "--reason", "stopped"], env=env
    )
    assert done.returncode == 137
    assert not (batch / "VOID.txt").exists()  # void in the history, the folder not marked
    assert list(batch.glob(".batch.xlsx.void"))  # the prepared workbook, not in place
    capsys.readouterr()
    assert main(["report", str(batch)]) == 0
    assert "is void in the history; its folder now says so" in capsys.readouterr().err
    assert (batch / "VOID.txt").read_text().splitlines()[1] == "Reason: stopped"
    assert _cells(batch / "batch.xlsx", "VOID")[1] == ("Reason: stopped",)
    assert "void-banner" in (batch / "reports" / "billing.html").read_text()
    # the rows are released: the export bills them again
    assert imp(folder, export, tmp_path / "again", "--reimport") == 0
    m = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert m["reasons"].get("already-billed") is None


def test_a_retry_that_would_bill_nothing_writes_and_records_nothing(tmp_path, capsys, backend):
    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER, "100,2026-10-01,a,1,1.00", "999,2026-10-02,b,1,2.00",
         "998,2026-10-03,c,1,3.00"],
    )  # fmt: skip
    assert imp(folder, export, tmp_path / "b") == 0
    batch = tmp_path / "b"
    before = open_history(folder / "history.sqlite").count()
    capsys.readouterr()
    retry = ["retry", str(batch), "--out", str(tmp_path / "r")]
    assert main(retry) == 0
    batch_id = json.loads((batch / "manifest.json").read_text())["batch_id"]
    assert capsys.readouterr().out.strip() == (
        f"retry of batch {batch_id} ({batch}) billed nothing: its 2 unmatched rows still do "
        "not bill (2 unknown-code); no batch was written or recorded. Add the missing codes "
        "(reports/codes-to-add.xlsx, then charges apply-codes) or correct the workbooks, then "
        "retry again"
    )
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.partial-*"))
    assert open_history(folder / "history.sqlite").count() == before
    assert main([*retry, "--fail-on-unmatched"]) == 3
