"""Text from a workbook, an export or a batch folder never runs (issue 20, part 10):
markup in names reaches HTML escaped, in the reports and the executed notebooks, and
Account IDs never make unsafe or clashing file names."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from processor import render_batch, render_period, run_import
from processor.reports.statement_files import file_stems
from tests.conftest import GENERIC_HEADER, base, put, row, write_books, write_csv

HOSTILE = {
    "A1": "<img src=x onerror=alert(1)>",
    "A4": "[x](javascript:alert(1))",
    "A5": "</td></table><h1>FAKE TOTAL",
}
LIVE = ["<img src=x", "<h1>FAKE", 'href="javascript:', "<b>PBX"]  # text, never markup


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    data = base()
    put(data, "Accounts", 0, {"Account Name": HOSTILE["A1"]})
    for account in ("A4", "A5"):
        data["Accounts"].append(
            row("Accounts", Account_ID=account, Account_Name=HOSTILE[account],
                Location="London", Status="Active")
        )  # fmt: skip
        data["Account Codes"].append(
            row("Account Codes", Account_ID=account, Application="<b>PBX</b>", Code=account)
        )
    for sheet in ("Account Codes", "Device Import Maps"):
        for i, r in enumerate(data[sheet]):
            if r.get("Application") == "PBX":
                put(data, sheet, i, {"Application": "<b>PBX</b>"})
    put(data, "Applications", 0, {"Application": "<b>PBX</b>"})
    folder = write_books(tmp / "wb", data)
    export = write_csv(
        tmp / "e.csv",
        [
            GENERIC_HEADER,
            "100,2026-10-01,<script>alert(1)</script>,1,1.00",
            "A4,2026-10-02,=1+2,1,2.00",
            "A5,2026-10-03,x,1,3.00",
            "<i>NEW</i>,2026-10-04,x,1,4.00",
        ],
    )
    out = tmp / "b"
    run_import(folder, "London", "<b>PBX</b>", [export], out)
    render_batch(out)
    render_period([out], tmp)
    return tmp, out


def test_markup_in_names_and_rows_is_escaped_in_every_report(rendered):
    tmp, out = rendered
    pages = [out / "reports" / "billing.html", out / "reports" / "unmatched.html"]
    pages.append(tmp / "period-summary.html")
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for live in LIVE:
            assert live not in html, (page.name, live)
        assert "<script" not in html.lower()
    billing = pages[0].read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in billing
    assert "&lt;/td&gt;&lt;/table&gt;&lt;h1&gt;FAKE TOTAL" in billing
    assert "Billing report: &lt;b&gt;PBX&lt;/b&gt; at London" in billing
    assert "&lt;i&gt;NEW&lt;/i&gt;" in pages[1].read_text(encoding="utf-8")


def test_the_executed_notebooks_carry_no_live_markup(rendered):
    tmp, out = rendered
    books = [*sorted((out / "reports").glob("*.ipynb")), tmp / "period-summary.ipynb"]
    for path in books:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                assert "text/markdown" not in data or not any(
                    ch in data["text/markdown"] for ch in "<[]("
                ), (path.name, data["text/markdown"])
                shown = data.get("text/html", "")
                shown = "".join(shown) if isinstance(shown, list) else shown
                for live in LIVE:
                    assert live not in shown, (path.name, live)


def test_statement_files_are_safe_unique_and_name_their_account(rendered):
    _, out = rendered
    names = sorted(p.name for p in (out / "reports" / "statements").iterdir())
    assert names == [f"A{i}.{x}" for i in (1, 4, 5) for x in ("csv", "pdf", "xlsx")]
    from openpyxl import load_workbook

    title = load_workbook(out / "reports" / "statements" / "A5.xlsx").active["A1"].value
    assert title == f"Statement for {HOSTILE['A5']} (A5)"


def test_account_ids_make_safe_unique_file_names():
    ids = ["A1", "CON", "nul", "com1", "LPT9", "x" * 300, "a/b", "../etc", "Ab", "AB", "", "ÆØ"]
    stems = file_stems(ids)
    assert stems["A1"] == "A1"
    for account in ids[1:]:
        stem = stems[account]
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,49}", stem), stem
        assert stem.split("-")[0].upper() not in {"CON", "NUL", "COM1", "LPT9"} or "-" in stem
    assert stems["CON"].startswith("CON-") and len(stems["x" * 300]) == 49
    assert stems["a/b"].startswith("ab-") and stems["../etc"].startswith("etc-")
    # unique even where a file system ignores case
    assert len({s.casefold() for s in stems.values()}) == len(ids)
    assert json.dumps(stems)  # plain text names
