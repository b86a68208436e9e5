"""`charges import`: reasons, pricing to the penny, encodings, outputs, atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from processor import OutputError, create_history, run_import, validate_folder
from processor import findings as fnd
from processor.batch import workbook
from processor.cli import main
from tests.conftest import (
    GENERIC_HEADER,
    base,
    put,
    row,
    use_sheet_format,
    write_books,
    write_csv,
)

D = Decimal


def run(tmp_path: Path, lines: list[str], data=None, location="London", application="PBX", **kw):
    folder = write_books(tmp_path / "wb", data or base())
    export = write_csv(tmp_path / "export.csv", lines, **kw)
    out = tmp_path / "batch"
    result = run_import(folder, location, application, [export], out, dt.date(2026, 10, 31))
    return result, out


def import_args(folder: Path, out: Path, export: Path, *extra: str) -> list[str]:
    """The arguments of `charges import` for application PBX at London."""
    return [
        "import",
        "--workbooks",
        str(folder),
        "--location",
        "London",
        "--application",
        "PBX",
        "--out",
        str(out),
        *extra,
        str(export),
    ]


def cli_import(folder: Path, out: Path, export: Path, *extra: str) -> int:
    return main(import_args(folder, out, export, *extra))


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def reasons_of(out: Path) -> list[tuple[int, str]]:
    u = read(out, "unmatched")
    s = read(out, "skipped")
    rows = pd.concat([u, s])
    return sorted(zip(rows["line"].tolist(), rows["reason"].tolist(), strict=True))


# --- reasons ---------------------------------------------------------------------------


def test_every_unmatched_reason(tmp_path):
    data = base()
    data["Accounts"].append(["A4", "Delta", "London", "Active", dt.date(2026, 10, 10), None])
    data["Account Codes"].append(["A4", "PBX", "400"])
    result, out = run(
        tmp_path,
        [
            GENERIC_HEADER,
            "100,2026-10-01,call,1,1.00",  # 2 billed
            ",2026-10-01,call,1,1.00",  # 3 missing-code
            "999,2026-10-01,call,1,1.00",  # 4 unknown-code
            "1/00,2026-10-01,call,1,1.00",  # 5 invalid-code
            "300,2026-10-01,call,1,1.00",  # 6 code-at-other-location (A3 is at Leeds)
            "200,2026-10-01,call,1,1.00",  # 7 inactive-account
            "400,2026-10-09,call,1,1.00",  # 8 outside-account-dates
            "100,2026-10-01,call,1,0",  # 9 zero-price
            "100,yesterday,call,1,1.00",  # 10 unparseable-row (date)
            "100,2026-10-01,call,one,1.00",  # 11 unparseable-row (quantity)
            "100,2026-10-01",  # 12 unparseable-row (too few fields)
            "",  # 13 blank-line (skipped)
        ],
        data,
    )
    assert reasons_of(out) == [
        (3, "missing-code"),
        (4, "unknown-code"),
        (5, "invalid-code"),
        (6, "code-at-other-location"),
        (7, "inactive-account"),
        (8, "outside-account-dates"),
        (9, "zero-price"),
        (10, "unparseable-row"),
        (11, "unparseable-row"),
        (12, "unparseable-row"),
        (13, "blank-line"),
    ]
    msgs = dict(zip(read(out, "unmatched")["line"], read(out, "unmatched")["message"], strict=True))
    assert msgs[3] == (
        "the row has no code in Code; the device recorded none, so the row cannot "
        "be matched: bill it by hand if it is chargeable"
    )
    assert msgs[4] == (
        'code "999" is not held by any account for PBX at London; add it to the '
        "account on Account Codes, or to the Device Import Map of PBX at London"
    )
    assert msgs[6] == (
        'code "300" belongs to account A3 at Leeds for PBX, not at London; was the '
        "wrong --location chosen?"
    )
    assert msgs[8] == (
        "dated 2026-10-09, outside the dates of account A4 (2026-10-10 to …); "
        "check its Start Date and End Date on Accounts, or move the code to the "
        "account that had it then"
    )
    assert msgs[10] == (
        'the line cannot be read: date "yesterday" is not a date in the expected '
        "format; check this line of the file"
    )
    assert (
        msgs[11]
        == 'the line cannot be read: quantity "one" is not a number; check this line of the file'
    )
    assert msgs[12] == (
        "the line cannot be read: has 2 fields; format generic-csv needs at least "
        "5; check this line of the file"
    )
    assert result.manifest["rows"] == {"read": 12, "matched": 1, "unmatched": 10, "skipped": 1}
    raw = read(out, "unmatched").set_index("line")["raw"]
    assert raw[12] == "100,2026-10-01"


def test_no_tariff_and_unknown_product(tmp_path):
    from processor.ingest.formats import registry
    from processor.rating.matching import context, match
    from processor.reference.reading import read_workbooks
    from processor.reference.records import build

    data = base()
    data["Products"].append(
        ["T", "Calls", "Tariff", None, None, None, None, None, None, "Std", "Yes"]
    )
    put(data, "Applications", 0, {"Product": "T"})
    _, out = run(
        tmp_path,
        [
            "Code,Date,Description,Quantity,Cost,Destination",
            "100,2026-10-01,call,1,0,01207",
            "100,2026-10-01,call,1,0,+33 1 40",
        ],
        data,
    )
    assert reasons_of(out) == [(3, "no-tariff")]
    assert read(out, "unmatched")["message"][0] == (
        'no rate on tariff Std for destination "+33 1 40"; add a prefix for it to the Tariffs sheet'
    )

    # unknown-product cannot come from valid workbooks; the matcher still guards it
    sheets, _ = read_workbooks(tmp_path / "wb")
    ref = build(sheets)
    fmt = registry.get("generic-csv")
    ctx = context(ref, "PBX", "London", fmt)
    ref.products.pop("t")
    chunk = pd.DataFrame(
        {
            "error": [None],
            "skip": [None],
            "match_0": ["100"],
            "occurred_at": [pd.Timestamp("2026-10-01")],
            "item": [None],
        }
    )
    matched = match(chunk, ref, ctx, fmt)
    assert matched["reason"].tolist() == ["unknown-product"]


def test_match_on_prefers_the_first_field_that_resolves(tmp_path):
    # Fall Back When Unmatched: a field that matches nothing here passes to the next
    data = base()
    put(data, "Applications", 0, {"Match On": "Item, Code", "Fall Back": "When Unmatched"})
    _, out = run(
        tmp_path,
        [
            GENERIC_HEADER + ",Item",
            "100,2026-10-01,a,1,1.00,EXT1",  # EXT1 → A1 via the map
            "200,2026-10-01,b,1,1.00,nobody",  # falls back to 200 → A2
            "100,2026-10-01,c,1,1.00,",
        ],
        data,
    )  # item blank → code 100
    charges = read(out, "charges")
    assert charges[["line", "code", "account_id"]].values.tolist() == [
        [2, "EXT1", "A1"],
        [4, "100", "A1"],
    ]
    assert reasons_of(out) == [(3, "inactive-account")]


def test_codes_compare_case_insensitively_after_trimming(tmp_path):
    _, out = run(tmp_path, [GENERIC_HEADER, " ext1 ,2026-10-01,a,1,1.00"])
    assert read(out, "charges")["account_id"].tolist() == ["A1"]


# --- pricing ---------------------------------------------------------------------------


def priced(
    tmp_path,
    product_row,
    lines,
    tariffs=None,
    location_rate=20,
    currency="GBP",
    rounding="Per Charge",
):
    data = base()
    data["Products"] = [product_row]
    put(
        data,
        "Locations",
        0,
        {"Currency": currency, "Tax Rate %": location_rate, "Tax Rounding": rounding},
    )
    if tariffs is not None:
        data["Tariffs"] = tariffs
    put(data, "Applications", 0, {"Product": product_row[0]})
    result, out = run(tmp_path, lines, data)
    return read(out, "charges"), result


def money(frame: pd.DataFrame, col: str) -> list[Decimal]:
    return [D(str(v)).normalize() for v in frame[col]]


def test_cost_plus_with_markup_fixed_minimum_and_half_up(tmp_path):
    # 1.25 × 1.10 + 0.05 = 1.425 → 1.43 (half-up); tax 20% of 1.43 = 0.286 → 0.29
    # 0.10 × 1.10 + 0.05 = 0.16 < minimum 0.50 → 0.50; tax 0.10
    charges, result = priced(
        tmp_path,
        ["CP", "Calls", "Cost Plus", None, 10, 0.05, 0.5, None, "G", None, "No"],
        [GENERIC_HEADER, "100,2026-10-01,a,1,1.25", "100,2026-10-02,b,1,0.10"],
    )
    assert money(charges, "net") == [D("1.43"), D("0.5")]
    assert money(charges, "tax") == [D("0.29"), D("0.1")]
    assert money(charges, "gross") == [D("1.72"), D("0.6")]
    assert result.manifest["billed"] == {"net": "1.93", "tax": "0.39", "gross": "2.32"}


def test_unit_price_and_product_tax_rate(tmp_path):
    # 7 × 0.065 = 0.455 → 0.46; tax 5% of 0.46 = 0.023 → 0.02
    charges, _ = priced(
        tmp_path,
        ["UP", "Print", "Unit Price", 0.065, None, None, None, 5, None, None, "No"],
        [GENERIC_HEADER, "100,2026-10-01,a,7,0"],
    )
    assert money(charges, "net") == [D("0.46")]
    assert money(charges, "tax") == [D("0.02")]
    assert money(charges, "tax_rate") == [D("5")]


def test_tariff_longest_prefix_minimum_increment_and_connection(tmp_path):
    tariffs = [
        ["Std", "0", "Any", 0.01, None, None, None],
        ["Std", "07", "Mobile", 0.12, 0.02, 60, 30],
        ["Std", "0700", "Premium", 1.00, None, None, None],
    ]
    lines = [
        "Code,Date,Description,Quantity,Cost,Duration,Destination",
        "100,2026-10-01,a,1,0,10,07123",  # 60 s minimum → 60 × 0.12/60 + 0.02 = 0.14
        "100,2026-10-01,b,1,0,61,07123",  # up to 90 s → 0.18 + 0.02 = 0.20
        "100,2026-10-01,c,1,0,00:01:05,01234",  # 65 s × 0.01/60 = 0.010833 → 0.01
        "100,2026-10-01,d,1,0,30,0700 111",
    ]  # 30 s × 1.00/60 = 0.50
    charges, _ = priced(
        tmp_path,
        ["T", "Calls", "Tariff", None, None, None, None, None, None, "Std", "No"],
        lines,
        tariffs,
    )
    assert money(charges, "net") == [D("0.14"), D("0.2"), D("0.01"), D("0.5")]


def test_rounding_half_up_at_exact_halves_and_zero_decimal_currency(tmp_path):
    # JPY has no minor unit: 2 × 10.5 = 21; 1 × 10.5 = 10.5 → 11; tax 10% of 11 = 1.1 → 1
    charges, _ = priced(
        tmp_path,
        ["UP", "Room", "Unit Price", 10.5, None, None, None, 10, None, None, "No"],
        [GENERIC_HEADER, "100,2026-10-01,a,2,0", "100,2026-10-01,b,1,0"],
        currency="JPY",
    )
    assert money(charges, "net") == [D("21"), D("11")]
    assert money(charges, "tax") == [D("2"), D("1")]


def test_product_rules_pick_the_product_by_item(tmp_path):
    data = base()
    data["Products"].append(
        ["COL", "Colour", "Unit Price", 0.25, None, None, None, None, None, None, "No"]
    )
    data["Product Rules"] = [["PBX", "Colour", "COL"]]
    _, out = run(
        tmp_path,
        [GENERIC_HEADER + ",Item", "100,2026-10-01,a,4,0,COLOUR", "100,2026-10-01,b,1,2.00,mono"],
        data,
    )
    charges = read(out, "charges")
    assert charges["product"].tolist() == ["COL", "CALLS"]
    assert money(charges, "net") == [D("1"), D("2.2")]


# --- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_line_endings_and_bom(tmp_path, newline, bom):
    lines = [GENERIC_HEADER, "100,2026-10-01,Café,1,1.00", "100,2026-10-02,b,1,1.00"]
    folder = write_books(tmp_path / "wb")
    export = tmp_path / "e.csv"
    export.write_bytes(bom + newline.join(lines).encode() + newline.encode())
    result = run_import(folder, "London", "PBX", [export], tmp_path / "o", dt.date(2026, 10, 31))
    charges = read(tmp_path / "o", "charges")
    assert charges["line"].tolist() == [2, 3]
    assert charges["description"].tolist() == ["Café", "b"]
    assert result.manifest["rows"]["read"] == 2


def test_invalid_utf8_is_read_as_cp1252_and_flagged(tmp_path):
    export_lines = [GENERIC_HEADER, "100,2026-10-01,Caf\xe9,1,1.00"]
    _, out = run(tmp_path, export_lines, encoding="cp1252")
    charges = read(out, "charges")
    assert charges["description"].tolist() == ["Café"]
    assert charges["note"].tolist() == ["not valid UTF-8; read as Windows-1252"]


def test_sheet_format_positions_delimiter_header_footer_and_date_format(tmp_path):
    from tests.test_workbooks import fmt_row

    data = base()
    data["Formats"] = [
        fmt_row(
            Format="Semi",
            Delimiter="semicolon",
            Encoding="cp1252",
            Header_Rows=2,
            Footer_Rows=1,
            Has_Header="No",
            Code_Column=2,
            Date_Column=1,
            Date_Format="%d/%m/%Y %H:%M",
            Quantity_Column=3,
            Cost_Column=4,
            Ignore_Zero_Values="Yes",
            Decimal_Separator=",",
        )
    ]
    put(data, "Applications", 0, {"Format": "Semi"})
    _, out = run(
        tmp_path,
        [
            "Report",
            "when;who;n;cost",
            "01/10/2026 09:30;100;2;1,50",
            "02/10/2026 10:00;100;0;0",
            "Total;;2;1,50",
        ],
        data,
    )
    charges = read(out, "charges")
    assert charges["occurred_at"].tolist() == [pd.Timestamp("2026-10-01 09:30")]
    assert money(charges, "cost") == [D("1.5")]
    assert money(charges, "net") == [D("1.65")]
    assert reasons_of(out) == [(4, "zero-value")]


def test_export_missing_a_needed_column_is_an_error_and_writes_nothing(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", ["Date,Description,Quantity,Cost", "2026-10-01,a,1,1"])
    out = tmp_path / "batch"
    code = cli_import(folder, out, export)
    assert code == 1
    assert 'e.csv: has no column "Code" that format generic-csv needs' in capsys.readouterr().err
    assert not out.exists()


# --- outputs ---------------------------------------------------------------------------


def test_batch_xlsx_sheets_and_text_never_becomes_a_formula(tmp_path):
    data = base()
    put(data, "Accounts", 0, {"Account Name": "@Acme"})
    danger = ["=1+1", "@SUM(A1)", "+44 20 7946 0000", "-5"]
    lines = [GENERIC_HEADER] + [f"100,2026-10-01,{d},1,1.00" for d in danger]
    lines += [f"999,2026-10-01,{d},1,1.00" for d in danger]
    _, out = run(tmp_path, lines, data)
    wb = load_workbook(out / "batch.xlsx")
    assert wb.sheetnames == [
        "Batch Sheet",
        "Included",
        "Zero Lines",
        "Unmatched",
        "Skipped",
        "Summary",
    ]
    sheet = wb["Batch Sheet"]
    assert [c.value for c in sheet[1]] == [
        "Account ID",
        "Account Name",
        "Product",
        "Description",
        "Quantity",
        "Net",
        "Tax Rate %",
        "Tax",
        "Gross",
        "GL Code",
        "Batch Date",
        "Included",
        "Waived",
    ]
    assert sheet["B2"].value == "@Acme" and sheet["B2"].data_type == "s"
    assert sheet["F2"].value == 4.4 and sheet["F2"].number_format == "#,##0.00"
    assert sheet["K2"].value == dt.datetime(2026, 10, 31)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:M2"
    # below the lines, outside the filter: their totals
    assert [c.value for c in sheet[4]][1:9] == [
        "Total of the lines above",
        None,
        None,
        4,
        4.4,
        None,
        0.88,
        5.28,
    ]
    assert sheet.oddHeader.left.text.startswith("London: PBX, batch date 2026-10-31, charges ")
    unmatched = wb["Unmatched"]
    got = [(unmatched.cell(r, 7).value, unmatched.cell(r, 7).data_type) for r in range(2, 6)]
    assert got == [(d, "s") for d in danger]
    raw = [unmatched.cell(r, 10).value for r in range(2, 6)]
    assert raw == [f"999,2026-10-01,{d},1,1.00" for d in danger]


def test_manifest_reconciles_and_describes_inputs(tmp_path):
    lines = [GENERIC_HEADER, "100,2026-10-01,a,1,1.10", "999,2026-10-01,b,1,2.20", ""]
    _, out = run(tmp_path, lines)
    m = json.loads((out / "manifest.json").read_text())
    export = tmp_path / "export.csv"
    assert m["inputs"] == [
        {
            "path": str(export),
            "sha256": hashlib.sha256(export.read_bytes()).hexdigest(),
            "size": export.stat().st_size,
            "rows": 3,
        }
    ]
    assert m["rows"] == {"read": 3, "matched": 1, "unmatched": 1, "skipped": 1}
    # costs are the held values (6 places), summed
    assert m["cost"] == {
        "read": "3.300000",
        "matched": "1.100000",
        "unmatched": "2.200000",
        "skipped": "0",
    }
    assert m["billed"] == {"net": "1.21", "tax": "0.24", "gross": "1.45"}
    assert m["credits"] == {"rows": 0, "net": "0"}
    assert (m["tax_rounding"], m["lines"]) == ("Per Line", 1)
    assert (m["batch_date"], m["location"], m["application"], m["format"], m["currency"]) == (
        "2026-10-31",
        "London",
        "PBX",
        "generic-csv",
        "GBP",
    )
    summary = load_workbook(out / "batch.xlsx")["Summary"]
    col_a = [c.value for c in summary["A"]]
    assert "Balanced (read = billed + unmatched + skipped): yes" in col_a


def test_inputs_and_workbooks_are_not_modified(tmp_path):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    before = {p: p.read_bytes() for p in [export, *folder.glob("*.xlsx")]}
    stamps = {p: p.stat().st_mtime_ns for p in before}
    run_import(folder, "London", "PBX", [export], tmp_path / "o")
    assert {p: p.read_bytes() for p in before} == before
    assert {p: p.stat().st_mtime_ns for p in before} == stamps


def test_a_run_that_fails_half_way_leaves_no_batch_dir(tmp_path, monkeypatch):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])

    import xlsxwriter

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    # batch.xlsx cannot be finished: the disk filled while it was written
    monkeypatch.setattr(xlsxwriter.Workbook, "close", boom)
    with pytest.raises(OutputError) as err:
        run_import(folder, "London", "PBX", [export], tmp_path / "batch")
    assert str(err.value) == (
        f"{tmp_path}: is on a disk that is full; nothing was written. Choose another --out "
        "folder, or free or unlock the disk, and run again"
    )
    assert list(tmp_path.iterdir()) == sorted([folder, export]) or set(tmp_path.iterdir()) == {
        folder,
        export,
    }


def test_exit_codes(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "999,2026-10-01,a,1,1"])
    args = ["import", "--workbooks", str(folder), "--location", "London", "--application", "PBX"]
    assert main([*args, "--out", str(tmp_path / "b1"), str(export)]) == 0
    assert main([*args, "--out", str(tmp_path / "b2"), "--fail-on-unmatched", str(export)]) == 2
    assert "was imported already for PBX at London" in capsys.readouterr().err
    assert (
        main(
            [*args, "--out", str(tmp_path / "b2"), "--fail-on-unmatched", "--reimport", str(export)]
        )
        == 3
    )
    # the folder exists and is not empty
    assert main([*args, "--out", str(tmp_path / "b1"), str(export)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main([*args[:-1], "Nowhere", "--out", str(tmp_path / "b3"), str(export)]) == 2
    assert 'application "Nowhere" is not on the Applications sheet; choose one of: PBX' in (
        capsys.readouterr().err
    )
    assert main(["import", "--workbooks", str(folder)]) == 2  # usage


def test_workbook_errors_stop_the_import(tmp_path, capsys):
    data = base()
    put(data, "Account Codes", 0, {"Code": "AB-12"})
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    out = tmp_path / "batch"
    code = cli_import(folder, out, export)
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert 'accounts.xlsx › Account Codes › C2: code "AB-12" has characters' in err
    assert "nothing was imported" in err


def test_empty_existing_out_dir_is_used(tmp_path):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    (tmp_path / "batch").mkdir()
    run_import(folder, "London", "PBX", [export], tmp_path / "batch")
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == [
        ".batch-id",
        "batch.xlsx",
        "charges.parquet",
        "lines.parquet",
        "manifest.json",
        "skipped.parquet",
        "unmatched.parquet",
    ]


def test_parquet_money_is_decimal(tmp_path):
    import pyarrow.parquet as pq

    _, out = run(tmp_path, [GENERIC_HEADER, "100,2026-10-01,a,1,1.10"])
    schema = pq.read_schema(out / "charges.parquet")
    for col in ("quantity", "cost", "net", "tax", "gross"):
        assert str(schema.field(col).type) == "decimal128(38, 6)"


def test_chunks_give_the_same_result(tmp_path):
    folder = write_books(tmp_path / "wb")
    lines = [GENERIC_HEADER] + [
        f"{c},2026-10-01,a,1,0.{i:02d}" for i in range(50) for c in ("100", "999", "200")
    ]
    export = write_csv(tmp_path / "e.csv", lines)
    a = run_import(
        folder,
        "London",
        "PBX",
        [export],
        tmp_path / "a",
        chunk_rows=7,
        history=create_history(tmp_path / "h1"),
    ).manifest
    b = run_import(
        folder, "London", "PBX", [export], tmp_path / "b", history=create_history(tmp_path / "h2")
    )
    b = b.manifest
    for k in ("rows", "cost", "billed", "reasons"):
        assert a[k] == b[k]


def test_a_killed_run_leaves_no_batch_and_its_leftovers_are_cleared(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER] + ["100,2026-10-01,a,1,1"] * 200_000)
    out = tmp_path / "batch"
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", *import_args(folder, out, export)],
        cwd=Path(__file__).parent.parent,
    )
    deadline = time.time() + 60
    while not list(tmp_path.glob(".batch.partial-*")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert list(tmp_path.glob(".batch.partial-*"))  # what SIGKILL leaves behind...
    run_import(folder, "London", "PBX", [write_csv(tmp_path / "f.csv", [GENERIC_HEADER])], out)
    assert not list(tmp_path.glob(".batch.partial-*"))  # ...the next run clears
    assert out.exists()


def test_blank_values_are_blank_cells_not_placeholders(tmp_path):
    _, out = run(tmp_path, [GENERIC_HEADER, ",2026-10-01,a,1,1.00"])
    ws = load_workbook(out / "batch.xlsx")["Unmatched"]
    assert [c.value for c in ws[2]][:4] == ["export.csv", 2, None, "missing-code"]


def test_xlsx_sheets_beyond_the_row_limit_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "XLSX_ROW_LIMIT", 2)
    _, out = run(tmp_path, [GENERIC_HEADER] + [f"999,2026-10-0{d},a,1,1" for d in (1, 2, 3)])
    wb = load_workbook(out / "batch.xlsx")
    assert wb["Unmatched"].max_row == 3  # header and 2 rows
    notes = [c.value for c in wb["Summary"]["A"]]
    assert "The Unmatched sheet shows the first 2 of 3 rows; all are in unmatched.parquet" in notes
    assert len(read(out, "unmatched")) == 3


def test_a_file_of_another_format_gets_a_hint(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100;2026-10-01;a;1;1", "x"])
    assert cli_import(folder, tmp_path / "b", export, "--batch-date", "2026-10-31") == 0
    assert capsys.readouterr().err.strip() == (
        "charges: 2 of 2 rows could not be read as format generic-csv: is this a generic-csv "
        "export? `charges sniff FILE` names the formats a file could be"
    )


def test_declared_encoding_replaces_invalid_bytes_and_flags_the_row(tmp_path):
    data = base()
    use_sheet_format(
        data,
        "U8",
        Encoding="utf-8",
        Code_Column="Code",
        Date_Column="Date",
        Description_Column="Description",
        Cost_Column="Cost",
    )
    folder = write_books(tmp_path / "wb", data)
    export = tmp_path / "e.csv"
    export.write_bytes(b"Code,Date,Description,Cost\n100,2026-10-01,Caf\xe9,1.00\n")
    run_import(folder, "London", "PBX", [export], tmp_path / "o")
    charges = read(tmp_path / "o", "charges")
    assert charges["description"].tolist() == ["Caf\ufffd"]
    assert charges["note"].tolist() == ["invalid utf-8 bytes replaced with \ufffd"]


def test_the_same_export_twice_is_refused(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    a = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    b = write_csv(tmp_path / "b.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    assert (
        main(
            [
                "import",
                "--workbooks",
                str(folder),
                "--location",
                "London",
                "--application",
                "PBX",
                "--out",
                str(tmp_path / "o"),
                str(a),
                str(b),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.strip() == (
        f"charges: {b}: has the same content as {a}; its rows would be billed twice"
    )
    assert not (tmp_path / "o").exists()


def test_progress_reports_rows_and_share_read(tmp_path):
    from processor.cli.printing import Progress

    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv", [GENERIC_HEADER] + [f"100,2026-10-01,a{i},1,1" for i in range(25)]
    )
    calls = []
    run_import(
        folder,
        "London",
        "PBX",
        [export],
        tmp_path / "o",
        chunk_rows=10,
        progress=lambda *a: calls.append(a),
    )
    assert [(n, r) for n, r, _ in calls] == [("e.csv", 10), ("e.csv", 20), ("e.csv", 25)]
    assert calls[-1][2] == 1.0
    bar = Progress(True)
    bar("e.csv", 1, 0.3)
    assert (bar.bar.n, bar.bar.postfix, bar.bar.desc) == (30, "1 row", "  e.csv")
    bar("e.csv", 2, 1.0)
    assert (bar.bar.n, bar.bar.postfix) == (100, "2 rows")
    bar.close()


def test_without_a_batch_date_the_summary_says_it_is_today(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    assert cli_import(folder, tmp_path / "b", export) == 0
    today = dt.date.today().isoformat()
    assert capsys.readouterr().err.strip() == (
        f"charges: the batch date is today, {today}: give --batch-date to choose another"
    )


def test_batch_xlsx_reads_right_as_opened(tmp_path):
    """One number format per column, padding between neighbours, widths that fit, and an
    empty sheet that says so in words."""
    data = base()
    put(data, "Locations", 0, {"Currency": "KWD"})  # three minor units: money at three places
    _, out = run(
        tmp_path,
        [GENERIC_HEADER, "100,2026-10-01,call,1.5,0.036", "100,2026-10-02,call,3,6.1456"],
        data,
    )
    wb = load_workbook(out / "batch.xlsx")
    sheet = wb["Batch Sheet"]
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Net"].number_format == "#,##0.000"
    assert row["Quantity"].number_format == "General" and row["Quantity"].value == 4.5
    assert row["Account Name"].alignment.indent == 1 and row["Net"].alignment.horizontal == "right"
    assert row["Net"].alignment.indent == 1
    widths = {h: sheet.column_dimensions[c.column_letter].width for h, c in row.items()}
    assert widths["Account Name"] >= len("Acme Ltd") + 2
    unmatched = wb["Unmatched"]
    assert unmatched["A2"].value == "No unmatched rows: every row was billed or skipped."
    assert wb["Skipped"]["A2"].value == "No skipped rows."
    summary = wb["Summary"]
    costs = {
        r[0].value: r[2].number_format
        for r in summary.iter_rows(min_row=2)
        if r[2].value is not None
    }
    assert set(costs.values()) == {"#,##0.00000"}  # device cost: two places more, every row


@pytest.mark.parametrize("where", ["parquet", "pricing"])
def test_a_failure_while_parquet_is_written_in_its_thread_leaves_nothing(
    tmp_path, monkeypatch, where
):
    # parquet is written in a thread beside the next chunk: a full disk there is told like
    # any other, and a failure elsewhere stops the writing before the folder is removed
    import threading

    import pyarrow.parquet as pq

    from processor.recipes import importing

    folder = write_books(tmp_path / "wb")
    rows = [f"100,2026-10-{d:02d},a,1,1" for d in range(1, 29)]
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows])
    calls = []
    real_write, real_price = pq.ParquetWriter.write_table, importing.price

    def write_table(self, table, *a, **k):
        calls.append(1)
        if where == "parquet" and len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, table, *a, **k)

    def price(*a, **k):
        if where == "pricing" and len(calls) >= 2:
            raise RuntimeError("pricing failed")
        return real_price(*a, **k)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    monkeypatch.setattr(importing, "price", price)
    if where == "parquet":
        with pytest.raises(OutputError, match="is on a disk that is full"):
            run_import(folder, "London", "PBX", [export], tmp_path / "b", chunk_rows=5)
    else:
        with pytest.raises(RuntimeError, match="pricing failed"):
            run_import(folder, "London", "PBX", [export], tmp_path / "b", chunk_rows=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "wb"]
    assert not [t for t in threading.enumerate() if t.name.startswith("parquet")]


def test_an_export_of_another_location_is_refused_unless_told(tmp_path, capsys):
    # London's codes (100: A1) imported as Leeds: 6 rows belong to London, none to Leeds
    folder = write_books(tmp_path / "wb")
    rows = [f"100,2026-10-{d:02d},a,1,1.00" for d in range(1, 7)]
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows, "300,2026-10-09,b,1,1.00"])
    args = ["import", "--workbooks", str(folder), "--location", "Leeds", "--application", "PBX"]
    assert main([*args, "--out", str(tmp_path / "b"), str(export)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "charges: 6 rows have a code of London and 1 a code of Leeds: is this an export of "
        'London? Import it with --location "London", or give --any-location to import it at '
        "Leeds anyway; nothing was written"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "wb"]
    assert main(["history", "--workbooks", str(folder), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # told: imported at Leeds, London's rows reported as such
    assert main([*args, "--any-location", "--out", str(tmp_path / "b"), str(export)]) == 0
    assert reasons_of(tmp_path / "b") == [(n, "code-at-other-location") for n in range(2, 8)]


def test_a_few_rows_of_another_location_do_not_stop_an_import(tmp_path):
    # 4 rows of London at Leeds (fewer than 5): imported, each reported
    rows = [f"100,2026-10-{d:02d},a,1,1.00" for d in range(1, 5)]
    result, out = run(tmp_path, [GENERIC_HEADER, *rows], location="Leeds")
    assert result.manifest["rows"]["unmatched"] == 4
    assert reasons_of(out) == [(n, "code-at-other-location") for n in range(2, 6)]


def test_print_logins_and_badge_ids_match_through_the_device_import_map(tmp_path):
    # a Device Import Map code may hold . - _ @ (logins, e-mail addresses, badge ids);
    # codes compare without case; any other character is still invalid-code
    data = base()
    data["Device Import Maps"] += [
        row("Device Import Maps", Application="PBX", Location="London", Code=c, Account_ID="A1")
        for c in ("j.smith", "jsmith@example.com", "badge-0042", "first_last")
    ]
    _, out = run(
        tmp_path,
        [
            GENERIC_HEADER,
            "J.Smith,2026-10-01,a,1,1.00",
            "jsmith@EXAMPLE.com,2026-10-01,b,1,1.00",
            "badge-0042,2026-10-01,c,1,1.00",
            "first_last,2026-10-01,d,1,1.00",
            "j smith,2026-10-01,e,1,1.00",
            "j.doe,2026-10-01,f,1,1.00",
        ],
        data,
    )
    charges = read(out, "charges")
    assert charges[["line", "code", "account_id"]].values.tolist() == [
        [2, "J.SMITH", "A1"],
        [3, "JSMITH@EXAMPLE.COM", "A1"],
        [4, "BADGE-0042", "A1"],
        [5, "FIRST_LAST", "A1"],
    ]
    assert reasons_of(out) == [(6, "invalid-code"), (7, "unknown-code")]


def test_account_codes_stay_letters_and_digits(tmp_path):
    # Operate's Account Codes hold letters and digits only; a login belongs on the map
    data = base()
    put(data, "Account Codes", 0, {"Code": "j.smith"})
    put(data, "Device Import Maps", 0, {"Code": "j.smith@x"})
    _, found = validate_folder(write_books(tmp_path / "wb", data))
    assert [fnd.render(r) for r in found.to_dict("records")] == [
        'accounts.xlsx › Account Codes › C2: code "j.smith" has characters other than letters '
        "and digits"
    ]


def test_wrong_arguments_say_what_is_wrong(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1"])
    (tmp_path / "exports").mkdir()
    cases = [
        (
            import_args(folder, tmp_path / "b", tmp_path / "exports"),
            2,
            f"{tmp_path / 'exports'}: is a folder, not an export; name the export files in it "
            f"(for example {tmp_path / 'exports'}/*.csv)",
        ),
        (
            import_args(folder, tmp_path / "b", tmp_path / "nope.csv"),
            2,
            f"{tmp_path / 'nope.csv'}: no such file; check the path and name",
        ),
        (
            import_args(folder / "accounts.xlsx", tmp_path / "b", export),
            2,
            f"{folder / 'accounts.xlsx'}: is a file; --workbooks names the folder that holds "
            f"accounts.xlsx and devices.xlsx (here: --workbooks {folder})",
        ),
        (
            ["apply-codes", str(tmp_path / "codes-to-add.xlsx"), "--workbooks", str(folder)],
            2,
            f"{tmp_path / 'codes-to-add.xlsx'}: no such file; `charges report BATCH_DIR` writes "
            "it as BATCH_DIR/reports/codes-to-add.xlsx (or `charges import --report`)",
        ),
    ]
    for argv, code, message in cases:
        capsys.readouterr()
        assert main(argv) == code, argv
        assert capsys.readouterr().err.strip() == f"charges: {message}"
    assert not (tmp_path / "b").exists()
    assert main(["--version"]) == 0
    from processor import __version__

    assert capsys.readouterr().out == f"charges {__version__}\n"
