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


def test_imports_at_once_never_use_one_allowance_twice(tmp_path, new_history):
    # two applications at one location share the account's allowance: on PostgreSQL an
    # import with charges an allowance may cover holds the location's allowances for this
    apps = ["PBX", "Printer"]
    folder = plan_books(tmp_path / "wb", apps)
    history = create_history(new_history)
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


def test_the_readme_examples_in_pennies(tmp_path, new_history):
    from processor import run_import

    data = base()
    data["Products"] = [
        row("Products", Product="PAGES", Description="Pages", Pricing="Unit Price",
            Unit_Price="0.065"),
        row("Products", {"Markup %": 0}, Product="CALLS", Description="Calls",
            Pricing="Cost Plus"),
    ]  # fmt: skip
    data["Applications"] = [
        row("Applications", Application="PBX", Format="generic-csv", Product="CALLS"),
    ]
    data["Product Rules"] = [["PBX", "pages", "PAGES"]]
    data["Accounts"][0]["Plan"] = "Desk"
    data["Plans"] = [
        row("Plans", {"Plan": "Desk", "Product": "PAGES", "Included Quantity": 50}),
        row("Plans", {"Plan": "Desk", "Product": "CALLS", "Included Amount": 5}),
    ]
    folder = write_books(tmp_path / "wb", data)
    history = create_history(new_history)
    header = "Code,Date,Description,Quantity,Cost,Item"
    first = write_csv(tmp_path / "a.csv", [header, "100,2026-10-01 09:00,earlier,45,0,pages"])
    run_import(folder, "London", "PBX", [first], tmp_path / "b1", history=history)
    second = write_csv(
        tmp_path / "b.csv",
        [
            header,
            "100,2026-10-02 09:00,job,12,0,pages",  # 5 of 12 covered: 0.455 → 0.46
            "100,2026-10-03 09:00,next,3,0,pages",  # nothing left: 0.195 → 0.20
            "100,2026-10-02 10:00,call,1,3.14,",  # all 3.14 waived
            "100,2026-10-02 11:00,call 2,1,2.40,",  # 1.86 waived, 0.54 billed
        ],
    )
    result = run_import(folder, "London", "PBX", [second], tmp_path / "b2", history=history)
    import pandas as pd

    c = pd.read_parquet(tmp_path / "b2" / "charges.parquet").sort_values("line")
    assert [(d, D(str(n)), D(str(q)), D(str(a))) for d, n, q, a in zip(
        c["description"], c["net"], c["included_quantity"], c["included_amount"], strict=True
    )] == [
        ("job", D("0.46"), D("5"), D("0.32")),
        ("next", D("0.20"), D("0"), D("0")),
        ("call", D("0"), D("0"), D("3.14")),
        ("call 2", D("0.54"), D("0"), D("1.86")),
    ]  # fmt: skip
    assert result.manifest["allowances"]["waived"] == "5.32"
