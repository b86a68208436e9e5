"""The README's Monthly routine, run as written: each `charges` line of its first code
block, from `charges init` on, with the sample workbooks' rows typed into the new
templates and one code chosen on codes-to-add.xlsx, as a clerk would."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
from pathlib import Path

from openpyxl import load_workbook

from processor.cli import main

ROOT = Path(__file__).resolve().parent.parent


def routine() -> list[list[str]]:
    """The routine's commands, in order (continued lines joined, comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Monthly routine", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [
        shlex.split(line.split(" # ")[0])
        for line in joined.splitlines()
        if line.strip().startswith("charges ")
    ]


def test_the_monthly_routine_runs_as_written(tmp_path, monkeypatch, capsys, backend):
    # on both stores: with postgres, CHARGES_HISTORY names a team's history, made already
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    shutil.copy(ROOT / "samples" / "exports" / "london-pbx.csv", "exports/pbx-october.csv")
    commands = routine()
    assert [c[1] for c in commands] == [
        "init", "validate", "import", "apply-codes", "retry", "report", "export", "void"
    ]  # fmt: skip
    for argv in commands:
        args = [a.replace("WORKBOOKS", "workbooks") for a in argv[1:]]
        args = [m for a in args for m in (sorted(glob.glob(a)) if "*" in a else [a])]
        if args[0] == "void":  # the last line is for when something went wrong
            break
        if args[0] == "validate":
            # the clerk fills in the new templates: the samples' rows, typed in
            for name in ("accounts.xlsx", "devices.xlsx"):
                shutil.copy(ROOT / "samples" / "workbooks" / name, Path("workbooks") / name)
        if args[0] == "apply-codes":  # one code given an account, the rest left blank
            book = load_workbook(args[1])
            ws = book.active
            choice = book["Accounts"]["A1"].value
            ws["A3"] = choice
            book.save(args[1])
        code = main(args)
        said = capsys.readouterr()
        assert code == 0, (args, said.err)
    assert Path("batches/2026-10-london-pbx-retry/manifest.json").is_file()
    assert (
        Path("invoices/2026-10-london.csv").read_text(encoding="utf-8").startswith("*ContactName,")
    )
