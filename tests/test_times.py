"""Times that break things (issue 20, part 10): typed years, Excel's 1900 quirk, and the
night the clock goes back."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from openpyxl import load_workbook

from processor import run_import
from tests.conftest import GENERIC_HEADER, base, put, write_books, write_csv


def _books(tmp_path):
    data = base()
    put(data, "Locations", 0, {"Time Zone": "Europe/London"})
    return write_books(tmp_path / "wb", data)


def test_a_typed_year_makes_the_row_unparseable_never_a_traceback(tmp_path):
    folder = _books(tmp_path)
    export = write_csv(
        tmp_path / "e.csv",
        [
            GENERIC_HEADER,
            "100,3026-10-01 10:00,a,1,1.00",
            "100,9999-12-31,a,1,1.00",
            "100,0001-01-01,a,1,1.00",
            "100,26/10/69,a,1,1.00",
            "100,26/10/26,a,1,1.00",
        ],
    )
    result = run_import(folder, "London", "PBX", [export], tmp_path / "b")
    unmatched = pd.read_parquet(tmp_path / "b" / "unmatched.parquet")
    assert unmatched["reason"].tolist() == ["unparseable-row"] * 4
    hint = "check the year (a two-digit year 00-68 is read as 20xx, 69-99 as 19xx)"
    assert unmatched["message"].tolist() == [
        f'the line cannot be read: date "{t}" is {d}, outside 1990 to 2100: {hint}; check this '
        "line of the file"
        for t, d in (
            ("3026-10-01 10:00", "3026-10-01"),
            ("9999-12-31", "9999-12-31"),
            ("0001-01-01", "0001-01-01"),
            ("26/10/69", "1969-10-26"),
        )
    ]
    charges = pd.read_parquet(tmp_path / "b" / "charges.parquet")
    assert charges["occurred_at"].tolist() == [pd.Timestamp("2026-10-26")]
    assert result.manifest["rows"]["read"] == 5
    book = load_workbook(tmp_path / "b" / "batch.xlsx")
    assert [r[3] for r in book["Unmatched"].iter_rows(min_row=2, values_only=True)] == [
        "unparseable-row"
    ] * 4


def test_dates_excel_cannot_hold_and_its_1900_quirk_are_written_right(tmp_path):
    from processor.outputs.xlsx.workbook import Col, TableBook

    moments = [
        dt.datetime(1900, 1, 1),
        dt.datetime(1900, 2, 28, 12),
        dt.datetime(1900, 3, 1),
        dt.datetime(2026, 10, 25, 1, 30, 59),
        dt.datetime(1, 1, 1, 10),
        None,
    ]
    column = pa.array(moments, pa.timestamp("us"))
    book = TableBook(tmp_path / "t.xlsx", 2)
    book.arrow_table("Dates", [Col("Date", "datetime", 19)], lambda: iter([[column]]))
    book.close()
    cells = [r[0] for r in load_workbook(tmp_path / "t.xlsx")["Dates"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == [*moments[:4], "0001-01-01 10:00:00"]


def test_two_calls_an_hour_apart_that_share_a_local_time_are_both_billed(tmp_path):
    # 25 October 2026, Europe/London: 00:30Z is 01:30 BST and 01:30Z is 01:30 GMT. In two
    # exports of one import, then again in an export that overlaps both
    folder = _books(tmp_path)
    first = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, "100,2026-10-25T00:30:00Z,call,1,1"])
    second = write_csv(
        tmp_path / "b.csv", [GENERIC_HEADER, "100,2026-10-25T01:30:00+00:00,call,1,1"]
    )
    result = run_import(folder, "London", "PBX", [first, second], tmp_path / "b")
    assert result.manifest["rows"] == {"read": 2, "matched": 2, "unmatched": 0, "skipped": 0}
    charges = pd.read_parquet(tmp_path / "b" / "charges.parquet")
    assert charges["occurred_at"].tolist() == [pd.Timestamp("2026-10-25 01:30")] * 2
    both = write_csv(
        tmp_path / "c.csv",
        [
            GENERIC_HEADER,
            "100,2026-10-25T01:30:00+00:00,call,1,1",
            "100,2026-10-25T01:30:00+01:00,call,1,1",
            "100,2026-10-25T02:30:00+00:00,call,1,1",
        ],
    )
    again = run_import(folder, "London", "PBX", [both], tmp_path / "c")
    skipped = pd.read_parquet(tmp_path / "c" / "skipped.parquet")
    assert skipped["reason"].tolist() == ["already-billed"] * 2
    assert again.manifest["rows"]["matched"] == 1
