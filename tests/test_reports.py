"""Reports: the figures (unit-tested here), and the notebooks executed through papermill."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from processor import create_history, reports, run_import
from processor.cli import main
from processor.errors import UsageError
from processor.reference.reading import read_workbooks
from processor.reference.records import build
from processor.reports import render
from tests.conftest import GENERIC_HEADER, base, put, write_books, write_csv

D = Decimal


def make_batch(tmp_path: Path, name: str = "batch", location: str = "London") -> Path:
    data = base()
    data["Accounts"].append(["A4", "Delta Ltd", "London", "Active", None, None])
    data["Account Codes"] += [["A4", "PBX", "1000"], ["A4", "PBX", "ABC12"]]
    folder = tmp_path / "wb"
    if not folder.exists():
        write_books(folder, data)
    export = write_csv(
        tmp_path / f"{name}.csv",
        [
            GENERIC_HEADER,
            f"100,2026-10-01,call a {name},1,1.00",  # A1: 1.10 net
            f"100,2026-10-03,call b {name},2,2.00",  # A1: 2.20
            f"1000,2026-10-02,call c {name},1,10.00",  # A4: 11.00
            "01000,2026-10-04,x,1,3.00",  # unknown: leading zero (1000)
            "1OOO,2026-10-05,x,1,0.50",  # unknown: O for 0 (1000)
            "1OOO,2026-10-06,x,1,0.25",
            "ABC13,2026-10-07,x,1,0.10",  # unknown: one character different (ABC12)
            "300,2026-10-07,x,1,0.10",  # held at Leeds
            "200,2026-10-08,x,1,0.40",  # inactive
            "",  # blank
        ],
    )
    out = tmp_path / name
    # a history of its own: these test batches bill the same rows on purpose
    history = create_history(tmp_path / f"history-{name}.sqlite")
    run_import(folder, location, "PBX", [export], out, dt.date(2026, 10, 31), history=history)
    return out


@pytest.fixture
def batch_dir(tmp_path) -> Path:
    return make_batch(tmp_path)


def test_headline_and_reconciliation_equal_the_manifest(batch_dir):
    b = reports.load_batch(batch_dir)
    h = reports.headline(b)
    assert h["Billed net (GBP)"] == "14.30"
    assert h["Tax (GBP)"] == "2.86"
    assert h["Billed gross (GBP)"] == "17.16"
    assert h["Rows billed"] == "3 of 10"
    assert h["Accounts billed"] == "2"
    assert h["Charges dated"] == "2026-10-01 to 2026-10-03"
    rec = reports.reconciliation(b)
    assert rec.attrs["balanced"] is True
    m = b.manifest
    assert rec["Rows"].tolist() == [m["rows"]["read"], 3, 6, 1, 10]
    assert rec["Device cost"].tolist() == [
        D(m["cost"]["read"]),
        D("13"),
        D("4.35"),
        D("0"),
        D("17.35"),
    ]


def test_reconciliation_notices_a_tampered_batch(batch_dir):
    path = batch_dir / "manifest.json"
    m = json.loads(path.read_text())
    m["rows"]["read"] += 1
    path.write_text(json.dumps(m))
    rec = reports.reconciliation(reports.load_batch(batch_dir))
    assert rec.attrs["balanced"] is False
    assert "NOT balanced" in reports.balanced_badge(rec)


def test_by_account_product_and_margin(batch_dir):
    b = reports.load_batch(batch_dir)
    acc = reports.by_account(b)
    assert acc["Account ID"].tolist() == ["A4", "A1"]
    assert [D(str(v)) for v in acc["Net"]] == [D("11"), D("3.3")]
    assert acc["Share %"].tolist() == [D("76.9"), D("23.1")]
    prod = reports.by_product(b)
    assert prod[["Product", "Rows"]].values.tolist() == [["CALLS", 3]]
    assert prod["Margin"].tolist() == [D("1.300000")]  # 14.30 billed − 13.00 device cost
    assert prod["Margin %"].tolist() == [D("9.1")]


def test_by_reason_with_actions(batch_dir):
    t = reports.by_reason(reports.load_batch(batch_dir))
    assert t[["Outcome", "Reason", "Rows"]].values.tolist() == [
        ["Unmatched", "unknown-code", 4],
        ["Unmatched", "code-at-other-location", 1],
        ["Unmatched", "inactive-account", 1],
        ["Skipped", "blank-line", 1],
    ]
    assert t["What to do"][0].startswith(
        "Add each code below to its account on Account Codes (application PBX), or to the "
        "Device Import Map of PBX at London."
    )


def test_unknown_codes_ranked_by_cost_with_first_and_last_seen(batch_dir):
    t = reports.unknown_codes(reports.load_batch(batch_dir))
    assert t["Code"].tolist() == ["01000", "1OOO", "ABC13"]
    assert t["Rows"].tolist() == [1, 2, 1]
    assert str(t["First seen"][1]) == "2026-10-05 00:00:00"
    assert str(t["Last seen"][1]) == "2026-10-06 00:00:00"


def test_suggestions_for_unknown_codes(batch_dir, tmp_path):
    sheets, _ = read_workbooks(tmp_path / "wb")
    ref = build(sheets)
    hints = reports.suggestions(["01000", "1OOO", "ABC13", "300", "ZZZ"], ref, "PBX", "London")
    assert hints == {
        "01000": ["1000 (leading zeros differ), held by account A4 (Delta Ltd)"],
        "1OOO": ["1000 (O/0 or I/1 mixed up), held by account A4 (Delta Ltd)"],
        "ABC13": ["ABC12 (one character different), held by account A4 (Delta Ltd)"],
        "300": [
            "300 is held by account A3 (Gamma Ltd) for PBX at Leeds",
            "100 (one character different), held by account A1 (Acme Ltd)",
            "200 (one character different), held by account A2 (Beta Ltd)",
        ],
        "ZZZ": [],
    }


def test_codes_to_add_workbook(batch_dir, tmp_path):
    b = reports.load_batch(batch_dir)
    ref = build(read_workbooks(tmp_path / "wb")[0])
    hints = reports.suggestions(["1OOO"], ref, "PBX", "London")
    assert hints["1OOO"] == ["1000 (O/0 or I/1 mixed up), held by account A4 (Delta Ltd)"]
    path = reports.write_codes_to_add(b, ref, tmp_path / "codes-to-add.xlsx", hints)
    wb = load_workbook(path)
    ws = wb["Codes To Add"]
    assert ws["A1"].value.startswith("What to do: for each code, choose its account in column A")
    assert "charges apply-codes THIS-FILE --workbooks" in ws["A1"].value
    assert [c.value for c in ws[2]][:3] == ["Account ID", "Application", "Code"]
    assert [[c.value for c in row[:3]] for row in ws.iter_rows(min_row=3)] == [
        [None, "PBX", "01000"],
        [None, "PBX", "1OOO"],
        [None, "PBX", "ABC13"],
    ]
    assert ws["C3"].data_type == "s"
    assert ws["I4"].value == "1000 (O/0 or I/1 mixed up), held by account A4 (Delta Ltd)"
    dv = ws.data_validations.dataValidation[0]
    assert dv.formula1 == "=Accounts!$A$1:$A$2"
    assert [r[0].value for r in wb["Accounts"].iter_rows()] == ["A1 — Acme Ltd", "A4 — Delta Ltd"]


def test_a_filled_in_codes_to_add_is_never_overwritten(batch_dir, capsys):
    assert main(["report", str(batch_dir)]) == 0
    path = batch_dir / "reports" / "codes-to-add.xlsx"
    assert main(["report", str(batch_dir)]) == 0  # not filled in yet: written again
    assert not (batch_dir / "reports" / "codes-to-add-2.xlsx").exists()
    wb = load_workbook(path)
    wb["Codes To Add"]["A3"] = "A4 — Delta Ltd"
    wb.save(path)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["report", str(batch_dir)]) == 0
    assert path.read_bytes() == before
    assert (batch_dir / "reports" / "codes-to-add-2.xlsx").is_file()
    assert (
        f"charges: {path} has accounts chosen in it, so it was kept as it is; the new list is codes-to-add-2.xlsx"
        in capsys.readouterr().err
    )


def test_apply_codes_then_retry_bills_the_blocked_rows(batch_dir, tmp_path, capsys):
    assert main(["report", str(batch_dir)]) == 0
    path = batch_dir / "reports" / "codes-to-add.xlsx"
    wb = load_workbook(path)
    ws = wb["Codes To Add"]
    for row in ws.iter_rows(min_row=3):
        if row[2].value == "1OOO":
            row[0].value = "A4 — Delta Ltd"
    wb.save(path)
    books = tmp_path / "wb"
    before = (books / "accounts.xlsx").read_bytes()
    capsys.readouterr()
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 0
    out = capsys.readouterr().out
    assert "Added 1 code to" in out and "rows 7 to 7" in out
    backups = list(books.glob("accounts.backup-*.xlsx"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    codes = load_workbook(books / "accounts.xlsx")["Account Codes"]
    assert [c.value for c in codes[7]] == ["A4", "PBX", "1OOO", None, None]
    assert codes["C7"].data_type == "s"
    # applying the same file again adds nothing
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 0
    assert "held by A4 already" in capsys.readouterr().out
    assert main(["retry", str(batch_dir), "--out", str(tmp_path / "retry")]) == 0
    charges = pd.read_parquet(tmp_path / "retry" / "charges.parquet")
    assert charges["code"].tolist() == ["1OOO", "1OOO"]


def test_apply_codes_that_would_break_the_workbooks_changes_nothing(batch_dir, tmp_path, capsys):
    assert main(["report", str(batch_dir)]) == 0
    path = batch_dir / "reports" / "codes-to-add.xlsx"
    wb = load_workbook(path)
    wb["Codes To Add"]["A3"] = "NOBODY — typed by hand"
    wb.save(path)
    books = tmp_path / "wb"
    before = (books / "accounts.xlsx").read_bytes()
    capsys.readouterr()
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 1
    err = capsys.readouterr().err
    assert (
        'accounts.xlsx › Account Codes › A7: Account ID "NOBODY" is not on the Accounts sheet'
        in err
    )
    assert f"{books / 'accounts.xlsx'} was not changed" in err
    assert (books / "accounts.xlsx").read_bytes() == before
    assert not list(books.glob("accounts.backup-*"))


def test_statements_for_clients_carry_their_lines_only(batch_dir, tmp_path):
    from processor.reports.statement_files import write_statements

    b = reports.load_batch(batch_dir)
    files = write_statements(b, tmp_path / "st")
    assert [f.name for f in files] == [
        *("A1.csv", "A1.xlsx", "A1.pdf", "A4.csv", "A4.xlsx", "A4.pdf")
    ]
    lines = (tmp_path / "st" / "A1.csv").read_text().splitlines()
    # no device cost, no file, line, code or key: what the client was charged; no column
    # that is empty on every row (these are not calls: no number, no duration)
    assert lines == [
        "Date,Service,Destination or document,Quantity,Net (GBP),Tax (GBP),Gross (GBP)",
        "2026-10-01 00:00,Calls,call a batch,1,1.10,,",
        "2026-10-03 00:00,Calls,call b batch,2,2.20,,",
        # Per Line (the default): the service's total carries the tax the bill run invoices
        ",Calls,Total,3,3.30,0.66,3.96",
        ",Grand total,,,3.30,0.66,3.96",
    ]
    ws = load_workbook(tmp_path / "st" / "A1.xlsx")["Statement"]
    assert ws["A1"].value == "Statement for Acme Ltd (A1)"
    assert ws["A2"].value.startswith("London: PBX, charges 2026-10-01 to 2026-10-03")
    assert [c.value for c in ws[4]] == [
        "Date",
        "Service",
        "Destination or document",
        "Quantity",
        "Net (GBP)",
        "Tax (GBP)",
        "Gross (GBP)",
    ]
    assert [c.value for c in ws[8]][3:] == [3, 3.3, 0.66, 3.96]
    assert [c.value for c in ws[9]][1:] == ["Grand total", None, None, 3.3, 0.66, 3.96]
    # headers fit their columns: none is clipped
    for cell in ws[4]:
        assert ws.column_dimensions[cell.column_letter].width >= len(cell.value) + 2
    assert ws.print_title_rows == "$4:$4" and ws.oddFooter.center.text == "Page &P of &N"
    first = reports.statements(b, lines=1)
    # the largest account first: A4 (11.00 net), then A1 (3.30)
    assert list(first) == ["A4", "A1"] and len(first["A1"]) == 1


def test_statement_csv_text_never_runs_as_a_formula(tmp_path):
    # a description from the export that a spreadsheet would run gets a leading ', as
    # spreadsheets expect; numbers (a credit's -1.10 included) stay numbers
    from processor.reports.statement_files import write_statements

    folder = write_books(tmp_path / "wb")
    # (a leading tab or CR never reaches a statement: the reader strips fields)
    rows = ["=HYPERLINK(x)", "+1+1", "@SUM(A1)", "-2+3", "plain"]
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER]
        + [f'100,2026-10-0{i + 1},"{d}",1,1.00' for i, d in enumerate(rows)]
        + ["100,2026-10-08,refund,1,-1.00"],
    )
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    write_statements(reports.load_batch(tmp_path / "b"), tmp_path / "st")
    with (tmp_path / "st" / "A1.csv").open(newline="", encoding="utf-8") as fh:
        got = list(csv.reader(fh))
    assert [r[2] for r in got[1:7]] == [
        "'=HYPERLINK(x)",
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
        "plain",
        "refund",
    ]
    assert got[6][4] == "-1.10" and got[7][2:5] == ["Total", "6", "4.40"]


@pytest.mark.parametrize("rounding", ["Per Line", "Per Charge"])
def test_each_statement_holds_exactly_its_accounts_charges_in_order(
    tmp_path, monkeypatch, rounding
):
    # every account's csv rows, worked out here from charges.parquet by the README's rules
    # (date to the minute, the service's name, quantity as written, money to the penny
    # with thousands separators; tax and gross only when tax is rounded per charge)
    import csv
    import random

    from processor.reports import statement_files

    rnd = random.Random(5)
    data = base()
    put(data, "Locations", 0, {"Tax Rounding": rounding})
    data["Accounts"] += [[f"A{i}", f"Client {i}", "London", "Active", None, None] for i in (4, 5)]
    data["Account Codes"] += [["A4", "PBX", "400"], ["A5", "PBX", "500"]]
    folder = write_books(tmp_path / "wb", data)
    rows = []
    for _ in range(120):
        when = f"2026-10-{rnd.randint(1, 3):02d} 09:{rnd.choice([0, 1, 59]):02d}:{rnd.randint(0, 59):02d}"
        text = rnd.choice(["", "call", "to Paris, France", "=1+1"])
        quantity = rnd.choice(["1", "2.5", "10", "0.125"])
        cost = f"{rnd.randint(0, 2_000_000) / 10 ** rnd.choice([2, 3, 4])}"
        rows.append(f'{rnd.choice(["100", "400", "500"])},{when},"{text}",{quantity},{cost}')
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows])
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    charges = pd.read_parquet(tmp_path / "b" / "charges.parquet")
    b = reports.load_batch(tmp_path / "b")
    statement_files.write_statements(b, tmp_path / "st")

    def money(v) -> str:
        return "" if v is None or pd.isna(v) else f"{Decimal(v).quantize(Decimal('0.01')):,.2f}"

    def shown(v: str) -> str:  # the README: a cell Excel would run gets a leading '
        return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") and v else v

    for account in ("A1", "A4", "A5"):
        mine = charges[charges["account_id"] == account].sort_values(
            ["occurred_at", "line"], kind="stable"
        )
        want = [
            [
                f"{r.occurred_at:%Y-%m-%d %H:%M}",
                "Calls",
                shown(r.description or ""),
                f"{Decimal(r.quantity).normalize():f}",
                money(r.net),
                "" if rounding == "Per Line" else money(r.tax),
                "" if rounding == "Per Line" else money(r.gross),
            ]
            for r in mine.itertuples()
        ]
        with (tmp_path / "st" / f"{account}.csv").open(newline="", encoding="utf-8") as fh:
            got = list(csv.reader(fh))[1:]
        assert len(want) > 20
        assert got[: len(want)] == want
        assert [r[:3] for r in got[len(want) :]] == [
            ["", "Calls", "Total"],
            ["", "Grand total", ""],
        ]

    # a long statement's rows are made a column at a time, a short one's cell by cell:
    # the same workbook either way (values, formats, widths, filter, frozen header)
    monkeypatch.setattr(statement_files, "ARROW_ROWS", 0)
    statement_files.write_statements(b, tmp_path / "st-arrow")
    for account in ("A1", "A4", "A5"):
        one = load_workbook(tmp_path / "st" / f"{account}.xlsx")["Statement"]
        two = load_workbook(tmp_path / "st-arrow" / f"{account}.xlsx")["Statement"]
        assert one.max_row == two.max_row > 20

        def look(ws):
            cells = [
                (c.coordinate, c.value, c.data_type, c.number_format, c.font.b, c.quotePrefix,
                 c.alignment.horizontal)
                for row in ws.iter_rows() for c in row if c.value is not None
            ]  # fmt: skip
            widths = {k: round(d.width, 2) for k, d in ws.column_dimensions.items()}
            return cells, widths, ws.auto_filter.ref, ws.freeze_panes, ws.print_title_rows

        assert look(one) == look(two)
        for folder in ("st", "st-arrow"):  # Excel refuses a sheet whose rows are out of order
            with zipfile.ZipFile(tmp_path / folder / f"{account}.xlsx") as z:
                xml = z.read("xl/worksheets/sheet1.xml").decode()
            numbers = [int(n) for n in re.findall(r'<row r="(\d+)"', xml)]
            assert numbers == sorted(set(numbers)) and len(numbers) > 20


def test_statements_per_charge_carry_each_rows_tax(tmp_path):
    from processor.reports.statement_files import statement_rows

    data = base()
    put(data, "Locations", 0, {"Tax Rounding": "Per Charge"})
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1.00"])
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    st = statement_rows(reports.load_batch(tmp_path / "b"), "A1")
    assert [st.shown(r) for r in st.rows] == [
        ["2026-10-01 00:00", "Calls", "a", "1", "1.10", "0.22", "1.32"]
    ]
    assert [st.shown(r) for r in st.totals] == [["", "Calls", "Total", "1", "1.10", "0.22", "1.32"]]
    assert st.shown(st.grand) == ["", "Grand total", "", "", "1.10", "0.22", "1.32"]


def test_period_summary_by_location_and_application(tmp_path):
    a = reports.load_batch(make_batch(tmp_path, "oct"))
    b = reports.load_batch(make_batch(tmp_path, "nov"))
    s = reports.period_summary([a, b])
    # the two exports share their unmatched rows (the same lines): each is one row
    assert s[["Location", "Application", "Batches", "Rows", "Billed"]].values.tolist() == [
        ["London", "PBX", 2, 14, 6]
    ]
    assert s["Net"].tolist() == [D("28.60")]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("folder", "{p}: no such batch folder; run `charges import` first"),
        (
            "file",
            "{p}: is not a complete batch folder (missing unmatched.parquet); import again "
            "into a new folder",
        ),
        (
            "manifest",
            "{p}/manifest.json: is not valid JSON (Expecting value: line 1 column 1 "
            "(char 0)); import again into a new folder",
        ),
    ],
)
def test_missing_or_corrupt_batch_is_a_clear_error(batch_dir, damage, message, capsys):
    if damage == "folder":
        batch_dir = batch_dir.parent / "nope"
    elif damage == "file":
        (batch_dir / "unmatched.parquet").unlink()
    else:
        (batch_dir / "manifest.json").write_text("")
    with pytest.raises(reports.ReportError) as err:
        reports.load_batch(batch_dir)
    assert str(err.value) == message.format(p=batch_dir)
    if damage == "file":  # the history recorded the file at commit: the report names it
        batch_id = json.loads((batch_dir / "manifest.json").read_text())["batch_id"]
        message = (
            f"{{p}}/unmatched.parquet: is missing; it was part of batch {batch_id} when it was "
            f"committed on {dt.datetime.now(dt.UTC):%Y-%m-%d}. Restore the folder from a "
            "backup; nothing was done"
        )
    assert main(["report", str(batch_dir)]) == (2 if damage == "file" else 1)
    assert capsys.readouterr().err.strip() == f"charges: {message.format(p=batch_dir)}"


def test_corrupt_parquet_is_a_clear_error(batch_dir):
    (batch_dir / "charges.parquet").write_bytes(b"not parquet")
    with pytest.raises(reports.ReportError, match=r"charges.parquet: cannot be read"):
        reports.load_batch(batch_dir)


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S))


def test_notebooks_render_to_html_without_code(batch_dir):
    done = render.render_batch(batch_dir)
    out = batch_dir / "reports"
    names = sorted(p.relative_to(out).as_posix() for p in done.files)
    assert names == [
        "billing.html",
        "billing.ipynb",
        "codes-to-add.xlsx",
        "statements/A1.csv",
        "statements/A1.pdf",
        "statements/A1.xlsx",
        "statements/A4.csv",
        "statements/A4.pdf",
        "statements/A4.xlsx",
        "unmatched.html",
        "unmatched.ipynb",
    ]
    billing = (out / "billing.html").read_text()
    text = " ".join(visible_text(billing).split())
    assert "Billing report: PBX at London" in text
    assert "Billed net (GBP) 14.30" in text and "Billed gross (GBP) 17.16" in text
    assert "Billed + unmatched + skipped 10 17.3500" in text
    assert "✔ Balanced" in text
    assert billing.count("<svg") == 2  # the charts, inline
    assert "<title>Billing report: PBX at London" in billing
    unmatched = (out / "unmatched.html").read_text()
    utext = " ".join(visible_text(unmatched).split())
    assert "Unmatched unknown-code Unknown code 4 3.8500" in utext
    assert "1000 (O/0 or I/1 mixed up), held by account A4" in utext
    for page in (billing, unmatched):
        assert "hl-ipython3" not in page and "load_batch" not in page  # no code cells
        assert "<script" not in page  # a static page: opens offline, fetches nothing


def test_the_report_reads_the_workbooks_once_and_gives_the_notebook_its_suggestions(
    batch_dir, tmp_path, monkeypatch
):
    # the workbooks the batch names are gone, so the notebook's kernel could not read them;
    # the report's own process reads a copy
    (tmp_path / "wb").rename(tmp_path / "wb-copy")
    loaded = []
    real = reports.reference_for

    def once(batch, workbooks):
        loaded.append(real(batch, tmp_path / "wb-copy"))
        return loaded[-1]

    monkeypatch.setattr(render.reports, "reference_for", once)
    render.render_batch(batch_dir, workers=1)  # in this process, where the patch is
    assert len(loaded) == 1 and loaded[0] is not None
    utext = " ".join(visible_text((batch_dir / "reports" / "unmatched.html").read_text()).split())
    assert "1000 (O/0 or I/1 mixed up), held by account A4" in utext


def use_notebooks(tmp_path: Path, monkeypatch, cells: dict[str, str]) -> None:
    """Have the reports run these notebooks instead of the shipped ones: by report name,
    the code of the one cell after the parameters."""
    import contextlib

    folder = tmp_path / "nbs"
    folder.mkdir()
    for name, code in cells.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        params = nbformat.v4.new_code_cell("batch_dir = None")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, folder / f"{name}.ipynb")

    @contextlib.contextmanager
    def shipped(name):
        yield folder / name

    monkeypatch.setattr(render, "notebook", shipped)


def test_a_failing_notebook_keeps_its_error_and_exits_non_zero(
    batch_dir, tmp_path, monkeypatch, capsys
):
    use_notebooks(tmp_path, monkeypatch, {"billing": "raise ValueError('no totals here')"})
    assert main(["report", str(batch_dir)]) == 1
    err = capsys.readouterr().err
    assert (
        "charges: report failed: billing.ipynb failed in cell 3: ValueError: no totals here" in err
    )
    kept = nbformat.read(batch_dir / "reports" / "billing.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in kept.cells for o in c.get("outputs", []))


def test_period_summary_notebook(tmp_path):
    a, b = make_batch(tmp_path, "oct"), make_batch(tmp_path, "nov")
    files = render.render_period([a, b], tmp_path / "summary")
    text = " ".join(visible_text(files[-1].read_text()).split())
    assert "Period summary: 2 batches" in text
    assert "London PBX GBP 2 14 6" in text
    assert "28.60" in text


def test_notebooks_are_committed_without_outputs():
    for path in (Path(__file__).parent.parent / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == "python3"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path
        assert "parameters" in nb.cells[0].metadata.get("tags", [])


def test_a_batch_with_nothing_billed_still_has_its_tables(tmp_path):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "999,2026-10-01,a,1,1"])
    run_import(folder, "London", "PBX", [export], tmp_path / "o")
    b = reports.load_batch(tmp_path / "o")
    assert reports.by_account(b).columns.tolist() == [
        "Account ID",
        "Account Name",
        "Rows",
        "Quantity",
        "Net",
        "Tax",
        "Gross",
        "Share %",
    ]
    assert reports.by_product(b).empty and reports.daily(b).empty
    assert reports.statements(b) == {}
    assert reports.headline(b)["Charges dated"] == "no charges"


def test_no_device_cost_shows_no_margin_and_shares_have_one_decimal(tmp_path):
    data = base()
    data["Products"][0] = ["CALLS", "Pages", "Unit Price", 0.1, None, None, None, None]
    data["Products"][0] += [None, None, "No"]
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(
        tmp_path / "print.csv", [GENERIC_HEADER, "100,2026-10-01,a,30,0", "EXT1,2026-10-02,b,10,0"]
    )
    out = tmp_path / "b"
    run_import(folder, "London", "PBX", [export], out, dt.date(2026, 10, 31))
    b = reports.load_batch(out)
    product = reports.by_product(b)
    assert product["Margin"].tolist() == [None] and product["Margin %"].tolist() == [None]
    assert not reports.has_device_cost(b)
    badge = reports.balanced_badge(reports.reconciliation(b))
    assert "(no device cost in this export)" in badge and "adds up" not in badge
    summary = [
        r[0] for r in load_workbook(out / "batch.xlsx")["Summary"].iter_rows(values_only=True)
    ]
    assert "Device cost: none in this export, so no margin can be shown" in summary
    shown = reports.show(reports.by_account(b), ["Net"])
    assert shown["Share %"].tolist() == ["100.0"]
    render.render_batch(out)
    text = " ".join(visible_text((out / "reports" / "billing.html").read_text()).split())
    assert "No device cost in this export: no margin is shown." in text
    assert "the device cost adds up" not in text


def test_the_top_accounts_chart_stays_legible_with_2000_accounts():
    accounts = pd.DataFrame(
        {
            "Account ID": [f"A{i:04d}" for i in range(2000)],
            "Account Name": [f"Customer {i}" if i else "<b>Ltd</b> & Co" for i in range(2000)],
            "Net": [D(2000 - i) + D("0.05") for i in range(2000)],
        }
    )
    svg = reports.top_accounts_chart(accounts, 10, "GBP")
    assert svg.count("<rect") == 10
    labels = re.findall(r"<title>([^<]*)</title>", svg)
    assert [label.split()[0] for label in labels] == [f"A{i:04d}" for i in range(10)]
    assert labels[0] == "A0000 &lt;b&gt;Ltd&lt;/b&gt; &amp; Co"  # a name is text
    assert ">2,000.05</text>" in svg and ">1,991.05</text>" in svg  # exact figures
    assert "Top 10 accounts by net (GBP)" in svg


def test_a_chart_of_credits_draws_bars_either_side_of_zero():
    svg = reports.charts.horizontal_bars("t", ["a", "b"], [D(-5), D(10)], ["-5.00", "10.00"])
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.01)


def test_every_command_option_says_what_it_does():
    import argparse

    from processor.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"charges {name} {action.option_strings or action.dest}"


def test_both_notebooks_run_to_their_end_and_the_first_reports_error_is_told(
    batch_dir, tmp_path, monkeypatch, capsys
):
    # the two report notebooks run at once: when both fail, both executed copies keep
    # their errors and the billing report's is the one told
    use_notebooks(
        tmp_path,
        monkeypatch,
        {
            "billing": "raise ValueError('no totals here')",
            "unmatched": "raise ValueError('no rows here')",
        },
    )
    assert main(["report", str(batch_dir)]) == 1
    err = capsys.readouterr().err
    assert "billing.ipynb failed in cell 3: ValueError: no totals here" in err
    for name, error in (("billing", "no totals here"), ("unmatched", "no rows here")):
        kept = nbformat.read(batch_dir / "reports" / f"{name}.ipynb", as_version=4)
        told = [o.get("evalue") for c in kept.cells for o in c.get("outputs", [])]
        assert error in told


def test_reports_never_move_the_callers_working_directory(batch_dir, tmp_path, monkeypatch):
    # the notebooks run in this process or in workers: none changes the working directory
    # (papermill's reads and writes change into the one they hold, cleared to the current
    # one; a change elsewhere could leave the caller in a reports folder); the notebooks
    # are given absolute paths and see the caller's directory
    import os

    use_notebooks(
        tmp_path,
        monkeypatch,
        {n: "import os; print(os.getcwd())" for n in ("billing", "unmatched")},
    )
    monkeypatch.chdir(tmp_path)
    moves = []
    real_chdir = os.chdir
    monkeypatch.setattr(os, "chdir", lambda path: moves.append(str(path)) or real_chdir(path))
    for workers in (None, 1):
        render.render_batch(batch_dir, workers=workers)
        assert set(moves) <= {str(tmp_path)} and os.getcwd() == str(tmp_path)
        for name in ("billing", "unmatched"):
            kept = nbformat.read(batch_dir / "reports" / f"{name}.ipynb", as_version=4)
            printed = [o.get("text", "").strip() for c in kept.cells for o in c.get("outputs", [])]
            assert printed == [str(tmp_path)]


def _choose(batch_dir: Path, chosen: dict[str, str], name: str = "codes-to-add.xlsx") -> Path:
    """codes-to-add.xlsx of the batch with these codes' accounts chosen, saved as ``name``."""
    path = batch_dir / "reports" / "codes-to-add.xlsx"
    if not path.exists():
        assert main(["report", str(batch_dir)]) == 0
    wb = load_workbook(path)
    for row in wb["Codes To Add"].iter_rows(min_row=3):
        if row[2].value in chosen:
            row[0].value = chosen[row[2].value]
    wb.save(batch_dir / "reports" / name)
    return batch_dir / "reports" / name


def test_apply_codes_refuses_while_excel_has_the_workbook_open(batch_dir, tmp_path, capsys):
    path = _choose(batch_dir, {"1OOO": "A4 — Delta Ltd"})
    books = tmp_path / "wb"
    before = (books / "accounts.xlsx").read_bytes()
    (books / "~$accounts.xlsx").write_bytes(b"owner")
    capsys.readouterr()
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: {books / 'accounts.xlsx'}: is open in Excel (~$accounts.xlsx is there); close "
        "it in Excel, then run again (a workbook Excel has open would overwrite these codes when "
        "saved); nothing was changed"
    )
    assert (books / "accounts.xlsx").read_bytes() == before
    (books / "~$accounts.xlsx").unlink()
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 0


def test_apply_codes_writes_through_a_link_and_warns_of_odd_choices(batch_dir, tmp_path, capsys):
    books = tmp_path / "wb"
    shared = tmp_path / "shared"
    shared.mkdir()
    (books / "accounts.xlsx").rename(shared / "accounts.xlsx")
    (books / "accounts.xlsx").symlink_to(shared / "accounts.xlsx")
    # A2 is Inactive; A3 is at Leeds, and the codes were met at London
    path = _choose(batch_dir, {"1OOO": "A2 — Beta Ltd", "ABC13": "A3 — Gamma Ltd"})
    capsys.readouterr()
    assert main(["apply-codes", str(path), "--workbooks", str(books)]) == 0
    said = capsys.readouterr()
    assert said.err.splitlines() == [
        "charges: warning: 1OOO for PBX went to account A2, which is Inactive: its rows stay "
        "unmatched (inactive-account) until the account is Active",
        "charges: warning: ABC13 for PBX went to account A3, which is at Leeds: the code was met "
        "at London, where it still matches no account",
    ]
    assert (books / "accounts.xlsx").is_symlink()
    codes = load_workbook(shared / "accounts.xlsx")["Account Codes"]
    assert [c.value for c in codes[8]][:3] == ["A3", "PBX", "ABC13"]
    assert len(list(shared.glob("accounts.backup-*.xlsx"))) == 1


def test_two_apply_codes_at_once_keep_both_codes_and_both_backups(batch_dir, tmp_path):
    import subprocess
    import sys

    books = tmp_path / "wb"
    first = _choose(batch_dir, {"1OOO": "A4 — Delta Ltd"}, "first.xlsx")
    second = _choose(batch_dir, {"ABC13": "A1 — Acme Ltd"}, "second.xlsx")
    code = "import sys; from processor.cli import main; sys.exit(main(sys.argv[1:]))"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, "apply-codes", str(p), "--workbooks", str(books)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in (first, second)
    ]
    assert [r.wait(timeout=120) for r in runs] == [0, 0]
    codes = load_workbook(books / "accounts.xlsx")["Account Codes"]
    added = {tuple(c.value for c in row[:3]) for row in codes.iter_rows(min_row=7)}
    assert added == {("A4", "PBX", "1OOO"), ("A1", "PBX", "ABC13")}
    assert len(list(books.glob("accounts.backup-*.xlsx"))) == 2


def test_apply_codes_puts_a_login_on_the_device_import_map(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER, "j.smith,2026-10-01,print,1,1.00", "ABC9,2026-10-02,call,1,2.00"],
    )
    out = tmp_path / "b"
    run_import(folder, "London", "PBX", [export], out, dt.date(2026, 10, 31))
    path = _choose(out, {"J.SMITH": "A1 — Acme Ltd", "ABC9": "A1 — Acme Ltd"})
    capsys.readouterr()
    assert main(["apply-codes", str(path), "--workbooks", str(folder)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("Added 1 code to ") and "Account Codes, rows 5 to 5" in said[0]
    assert said[1].startswith(
        f"Added 1 login (codes with . - _ or @, which Account Codes cannot hold) to "
        f"{folder / 'devices.xlsx'} › Device Import Maps, rows 3 to 3; the previous workbook is "
    )
    maps = load_workbook(folder / "devices.xlsx")["Device Import Maps"]
    assert [c.value for c in maps[3]][:4] == ["PBX", "London", "J.SMITH", "A1"]
    codes = load_workbook(folder / "accounts.xlsx")["Account Codes"]
    assert [c.value for c in codes[5]][:3] == ["A1", "PBX", "ABC9"]
    assert len(list(folder.glob("devices.backup-*.xlsx"))) == 1
    assert main(["retry", str(out), "--out", str(tmp_path / "r")]) == 0
    charges = pd.read_parquet(tmp_path / "r" / "charges.parquet")
    assert charges[["code", "account_id"]].values.tolist() == [["J.SMITH", "A1"], ["ABC9", "A1"]]


def test_batches_rendered_side_by_side_are_the_pages_rendered_one_at_a_time(tmp_path):
    first, second = make_batch(tmp_path, "oct"), make_batch(tmp_path, "nov")
    together = render.render_batches([first, second])  # in worker processes
    assert [d.batch for d in together] == [first, second]
    pages = {}
    for b in (first, second):
        for f in sorted((b / "reports").rglob("*")):
            if f.suffix in {".html", ".csv"}:
                pages[f] = f.read_bytes()
    assert len(pages) == 2 * (2 + 2)  # two reports and two statements' CSV each
    for b in (first, second):
        render.render_batch(b, workers=1)  # in this process, one job after the other
    assert {f: f.read_bytes() for f in pages} == pages


def test_a_batch_folder_that_fails_its_check_stops_the_call_before_any_rendering(tmp_path):
    first, second = make_batch(tmp_path, "oct"), make_batch(tmp_path, "nov")
    (second / "charges.parquet").unlink()
    with pytest.raises(UsageError, match=r"nov/charges.parquet: is missing; it was part of"):
        render.render_batches([first, second])
    assert not (first / "reports" / "billing.html").exists()  # nothing was rendered
