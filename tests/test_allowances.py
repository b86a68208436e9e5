"""Allowances as a clerk meets them: imports at once never use one allowance twice, and
what a plan includes is shown on the batch, the statements and the reports."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from processor import create_history
from tests.conftest import base, row, write_books, write_csv

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
HEADER = "Code,Date,Description,Quantity,Cost"


def plan_books(folder: Path, applications: list[str]) -> Path:
    """A1 on plan Desk: 40 pages a month included, at 0.10 a page."""
    data = base()
    data["Products"] = [
        row("Products", Product="PAGES", Description="Pages", Pricing="Unit Price",
            Unit_Price=0.10)
    ]  # fmt: skip
    data["Applications"] = [
        row("Applications", Application=a, Format="generic-csv", Product="PAGES")
        for a in applications
    ]
    data["Account Codes"] = [
        row("Account Codes", Account_ID="A1", Application=a, Code="100") for a in applications
    ]
    data["Device Import Maps"] = []
    data["Accounts"][0]["Plan"] = "Desk"
    data["Plans"] = [row("Plans", {"Plan": "Desk", "Product": "PAGES", "Included Quantity": 40})]
    return write_books(folder, data)


def spawn(folder: Path, history: Path, application: str, export: Path, out: Path):
    code = (
        "import sys; from processor.cli import main; sys.exit(main(['import', '--workbooks', "
        f"{str(folder)!r}, '--history', {str(history)!r}, '--location', 'London', "
        f"'--application', {application!r}, '--out', {str(out)!r}, {str(export)!r}]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_imports_at_once_never_use_one_allowance_twice(tmp_path):
    apps = ["PBX", "Printer"]
    folder = plan_books(tmp_path / "wb", apps)
    history = create_history(tmp_path / "history.sqlite")
    procs, outs = [], []
    for i in range(4):  # two exports of each application, all four started at once
        export = write_csv(
            tmp_path / f"e{i}.csv",
            [HEADER, *[f"100,2026-10-{d:02d} 10:00,job {i}-{d},3,0" for d in range(1, 11)]],
        )
        outs.append(tmp_path / f"b{i}")
        procs.append(spawn(folder, history, apps[i % 2], export, outs[-1]))
    for p in procs:
        p.wait(timeout=180)
        assert p.returncode == 0, p.stderr.read()
    manifests = [json.loads((o / "manifest.json").read_text()) for o in outs]
    # 120 pages in all, 40 of them included: 80 billed at 0.10, 4.00 waived, whoever ran first
    assert sum(D(m["billed"]["net"]) for m in manifests) == D("8.00")
    assert sum(D(m["allowances"]["waived"]) for m in manifests) == D("4.00")
    used = [u for m in manifests for u in m["allowances"]["used"]]
    assert sum(D(u["used"]) for u in used) == D("40")
    assert {(u["account_id"], u["product"], u["month"], u["kind"]) for u in used} == {
        ("A1", "PAGES", "2026-10", "quantity")
    }
