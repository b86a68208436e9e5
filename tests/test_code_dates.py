"""Codes change hands (issue 20, part 2): Account Codes and Device Import Maps carry
optional From and To dates; a row matches a code only on the days it holds it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from processor import findings as fnd
from processor import run_import, validate_folder
from tests.conftest import GENERIC_HEADER, base, row, write_books, write_csv


def _books(tmp_path, extra_codes=(), maps_to=None):
    data = base()
    data["Accounts"].append(
        row("Accounts", Account_ID="A4", Account_Name="Delta Ltd", Location="London",
            Status="Active")
    )  # fmt: skip
    # extension 100 moved from Acme to Delta on 15 October
    data["Account Codes"][0] = row(
        "Account Codes", Account_ID="A1", Application="PBX", Code="100", To="2026-10-14"
    )
    data["Account Codes"].append(
        row("Account Codes", Account_ID="A4", Application="PBX", Code="100", From="2026-10-15")
    )
    data["Account Codes"] += list(extra_codes)
    data["Device Import Maps"][0] = row(
        "Device Import Maps", Application="PBX", Location="London", Code="EXT1",
        Account_ID="A1", To=maps_to or "2026-10-10",
    )  # fmt: skip
    return write_books(tmp_path / "wb", data)


def test_an_extension_that_moved_mid_month_bills_each_call_to_who_held_it(tmp_path):
    folder = _books(tmp_path)
    _, found = validate_folder(folder)
    assert found.empty
    export = write_csv(
        tmp_path / "e.csv",
        [
            GENERIC_HEADER,
            "100,2026-10-01 09:00,a,1,1.00",
            "100,2026-10-14 23:59,b,1,2.00",
            "100,2026-10-15 00:00,c,1,3.00",
            "EXT1,2026-10-05 12:00,d,1,4.00",
            "EXT1,2026-10-20 12:00,e,1,5.00",
        ],
    )
    result = run_import(folder, "London", "PBX", [export], tmp_path / "b")
    charges = pd.read_parquet(tmp_path / "b" / "charges.parquet")
    assert charges[["line", "account_id"]].values.tolist() == [
        [2, "A1"], [3, "A1"], [4, "A4"], [5, "A1"],
    ]  # fmt: skip
    # Cost Plus 10 %: each charge's net from the README's rule, rounded half away from zero
    nets = {"A1": Decimal(0), "A4": Decimal(0)}
    for account, cost in (("A1", "1.00"), ("A1", "2.00"), ("A4", "3.00"), ("A1", "4.00")):
        net = (Decimal(cost) * Decimal("1.10")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        nets[account] += net
    lines = pd.read_parquet(tmp_path / "b" / "lines.parquet")
    got = {a: Decimal(str(v)) for a, v in zip(lines["account_id"], lines["net"], strict=True)}
    assert got == nets
    assert Decimal(result.manifest["billed"]["net"]) == sum(nets.values())
    unmatched = pd.read_parquet(tmp_path / "b" / "unmatched.parquet")
    assert unmatched[["line", "reason", "code"]].values.tolist() == [
        [6, "outside-code-dates", "EXT1"]
    ]
    assert unmatched["message"][0].startswith(
        'code "EXT1" of PBX at London belongs to account A1 up to 2026-10-10, not on 2026-10-20'
    )
    assert result.manifest["rows"] == {"read": 5, "matched": 4, "unmatched": 1, "skipped": 0}


def test_overlapping_days_of_one_code_are_an_error_naming_both_rows(tmp_path):
    overlap = row("Account Codes", Account_ID="A1", Application="PBX", Code="100",
                  From="2026-10-14", To="2026-10-20")  # fmt: skip
    backwards = row("Account Codes", Account_ID="A4", Application="PBX", Code="400",
                    From="2026-10-20", To="2026-10-01")  # fmt: skip
    folder = _books(tmp_path, [overlap, backwards])
    _, found = validate_folder(folder)
    errors = [fnd.render(r) for r in found.to_dict("records") if r["severity"] == "error"]
    assert errors == [
        'accounts.xlsx › Account Codes › C6: code "100" for PBX at this location belongs to '
        "account A1 from 2026-10-14 to 2026-10-20 here and to account A4 from 2026-10-15 at "
        "accounts.xlsx › Account Codes › C5, and those days overlap; a code belongs to one "
        "account on any day: correct the From and To dates of one of them",
        "accounts.xlsx › Account Codes › E7: To 2026-10-01 is before From 2026-10-20",
    ]


def test_suggestions_name_each_holder_of_a_code_and_their_days(tmp_path):
    from processor import load_reference, reports

    ref, _ = load_reference(_books(tmp_path))
    assert reports.suggestions(["1OO", "EXT1"], ref, "PBX", "London") == {
        "1OO": [
            "100 (O/0 or I/1 mixed up), held by account A1 (Acme Ltd) up to 2026-10-14",
            "100 (O/0 or I/1 mixed up), held by account A4 (Delta Ltd) from 2026-10-15",
        ],
        "EXT1": [],
    }
    assert reports.suggestions(["EXT1"], ref, "PBX", "Leeds") == {
        "EXT1": ["EXT1 is held by account A1 (Acme Ltd) up to 2026-10-10 for PBX at London"]
    }
