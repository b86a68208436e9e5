"""Tiny workbooks and exports built inside the tests."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from openpyxl import Workbook

from processor import create_history
from processor.history import default_path
from schemas.workbooks import WORKBOOKS

# The column order of the positional rows some tests still write (a list per row):
# write_books places every value by its column's name, through this order, so a column
# added to a sheet's schema (anywhere) changes no test. New rows are written with ``row``.
ROW_ORDER: dict[str, list[str]] = {
    "Locations": ["Location", "Currency", "Tax Rate %", "Tax Rounding", "Time Zone"],
    "Accounts": ["Account ID", "Account Name", "Location", "Status", "Start Date", "End Date"],
    "Account Codes": ["Account ID", "Application", "Code"],
    "Applications": ["Application", "Format", "Product", "Match On", "Fall Back"],
    "Device Import Maps": ["Application", "Location", "Code", "Account ID"],
    "Products": [
        *("Product", "Description", "Pricing", "Unit Price", "Markup %", "Markup Fixed"),
        *("Minimum Charge", "Tax Rate %", "GL Code", "Tariff", "Can Be Zero Price"),
    ],
    "Product Rules": ["Application", "Item", "Product"],
    "Formats": [
        *("Format", "Delimiter", "Encoding", "Header Rows", "Footer Rows", "Has Header"),
        *("Code Column", "Date Column", "Date Format", "Time Column", "Description Column"),
        *("Quantity Column", "Cost Column", "Duration Column", "Destination Column"),
        *("Item Column", "Ignore Zero Values", "Decimal Separator"),
    ],
    "Tariffs": [
        *("Tariff", "Prefix", "Destination", "Rate Per Minute", "Connection Fee"),
        *("Minimum Seconds", "Increment Seconds"),
    ],
}


def row(sheet: str, cells: dict | None = None, **named) -> dict:
    """One workbook row by column name: ``row("Accounts", {"Account ID": "A1"})`` or
    ``row("Accounts", Account_ID="A1")`` (underscores for spaces). Columns not given are
    blank; a name the sheet does not have is an error."""
    out = {**(cells or {}), **{k.replace("_", " "): v for k, v in named.items()}}
    unknown = set(out) - set(_columns(sheet))
    assert not unknown, f"{sheet} has no column {sorted(unknown)}"
    return out


def put(data: dict[str, list], sheet: str, index: int, cells: dict) -> None:
    """Set cells of one row of ``data`` by column name (a named or a positional row)."""
    target = data[sheet][index]
    if isinstance(target, dict):
        target.update(row(sheet, cells))
        return
    order = ROW_ORDER[sheet]
    for name, value in cells.items():
        at = order.index(name)
        target.extend([None] * (at + 1 - len(target)))
        target[at] = value


def _columns(sheet: str) -> list[str]:
    return next(list(s.columns) for b in WORKBOOKS for s in b.sheets if s.name == sheet)


def _named(sheet: str, values: dict | list) -> dict:
    if isinstance(values, dict):
        return values
    order = ROW_ORDER[sheet]
    assert len(values) <= len(order), f"{sheet}: a row of {len(values)} values: {values}"
    return dict(zip(order, values, strict=False))


# A minimal valid pair: two locations, three accounts, one device of each pricing.
BASE: dict[str, list] = {
    "Locations": [
        row("Locations", Location="London", Currency="GBP", **{"Tax Rate %": 20}),
        row("Locations", Location="Leeds", Currency="GBP", **{"Tax Rate %": 20}),
    ],
    "Accounts": [
        row(
            "Accounts", Account_ID="A1", Account_Name="Acme Ltd", Location="London", Status="Active"
        ),
        row(
            "Accounts",
            Account_ID="A2",
            Account_Name="Beta Ltd",
            Location="London",
            Status="Inactive",
        ),
        row(
            "Accounts", Account_ID="A3", Account_Name="Gamma Ltd", Location="Leeds", Status="Active"
        ),
    ],
    "Account Codes": [
        row("Account Codes", Account_ID="A1", Application="PBX", Code="100"),
        row("Account Codes", Account_ID="A2", Application="PBX", Code="200"),
        row("Account Codes", Account_ID="A3", Application="PBX", Code="300"),
    ],
    "Applications": [
        row("Applications", Application="PBX", Format="generic-csv", Product="CALLS"),
    ],
    "Device Import Maps": [
        row(
            "Device Import Maps", Application="PBX", Location="London", Code="EXT1", Account_ID="A1"
        )
    ],
    "Products": [
        row(
            "Products",
            {"Markup %": 10, "Markup Fixed": 0},
            Product="CALLS",
            Description="Calls",
            Pricing="Cost Plus",
            GL_Code="4000",
            Can_Be_Zero_Price="No",
        ),
    ],
    "Product Rules": [],
    "Formats": [],
    "Tariffs": [row("Tariffs", Tariff="Std", Prefix="01", Destination="UK", Rate_Per_Minute=0.06)],
}


def base() -> dict[str, list]:
    return copy.deepcopy(BASE)


def write_books(
    folder: Path,
    data: dict[str, list] | None = None,
    headers: dict[str, list[str]] | None = None,
) -> Path:
    """Write accounts.xlsx and devices.xlsx with the contract's headers and these rows
    (each named, or positional in ROW_ORDER), every value under its column's name; under
    a sheet's own ``headers``, positional rows are written as they are."""
    data = base() if data is None else data
    folder.mkdir(parents=True, exist_ok=True)
    for book in WORKBOOKS:
        wb = Workbook()
        wb.remove(wb.active)
        for schema in book.sheets:
            if schema.name not in data:
                continue
            ws = wb.create_sheet(schema.name)
            columns = list(schema.columns)
            header = (headers or {}).get(schema.name)
            ws.append(header or columns)
            for values in data[schema.name]:
                if header is not None and isinstance(values, list):
                    ws.append(values)  # the test's own header: its rows as they are
                    continue
                named = _named(schema.name, values)
                cells = [named.get(c) for c in columns]
                while cells and cells[-1] is None:
                    cells.pop()  # as a positional row short of the last columns was written
                ws.append(cells)
        wb.save(folder / book.filename)
    if not default_path(folder).exists():  # as `charges init` makes it beside the workbooks
        create_history(default_path(folder))
    return folder


@pytest.fixture
def books(tmp_path: Path) -> Path:
    return write_books(tmp_path / "wb")


def write_csv(path: Path, lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


GENERIC_HEADER = "Code,Date,Description,Quantity,Cost"


def use_sheet_format(data: dict[str, list[list]], name: str, **columns) -> None:
    """Describe a layout on the Formats sheet (columns as in tests.test_workbooks.fmt_row,
    e.g. Code_Column="Code") and make application PBX use it."""
    from tests.test_workbooks import fmt_row

    data["Formats"] = [fmt_row(Format=name, **columns)]
    put(data, "Applications", 0, {"Format": name})


def sheet_lines(book_path: Path, name: str = "Batch Sheet") -> list[tuple]:
    """A batch.xlsx table's data rows: those below the header, up to the blank row before
    its totals (the Batch Sheet's), checking that the totals row sums the lines shown."""
    from decimal import Decimal

    from openpyxl import load_workbook

    rows = list(load_workbook(book_path)[name].iter_rows(min_row=2, values_only=True))
    if None in [r[0] if any(v is not None for v in r) else None for r in rows]:
        cut = next(i for i, r in enumerate(rows) if all(v is None for v in r))
        lines, totals = rows[:cut], rows[cut + 1 :]
        if name == "Batch Sheet":
            (total,) = totals
            assert total[1] == "Total of the lines above"
            for i in (4, 5, 7, 8):  # quantity, net, tax, gross: sums of the lines shown
                want = sum((Decimal(str(r[i])) for r in lines), Decimal(0))
                assert abs(Decimal(str(total[i])) - want) < Decimal("1e-9"), (i, total, want)
        return lines
    return rows


@pytest.fixture(scope="session", autouse=True)
def key_cache_folder(tmp_path_factory) -> Path:
    """The copies of PostgreSQL histories' billed keys go into the tests' own folder (as
    CHARGES_KEY_CACHE, which the commands the tests start inherit), not the user's."""
    import os

    folder = tmp_path_factory.mktemp("key-cache")
    os.environ["CHARGES_KEY_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for this test process (``tests.pg_server``); skipped
    where none can be started, except in CI (CHARGES_NEED_POSTGRES=1)."""
    import os

    from tests import pg_server as servers

    got = servers.start()
    if isinstance(got, str):
        if os.environ.get("CHARGES_NEED_POSTGRES"):
            pytest.fail(f"CI needs a PostgreSQL server for the history tests, and {got}")
        pytest.skip(got)
    yield got
    got.stop()


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def new_history(request, tmp_path) -> Path | str:
    """Where a new history goes, on each backend: a file, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "history.sqlite"
    return request.getfixturevalue("pg_server").database()


@pytest.fixture(params=BACKENDS)
def two_new_histories(request, tmp_path) -> tuple[Path | str, Path | str]:
    """Where two new, different histories go, on each backend."""
    if request.param == "sqlite":
        return tmp_path / "ours.sqlite", tmp_path / "theirs.sqlite"
    server = request.getfixturevalue("pg_server")
    return server.database(), server.database()


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch) -> str:
    """The test on both stores: with postgres, CHARGES_HISTORY names a new PostgreSQL
    history, which every command not given --history uses (the workbooks' SQLite file is
    never made)."""
    if request.param == "postgres":
        url = create_history(request.getfixturevalue("pg_server").database())
        monkeypatch.setenv("CHARGES_HISTORY", url)
    return request.param
