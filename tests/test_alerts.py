"""Spend alerts before approval: each alert raised, and not raised just below its line; the
manifest lists them, the Summary sheet and the billing report show them before the totals,
and `charges import --fail-on-alert` exits 3."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from processor import run_import, void_batch
from processor.cli import main
from processor.reports import alerts_html
from tests.conftest import row, write_books, write_csv

HEADER = "Code,Date,Description,Quantity,Cost,Item,Duration,Destination"


def alert_books(folder: Path, **location) -> Path:
    """Calls rated on tariff Std (07 mobile at 0.60 a minute, 09 premium at 1.20); pages
    at 0.10. A1 and A2 at London."""
    data = {
        "Locations": [
            row("Locations", {"Tax Rate %": 20, **location}, Location="London", Currency="GBP")
        ],
        "Accounts": [
            row("Accounts", Account_ID="A1", Account_Name="Acme Ltd", Location="London",
                Status="Active"),
            row("Accounts", {"Alert Above": 20}, Account_ID="A2", Account_Name="Birch Legal",
                Location="London", Status="Active"),
        ],
        "Account Codes": [
            row("Account Codes", Account_ID=a, Application="PBX", Code=a) for a in ("A1", "A2")
        ],
        "Applications": [
            row("Applications", Application="PBX", Format="generic-csv", Product="CALLS")
        ],
        "Device Import Maps": [],
        "Products": [
            row("Products", Product="CALLS", Description="Calls", Pricing="Tariff", Tariff="Std"),
        ],
        "Product Rules": [],
        "Formats": [],
        "Tariffs": [
            row("Tariffs", Tariff="Std", Prefix="07", Destination="UK mobile",
                Rate_Per_Minute=0.60),
            row("Tariffs", Tariff="Std", Prefix="09", Destination="Premium rate",
                Rate_Per_Minute=1.20, Premium="Yes"),
        ],
        "Time Bands": [
            row("Time Bands", Band="Night", Days="Mon-Sun", From="22:00", To="06:00"),
        ],
    }  # fmt: skip
    return write_books(folder, data)


def calls(path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    """(account, when, seconds, number) rows."""
    return write_csv(path, [HEADER, *[f"{a},{w},call,1,0,,{s},{n}" for a, w, s, n in rows]])


def minutes(account: str, day: str, count: int, hour: int = 10, number: str = "07700900123"):
    """``count`` one-minute calls (0.60 each) on ``day`` from ``hour``:00."""
    return [(account, f"{day} {hour:02d}:{i:02d}", 60, number) for i in range(count)]


def imported(tmp_path: Path, wb: Path, name: str, rows, batch_date: str):
    export = calls(tmp_path / f"{name}.csv", rows)
    return run_import(
        wb, "London", "PBX", [export], tmp_path / name, dt.date.fromisoformat(batch_date)
    )


def test_a_jump_against_the_monthly_average_is_flagged_and_a_smaller_one_not(tmp_path):
    wb = alert_books(tmp_path / "wb")
    # July and August: A1 billed 6.00 (10 calls) a month, A2 2.40
    for month in ("07", "08"):
        rows = minutes("A1", f"2026-{month}-03", 10) + minutes("A2", f"2026-{month}-03", 4)
        imported(tmp_path, wb, f"m{month}", rows, f"2026-{month}-31")
    # a September batch voided: it counts in no average
    bad = imported(tmp_path, wb, "m09", minutes("A1", "2026-09-03", 50), "2026-09-30")
    void_batch(bad.batch_dir, "wrong export")
    # October: A1 18.60 (31 calls: 3.1 times 6.00), A2 7.20 (12 calls: 3.0 times 2.40)
    rows = minutes("A1", "2026-10-03", 31) + minutes("A2", "2026-10-03", 12)
    result = imported(tmp_path, wb, "m10", rows, "2026-10-31")
    alerts = result.manifest["alerts"]
    assert [(a["kind"], a["account_id"]) for a in alerts] == [("spend-jump", "A1")]
    assert alerts[0]["message"] == (
        "A1 (Acme Ltd): net 18.60 in this batch is 3.1 times its monthly average of 6.00 over "
        "2 months (2026-07, 2026-08); check its calls and codes before approving"
    )


def test_no_jump_without_an_earlier_month(tmp_path):
    wb = alert_books(tmp_path / "wb")
    result = imported(tmp_path, wb, "oct", minutes("A1", "2026-10-03", 30), "2026-10-31")
    assert result.manifest["alerts"] == []


def test_an_account_above_its_own_limit_is_flagged(tmp_path):
    wb = alert_books(tmp_path / "wb")
    # A2's Alert Above is 20.00: 34 calls are 20.40, 33 are 19.80
    over = imported(tmp_path, wb, "over", minutes("A2", "2026-10-03", 34), "2026-10-31")
    assert [a["message"] for a in over.manifest["alerts"]] == [
        "A2 (Birch Legal): net 20.40 in this batch is above its Alert Above of 20.00; check it "
        "before approving"
    ]
    under = imported(tmp_path, wb, "under", minutes("A2", "2026-10-04", 33), "2026-10-31")
    assert under.manifest["alerts"] == []


@pytest.mark.parametrize(
    ("rows", "raised"),
    [
        (minutes("A1", "2026-10-03", 11, number="0906000000"), (11, 0)),
        (minutes("A1", "2026-10-03", 10, number="0906000000"), None),
        (minutes("A1", "2026-10-03", 11, hour=20), (0, 11)),  # 20:00 is out of hours
        (minutes("A1", "2026-10-03", 11, hour=6), (0, 11)),
        (minutes("A1", "2026-10-03", 11, hour=7), None),  # 07:00 is not
        (minutes("A1", "2026-10-03", 6, hour=21, number="0906000000")
         + minutes("A1", "2026-10-04", 5, hour=12, number="0906000000"), (11, 6)),
    ],
)  # fmt: skip
def test_premium_and_out_of_hours_calls_above_the_count_are_toll_fraud_signs(
    tmp_path, rows, raised
):
    wb = alert_books(tmp_path / "wb")
    result = imported(tmp_path, wb, "b", rows, "2026-10-31")
    alerts = [a for a in result.manifest["alerts"] if a["kind"] == "toll-fraud-signs"]
    if raised is None:
        assert alerts == []
        return
    premium, late = raised
    assert alerts[0]["message"] == (
        f"A1 (Acme Ltd): 11 calls to premium destinations or out of hours ({premium} premium, "
        f"{late} between 20:00 and 07:00), more than the 10 allowed (Locations › Alert Calls): "
        "the signs of toll fraud, or of a code mapped to the wrong account; check before "
        "approving"
    )


def test_a_named_band_is_out_of_hours_and_the_count_is_the_locations(tmp_path):
    wb = alert_books(tmp_path / "wb", **{"Out Of Hours Band": "Night", "Alert Calls": 3})
    at_nine = imported(tmp_path, wb, "nine", minutes("A1", "2026-10-03", 4, hour=21), "2026-10-31")
    assert at_nine.manifest["alerts"] == []  # 21:00 is not in Night (22:00 to 06:00)
    late = imported(tmp_path, wb, "late", minutes("A1", "2026-10-04", 4, hour=23), "2026-10-31")
    assert [a["kind"] for a in late.manifest["alerts"]] == ["toll-fraud-signs"]
    assert "4 in time band Night), more than the 3 allowed" in late.manifest["alerts"][0]["message"]


def test_the_summary_sheet_and_report_show_alerts_first_and_fail_on_alert_exits_3(tmp_path, capsys):
    wb = alert_books(tmp_path / "wb")
    export = calls(tmp_path / "e.csv", minutes("A2", "2026-10-03", 40))
    args = ["import", "--workbooks", str(wb), "--location", "London", "--application", "PBX",
            "--batch-date", "2026-10-31"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a"), "--fail-on-alert", str(export)]) == 3
    err = capsys.readouterr().err
    assert "charges: ALERT: A2 (Birch Legal): net 24.00 in this batch is above its Alert" in err
    book = load_workbook(tmp_path / "a" / "batch.xlsx")
    first = [c.value for c in book["Summary"]["A"]][:3]
    assert first[1].startswith("ALERT: A2 (Birch Legal): net 24.00")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["alerts"][0]["kind"] == "above-limit"
    assert manifest["account_nets"] == {"A2": "24.00"}
    shown = alerts_html({"alerts": [{"message": "A9 (<b>x</b>): net 1.00"}]})
    assert "A9 (&lt;b&gt;x&lt;/b&gt;): net 1.00" in shown and "1 spend alert:" in shown
    # a batch without alerts: exit 0 with --fail-on-alert
    quiet = calls(tmp_path / "q.csv", minutes("A1", "2026-10-05", 2))
    assert main([*args, "--out", str(tmp_path / "q"), "--fail-on-alert", str(quiet)]) == 0
