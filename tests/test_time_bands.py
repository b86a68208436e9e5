"""Time bands: a call is rated in the band of its start, on its own date, and a call no
rate covers in its band says which band."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd

from processor import run_import
from tests.conftest import base, put, row, write_books, write_csv

D = Decimal
HEADER = "Code,Date,Description,Quantity,Cost,Item,Duration,Destination"


def banded(tmp_path: Path, lines: list[str]) -> Path:
    data = base()
    put(data, "Products", 0, {"Pricing": "Tariff", "Tariff": "Std"})
    data["Tariffs"] = [
        row("Tariffs", Tariff="Std", Prefix="0", Destination="Any", Rate_Per_Minute=0.60),
        row("Tariffs", Tariff="Std", Prefix="07", Destination="Mobile", Rate_Per_Minute=1.20),
        row("Tariffs", Tariff="Std", Prefix="0", Destination="Night", Rate_Per_Minute=0.06,
            Band="Night"),
        row("Tariffs", Tariff="Std", Prefix="09", Destination="Premium", Rate_Per_Minute=3,
            Band="Day"),
    ]  # fmt: skip
    data["Time Bands"] = [
        row("Time Bands", Band="Night", Days="Fri", From="22:00", To="06:00"),
        row("Time Bands", Band="Day", Days="Mon-Fri", From=dt.time(9), To=dt.time(17)),
        row("Time Bands", Band="Night", Days="Holiday", From="00:00", To="00:00"),
    ]
    data["Holidays"] = [
        row("Holidays", Date=dt.date(2026, 10, 12), Location="London"),
        row("Holidays", Date=dt.date(2026, 10, 13), Location="Leeds"),
    ]
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(tmp_path / "calls.csv", lines)
    out = tmp_path / "batch"
    run_import(folder, "London", "PBX", [export], out, dt.date(2026, 10, 31))
    return out


def test_each_call_is_rated_in_the_band_of_its_start(tmp_path):

    out = banded(
        tmp_path,
        [
            HEADER,
            "100,2026-10-09 23:30,fri late,,,,60,01234",  # Friday night: Night's 0
            "100,2026-10-09 02:00,fri early,,,,60,01234",  # Friday 02:00: Night (own date)
            "100,2026-10-10 02:00,sat early,,,,60,01234",  # Saturday 02:00: no band
            "100,2026-10-09 22:00,from,,,,60,07700",  # From is inclusive, Night has no 07:
            "100,2026-10-09 06:00,to,,,,60,01234",  # To is exclusive: no band
            "100,2026-10-12 12:00,holiday,,,,60,01234",  # a Monday holiday here: Night
            "100,2026-10-13 12:00,not here,,,,60,01234",  # Leeds's holiday: Day (blank 0)
            "100,2026-10-13 12:00,premium,,,,60,0900",  # Day's own 09
            "100,2026-10-13 20:00,premium late,,,,60,0900",  # no band: the blank 0
        ],
    )
    c = pd.read_parquet(out / "charges.parquet")
    assert dict(zip(c["description"], (D(str(n)) for n in c["net"]), strict=True)) == {
        "fri late": D("0.06"),
        "fri early": D("0.06"),
        "sat early": D("0.60"),
        "from": D("1.20"),
        "to": D("0.60"),
        "holiday": D("0.06"),
        "not here": D("0.60"),
        "premium": D("3.00"),
        "premium late": D("0.60"),
    }


def test_a_call_no_rate_covers_in_its_band_names_the_band(tmp_path):
    data_lines = [HEADER, "100,2026-10-09 23:00,night,,,,60,999"]
    out = banded(tmp_path, data_lines)
    u = pd.read_parquet(out / "unmatched.parquet")
    assert list(u["message"]) == [
        'no rate on tariff Std (time band Night) for destination "999"; add a prefix for it '
        "to the Tariffs sheet"
    ]
