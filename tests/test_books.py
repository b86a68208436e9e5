"""`charges export`: invoice files for Xero, QuickBooks Online, Sage 50 and plain lines,
read back by independent readers (tests/books_readers.py) and matched, invoice by
invoice, to the penny, against Batch Sheet lines worked out here from charges.parquet by
the README's rules."""

from __future__ import annotations

import random
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from processor import create_history, export_batches, run_import, void_batch
from processor.errors import UsageError
from tests.books_readers import READERS
from tests.conftest import row, write_books, write_csv

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
HEADER = "Code,Date,Description,Quantity,Cost"
NAMES = ["=Acme, Ltd", 'Birch "Legal"', "Café Noir", "+Dunmore", "Elm & Co", "@Fern"]


def books_data(accounts: int = 6) -> dict:
    """London rounds tax per line, Leeds per charge; calls at cost + 10 %, pages at 0.10
    (tax 5 %); accounts A01.. in both locations, named to trip a CSV writer."""
    data = {
        "Locations": [
            row("Locations", {"Tax Rate %": 20}, Location="London", Currency="GBP",
                Tax_Rounding="Per Line"),
            row("Locations", {"Tax Rate %": 20}, Location="Leeds", Currency="GBP",
                Tax_Rounding="Per Charge"),
        ],
        "Accounts": [],
        "Account Codes": [],
        "Applications": [
            row("Applications", Application="PBX", Format="generic-csv", Product="CALLS"),
            row("Applications", Application="Printer", Format="generic-csv", Product="PAGES"),
        ],
        "Device Import Maps": [],
        "Products": [
            row("Products", {"Markup %": 10}, Product="CALLS", Description="Telephone calls",
                Pricing="Cost Plus", GL_Code="4010"),
            row("Products", {"Tax Rate %": 5}, Product="PAGES", Description="Printing",
                Pricing="Unit Price", Unit_Price=0.10, GL_Code="4020"),
        ],
        "Product Rules": [],
        "Formats": [],
        "Tariffs": [],
    }  # fmt: skip
    for loc, prefix in (("London", "A"), ("Leeds", "B")):
        for i in range(1, accounts + 1):
            ident = f"{prefix}{i:02d}"
            name = f"{NAMES[(i - 1) % len(NAMES)]} {i}"
            data["Accounts"].append(
                row("Accounts", Account_ID=ident, Account_Name=name, Location=loc,
                    Status="Active")
            )  # fmt: skip
            for app in ("PBX", "Printer"):
                data["Account Codes"].append(
                    row("Account Codes", Account_ID=ident, Application=app, Code=ident)
                )
    return data


def usage(path: Path, accounts: list[str], seed: int, credits: bool) -> Path:
    """Rows for each account: costs with 4 places, some below zero (credits)."""
    rnd = random.Random(seed)
    lines = [HEADER]
    for a in accounts:
        for n in range(rnd.randint(1, 6)):
            cost = D(rnd.randint(-300 if credits else 1, 9000)) / 1000
            lines.append(f"{a},2026-10-{n + 1:02d} 09:{n:02d},use {n},{rnd.randint(1, 40)},{cost}")
    return write_csv(path, lines)


def expected_invoices(batches: list[Path]) -> dict[str, dict]:
    """Per account, from charges.parquet by the README's rules: a Batch Sheet line is an
    account × product of a batch, its net the sum of its charges' nets; its tax is net ×
    rate rounded half away from zero (Per Line) or the sum of the charges' taxes (Per
    Charge); a line of zero is not invoiced."""
    out: dict[str, dict] = {}
    for b in batches:
        import json

        per_line = json.loads((b / "manifest.json").read_text())["tax_rounding"] == "Per Line"
        charges = pq.read_table(b / "charges.parquet").to_pylist()
        lines: dict[tuple, dict] = {}
        for c in charges:
            ln = lines.setdefault(
                (c["account_id"], c["product"]),
                {"net": D(0), "tax": D(0), "rate": c["tax_rate"], "name": c["account_name"]},
            )
            ln["net"] += c["net"]
            ln["tax"] += c["tax"] or D(0)
        for (account, _), ln in lines.items():
            if ln["net"] == 0:
                continue
            tax = ln["tax"]
            if per_line:
                exact = ln["net"] * ln["rate"] / 100
                tax = exact.copy_abs().quantize(D("0.01"), ROUND_HALF_UP).copy_sign(exact)
            inv = out.setdefault(account, {"net": D(0), "tax": D(0), "name": ln["name"]})
            inv["net"] += ln["net"]
            inv["tax"] += tax
    for inv in out.values():
        inv["net"] = inv["net"].quantize(D("0.01"))
        inv["tax"] = inv["tax"].quantize(D("0.01"))
        inv["gross"] = inv["net"] + inv["tax"]
    return out


def shown(name: str) -> str:
    """A name as a CSV cell holds it: never a formula."""
    return "'" + name if name[:1] in "=+-@" else name


def import_location(tmp_path: Path, wb: Path, location: str, seed: int, credits=True, history=None):
    prefix = "A" if location == "London" else "B"
    accounts = [f"{prefix}{i:02d}" for i in range(1, 7)]
    out = []
    for app in ("PBX", "Printer"):
        export = usage(tmp_path / f"{location}-{app}.csv", accounts, seed + len(app), credits)
        folder = tmp_path / f"{location}-{app}"
        run_import(
            wb, location, app, [export], folder, batch_date=_date("2026-10-31"), history=history
        )
        out.append(folder)
    return out


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def write_named(folder: Path, data: dict) -> Path:
    """The workbooks, each name typed as text (as '=Acme in Excel): never a formula."""
    from openpyxl import load_workbook

    write_books(folder, data)
    book = load_workbook(folder / "accounts.xlsx")
    for (cell,) in book["Accounts"].iter_rows(min_row=2, min_col=2, max_col=2):
        if isinstance(cell.value, str):
            cell.data_type = "s"
    book.save(folder / "accounts.xlsx")
    return folder


@pytest.fixture
def store(new_history):
    """A new history on each store: the export records kept alike in SQLite and PostgreSQL."""
    return create_history(new_history)


@pytest.fixture
def wb(tmp_path: Path) -> Path:
    return write_named(tmp_path / "wb", books_data())


@pytest.mark.parametrize("system", ["xero", "quickbooks", "sage50", "lines"])
@pytest.mark.parametrize("location", ["London", "Leeds"])
def test_every_invoice_matches_the_batch_sheet_to_the_penny(tmp_path, wb, system, location):
    batches = import_location(tmp_path, wb, location, seed=hash(system) % 1000, credits=True)
    expected = expected_invoices(batches)
    credits = [inv for inv in expected.values() if inv["net"] < 0]
    if credits and system in ("xero", "quickbooks"):
        pytest.skip("a credit invoice is refused (tested apart)")
    done = export_batches(batches, system, tmp_path / f"{system}.csv")
    read = READERS[system](done.files[0])
    assert len(read) == len(expected) == len(done.invoices)
    for number, inv in read.items():
        account = number.split("-")[1]  # the default number: YYYYMMDD-ACCOUNT
        assert number == f"20261031-{account}"
        want = expected[account]
        assert (inv["net"], inv["tax"], inv["gross"]) == (want["net"], want["tax"], want["gross"])
        assert inv["customer"] == (account if system == "sage50" else shown(want["name"]))
    assert done.total("gross") == sum(i["gross"] for i in expected.values())


def test_a_generated_month_of_credits_in_both_roundings(tmp_path):
    """Many seeds: Sage 50 and lines take credits, and every invoice still matches."""
    for seed in range(6):
        for location in ("London", "Leeds"):
            run = tmp_path / f"s{seed}-{location}"
            # a history of its own: the same batch date would give the same numbers
            batches = import_location(run, write_named(run / "wb", books_data()), location, seed)
            expected = expected_invoices(batches)
            for system in ("sage50", "lines"):
                done = export_batches(batches, system, run / f"{system}.csv", again=True)
                assert [i.number for i in done.invoices] == sorted(
                    f"20261031-{a}" for a in expected
                )
                read = READERS[system](done.files[0])
                got = {n.split("-")[1]: (i["net"], i["tax"]) for n, i in read.items()}
                assert got == {a: (e["net"], e["tax"]) for a, e in expected.items()}


def test_exporting_twice_refuses_and_again_gives_the_same_numbers(tmp_path, wb, store):
    batches = import_location(tmp_path, wb, "London", seed=1, credits=False, history=store)
    first = export_batches(batches, "xero", tmp_path / "x1.csv")
    with pytest.raises(UsageError) as e:
        export_batches(batches[:1], "quickbooks", tmp_path / "q.csv")
    msg = str(e.value)
    assert f"was exported to Xero on {first.files[0].parent}" not in msg
    assert f"({tmp_path / 'x1.csv'})" in msg
    assert msg.endswith(
        "A batch is exported once, so no invoice is booked twice: to write it again (the "
        "earlier file was lost, or not imported), add --again; nothing was written"
    )
    assert not (tmp_path / "q.csv").exists()
    again = export_batches(batches, "xero", tmp_path / "x2.csv", again=True)
    assert [i.number for i in again.invoices] == [i.number for i in first.invoices]
    assert (tmp_path / "x1.csv").read_bytes() == (tmp_path / "x2.csv").read_bytes()


def test_a_void_batch_cannot_be_exported(tmp_path, wb):
    batches = import_location(tmp_path, wb, "London", seed=2, credits=False)
    void_batch(batches[0], "wrong month")
    with pytest.raises(UsageError) as e:
        export_batches(batches, "xero", tmp_path / "x.csv")
    assert "is void (by " in str(e.value)
    assert str(e.value).endswith(
        "a void batch is never invoiced; leave it out; nothing was written"
    )
    assert not (tmp_path / "x.csv").exists()


def test_a_mix_of_locations_is_refused_naming_each(tmp_path, wb):
    london = import_location(tmp_path, wb, "London", seed=3, credits=False)
    leeds = import_location(tmp_path, wb, "Leeds", seed=3, credits=False)
    with pytest.raises(UsageError) as e:
        export_batches([london[0], leeds[0]], "lines", tmp_path / "l.csv")
    assert str(e.value) == (
        f"the batches are of more than one location ({london[0]}: London; {leeds[0]}: Leeds); "
        "an export is for one location: export each location's batches on their own; "
        "nothing was written"
    )


def test_xero_refuses_an_invoice_below_zero_and_sage_writes_a_credit(tmp_path, wb):
    export = write_csv(tmp_path / "e.csv", [HEADER, "A01,2026-10-01 09:00,refund,1,-5"])
    run_import(wb, "London", "PBX", [export], tmp_path / "b", batch_date=_date("2026-10-31"))
    with pytest.raises(UsageError) as e:
        export_batches([tmp_path / "b"], "xero", tmp_path / "x.csv")
    assert str(e.value) == (
        "Xero would not take this file:\n  account A01 (=Acme, Ltd 1): its invoice totals "
        "-6.60 GBP, below zero, and Xero imports no invoice below zero: raise a credit note "
        "for it in the accounting system, then export the other batches, or export with "
        "--to lines\nnothing was written"
    )
    done = export_batches([tmp_path / "b"], "sage50", tmp_path / "s.csv")
    text = done.files[0].read_text(encoding="utf-8").splitlines()
    assert text[1] == "SC,A01,4010,,31/10/2026,20261031-A01,Telephone calls x 1,5.50,20%,1.10,,,,,"


def test_settings_number_date_and_name_the_invoices(tmp_path):
    data = books_data()
    data["Books"] = [
        row("Books", {"System": "Xero", "Invoice Number": "INV-####", "Next Number": 41,
                      "Days Until Due": 14, "Date Order": "MM/DD/YYYY"}),
    ]  # fmt: skip
    data["Tax Codes"] = [
        row("Tax Codes", {"System": "Xero", "Tax Rate %": 20, "Code in Books": "20% (VAT on Income)"}),
        row("Tax Codes", {"Tax Rate %": 5, "Code in Books": "5% (VAT on Income)"}),
    ]  # fmt: skip
    data["GL Codes"] = [row("GL Codes", {"GL Code": "4010", "Code in Books": "200"})]
    data["Accounts"][0]["Customer in Books"] = "Acme Limited"
    wb = write_named(tmp_path / "wb", data)
    batches = import_location(tmp_path, wb, "London", seed=4, credits=False)
    done = export_batches(batches, "xero", tmp_path / "x.csv")
    assert [i.number for i in done.invoices] == [f"INV-{n:04d}" for n in range(41, 47)]
    read = READERS["xero"](done.files[0], month_first=True)
    inv = read["INV-0041"]
    assert inv["customer"] == "Acme Limited"
    assert (inv["date"].isoformat(), inv["due"].isoformat()) == ("2026-10-31", "2026-11-14")
    lines = done.files[0].read_text(encoding="utf-8").splitlines()
    assert ",200,20% (VAT on Income)," in lines[1]
    assert ",4020,5% (VAT on Income)," in next(ln for ln in lines if "Printing" in ln)
    # the next export counts on from the history's last number
    more = write_csv(tmp_path / "more.csv", [HEADER, "A02,2026-11-02 10:00,x,1,1.00"])
    run_import(wb, "London", "PBX", [more], tmp_path / "nov", batch_date=_date("2026-11-30"))
    nxt = export_batches([tmp_path / "nov"], "xero", tmp_path / "x2.csv")
    assert [i.number for i in nxt.invoices] == ["INV-0047"]


def test_a_number_used_before_is_refused(tmp_path, wb, store):
    batches = import_location(tmp_path, wb, "London", seed=5, credits=False, history=store)
    export_batches(batches[:1], "lines", tmp_path / "a.csv")
    with pytest.raises(UsageError) as e:  # same batch date, same accounts: same numbers
        export_batches(batches[1:], "lines", tmp_path / "b.csv")
    assert "account A01: invoice number 20261031-A01 was used by an earlier export on " in str(
        e.value
    )
    assert "give Lines an Invoice Number with # on the Books sheet (accounts.xlsx)" in str(e.value)


def test_xero_and_quickbooks_files_are_split_and_the_parts_named(tmp_path):
    data = books_data(accounts=0)
    data["Accounts"] = [
        row("Accounts", Account_ID=f"C{i:03d}", Account_Name=f"Client {i}", Location="London",
            Status="Active")
        for i in range(501)
    ]  # fmt: skip
    data["Account Codes"] = [
        row("Account Codes", Account_ID=f"C{i:03d}", Application="PBX", Code=f"C{i:03d}")
        for i in range(501)
    ]
    wb = write_books(tmp_path / "wb", data)
    export = write_csv(
        tmp_path / "e.csv", [HEADER, *[f"C{i:03d},2026-10-01 09:00,x,1,1.00" for i in range(501)]]
    )
    run_import(wb, "London", "PBX", [export], tmp_path / "b", batch_date=_date("2026-10-31"))
    xero = export_batches([tmp_path / "b"], "xero", tmp_path / "xero.csv")
    assert [f.name for f in xero.files] == ["xero-part1-of-2.csv", "xero-part2-of-2.csv"]
    assert [len(READERS["xero"](f)) for f in xero.files] == [500, 1]
    qb = export_batches([tmp_path / "b"], "quickbooks", tmp_path / "qb.csv", again=True)
    assert len(qb.files) == 6
    assert [len(READERS["quickbooks"](f)) for f in qb.files] == [100] * 5 + [1]


def test_the_books_sheets_are_validated_cell_by_cell(tmp_path):
    from processor import validate_folder

    data = books_data()
    data["Books"] = [
        row("Books", {"System": "Xero", "Invoice Number": "INV-{month}"}),
        row("Books", {"System": "xero", "Invoice Number": "INV"}),
    ]
    data["Tax Codes"] = [
        row("Tax Codes", {"Tax Rate %": 20, "Code in Books": "T1"}),
        row("Tax Codes", {"Tax Rate %": 20, "Code in Books": "T2"}),
    ]
    _, found = validate_folder(write_books(tmp_path / "wb", data))
    got = {(f.sheet, f.cell, f.message) for f in found.itertuples()}
    bad = (
        "is not an invoice number pattern: it needs {account} or a run of # (the next "
        "number), and may hold {date}; no other {...}"
    )
    assert ("Books", "B2", f'Invoice Number "INV-{{month}}" {bad}') in got
    assert ("Books", "B3", f'Invoice Number "INV" {bad}') in got
    assert ("Books", "A3", 'System "xero" appears more than once; each must be unique') in got
    assert (
        "Tax Codes",
        "B3",
        "there is already a code for this system and rate in row 2; keep one",
    ) in got


def test_a_stopped_export_is_named_and_again_writes_it(tmp_path, wb, store):
    batches = import_location(tmp_path, wb, "London", seed=6, credits=False, history=store)
    code = (
        "import sys; from processor.cli import main; sys.exit(main(['export', "
        f"{str(batches[0])!r}, '--to', 'xero', '--out', {str(tmp_path / 'x.csv')!r}]))"
    )
    env = {**__import__("os").environ, "CHARGES_STOP_AT": "export-recorded"}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert p.returncode == 137
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(UsageError) as e:
        export_batches(batches[:1], "xero", tmp_path / "x.csv")
    assert f"({tmp_path / 'x.csv'}, which is not there: that export was stopped)" in str(e.value)
    done = export_batches(batches[:1], "xero", tmp_path / "x.csv", again=True)
    assert done.files == [tmp_path / "x.csv"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.csv")] == []


def test_the_command_says_what_it_wrote_and_what_it_refused(tmp_path, wb, capsys):
    from processor.cli import main

    batches = import_location(tmp_path, wb, "London", seed=7, credits=False)
    capsys.readouterr()
    out = tmp_path / "x.csv"
    args = ["export", *map(str, batches), "--to", "xero", "--out", str(out)]
    assert main(args) == 0
    said = capsys.readouterr()
    done = READERS["xero"](out)
    net = sum(i["net"] for i in done.values())
    tax = sum(i["tax"] for i in done.values())
    first, *_, last = sorted(done)
    assert said.out.splitlines()[:2] == [
        f"6 invoices for Xero ({first} to {last}) from 2 batches: net {net}, tax {tax}, "
        f"gross {net + tax} GBP",
        f"  wrote {out}",
    ]
    assert said.err.startswith("charges: check before importing: Xero names a tax rate")
    assert main(args) == 2  # once only
    assert "add --again; nothing was written" in capsys.readouterr().err
    assert main(["export", str(batches[0]), "--to", "myob", "--out", str(out)]) == 2
    assert "invalid choice: 'myob'" in capsys.readouterr().err
    assert main(["void", str(batches[0]), "--reason", "wrong month"]) == 0
    assert capsys.readouterr().err == (
        f"charges: batch {_batch_id(batches[0])} was exported to the books "
        f"on {_today()} ({out}): its invoices are there still; credit or delete them in the "
        "accounting system\n"
    )


def _batch_id(folder: Path) -> str:
    import json

    return json.loads((folder / "manifest.json").read_text())["batch_id"]


def _today() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).date().isoformat()
