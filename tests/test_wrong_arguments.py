"""Every wrong argument a clerk met in the second month, walked one by one: the exit code
and the exact words, which say what is wrong, where, and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from processor import __version__
from processor.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXPORT = str(ROOT / "samples" / "exports" / "london-pbx.csv")
IMPORT = ["import", "--workbooks", "wb", "--location", "London", "--application",
          "Reception PBX", "--out", "b1"]  # fmt: skip

CASES = [
    (
        [*IMPORT, "exp"],
        2,
        "charges: exp: is a folder, not an export; name the export files in it (for example "
        "exp/*.csv)",
    ),
    (
        ["import", "--workbooks", "wb/accounts.xlsx", *IMPORT[3:], EXPORT],
        2,
        "charges: wb/accounts.xlsx: is a file; --workbooks names the folder that holds "
        "accounts.xlsx and devices.xlsx (here: --workbooks wb)",
    ),
    (
        ["apply-codes", "b1/reports/codes-to-add.xlsx", "--workbooks", "wb"],
        2,
        "charges: b1/reports/codes-to-add.xlsx: no such file; `charges report BATCH_DIR` "
        "writes it as BATCH_DIR/reports/codes-to-add.xlsx (or `charges import --report`)",
    ),
    (
        ["import", "--workbooks", "wb", "--location", "Paris", *IMPORT[5:], EXPORT],
        2,
        'charges: location "Paris" is not on the Locations sheet; choose one of: London, '
        "Manchester",
    ),
    (
        ["report", "nothere"],
        1,
        "charges: {tmp}/nothere: no such batch folder; run `charges import` first",
    ),
    (
        ["history"],
        2,
        "charges: {tmp}/workbooks/history.sqlite: there is no import history here, so nothing "
        "was done. If this is where a new history belongs, create it with: charges init "
        "--history {tmp}/workbooks/history.sqlite. If you have one elsewhere, name it with "
        "--history",
    ),
    (
        ["export", "exp", "--to", "xero", "--out", "x.csv"],
        1,
        "charges: {tmp}/exp: is not a complete batch folder (missing manifest.json); import "
        "again into a new folder",
    ),
]


@pytest.mark.parametrize(("argv", "code", "said"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_each_wrong_argument_says_what_and_what_to_do(tmp_path, monkeypatch, capsys, argv, code,
                                                      said):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wb").mkdir()
    for name in ("accounts.xlsx", "devices.xlsx"):
        shutil.copy(ROOT / "samples" / "workbooks" / name, tmp_path / "wb" / name)
    (tmp_path / "exp").mkdir()
    assert main(argv) == code
    assert capsys.readouterr().err.strip() == said.format(tmp=tmp_path)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"charges {__version__}\n"
