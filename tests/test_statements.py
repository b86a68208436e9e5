"""Client statements, recomputed here from charges.parquet by the README's rules: every
row, each service's total and the grand total; no column empty on every row; the PDF's
text holds the grand total, and its pages render (pdftoppm and pdftotext where present)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from processor import load_batch, run_import
from processor.reports.statement_files import write_statements
from tests.conftest import row, write_books, write_csv

D = Decimal
HEADER = "Code,Date,Description,Quantity,Cost,Item,Duration,Destination"
# the tariff, as the test knows it: prefix → (destination, per minute)
RATES = {
    "07": ("UK mobile", "0.12"),
    "01": ("UK landline", "0.03"),
    "00": ("International", "0.45"),
}
DOCUMENTS = ["Q3 report.pdf", "=cmd|' /C calc'!A0", "Plans, rev 2.dwg", "Minutes.docx"]


def statement_books(folder: Path, rounding: str, name: str = "Acme Ltd") -> Path:
    data = {
        "Locations": [
            row("Locations", {"Tax Rate %": 20, "Operator Name": "Harbour Lane Ltd",
                              "Operator Address": "12 Quay St, Leeds, LS1 4AB"},
                Location="Leeds", Currency="GBP", Tax_Rounding=rounding),
        ],
        "Accounts": [
            row("Accounts", Account_ID="A1", Account_Name=name, Location="Leeds", Status="Active",
                Plan="Desk"),
            row("Accounts", Account_ID="A2", Account_Name="Birch Legal", Location="Leeds",
                Status="Active"),
        ],
        "Account Codes": [
            row("Account Codes", Account_ID=a, Application=app, Code=a)
            for a in ("A1", "A2") for app in ("PBX", "Printer")
        ],
        "Applications": [
            row("Applications", Application="PBX", Format="generic-csv", Product="CALLS"),
            row("Applications", Application="Printer", Format="generic-csv", Product="PAGES"),
        ],
        "Device Import Maps": [],
        "Products": [
            row("Products", Product="CALLS", Description="Telephone calls", Pricing="Tariff",
                Tariff="Std", GL_Code="4010"),
            row("Products", Product="PAGES", Description="Printing", Pricing="Unit Price",
                Unit_Price=0.07, GL_Code="4020"),
        ],
        "Product Rules": [],
        "Formats": [],
        "Tariffs": [
            row("Tariffs", Tariff="Std", Prefix=p, Destination=d, Rate_Per_Minute=float(r))
            for p, (d, r) in RATES.items()
        ],
        "Plans": [row("Plans", {"Plan": "Desk", "Product": "CALLS", "Included Quantity": 2})],
    }  # fmt: skip
    return write_books(folder, data)


def exports(tmp_path: Path, seed: int) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    calls, pages = [HEADER], [HEADER]
    for _ in range(60):
        who = rnd.choice(["A1", "A2"])
        when = f"2026-10-{rnd.randint(1, 28):02d} {rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"
        number = rnd.choice(["07700900123", "01134960000", "0033140000000", "02079460000"])
        calls.append(f"{who},{when},Outgoing,1,0,,{rnd.randint(1, 4000)},{number}")
        doc = rnd.choice(DOCUMENTS).replace('"', "")
        pages.append(f'{who},{when},"{doc}",{rnd.randint(1, 60)},0,,,')
    return write_csv(tmp_path / "calls.csv", calls), write_csv(tmp_path / "pages.csv", pages)


def hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def money(v) -> str:
    return "" if v is None or pd.isna(v) else f"{D(v).quantize(D('0.01')):,.2f}"


def shown(v: str) -> str:  # the README: a cell a spreadsheet would run gets a leading '
    return "'" + v if v[:1] in ("=", "+", "-", "@") else v


def destination(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    best = max((p for p in RATES if digits.startswith(p)), key=len, default=None)
    return RATES[best][0] if best else ""


def expected(batch: Path, account: str, per_line: bool) -> list[list[str]]:
    """The statement's rows, every column, then the totals and the grand total."""
    c = pd.read_parquet(batch / "charges.parquet")
    c = c[c["account_id"] == account].sort_values(["occurred_at", "line"], kind="stable")
    services = {"CALLS": "Telephone calls", "PAGES": "Printing"}
    out = []
    for r in c.itertuples():
        call = not pd.isna(r.duration)
        out.append([
            f"{r.occurred_at:%Y-%m-%d %H:%M}",
            services[r.product],
            destination(r.destination) if call else shown(r.description),
            r.destination if call else "",
            hms(int(r.duration)) if call else "",
            "" if call else f"{D(r.quantity).normalize():f}",
            money(r.net),
            "" if per_line else money(r.tax),
            "" if per_line else money(r.gross),
        ])  # fmt: skip
    grand = [D(0)] * 3
    for product, mine in sorted(c.groupby("product"), key=lambda g: g[0]):
        net = sum(mine["net"], D(0))
        if per_line:
            exact = net * D(20) / 100
            tax = exact.copy_abs().quantize(D("0.01"), ROUND_HALF_UP).copy_sign(exact)
        else:
            tax = sum(mine["tax"], D(0))
        seconds = mine["duration"].dropna()
        out.append([
            "", services[product], "Total", "", hms(int(seconds.sum())) if len(seconds) else "",
            f"{D(sum(mine['quantity'], D(0))).normalize():f}", money(net), money(tax),
            money(net + tax),
        ])  # fmt: skip
        grand = [grand[0] + net, grand[1] + tax, grand[2] + net + tax]
    out.append(["", "Grand total", "", "", "", "", *map(money, grand)])
    return out


@pytest.mark.parametrize("rounding", ["Per Line", "Per Charge"])
def test_each_statement_is_its_charges_and_totals_by_the_readme(tmp_path, rounding):
    wb = statement_books(tmp_path / "wb", rounding)
    calls, pages = exports(tmp_path, seed=len(rounding))
    for app, f in (("PBX", calls), ("Printer", pages)):
        run_import(wb, "Leeds", app, [f], tmp_path / app, dt.date(2026, 10, 31))
    for app in ("PBX", "Printer"):
        batch = load_batch(tmp_path / app)
        write_statements(batch, tmp_path / app / "st")
        lines = pd.read_parquet(tmp_path / app / "lines.parquet")
        for account in ("A1", "A2"):
            want = expected(tmp_path / app, account, rounding == "Per Line")
            with (tmp_path / app / "st" / f"{account}.csv").open(
                newline="", encoding="utf-8"
            ) as fh:
                got = list(csv.reader(fh))
            plans = [r for r in got[1:] if r[2].startswith("Plan Desk includes")]
            got = [r for r in got if r not in plans]
            # a column empty on every row is left out; the rest are shown, in order
            kept = [i for i in range(9) if i in (0, 1, 6) or any(r[i] for r in want)]
            names = ["Date", "Service", "Destination or document", "Number dialled",
                     "Duration", "Quantity", "Net (GBP)", "Tax (GBP)", "Gross (GBP)"]  # fmt: skip
            assert got[0] == [names[i] for i in kept]
            assert got[1:] == [[r[i] for i in kept] for r in want]
            assert all(any(r[j] for r in got[1:]) for j in range(len(kept)))
            # the grand total is the account's Batch Sheet lines
            mine = lines[lines["account_id"] == account]
            assert got[-1][-3:] == [money(sum(mine[k], D(0))) for k in ("net", "tax", "gross")]
            if app == "PBX" and account == "A1":
                assert plans and plans[0][2].startswith(
                    "Plan Desk includes 2:00 min a month: 2:00 min used here"
                )
        if app == "PBX":
            with (tmp_path / app / "st" / "A2.csv").open(encoding="utf-8") as fh:
                header = next(csv.reader(fh))
            assert "Number dialled" in header and "Quantity" in header
        _check_pdf(tmp_path / app / "st" / "A2.pdf", lines[lines["account_id"] == "A2"])


def _check_pdf(path: Path, lines: pd.DataFrame) -> None:
    """The PDF's text (pdftotext) holds the operator, the client and the grand total; its
    first page renders with ink on it (pdftoppm)."""
    assert path.read_bytes().startswith(b"%PDF-")
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftotext, pdftoppm) are not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Harbour Lane Ltd" in text and "12 Quay St" in text
    assert "Statement for Birch Legal (A2)" in text
    grand = next(ln for ln in text.splitlines() if "Grand total" in ln).split()
    assert grand[-3:] == [money(sum(lines[k], D(0))) for k in ("net", "tax", "gross")]
    pages = text.count("\f")
    assert f"Page {pages} of {pages}" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path),
                    str(path.with_suffix(""))], check=True)  # fmt: skip
    from PIL import Image

    png = next(path.parent.glob(f"{path.stem}-*1.png"))
    image = Image.open(png).convert("L")
    dark = sum(image.histogram()[:128])  # pixels darker than mid-grey
    assert dark > 500, "the first page is blank"


def test_a_long_statement_repeats_its_header_and_counts_pages(tmp_path):
    wb = statement_books(tmp_path / "wb", "Per Line")
    rows = [HEADER] + [
        f"A2,2026-10-{d % 28 + 1:02d} 10:{d % 60:02d},Outgoing,1,0,,{60 + d},07700900{d:03d}"
        for d in range(200)
    ]
    run_import(wb, "Leeds", "PBX", [write_csv(tmp_path / "c.csv", rows)], tmp_path / "b",
               dt.date(2026, 10, 31))  # fmt: skip
    write_statements(load_batch(tmp_path / "b"), tmp_path / "st")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "st" / "A2.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pages = text.split("\f")[:-1]
    assert len(pages) >= 4
    for n, page in enumerate(pages, start=1):
        assert "Number dialled" in page and f"Page {n} of {len(pages)}" in page
        assert "Birch Legal (A2)" in page


def test_a_name_beyond_latin_1_prints_as_written(tmp_path):
    wb = statement_books(tmp_path / "wb", "Per Line", name="Łódź Żółw Studio")
    run_import(wb, "Leeds", "Printer",
               [write_csv(tmp_path / "p.csv", [HEADER, "A1,2026-10-01 10:00,Plan.pdf,3,0,,,"])],
               tmp_path / "b", dt.date(2026, 10, 31))  # fmt: skip
    write_statements(load_batch(tmp_path / "b"), tmp_path / "st")
    assert b"DejaVu" in (tmp_path / "st" / "A1.pdf").read_bytes()
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(["pdftotext", str(tmp_path / "st" / "A1.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Statement for Łódź Żółw Studio (A1)" in text


def test_the_manifest_names_the_operator(tmp_path):
    wb = statement_books(tmp_path / "wb", "Per Line")
    run_import(wb, "Leeds", "Printer",
               [write_csv(tmp_path / "p.csv", [HEADER, "A2,2026-10-01 10:00,x.pdf,3,0,,,"])],
               tmp_path / "b", dt.date(2026, 10, 31))  # fmt: skip
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["operator"] == {"name": "Harbour Lane Ltd", "address": "12 Quay St, Leeds, LS1 4AB"}
