"""Excel device exports: a Formats layout with File Type Excel reads a workbook's sheet."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from processor import run_import
from processor.cli import main
from processor.errors import ExportError
from processor.ingest.spreadsheets import cell_text
from tests.conftest import base, use_sheet_format, write_books, write_csv

D = Decimal
HEADER = ["User", "Date", "Pages", "Cost", "Document"]
PAPERCUT_LAYOUT = {
    "File_Type": "Excel",
    "Sheet": "print log",  # the sheet's name in any case
    "Header_Rows": 4,  # a title, a subtitle, a blank row and the header
    "Footer_Rows": 1,  # the totals row
    "Code_Column": "User",
    "Date_Column": "Date",
    "Quantity_Column": "Pages",
    "Cost_Column": "Cost",
    "Description_Column": "Document",
}


def report_workbook(
    path: Path,
    rows: list[dict],
    header: list[str] = HEADER,
    sheet: str = "Print Log",
    totals: bool = True,
) -> Path:
    """A print server's Excel report: a merged title, a subtitle, a blank row, the header,
    a row per job (cells by header name, as typed values: datetimes, numbers, text), and a
    totals row; a first sheet of notes before it."""
    wb = Workbook()
    wb.active.title = "About"
    wb.active["A1"] = "Exported by the print server"
    ws = wb.create_sheet(sheet)
    ws["A1"] = "Print Log: October 2026"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws["A2"] = "All printers, all users"
    for col, name in enumerate(header, start=1):
        ws.cell(row=4, column=col, value=name)
    for r, values in enumerate(rows, start=5):
        for name, value in values.items():
            cell = ws.cell(row=r, column=header.index(name) + 1, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
            elif isinstance(value, dt.timedelta):
                cell.number_format = "[h]:mm:ss"
    if totals:
        last = 5 + len(rows)
        ws.cell(row=last, column=1, value="Total")
        ws.cell(row=last, column=header.index("Pages") + 1, value=f"=SUM(C5:C{last - 1})")
    wb.save(path)
    return path


def books(tmp_path: Path, **layout) -> Path:
    data = base()
    use_sheet_format(data, "PaperCut report", **{**PAPERCUT_LAYOUT, **layout})
    return write_books(tmp_path / "wb", data)


def imported(tmp_path: Path, export: Path, folder: Path | None = None) -> Path:
    out = tmp_path / "batch"
    run_import(folder or books(tmp_path), "London", "PBX", [export], out, dt.date(2026, 10, 31))
    return out


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def net_of(cost: str) -> Decimal:
    """The README's Cost Plus: cost × (1 + Markup % / 100) + Markup Fixed, rounded half away
    from zero to the penny (the base workbooks' CALLS: 10 %, 0)."""
    return (D(cost) * D("1.10")).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_a_print_servers_excel_report_is_read_row_by_row_at_its_sheet_rows(tmp_path):
    export = report_workbook(
        tmp_path / "print-log.xlsx",
        [
            {"User": "100", "Date": dt.datetime(2026, 10, 1, 9, 30), "Pages": 3, "Cost": 1.15},
            {"User": 100, "Date": dt.datetime(2026, 10, 2, 14, 5, 7), "Pages": 1, "Cost": 0.1},
            {"User": "100", "Date": "03/10/2026 08:00", "Pages": 2, "Cost": "0.45"},
            {"User": "999", "Date": dt.datetime(2026, 10, 4, 10, 0), "Pages": 1, "Cost": 0.2},
        ],
    )
    out = imported(tmp_path, export, books(tmp_path, Date_Format="%d/%m/%Y %H:%M"))
    charges = read(out, "charges")
    assert charges["line"].tolist() == [5, 6, 7]  # the sheet's own row numbers
    assert charges["occurred_at"].tolist() == [
        pd.Timestamp("2026-10-01 09:30"),
        pd.Timestamp("2026-10-02 14:05:07"),
        pd.Timestamp("2026-10-03 08:00"),
    ]
    # 1.15 is a double just below 1.15: read as 1.15, its net is 1.265 → 1.27 (as a binary
    # float it would be 1.26)
    assert [D(str(v)).normalize() for v in charges["cost"]] == [D("1.15"), D("0.1"), D("0.45")]
    assert [D(str(v)) for v in charges["net"]] == [net_of(c) for c in ("1.15", "0.1", "0.45")]
    assert [D(str(v)).normalize() for v in charges["quantity"]] == [3, 1, 2]
    unmatched = read(out, "unmatched")
    assert unmatched["line"].tolist() == [8]
    assert unmatched["raw"].tolist() == ["999,2026-10-04 10:00:00,1,0.2,"]  # its cells joined
    skipped = read(out, "skipped")
    assert skipped["line"].tolist() == []  # the totals row (9) is a footer row, not data


def test_every_row_ends_in_one_place_and_a_damaged_row_is_unparseable_with_its_cells(tmp_path):
    export = report_workbook(
        tmp_path / "log.xlsx",
        [
            {"User": "100", "Date": dt.datetime(2026, 10, 1, 9, 0), "Pages": 1, "Cost": 0.5},
            {},  # a blank row
            {"User": "100", "Date": "not a date", "Pages": 1, "Cost": 0.5, "Document": "a,b"},
        ],
    )
    out = imported(tmp_path, export)
    manifest_rows = {
        "billed": read(out, "charges")["line"].tolist(),
        "unmatched": read(out, "unmatched")[["line", "reason", "raw"]].values.tolist(),
        "skipped": read(out, "skipped")[["line", "reason"]].values.tolist(),
    }
    assert manifest_rows == {
        "billed": [5],
        "unmatched": [[7, "unparseable-row", '100,not a date,1,0.5,"a,b"']],
        "skipped": [[6, "blank-line"]],
    }


def test_durations_times_and_positions_counted_from_column_a(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Calls"
    # the data starts in column B, under one header row
    for col, name in enumerate(["Ext", "Day", "At", "Length", "Number", "Cost"], start=2):
        ws.cell(row=1, column=col, value=name)
    cells = ["100", dt.date(2026, 10, 5), dt.time(17, 45, 30), dt.timedelta(minutes=2, seconds=5)]
    for col, value in enumerate([*cells, "01632960000", 0.35], start=2):
        cell = ws.cell(row=2, column=col, value=value)
        if isinstance(value, dt.timedelta):
            cell.number_format = "[h]:mm:ss"
    wb.save(tmp_path / "calls.xlsx")
    folder = books(
        tmp_path,
        Sheet=None,
        Header_Rows=1,
        Footer_Rows=None,
        Has_Header="No",
        Code_Column=2,
        Date_Column=3,
        Time_Column=4,
        Duration_Column=5,
        Destination_Column=6,
        Cost_Column=7,
        Quantity_Column=None,
        Description_Column=None,
    )
    charges = read(imported(tmp_path, tmp_path / "calls.xlsx", folder), "charges")
    assert charges["line"].tolist() == [2]
    assert [D(str(v)) for v in charges["net"]] == [net_of("0.35")]
    assert charges["occurred_at"].tolist() == [pd.Timestamp("2026-10-05 17:45:30")]
    assert charges["duration"].tolist() == [125]
    assert charges["destination"].tolist() == ["01632960000"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.15, "1.15"),
        (0.1 + 0.2, "0.30000000000000004"),  # the stored double, not a rounded guess
        (12.0, "12"),
        (-0.0, "0"),
        (1e-07, "0.0000001"),
        (123456789.125, "123456789.125"),
        (7, "7"),
        (True, "TRUE"),
        (dt.datetime(2026, 10, 1, 13, 45, 6, 999_999), "2026-10-01 13:45:07"),
        (dt.date(2026, 10, 1), "2026-10-01"),
        (dt.time(7, 5, 0), "07:05:00"),
        (dt.timedelta(hours=27, minutes=1, seconds=5), "27:01:05"),
        ("two\nlines", "two lines"),
        (None, ""),
    ],
)
def test_a_cell_becomes_the_text_an_export_would_hold(value, text):
    assert cell_text(value) == text


def test_numbers_take_the_formats_decimal_separator():
    assert cell_text(1.5, ",") == "1,5"
    assert cell_text(1500.0, ",") == "1500"


def test_a_damaged_workbook_a_missing_sheet_and_a_text_file_say_what_to_do(tmp_path):
    folder = books(tmp_path)
    good = report_workbook(
        tmp_path / "good.xlsx",
        [{"User": "100", "Date": dt.datetime(2026, 10, 1), "Pages": 1, "Cost": 1}],
    )
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ExportError) as err:
        imported(tmp_path, damaged, folder)
    assert str(err.value).startswith("damaged.xlsx: cannot be read as an Excel workbook (")
    assert str(err.value).endswith(
        "), yet format PaperCut report reads Excel files (Formats › File Type); if it is "
        "damaged, open it in Excel and save it again (File › Save As › Excel Workbook); "
        "if it is a text export, set File Type to CSV"
    )
    text = write_csv(tmp_path / "log.csv", ["User,Date,Pages,Cost", "100,2026-10-01,1,1"])
    with pytest.raises(ExportError, match=r"^log.csv: cannot be read as an Excel workbook"):
        imported(tmp_path, text, folder)
    other = report_workbook(tmp_path / "other.xlsx", [], sheet="Jobs")
    with pytest.raises(ExportError) as err:
        imported(tmp_path, other, folder)
    assert str(err.value) == (
        "other.xlsx: has no sheet named 'print log' (its sheets: 'About', 'Jobs'); correct "
        "Formats › Sheet for format PaperCut report"
    )


def test_a_builtin_format_still_refuses_a_workbook_with_what_to_do(tmp_path, capsys):
    folder = write_books(tmp_path / "wb")
    export = report_workbook(tmp_path / "log.xlsx", [])
    code = main(
        [
            *("import", "--workbooks", str(folder), "--location", "London"),
            *("--application", "PBX", "--out", str(tmp_path / "batch"), str(export)),
        ]
    )
    assert code == 1
    assert (
        "log.xlsx: is an Excel workbook (.xlsx), not a text export; open it in Excel, save it "
        "as CSV UTF-8 (File › Save As), and import the .csv; or describe its layout on the "
        "Formats sheet with File Type Excel"
    ) in capsys.readouterr().err


def test_a_sheet_on_a_csv_layout_and_a_delimiter_on_an_excel_one_are_warned(tmp_path, capsys):
    data = base()
    use_sheet_format(data, "Mine", **{**PAPERCUT_LAYOUT, "Delimiter": ";"})
    data["Formats"].append(
        {**data["Formats"][0], "Format": "Text", "File Type": "CSV", "Delimiter": None}
    )
    folder = write_books(tmp_path / "wb", data)
    assert main(["validate", "--workbooks", str(folder)]) == 0
    err = capsys.readouterr().out
    assert (
        "devices.xlsx › Formats › B2: Delimiter is set but File Type is Excel: an Excel "
        "export's cells are read as they are, so it is not used; clear it"
    ) in err
    assert (
        "devices.xlsx › Formats › T3: Sheet is set but File Type is CSV: it names the sheet "
        "of an Excel export; set File Type to Excel, or clear it"
    ) in err
