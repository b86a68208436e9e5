"""A kill never blocks the next run (issue 20, part 5): SIGKILLs at random moments of real
imports, retries and voids, each followed by the next command, which recovers first; in
the end every row that can be billed is billed exactly once."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from processor import create_history
from processor.cli import main
from processor.history import open_history
from tests.conftest import GENERIC_HEADER, base, row, write_books, write_csv

CODE = "import sys; from processor.cli import main; sys.exit(main(sys.argv[1:]))"
KILLS = 20  # at least, of at most TRIES commands started
TRIES = 80


def _export(path: Path, first: int, last: int) -> Path:
    # rows first..last: codes 100 (A1) and 400 (A4) bill, 999 is unknown; a cost of 0.00
    # (every 97th row) is zero-price, not billed
    lines = [GENERIC_HEADER]
    for i in range(first, last + 1):
        code = ("100", "400", "999")[i % 3]
        lines.append(
            f"{code},2026-10-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d},call {i},1,0.{i % 97:02d}"
        )
    return write_csv(path, lines)


def _charges(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CODE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _committed(history: Path | str) -> tuple[list[str], int]:
    """The committed batches' folders, and how many batches are pending."""
    hist = open_history(history)
    try:
        folders = [b["folder"] for b in hist.batches() if b["status"] == "committed"]
        return folders, len(hist.pending())
    finally:
        hist.close()


def _billed(history: Path | str) -> dict[str, int]:
    """Row key → how many committed batches in the history bill it (read from each
    committed batch's charges.parquet)."""
    folders, pending = _committed(history)
    counts: dict[str, int] = {}
    for folder in folders:
        for key in pd.read_parquet(Path(folder) / "charges.parquet")["row_key"]:
            counts[key] = counts.get(key, 0) + 1
    return counts | ({"<pending>": pending} if pending else {})


def test_random_kills_of_imports_retries_and_voids_never_bill_a_row_twice(tmp_path, new_history):
    # on both stores: SQLite (the lock a file) and PostgreSQL (an advisory lock, let go
    # with the killed client's connection)
    data = base()
    data["Accounts"].append(
        row("Accounts", Account_ID="A4", Account_Name="Delta Ltd", Location="London",
            Status="Active")
    )  # fmt: skip
    data["Account Codes"].append(row("Account Codes", Account_ID="A4", Application="PBX",
                                     Code="400"))  # fmt: skip
    folder = write_books(tmp_path / "wb", data)
    history = create_history(new_history)
    exports = [
        _export(tmp_path / "a.csv", 1, 2000),
        _export(tmp_path / "b.csv", 1501, 3500),  # overlaps a.csv
        _export(tmp_path / "c.csv", 3201, 4000),
    ]
    billable = {i for i in range(1, 4001) if i % 3 != 2 and i % 97}
    base_args = ["--workbooks", str(folder), "--location", "London", "--application", "PBX",
                 "--history", str(history)]  # fmt: skip

    def imp(export: Path, out: Path) -> list[str]:
        return ["import", *base_args, "--batch-date", "2026-10-31", "--reimport",
                "--out", str(out), str(export)]  # fmt: skip

    # how long each kind of command takes here (the last that ran whole, as the machine's
    # load changes): kills land between 35 % and 100 % of it
    started = time.monotonic()
    first = _charges(*imp(exports[0], tmp_path / "out-0"))
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()
    took = dict.fromkeys(("import", "retry", "void"), time.monotonic() - started)
    rnd = random.Random(20)
    kills, n = 0, 1
    moments: list[str] = []
    while kills < KILLS and n <= TRIES:
        n += 1
        out = tmp_path / f"out-{n}"
        committed = [
            p for p in tmp_path.glob("out-*")
            if (p / "manifest.json").is_file() and not (p / "VOID.txt").exists()
        ]  # fmt: skip
        kind = rnd.choice(["import", "import", "retry", "void"] if committed else ["import"])
        if kind == "import":
            args = imp(rnd.choice(exports), out)
        elif kind == "retry":
            args = ["retry", str(rnd.choice(committed)), "--out", str(out)]
        else:
            args = ["void", str(rnd.choice(committed)), "--reason", "test", "--with-retries"]
        run = _charges(*args)
        at = rnd.uniform(0.35, 1.0) * took[kind]
        started = time.monotonic()
        try:
            run.wait(timeout=at)
            if run.returncode == 0:  # a refusal ends early: it says nothing of the time
                took[kind] = time.monotonic() - started
            moments.append(f"{kind}: finished ({run.returncode})")
        except subprocess.TimeoutExpired:
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            kills += 1
            moments.append(f"{kind}: killed at {at:.2f} s")
        # whatever the moment, the next command recovers first: nothing is billed twice
        listed = io.StringIO()
        with contextlib.redirect_stdout(listed):
            assert main(["history", "--history", str(history), "--format", "json"]) == 0
        counts = _billed(history)
        assert all(c == 1 for c in counts.values()), (moments, counts)
        # and no folder is left that the history does not know, or that blocks --out
        recorded = {
            b["folder"] for b in json.loads(listed.getvalue() or "[]")
        }  # fmt: skip
        for p in tmp_path.glob("out-*"):
            assert str(p) in recorded or not p.exists() or not any(p.iterdir()), (moments, p)
        assert not list(tmp_path.glob(".out-*.partial-*")), moments

    # after the campaign, the three exports imported once more bill every row still to
    # bill, and no row is billed twice
    for i, export in enumerate(exports):
        done = _charges(*imp(export, tmp_path / f"final-{i}"))
        assert done.wait(timeout=300) == 0, done.stderr.read().decode()
    counts = _billed(history)
    assert set(counts.values()) == {1}, moments
    folders, _ = _committed(history)
    charges = pd.concat(pd.read_parquet(Path(f) / "charges.parquet") for f in folders)
    described = {int(d.split()[1]) for d in charges["description"]}
    assert described == billable and len(charges) == len(billable), moments
    assert sum("killed" in m for m in moments) >= KILLS, moments
