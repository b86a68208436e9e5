"""The second month, as a clerk meets it: totals on every money table, a negative margin
said in words, codes-to-add asking only for codes still missing and printing legibly, and
the console showing money one way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook

from processor import load_batch, load_reference, run_import
from processor import reports as r
from processor.cli import main
from tests.conftest import GENERIC_HEADER, base, row, write_books, write_csv


def pages_books(folder: Path, price: float = 0.10) -> Path:
    data = base()
    data["Products"] = [
        row("Products", Product="PAGES", Description="Pages", Pricing="Unit Price",
            Unit_Price=price),
    ]  # fmt: skip
    data["Applications"] = [
        row("Applications", Application="PBX", Format="generic-csv", Product="PAGES")
    ]
    return write_books(folder, data)


def test_totals_rows_and_a_negative_margin_in_words(tmp_path):
    wb = pages_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER, "100,2026-10-01,a,10,5.00", "EXT1,2026-10-02,b,3,1.00"],
    )
    run_import(wb, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    batch = load_batch(tmp_path / "b")
    products = r.by_product(batch)
    # 13 pages at 0.10 = 1.30 billed against a device cost of 6.00
    assert r.negative_margins(products) == [
        "PAGES: margin -4.70 (-361.5 %): the device's cost is above the price billed for it. "
        "Check the product's pricing (Products sheet: Pricing, Unit Price, Markup) before "
        "approving"
    ]
    assert "⚠ PAGES: margin -4.70" in r.warnings_html(r.negative_margins(products))
    shown = r.with_total(products, "Total")
    assert shown.iloc[-1]["Product"] == "Total"
    assert [str(shown.iloc[-1][c]) for c in ("Rows", "Net", "Device cost", "Margin")] == [
        "2", "1.300000", "6.000000", "-4.700000"
    ]  # fmt: skip
    accounts = r.with_total(r.by_account(batch), "Total", 0)
    assert accounts.iloc[-1]["Account ID"] == "Total (all 1)"
    assert accounts.iloc[-1]["Share %"] is None


def test_codes_to_add_asks_only_for_codes_still_missing_and_prints_on_the_page(tmp_path):
    wb = pages_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER, "399,2026-10-01,a,1,0", "398,2026-10-01,b,1,0"],
    )
    run_import(wb, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    batch = load_batch(tmp_path / "b")
    ref, _ = load_reference(wb)
    first = r.write_codes_to_add(batch, ref, tmp_path / "one.xlsx", {})
    ws = load_workbook(first).active
    assert [ws.cell(i, 3).value for i in (3, 4)] == ["398", "399"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$2:$2"
    assert ws.row_dimensions[1].height == 64
    # 399 is given to A1 (as apply-codes would): the next file asks only for 398
    book = load_workbook(wb / "accounts.xlsx")
    book["Account Codes"].append(["A1", "PBX", "399"])
    book.save(wb / "accounts.xlsx")
    ref, _ = load_reference(wb)
    again = load_workbook(r.write_codes_to_add(batch, ref, tmp_path / "two.xlsx", {})).active
    assert [ws.cell(i, 3).value for i in (3, 4)] == ["398", "399"]
    assert again.cell(3, 3).value == "398" and again.cell(4, 3).value is None


def test_the_console_shows_money_one_way_and_history_no_empty_dates(tmp_path, capsys):
    wb = pages_books(tmp_path / "wb")
    args = ["import", "--workbooks", str(wb), "--location", "London", "--application", "PBX",
            "--batch-date", "2026-10-31"]  # fmt: skip
    billed = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,10,0.5"])
    assert main([*args, "--out", str(tmp_path / "a"), str(billed)]) == 0
    out = capsys.readouterr().out
    assert "  device cost 0.5000: billed 0.5000, unmatched 0.0000, skipped 0.0000" in out
    assert "  billed GBP net 1.00, tax 0.20 (per line), gross 1.20" in out
    nothing = write_csv(tmp_path / "n.csv", [GENERIC_HEADER, "999,2026-10-02,a,1,0.5"])
    assert main([*args, "--out", str(tmp_path / "n"), str(nothing)]) == 0
    assert "  billed GBP net 0.00, tax 0.00 (per line), gross 0.00" in capsys.readouterr().out
    assert main(["history", "--workbooks", str(wb)]) == 0
    shown = capsys.readouterr().out
    assert (
        "    no charges billed; rows 1: billed 0, unmatched 1, skipped 0; GBP net 0.00, tax "
        "0.00, gross 0.00" in shown
    )
    assert "charges 2026-10-01 to 2026-10-01; rows 1: billed 1" in shown


def test_the_period_summary_counts_each_export_row_once_where_it_ended(tmp_path):
    from processor import run_retry

    wb = pages_books(tmp_path / "wb")
    rows = [f"{c},2026-10-0{d},r{d},1,0" for d, c in ((1, "100"), (2, "399"), (3, "398"))]
    first = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, *rows])
    run_import(wb, "London", "PBX", [first], tmp_path / "a", dt.date(2026, 10, 31))
    book = load_workbook(wb / "accounts.xlsx")
    book["Account Codes"].append(["A1", "PBX", "399"])
    book.save(wb / "accounts.xlsx")
    run_retry(tmp_path / "a", tmp_path / "r", workbooks=wb)
    # an overlapping export: its first three rows again, and one new
    overlap = write_csv(tmp_path / "b.csv", [GENERIC_HEADER, *rows, "100,2026-10-04,r4,1,0"])
    run_import(wb, "London", "PBX", [overlap], tmp_path / "b", dt.date(2026, 10, 31))
    batches = [load_batch(tmp_path / f) for f in ("a", "r", "b")]
    summary = r.period_summary(batches)
    # r1, r2 (billed by the retry) and r4 billed; r3 still unmatched; nothing else
    assert summary[["Batches", "Rows", "Billed", "Unmatched", "Skipped"]].values.tolist() == [
        [3, 4, 3, 1, 0]
    ]
    assert r.period_totals(summary)["Rows"].tolist() == [4]


def test_unbilled_rows_show_their_value_at_stake_as_an_estimate(tmp_path):
    import dataclasses
    from decimal import Decimal

    from processor.reports.at_stake import at_stake_by_code, total_at_stake, value_at_stake
    from tests.test_alerts import alert_books, calls

    wb = pages_books(tmp_path / "wb", price=0.07)
    export = write_csv(
        tmp_path / "e.csv",
        [GENERIC_HEADER, "399,2026-10-01,a,12,0", "399,2026-10-02,b,3,0", "398,2026-10-01,c,5,0"],
    )
    run_import(wb, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    batch = load_batch(tmp_path / "b")
    ref, _ = load_reference(wb)
    # each row priced as if matched: pages × 0.07, rounded to the penny
    assert value_at_stake(batch, ref).tolist() == [
        Decimal("0.84"),
        Decimal("0.21"),
        Decimal("0.35"),
    ]
    assert at_stake_by_code(batch, ref) == {"399": Decimal("1.05"), "398": Decimal("0.35")}
    assert total_at_stake(batch, ref) == Decimal("1.40")
    # the batch keeps the estimates made at its import: the Unmatched sheet shows them, and
    # a report without the workbooks at hand has them all the same
    assert total_at_stake(batch, None) == Decimal("1.40")
    sheet = load_workbook(tmp_path / "b" / "batch.xlsx")["Unmatched"]
    assert sheet["I1"].value == "At Stake (estimate)"
    assert [sheet.cell(i, 9).value for i in (2, 3, 4)] == [0.84, 0.21, 0.35]
    # an older batch, imported before the estimates were kept: made now, from the workbooks
    older = dataclasses.replace(batch, unmatched=batch.unmatched.drop(columns="at_stake"))
    assert total_at_stake(older, ref) == Decimal("1.40")
    assert total_at_stake(older, None) is None  # without the workbooks, nothing is guessed
    ws = load_workbook(r.write_codes_to_add(batch, ref, tmp_path / "c.xlsx", {})).active
    assert ws["F2"].value == "Value at stake (estimate)"
    assert [(ws.cell(i, 3).value, ws.cell(i, 6).value) for i in (3, 4)] == [
        ("399", 1.05), ("398", 0.35)
    ]  # fmt: skip
    headline = r.unbilled_headline(batch, {"total": "1.40", "codes": {}})
    assert headline["Value at stake (estimate)"] == (
        "1.40 GBP: the unmatched rows of Unit Price and Tariff products priced as if they had "
        "matched, at the products' own prices"
    )
    # a call: its tariff's rate for the number dialled (none where no rate covers it)
    wb2 = alert_books(tmp_path / "wb2")
    rows = [("A9", "2026-10-03 10:00", 120, "07700900123"), ("A9", "2026-10-03 11:00", 60, "05")]
    run_import(wb2, "London", "PBX", [calls(tmp_path / "c.csv", rows)], tmp_path / "c",
               dt.date(2026, 10, 31))  # fmt: skip
    ref2, _ = load_reference(wb2)
    assert value_at_stake(load_batch(tmp_path / "c"), ref2).tolist() == [Decimal("1.20"), None]
