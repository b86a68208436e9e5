"""The exact-money rules, one test each: held values, canonical names, credits, tax
rounding, percentages as Excel people type them, and which reason wins."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from processor import create_history, run_import
from tests.conftest import GENERIC_HEADER, base, put, sheet_lines, write_books, write_csv

D = Decimal


def run(tmp_path: Path, lines: list[str], data=None):
    folder = write_books(tmp_path / "wb", data or base())
    export = write_csv(tmp_path / "export.csv", lines)
    out = tmp_path / "batch"
    result = run_import(folder, "London", "PBX", [export], out, dt.date(2026, 10, 31))
    return result.manifest, out


def frame(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def sheet(out: Path, name: str = "Batch Sheet") -> list[tuple]:
    return sheet_lines(out / "batch.xlsx", name)


def unit_price(price, minimum=None, tax=None, zero="No") -> list:
    return ["UP", "Pages", "Unit Price", price, None, None, minimum, tax, None, None, zero]


def test_held_values_are_what_is_priced_stored_and_summed(tmp_path):
    data = base()
    put(data, "Products", 0, {"Markup %": 0})  # no markup: net = the held cost, rounded
    m, out = run(
        tmp_path,
        [
            GENERIC_HEADER,
            "100,2026-10-01,a,1.0000004,2.6749999",  # held 1.000000 and 2.675000 → 2.68
            "100,2026-10-02,b,2.0000005,0.0049999",  # held 2.000001 and 0.005000 → 0.01
        ],
        data,
    )
    c = frame(out, "charges")
    assert [D(str(v)) for v in c["cost"]] == [D("2.675000"), D("0.005000")]
    assert [D(str(v)) for v in c["quantity"]] == [D("1.000000"), D("2.000001")]
    assert [D(str(v)) for v in c["net"]] == [D("2.68"), D("0.01")]
    assert m["cost"]["read"] == "2.680000"  # the sum of the held costs, not of the text
    (line,) = sheet(out)
    assert line[4] == 3.000001  # quantity: the sum of held values
    assert json.loads((out / "manifest.json").read_text())["billed"]["net"] == "2.69"


def test_a_product_named_in_another_case_is_one_product(tmp_path):
    data = base()
    data["Products"] = [
        ["CP", "Calls", "Cost Plus", None, 0, 0, None, None, "4000", None, "No"],
    ]
    put(data, "Applications", 0, {"Product": "cp"})  # the default product, spelled differently
    data["Product Rules"] = [["pbx", "mono", " Cp "]]
    put(data, "Locations", 0, {"Location": "London"})
    _, out = run(
        tmp_path,
        [GENERIC_HEADER + ",Item", "100,2026-10-01,a,1,1.00,mono", "100,2026-10-02,b,1,2.00,"],
        data,
    )
    assert frame(out, "charges")["product"].tolist() == ["CP", "CP"]
    assert [(r[0], r[2], r[5]) for r in sheet(out)] == [("A1", "CP", 3)]


def test_location_and_tariff_names_carry_their_own_sheets_spelling(tmp_path):
    data = base()
    data["Products"] = [["T", "Calls", "Tariff", None, None, None, None, None, None, "std", "No"]]
    put(data, "Applications", 0, {"Product": "T"})
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(
        tmp_path / "e.csv", [GENERIC_HEADER + ",Destination", "100,2026-10-01,a,1,0,999"]
    )
    result = run_import(folder, " london ", "pbx", [export], tmp_path / "b")
    assert (result.manifest["location"], result.manifest["application"]) == ("London", "PBX")
    assert frame(tmp_path / "b", "unmatched")["message"][0] == (
        'no rate on tariff Std for destination "999"; add a prefix for it to the Tariffs sheet'
    )


def test_credits_are_billed_negative_never_raised_and_netted(tmp_path):
    data = base()
    put(data, "Products", 0, {"Minimum Charge": 0.10})  # Minimum Charge
    m, out = run(
        tmp_path,
        [
            GENERIC_HEADER,
            "100,2026-10-01,refund,1,-1.50",  # credit: -1.65, not raised to 0.10
            "100,2026-10-02,call,1,0.01",  # 0.011 → raised to 0.10
            "100,2026-10-03,call,1,5.00",  # 5.50
            "100,2026-10-04,tiny credit,1,-0.004",  # -0.0044 → rounds to 0: zero-price
        ],
        data,
    )
    assert [D(str(v)) for v in frame(out, "charges")["net"]] == [D("-1.65"), D("0.10"), D("5.50")]
    assert frame(out, "unmatched")["reason"].tolist() == ["zero-price"]
    assert m["credits"] == {"rows": 1, "net": "-1.65"}
    ((_, _, _, _, qty, net, rate, tax, gross, _, _, _, _),) = sheet(out)
    assert (qty, net, rate, tax, gross) == (3, 3.95, 20, 0.79, 4.74)
    summary = {r[0]: r for r in sheet(out, "Summary")}
    assert summary["Credits (billed, included above)"][1:4] == (1, None, -1.65)
    # the billing report lists them apart, and its headline names them
    from processor import reports

    b = reports.load_batch(out)
    listed = reports.credits(b)
    assert listed[["Account ID", "Description"]].values.tolist() == [["A1", "refund"]]
    assert [D(str(v)) for v in listed["Net"]] == [D("-1.65")]
    assert reports.headline(b)["Credits (GBP)"] == "-1.65 on 1 row"


def test_minimum_charge_raises_zero_too(tmp_path):
    data = base()
    data["Products"] = [unit_price(0, minimum=0.25)]
    put(data, "Applications", 0, {"Product": "UP"})
    _, out = run(tmp_path, [GENERIC_HEADER, "100,2026-10-01,a,3,0"], data)
    assert [D(str(v)) for v in frame(out, "charges")["net"]] == [D("0.25")]


def test_per_line_tax_is_worked_on_the_line_as_the_bill_run_invoices(tmp_path):
    # three charges of 0.13: per charge 0.026 → 0.03 each (0.09); per line 0.39 × 20 % = 0.078
    # → 0.08, as the billing system computes tax on the invoice line
    lines = [GENERIC_HEADER] + [f"100,2026-10-0{d},a,1,0" for d in (1, 2, 3)]
    for rounding, tax, charge_tax in (("Per Line", 0.08, None), ("Per Charge", 0.09, D("0.03"))):
        data = base()
        data["Products"] = [unit_price(0.13)]
        put(data, "Applications", 0, {"Product": "UP"})
        put(data, "Locations", 0, {"Tax Rounding": rounding})
        tmp = tmp_path / rounding
        m, out = run(tmp, lines, data)
        ((*_, net, rate, t, gross, _, _, _, _),) = sheet(out)
        assert (net, rate, t, gross) == (0.39, 20, tax, round(0.39 + tax, 2))
        assert m["billed"] == {
            "net": "0.39",
            "tax": str(D(str(tax))),
            "gross": str(D("0.39") + D(str(tax))),
        }
        c = frame(out, "charges")
        got = [None if pd.isna(v) else D(str(v)) for v in c["tax"]]
        assert got == [charge_tax] * 3
        assert m["tax_rounding"] == rounding


def test_per_line_tax_on_every_demo_line_is_the_rate_of_its_net():
    """The samples' London location rounds per line: every Batch Sheet line's tax is its net
    × rate, rounded half away from zero (the check that found 14 of 21 lines off)."""
    samples = Path(__file__).parent.parent / "samples"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "b"
        run_import(
            samples / "workbooks",
            "London",
            "Reception PBX",
            [samples / "exports" / "london-pbx.csv"],
            out,
            dt.date(2026, 10, 31),
            history=create_history(Path(tmp) / "history.sqlite"),
        )
        lines = frame(out, "lines")
        assert len(lines) > 10
        for net, rate, tax in zip(lines["net"], lines["tax_rate"], lines["tax"], strict=True):
            want = (D(str(net)) * D(str(rate)) / 100).quantize(D("0.01"), ROUND_HALF_UP)
            assert D(str(tax)) == want


def test_percent_formatted_cells_read_as_people_typed_them(tmp_path):
    data = base()
    folder = write_books(tmp_path / "wb", data)
    wb = load_workbook(folder / "accounts.xlsx")
    wb["Locations"]["C2"] = 0.175
    wb["Locations"]["C2"].number_format = "0.0%"
    wb.save(folder / "accounts.xlsx")
    wb = load_workbook(folder / "devices.xlsx")
    wb["Products"]["E2"] = 0.15  # Markup % shown as 15 %
    wb["Products"]["E2"].number_format = "0%"
    wb.save(folder / "devices.xlsx")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,10.00"])
    result = run_import(folder, "London", "PBX", [export], tmp_path / "b")
    # 10 × 1.15 = 11.50; tax 17.5 % = 2.0125 → 2.01
    assert result.manifest["billed"] == {"net": "11.50", "tax": "2.01", "gross": "13.51"}


def test_which_reason_when_no_field_matches(tmp_path):
    # Fall Back When Unmatched: every field is tried before a reason is given
    data = base()
    put(data, "Applications", 0, {"Match On": "Item, Code", "Fall Back": "When Unmatched"})
    _, out = run(
        tmp_path,
        [
            GENERIC_HEADER + ",Item",
            "999,2026-10-01,a,1,1.00,300",  # 300 is held at Leeds: code-at-other-location
            "300,2026-10-01,b,1,1.00,888",  # the second field is held at Leeds: still
            "1/2,2026-10-01,c,1,1.00,777",  # first non-empty field is 777: unknown-code
            "999,2026-10-01,d,1,1.00,x/y",  # first non-empty field is invalid
            "999,2026-10-01,e,1,1.00,",  # Item empty: the first non-empty is 999
            ",2026-10-01,f,1,1.00,",  # nothing at all: missing-code
            "100,2026-10-01,g,1,1.00,x/y",  # an invalid first field never stops a match
        ],
        data,
    )
    u = frame(out, "unmatched")
    codes = [None if pd.isna(c) else c for c in u["code"]]
    assert list(zip(u["line"], u["reason"], codes, strict=True)) == [
        (2, "code-at-other-location", "300"),
        (3, "code-at-other-location", "300"),
        (4, "unknown-code", "777"),
        (5, "invalid-code", "x/y"),
        (6, "unknown-code", "999"),
        (7, "missing-code", None),
    ]
    assert frame(out, "charges")["line"].tolist() == [8]


def test_a_code_that_is_there_decides_the_row_and_only_an_empty_one_falls_back(tmp_path):
    # Fall Back When Empty (the default): the account code typed on the phone decides; the
    # extension (the Item column here, EXT1 is A1's on the Device Import Map) is tried
    # only when no code was typed, so nobody is billed for a code they do not hold
    data = base()
    put(data, "Applications", 0, {"Match On": "Code, Item"})
    _, out = run(
        tmp_path,
        [
            GENERIC_HEADER + ",Item",
            "0113,2026-10-01,a,1,1.00,EXT1",  # a new client's code, held by nobody yet
            "01O4,2026-10-01,b,1,1.00,EXT1",  # a mistyped code (letter O)
            "300,2026-10-01,c,1,1.00,EXT1",  # a code of Leeds, imported at London
            "1/2,2026-10-01,d,1,1.00,EXT1",  # not a code at all
            "200,2026-10-01,e,1,1.00,EXT1",  # A2's code: A2 is Inactive
            ",2026-10-01,f,1,1.00,EXT1",  # no code typed: the extension decides
            "100,2026-10-01,g,1,1.00,",  # A1's code
            ",2026-10-01,h,1,1.00,",  # nothing at all
        ],
        data,
    )
    u = frame(out, "unmatched")
    codes = [None if pd.isna(c) else c for c in u["code"]]
    assert list(zip(u["line"], u["reason"], codes, strict=True)) == [
        (2, "unknown-code", "0113"),
        (3, "unknown-code", "01O4"),
        (4, "code-at-other-location", "300"),
        (5, "invalid-code", "1/2"),
        (6, "inactive-account", "200"),
        (9, "missing-code", None),
    ]
    charges = frame(out, "charges")
    assert charges[["line", "code", "account_id"]].values.tolist() == [
        [7, "EXT1", "A1"],
        [8, "100", "A1"],
    ]
    # the new client's code is one to add, not a charge of the extension's owner
    from processor import load_batch, reports

    listed = reports.unknown_codes(load_batch(out))["Code"].tolist()
    assert sorted(listed) == ["0113", "01O4"]


def test_the_first_reason_in_the_table_wins(tmp_path):
    data = base()
    put(
        data, "Accounts", 1, {"Start Date": dt.date(2026, 11, 1)}
    )  # A2 inactive AND starts after the charge
    _, out = run(tmp_path, [GENERIC_HEADER, "200,2026-10-01,a,1,1.00"], data)
    assert frame(out, "unmatched")["reason"].tolist() == ["inactive-account"]
