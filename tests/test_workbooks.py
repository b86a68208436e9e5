"""The workbook contract: every rule broken once, with its exact place and message."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from processor import findings as fnd
from processor import validate_folder, write_templates
from processor.cli import main
from tests.conftest import base, put, row, write_books

SAMPLES = Path(__file__).parent.parent / "samples" / "workbooks"


def lines(folder: Path, severity: str | None = None) -> list[str]:
    _, found = validate_folder(folder)
    if severity:
        found = found[found["severity"] == severity]
    return [fnd.render(r) for r in found.to_dict("records")]


def broken(tmp_path: Path, sheet: str, row: int, column: str, value) -> Path:
    data = base()
    put(data, sheet, row, {column: value})
    return write_books(tmp_path / "wb", data)


def test_valid_pair_has_no_findings(books):
    assert lines(books) == []


def test_samples_are_valid():
    assert lines(SAMPLES) == []  # no error, and no warning: `make samples` after a schema change
    assert main(["validate", "--workbooks", str(SAMPLES)]) == 0


def test_init_then_validate_exits_zero_and_says_there_is_nothing_to_bill(tmp_path, capsys):
    assert main(["init", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    assert main(["validate", "--workbooks", str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "0 errors, 4 warnings" in out
    assert (
        "accounts.xlsx › Accounts: has no accounts yet, so there is nothing to bill: fill in "
        "the Accounts sheet (its header comments say what each column holds)"
    ) in out


def test_template_comments_say_each_thing_once_and_headers_fit(tmp_path):
    from processor.reference.templates import header_comment
    from schemas.workbooks import SHEETS

    for sheet in SHEETS.values():
        for name, col in sheet.columns.items():
            text = header_comment(col)
            assert text.count("Optional") <= 1, (sheet.name, name, text)
            assert not ("Optional" in text and "Required" in text), text
            assert text.count("Formats sheet") <= 1, text
    assert header_comment(SHEETS["Applications"].columns["Format"]) == (
        "How its exports are laid out: a built-in format name (charges formats lists them) "
        "or one defined on the Formats sheet. Required."
    )
    write_templates(tmp_path)
    ws = load_workbook(tmp_path / "devices.xlsx")["Formats"]
    assert ws.row_dimensions[1].height >= 33  # "Description Column" wraps in 12 characters


def test_init_never_overwrites(tmp_path):
    write_templates(tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        write_templates(tmp_path)
    assert main(["init", str(tmp_path)]) == 2


@pytest.mark.parametrize(
    ("sheet", "row", "column", "value", "expected"),
    [
        (
            "Account Codes",
            0,
            "Code",
            "AB-12",
            'accounts.xlsx › Account Codes › C2: code "AB-12" has characters other than letters '
            "and digits",
        ),
        (
            "Accounts",
            1,
            "Account ID",
            "A 2",
            'accounts.xlsx › Accounts › A3: Account ID "A 2" has characters other than letters '
            "and digits",
        ),
        (
            "Accounts",
            0,
            "Account Name",
            None,
            "accounts.xlsx › Accounts › B2: Account Name is required; fill it in",
        ),
        (
            "Accounts",
            0,
            "Status",
            "Closed",
            'accounts.xlsx › Accounts › D2: Status "Closed" is not one of: Active, Inactive',
        ),
        (
            "Accounts",
            0,
            "Start Date",
            "soon",
            'accounts.xlsx › Accounts › E2: Start Date "soon" is not a date; type it as a date such '
            "as 2026-01-31",
        ),
        (
            "Locations",
            0,
            "Currency",
            "QQQ",
            'accounts.xlsx › Locations › B2: Currency "QQQ" is not an ISO 4217 currency code (e.g. GBP)',
        ),
        (
            "Locations",
            0,
            "Tax Rate %",
            120,
            "accounts.xlsx › Locations › C2: Tax Rate % 120 is not a percentage from 0 to 100",
        ),
        (
            "Locations",
            0,
            "Tax Rate %",
            "twenty",
            'accounts.xlsx › Locations › C2: Tax Rate % "twenty" is not a number',
        ),
        (
            "Products",
            0,
            "Minimum Charge",
            -1,
            "devices.xlsx › Products › G2: Minimum Charge -1 is negative; use 0 or more",
        ),
        (
            "Products",
            0,
            "Pricing",
            "Free",
            'devices.xlsx › Products › C2: Pricing "Free" is not one of: Cost Plus, Unit Price, Tariff',
        ),
        (
            "Tariffs",
            0,
            "Increment Seconds",
            1.5,
            "devices.xlsx › Tariffs › G2: Increment Seconds 1.5 is not a whole number of 0 or more",
        ),
        (
            "Accounts",
            0,
            "Location",
            "Londn",
            'accounts.xlsx › Accounts › C2: Location "Londn" is not on the Locations sheet '
            "(accounts.xlsx); add it there or correct the spelling",
        ),
        (
            "Account Codes",
            0,
            "Application",
            "PABX",
            'accounts.xlsx › Account Codes › B2: Application "PABX" is not on the Applications sheet '
            "(devices.xlsx); add it there or correct the spelling",
        ),
        (
            "Device Import Maps",
            0,
            "Account ID",
            "A9",
            'devices.xlsx › Device Import Maps › D2: Account ID "A9" is not on the Accounts sheet '
            "(accounts.xlsx); add it there or correct the spelling",
        ),
        (
            "Applications",
            0,
            "Format",
            "mystery",
            'devices.xlsx › Applications › B2: Format "mystery" is not on the Formats sheet '
            "(devices.xlsx) or a built-in format (charges formats lists them); add it there or "
            "correct the spelling",
        ),
        (
            "Applications",
            0,
            "Product",
            "NOPE",
            'devices.xlsx › Applications › C2: Product "NOPE" is not on the Products sheet '
            "(devices.xlsx); add it there or correct the spelling",
        ),
        (
            "Applications",
            0,
            "Match On",
            "Code, Extension",
            'devices.xlsx › Applications › D2: Match On names "Extension", which format generic-csv '
            "does not have; it has: Code, Date, Description, Quantity, Cost, Item, Duration, "
            "Destination",
        ),
    ],
)
def test_cell_rule(tmp_path, sheet, row, column, value, expected):
    assert expected in lines(broken(tmp_path, sheet, row, column, value), "error")


def test_unformatted_fraction_percent_is_an_error(tmp_path):
    folder = broken(tmp_path, "Locations", 0, "Tax Rate %", 0.2)
    assert lines(folder, "error") == [
        "accounts.xlsx › Locations › C2: Tax Rate % 0.2 is between 0 and 1: write 20% as 20 "
        "(or format the cell as a percentage, so that it shows 20 %)"
    ]


def test_duplicate_account_id_ignores_case_and_spaces(tmp_path):
    data = base()
    data["Accounts"].append([" a1 ", "Again", "London", "Active", None, None])
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        'accounts.xlsx › Accounts › A5: Account ID "a1" appears more than once; each must be unique'
    ]


def test_code_on_two_accounts_is_an_error(tmp_path):
    data = base()
    data["Device Import Maps"].append(["PBX", "London", "100", "A2"])
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        'devices.xlsx › Device Import Maps › C3: code "100" for PBX at this location belongs to '
        "account A2 here and to account A1 at accounts.xlsx › Account Codes › C2; a code may "
        "belong to one account only: remove or correct one, or give each its From and To "
        "dates if the code changed hands"
    ]


def test_codes_compare_without_case_but_keep_leading_zeros(tmp_path):
    data = base()
    data["Device Import Maps"].append(["PBX", "London", "ext1 ", "A2"])  # same as EXT1
    data["Device Import Maps"].append(["PBX", "London", "0100", "A2"])  # not the same as 100
    found = lines(write_books(tmp_path / "wb", data), "error")
    assert len(found) == 1
    assert found[0].startswith('devices.xlsx › Device Import Maps › C3: code "ext1" for PBX')


def test_same_code_same_account_in_both_sheets_is_a_warning(tmp_path):
    data = base()
    data["Device Import Maps"].append(["PBX", "London", "100", "A1"])
    assert lines(write_books(tmp_path / "wb", data)) == [
        'devices.xlsx › Device Import Maps › C3: code "100" for PBX is given to account A1 again '
        "(also at accounts.xlsx › Account Codes › C2); remove one of them"
    ]


def test_same_code_at_two_locations_is_fine(tmp_path):
    data = base()
    data["Device Import Maps"].append(["PBX", "Leeds", "100", "A3"])
    assert lines(write_books(tmp_path / "wb", data)) == []


def test_map_to_account_of_other_location(tmp_path):
    data = base()
    data["Device Import Maps"].append(["PBX", "Leeds", "EXT9", "A1"])
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        'devices.xlsx › Device Import Maps › D3: account A1 belongs to location "London", not '
        '"Leeds"; map the code at the account\'s location or correct the Account ID'
    ]


def test_unit_price_and_tariff_products_need_their_price(tmp_path):
    data = base()
    data["Products"].append(
        ["P1", "Print", "Unit Price", None, None, None, None, None, None, None, None]
    )
    data["Products"].append(
        ["T1", "Calls", "Tariff", None, None, None, None, None, None, None, None]
    )
    data["Products"].append(
        ["T2", "Calls", "Tariff", None, None, None, None, None, None, "Nope", None]
    )
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        'devices.xlsx › Products › J5: Tariff "Nope" is not on the Tariffs sheet (devices.xlsx); '
        "add it there or correct the spelling",
        'devices.xlsx › Products › D3: product "P1" is priced by Unit Price but has no Unit Price; '
        "fill it in",
        'devices.xlsx › Products › J4: product "T1" is priced by Tariff but names no Tariff; name '
        "one from the Tariffs sheet",
    ]


def test_end_date_before_start(tmp_path):
    data = base()
    put(data, "Accounts", 0, {"Start Date": dt.date(2026, 5, 1), "End Date": dt.date(2026, 4, 1)})
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        "accounts.xlsx › Accounts › F2: End Date 2026-04-01 is before Start Date 2026-05-01"
    ]


def test_duplicate_product_rule_and_tariff_prefix(tmp_path):
    data = base()
    data["Product Rules"] = [["PBX", "mono", "CALLS"], ["PBX", "MONO", "CALLS"]]
    data["Tariffs"].append(["Std", "01", "UK again", 0.07, None, None, None])
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        "devices.xlsx › Product Rules › B3: there is already a rule for this application, item, "
        "paper size and duplex in row 2; keep one",
        "devices.xlsx › Tariffs › B3: there is already a rate for this tariff, band and prefix in row "
        "2; keep one",
    ]


def fmt_row(**over) -> dict:
    """A Formats row by column name (underscores for spaces)."""
    from schemas.workbooks import FORMATS

    row = dict.fromkeys(FORMATS.columns)
    row.update({"Format": "Mine", "Code Column": "Account", "Date Column": "When"})
    row.update({k.replace("_", " "): v for k, v in over.items()})
    return row


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        (
            {"Has_Header": "No"},
            'devices.xlsx › Formats › G2: Code Column "Account" names a header, but Has Header is No; '
            "use the column's position (1 = first column)",
        ),
        (
            {"Header_Rows": 0},
            "devices.xlsx › Formats › D2: Header Rows is 0 but Has Header is Yes; the header line is "
            "one of the skipped lines, so use 1 or more (or set Has Header to No)",
        ),
        (
            {"Delimiter": "::"},
            'devices.xlsx › Formats › B2: Delimiter "::" is not one character (or one of: comma, '
            "semicolon, tab, pipe)",
        ),
        (
            {"Encoding": "klingon"},
            'devices.xlsx › Formats › C2: Encoding "klingon" is not an encoding Python knows '
            "(e.g. utf-8)",
        ),
        (
            {"Date_Format": "dd/mm/yyyy"},
            'devices.xlsx › Formats › I2: Date Format "dd/mm/yyyy" is not a date format like '
            "%d/%m/%Y %H:%M (strftime codes)",
        ),
        (
            {"Quantity_Column": 0},
            'devices.xlsx › Formats › L2: Quantity Column "0" must be a header text or a column '
            "position of 1 or more",
        ),
    ],
)
def test_formats_sheet_rules(tmp_path, over, expected):
    data = base()
    data["Formats"] = [fmt_row(**over)]
    assert expected in lines(write_books(tmp_path / "wb", data), "error")


def test_applications_may_name_a_format_from_the_formats_sheet(tmp_path):
    data = base()
    data["Formats"] = [fmt_row()]
    put(data, "Applications", 0, {"Format": "mine"})
    assert lines(write_books(tmp_path / "wb", data)) == []


# Excel as people really use it


def test_code_stored_as_number_is_a_warning(tmp_path):
    folder = broken(tmp_path, "Account Codes", 0, "Code", 100)
    assert lines(folder) == [
        "accounts.xlsx › Account Codes › C2: code 100 is stored as a number, so leading zeros may "
        "have been lost; format the column as Text and type the code again"
    ]


def test_headers_with_stray_spaces_other_order_extra_columns_and_blank_rows(tmp_path):
    data = base()
    data["Accounts"] = [
        [r["Account Name"], r["Account ID"], r["Location"], r["Status"], "note", *[None] * 5]
        for r in data["Accounts"]
    ]
    data["Accounts"].insert(1, [None] * 10)
    data["Accounts"] += [[None] * 10, [None] * 10]
    headers = {
        "Accounts": [
            "Account Name",
            "  Account   ID ",
            "location",
            "Status",
            "Notes",
            "Start Date",
            "End Date",
            " PLAN",
            "customer in  books",
            "Alert above",
        ]
    }
    folder = write_books(tmp_path / "wb", data, headers)
    assert lines(folder) == []
    data["Accounts"][0][1] = "A-1"  # under this test's own header: the Account ID
    folder = write_books(tmp_path / "wb2", data, headers)
    assert lines(folder, "error")[0].startswith('accounts.xlsx › Accounts › B2: Account ID "A-1"')


def test_formula_cells_are_read_as_their_cached_values(tmp_path):
    folder = write_books(tmp_path / "wb")
    path = folder / "accounts.xlsx"
    wb = load_workbook(path)
    wb["Accounts"]["B2"] = '=CONCAT("Acme"," Ltd")'
    wb.save(path)
    # openpyxl writes no cached value; add one as Excel would have saved it
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet2"))
    xml = parts[sheet].decode()
    xml = re.sub(
        r'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
        r'<c r="B2"\1 t="str"><f>\2</f><v>Acme Ltd</v>',
        xml,
    )
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in parts.items():
            zf.writestr(n, b)
    sheets, found = validate_folder(folder)
    assert len(found) == 0
    assert sheets["Accounts"].frame.at[2, "Account Name"] == "Acme Ltd"


def test_missing_sheet(tmp_path):
    data = base()
    del data["Tariffs"]
    assert lines(write_books(tmp_path / "wb", data)) == [
        'devices.xlsx: has no sheet "Tariffs"; add it (charges init writes a template)'
    ]


def test_renamed_header_names_the_column_and_the_suspect(tmp_path):
    from schemas.workbooks import ACCOUNTS

    headers = {"Accounts": [c if c != "Status" else "State" for c in ACCOUNTS.columns]}
    assert lines(write_books(tmp_path / "wb", base(), headers), "error") == [
        "accounts.xlsx › Accounts: missing column \"Status\"; found unknown columns 'State': "
        'rename the one that holds it back to "Status"'
    ]


def test_missing_optional_column_is_a_warning(tmp_path):
    from schemas.workbooks import ACCOUNTS

    data = base()
    headers = {"Accounts": [c for c in ACCOUNTS.columns if c != "End Date"]}
    data["Accounts"] = [[r.get(c) for c in headers["Accounts"]] for r in data["Accounts"]]
    assert lines(write_books(tmp_path / "wb", data, headers)) == [
        'accounts.xlsx › Accounts: missing optional column "End Date" (read as blank); add a '
        'column headed "End Date" in row 1'
    ]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            "xls",
            "accounts.xlsx: found accounts.xls but not accounts.xlsx; open it in Excel and "
            "save it as Excel Workbook (.xlsx)",
        ),
        (
            "missing",
            "accounts.xlsx: file not found in {folder}; run `charges init {folder}` to create it",
        ),
        (
            "password",
            "accounts.xlsx: is password-protected or an old .xls file; remove the "
            "password (File › Info › Protect Workbook) and save it as Excel Workbook "
            "(.xlsx)",
        ),
        (
            "corrupt",
            "accounts.xlsx: is not a valid .xlsx file (it may be corrupt or another "
            "format); save it again from Excel",
        ),
        (
            "macros",
            "accounts.xlsx: contains macros (.xlsm); save it as Excel Workbook (.xlsx) "
            "without macros",
        ),
    ],
)
def test_unreadable_workbook_files(tmp_path, setup, expected):
    folder = write_books(tmp_path / "wb")
    path = folder / "accounts.xlsx"
    if setup == "xls":
        path.rename(folder / "accounts.xls")
    elif setup == "missing":
        path.unlink()
    elif setup == "password":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    elif setup == "corrupt":
        path.write_bytes(path.read_bytes()[:300])
    elif setup == "macros":
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("xl/vbaProject.bin", b"\0")
    assert lines(folder, "error") == [expected.format(folder=folder)]


def test_validate_json_and_exit_code(tmp_path, capsys):
    folder = broken(tmp_path, "Account Codes", 0, "Code", "AB-12")
    assert main(["validate", "--workbooks", str(folder), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["errors"] == 1 and doc["warnings"] == 0
    assert doc["findings"][0] == {
        "severity": "error",
        "code": "invalid-characters",
        "workbook": "accounts.xlsx",
        "sheet": "Account Codes",
        "cell": "C2",
        "message": 'code "AB-12" has characters other than letters and digits',
        "text": 'accounts.xlsx › Account Codes › C2: code "AB-12" has characters other than '
        "letters and digits",
    }


def test_validate_text_lists_errors_and_warnings_apart(tmp_path, capsys):
    data = base()
    put(data, "Account Codes", 0, {"Code": "AB-12"})
    put(data, "Account Codes", 1, {"Code": 200})
    assert main(["validate", "--workbooks", str(write_books(tmp_path / "wb", data))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Errors (1):"
    assert out[2] == "Warnings (1):"
    assert out[-1] == "1 error, 1 warning"


# Templates


def test_templates_have_dropdowns_text_codes_comments_and_frozen_headers(tmp_path):
    write_templates(tmp_path)
    acc = load_workbook(tmp_path / "accounts.xlsx")
    dev = load_workbook(tmp_path / "devices.xlsx")

    def validations(ws) -> dict[str, str]:
        return {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}

    assert validations(acc["Accounts"]) == {
        "C2:C1048576": "='Locations'!$A$2:$A$1048576",
        "D2:D1048576": '"Active,Inactive"',
        "G2:G1048576": "='Plans'!$A$2:$A$1048576",
    }
    assert validations(dev["Tariffs"]) == {
        "H2:H1048576": "='Time Bands'!$A$2:$A$1048576",
        "I2:I1048576": '"Yes,No"',
    }
    # the accounting systems' settings choose their system and date order from lists
    assert validations(acc["Books"]) == {
        "A2:A1048576": '"Xero,QuickBooks,Sage 50,Lines"',
        "E2:E1048576": '"DD/MM/YYYY,MM/DD/YYYY"',
    }
    assert validations(acc["Tax Codes"]) == {"A2:A1048576": '"Xero,QuickBooks,Sage 50,Lines"'}
    assert validations(acc["Account Codes"]) == {"A2:A1048576": "='Accounts'!$A$2:$A$1048576"}
    dv = validations(dev["Applications"])
    assert dv["B2:B1048576"].startswith("=Lists!$A$2:$A$")
    assert dv["C2:C1048576"] == "='Products'!$A$2:$A$1048576"
    assert validations(dev["Products"]) == {
        "C2:C1048576": '"Cost Plus,Unit Price,Tariff"',
        "J2:J1048576": "='Tariffs'!$A$2:$A$1048576",
        "K2:K1048576": '"Yes,No"',
    }
    assert validations(dev["Product Rules"]) == {
        "A2:A1048576": "='Applications'!$A$2:$A$1048576",
        "C2:C1048576": "='Products'!$A$2:$A$1048576",
        "E2:E1048576": '"Yes,No"',
    }
    assert validations(dev["Formats"]) == {
        "F2:F1048576": '"Yes,No"',
        "S2:S1048576": '"CSV,Excel"',
        "Q2:Q1048576": '"Yes,No"',
        "R2:R1048576": "=Lists!$B$2:$B$3",  # "." and "," cannot sit in a list formula
    }
    assert [dev["Lists"].cell(r, 2).value for r in (1, 2, 3)] == [
        "Decimal Separator choices",
        ".",
        ",",
    ]
    lists = dev["Lists"]
    assert lists.sheet_state == "hidden"
    from processor.ingest.formats import registry

    names = registry.names()
    assert [lists.cell(i, 1).value for i in range(2, len(names) + 2)] == names
    assert lists.cell(len(names) + 2, 1).value == '=IF(Formats!A2="","",Formats!A2)'
    assert acc["Account Codes"].column_dimensions["C"].number_format == "@"
    assert dev["Device Import Maps"].column_dimensions["C"].number_format == "@"
    assert acc["Accounts"].freeze_panes == "A2"
    assert acc["Accounts"]["A1"].comment.text.startswith("The account's ID in your billing system")
    assert acc["Accounts"]["A1"].font.bold


def test_template_header_comments_cover_every_column(tmp_path):
    write_templates(tmp_path)
    from schemas.workbooks import WORKBOOKS

    for book in WORKBOOKS:
        wb = load_workbook(tmp_path / book.filename)
        for schema in book.sheets:
            headers = [c.value for c in wb[schema.name][1]]
            assert headers == list(schema.columns)
            assert all(c.comment is not None for c in wb[schema.name][1])


def test_validate_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["validate", "--workbooks", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_samples_untouched_by_validation(tmp_path):
    copy = tmp_path / "s"
    shutil.copytree(SAMPLES, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    validate_folder(copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_workbook_without_data_rows(tmp_path):
    wb = Workbook()
    wb.active.title = "x"
    data = {k: [] for k in base()}
    found = lines(write_books(tmp_path / "wb", data))
    assert lines(write_books(tmp_path / "wb", data), "error") == []
    assert [f.split(":")[0] for f in found] == [
        "accounts.xlsx › Locations",
        "accounts.xlsx › Accounts",
        "devices.xlsx › Applications",
        "devices.xlsx › Products",
    ]


def test_the_same_problem_in_many_cells_is_one_line(tmp_path, capsys):
    data = base()
    data["Account Codes"] = [["A1", "PABX", f"{i}"] for i in range(100, 107)]
    assert main(["validate", "--workbooks", str(write_books(tmp_path / "wb", data))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Errors (7):",
        '  accounts.xlsx › Account Codes › B2, B3, B4, B5 and 3 more: Application "PABX" is '
        "not on the Applications sheet (devices.xlsx); add it there or correct the spelling",
        "7 errors, 0 warnings",
    ]


def _one_sheet_xlsx(path: Path, rows) -> Path:
    """An .xlsx holding one sheet "Data" whose rows are (row number, [(column, value)])."""
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{v}</v></c>' for c, v in cells) + "</row>"
        for r, cells in rows
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}"><sheetData>{body}</sheetData></worksheet>',
        )
    return path


@pytest.mark.parametrize(
    "rows, refused",
    [
        # 400,000 rows of two columns: 800,000 cells, within bounds (26 columns would not be)
        ((lambda: ((r, [("A", 1), ("B", 2)]) for r in range(1, 400_001))), False),
        # 5,000 rows reaching column ZZ: 3.5 million cells
        ((lambda: [(1, [("A", 1)]), (5000, [("ZZ", 1)])]), False),
        # 1,000 rows reaching the last column: 16 million cells
        ((lambda: [(1, [("A", 1)]), (1000, [("XFD", 1)])]), True),
        # far down in the first column: 1 million cells, then 16 million with column AB
        ((lambda: [(1, [("A", 1)]), (1_000_000, [("A", 1)])]), False),
        ((lambda: [(1, [("AB", 1)]), (1_000_000, [("A", 1)])]), True),
    ],
)
def test_a_sheet_is_refused_only_when_its_cells_span_more_than_8_million(tmp_path, rows, refused):
    from processor.reference.reading import inspect_xlsx

    path = _one_sheet_xlsx(tmp_path / "big.xlsx", rows())
    problem, facts = inspect_xlsx(path, ["Data"])
    assert (problem is not None) == refused
    if refused:
        assert problem.startswith('sheet "Data" holds data far beyond its rows')
    else:
        assert "Data" in facts


def test_sheets_read_in_any_order_are_listed_and_checked_in_the_contracts_order(
    tmp_path, monkeypatch
):
    # each workbook is read in a thread of its own: when devices.xlsx is read first, the
    # sheets and findings still come in the contract's order, as when read one by one
    import threading
    import time

    from processor.reference import reading
    from schemas.workbooks import WORKBOOKS

    data = base()
    put(data, "Accounts", 0, {"Status": "Sometimes"})  # accounts.xlsx › Accounts: a cell check
    put(data, "Products", 0, {"Pricing": "Costplus"})  # devices.xlsx › Products: a cell check
    data["Account Codes"].append(["A1", "PABX", "9"])  # a rule across sheets
    folder = write_books(tmp_path / "wb", data)
    real = reading._raw_book

    def accounts_last(folder, book):
        if book.filename == "accounts.xlsx":
            time.sleep(0.5)
        yield from real(folder, book)

    monkeypatch.setattr(reading, "_raw_book", accounts_last)
    arrived = [place for place, _, _ in reading.iter_sheets(folder)]
    assert arrived[0][0] == 1  # devices.xlsx came first
    sheets, found = validate_folder(folder)
    assert list(sheets) == [s.name for book in WORKBOOKS for s in book.sheets]
    assert [(f["sheet"], f["cell"]) for f in found.to_dict("records")] == [
        ("Accounts", "D2"),
        ("Products", "C2"),
        ("Account Codes", "B5"),  # the rules across sheets come after every cell check
    ]

    def broken(folder, book):
        if book.filename == "devices.xlsx":
            raise RuntimeError("reader failed")
        yield from real(folder, book)

    monkeypatch.setattr(reading, "_raw_book", broken)
    with pytest.raises(RuntimeError, match="reader failed"):
        validate_folder(folder)
    assert not [t for t in threading.enumerate() if t.name.startswith("read ")]


def test_maximum_charge_and_free_seconds_are_checked(tmp_path):
    data = base()
    put(data, "Products", 0, {"Maximum Charge": -1, "Free Seconds": 30})
    assert lines(write_books(tmp_path / "a", data)) == [
        "devices.xlsx › Products › L2: Maximum Charge -1 is negative; use 0 or more",
        'devices.xlsx › Products › M2: product "CALLS" has Free Seconds but is priced by Cost '
        "Plus; Free Seconds applies to Tariff products only and is ignored here",
    ]
    data = base()
    put(data, "Products", 0, {"Minimum Charge": 1, "Maximum Charge": 0.5, "Free Seconds": -3})
    assert lines(write_books(tmp_path / "b", data), "error") == [
        "devices.xlsx › Products › M2: Free Seconds -3 is not a whole number of 0 or more",
        'devices.xlsx › Products › L2: product "CALLS" has a Maximum Charge 0.5 below its '
        "Minimum Charge 1; correct one of them",
    ]


def test_account_prices_one_row_per_account_and_product(tmp_path):
    data = base()
    data["Account Prices"] = [
        {"Account ID": "A1", "Product": "CALLS", "Discount %": 10},
        {"Account ID": "a1", "Product": "calls", "Unit Price": 0.5},
        {"Account ID": "A9", "Product": "CALLS"},
        {"Account ID": "A1", "Product": "NOPE", "Discount %": 120},
        {"Account ID": "A3", "Product": "CALLS", "Maximum Charge": 0.5, "Minimum Charge": 2},
    ]
    assert lines(write_books(tmp_path / "wb", data), "error") == [
        "accounts.xlsx › Account Prices › I5: Discount % 120 is not a percentage from 0 to 100",
        'accounts.xlsx › Account Prices › A4: Account ID "A9" is not on the Accounts sheet '
        "(accounts.xlsx); add it there or correct the spelling",
        'accounts.xlsx › Account Prices › B5: Product "NOPE" is not on the Products sheet '
        "(devices.xlsx); add it there or correct the spelling",
        "accounts.xlsx › Account Prices › G6: account A3 would be billed CALLS with a Maximum "
        "Charge 0.5 below its Minimum Charge 2 (this row's or the product's); correct one of "
        "them",
        "accounts.xlsx › Account Prices › B3: there is already a price for this account and "
        "product in row 2; keep one",
    ]


def test_time_bands_and_holidays_are_checked_cell_by_cell(tmp_path):
    data = base()
    data["Time Bands"] = [
        row("Time Bands", Band="Peak", Days="Mon-Fri", From="08:00", To=dt.time(18, 0)),
        row("Time Bands", Band="Evening", Days="mon - fri", From="18:00", To="08:00"),
        row("Time Bands", Band="Weekend", Days="Sat, Sun", From="00:00", To="00:00"),
        row("Time Bands", Band="Late", Days="Fri-Sat", From="23:00", To="01:00"),
        row("Time Bands", Band="Odd", Days="Mon-Funday", From="25:00", To="7"),
        row("Time Bands", Band="Back", Days="Fri-Mon", From="09:00", To="10:00"),
    ]
    data["Holidays"] = [
        row("Holidays", Date=dt.date(2026, 12, 25)),
        row("Holidays", Date="Christmas", Location="Paris"),
    ]
    data["Tariffs"].append(
        row("Tariffs", Tariff="Std", Prefix="01", Destination="UK", Rate_Per_Minute=0.02,
            Band="Night")
    )  # fmt: skip
    data["Tariffs"].append(
        row("Tariffs", Tariff="Std", Prefix="01", Destination="UK", Rate_Per_Minute=0.03,
            Band="evening")
    )  # fmt: skip
    data["Tariffs"].append(
        row("Tariffs", Tariff="std", Prefix="01", Destination="UK", Rate_Per_Minute=0.04,
            Band="Evening")
    )  # fmt: skip
    assert lines(write_books(tmp_path / "wb", data)) == [
        'devices.xlsx › Time Bands › B6: Days "Mon-Funday" is not a list of days: use Mon, '
        "Tue, Wed, Thu, Fri, Sat, Sun and Holiday, separated by commas, and ranges in week "
        "order such as Mon-Fri",
        'devices.xlsx › Time Bands › B7: Days "Fri-Mon" is not a list of days: use Mon, Tue, '
        "Wed, Thu, Fri, Sat, Sun and Holiday, separated by commas, and ranges in week order "
        "such as Mon-Fri",
        'devices.xlsx › Time Bands › C6: From "25:00" is not a time of day; type it as HH:MM, '
        "e.g. 08:00 or 18:30",
        'devices.xlsx › Time Bands › D6: To "7" is not a time of day; type it as HH:MM, e.g. '
        "08:00 or 18:30",
        'devices.xlsx › Holidays › A3: Date "Christmas" is not a date; type it as a date such '
        "as 2026-01-31",
        'devices.xlsx › Tariffs › H3: Band "Night" is not on the Time Bands sheet '
        "(devices.xlsx); add it there or correct the spelling",
        'devices.xlsx › Holidays › B3: Location "Paris" is not on the Locations sheet '
        "(accounts.xlsx); add it there or correct the spelling",
        "devices.xlsx › Tariffs › B5: there is already a rate for this tariff, band and prefix "
        "in row 4; keep one",
        'devices.xlsx › Time Bands › B5: band "Late" and band "Evening" in row 3 both hold Fri '
        "23:00; a moment belongs to one band: correct the Days, From or To of one of them",
        "devices.xlsx › Time Bands: the Holidays sheet lists days, but no band's Days name "
        "Holiday, so a call on a holiday has no band and is rated on the rows with a blank "
        "Band only; add Holiday to the Days of the band holidays are rated in",
    ]


def test_plans_are_checked_cell_by_cell(tmp_path):
    data = base()
    put(data, "Products", 0, {"Pricing": "Tariff", "Tariff": "Std"})
    data["Products"].append(
        row("Products", Product="PAGES", Description="Pages", Pricing="Unit Price",
            Unit_Price=0.05)
    )  # fmt: skip
    data["Accounts"][0]["Plan"] = "Desk"
    data["Accounts"][2]["Plan"] = "Gold"
    data["Plans"] = [
        row("Plans", {"Plan": "Desk", "Product": "PAGES", "Included Quantity": 100}),
        row("Plans", {"Plan": "Desk", "Product": "CALLS", "Included Quantity": 1.5}),
        row("Plans", {"Plan": "Desk", "Product": "pages", "Included Amount": 5}),
        row("Plans", {"Plan": "Solo", "Product": "CALLS", "Included Quantity": 1.01}),
        row("Plans", {"Plan": "Solo", "Product": "PAGES", "Included Quantity": 10,
                      "Included Amount": 2}),
        row("Plans", {"Plan": "Team", "Product": "PAGES"}),
        row("Plans", {"Plan": "Team", "Product": "NOPE", "Included Amount": -1}),
    ]  # fmt: skip
    assert lines(write_books(tmp_path / "wb", data)) == [
        "accounts.xlsx › Plans › D8: Included Amount -1 is negative; use 0 or more",
        'accounts.xlsx › Accounts › G4: Plan "Gold" is not on the Plans sheet (accounts.xlsx); '
        "add it there or correct the spelling",
        'accounts.xlsx › Plans › B8: Product "NOPE" is not on the Products sheet '
        "(devices.xlsx); add it there or correct the spelling",
        "accounts.xlsx › Plans › B4: there is already an allowance for this plan and product in "
        "row 2; keep one",
        "accounts.xlsx › Plans › C5: Included Quantity 1.01 minutes of Tariff product CALLS is "
        "60.6 seconds, not a whole number; calls are counted in whole seconds: give minutes "
        "such as 1.5 (90 seconds)",
        'accounts.xlsx › Plans › D6: plan "Solo" gives product PAGES both an Included Quantity '
        "and an Included Amount; keep one of them",
        'accounts.xlsx › Plans › C7: plan "Team" includes nothing of product PAGES; fill in its '
        "Included Quantity or its Included Amount",
    ]


def test_product_rules_by_paper_size_and_duplex_are_checked(tmp_path):
    data = base()
    data["Product Rules"] = [
        row("Product Rules", Application="PBX", Item="mono", Product="CALLS"),
        row("Product Rules", Application="PBX", Item="mono", Paper_Size="A3", Product="CALLS"),
        row("Product Rules", Application="PBX", Item="MONO", Duplex="Yes", Product="CALLS"),
        row("Product Rules", Application="PBX", Item="colour", Paper_Size="A3", Product="CALLS"),
        row("Product Rules", Application="PBX", Paper_Size="a3", Duplex="No", Product="CALLS"),
        row("Product Rules", Application="PBX", Product="CALLS"),
        row("Product Rules", Application="PBX", Item="mono", Duplex="Maybe", Product="CALLS"),
    ]
    assert lines(write_books(tmp_path / "wb", data)) == [
        'devices.xlsx › Product Rules › E8: Duplex "Maybe" is not one of: Yes, No',
        "devices.xlsx › Product Rules › B4: this rule and the rule in row 3 name as many "
        "criteria and both match a row of Item MONO, Paper Size A3, Duplex Yes, so which "
        "product bills it could not be told; name another criterion in one of them, or make "
        "them differ",
        "devices.xlsx › Product Rules › B6: this rule and the rule in row 3 name as many "
        "criteria and both match a row of Item mono, Paper Size a3, Duplex No, so which "
        "product bills it could not be told; name another criterion in one of them, or make "
        "them differ",
        "devices.xlsx › Product Rules › B7: this rule names no Item, Paper Size or Duplex, so "
        "it would match every row; name at least one (the application's Product bills the "
        "rows no rule matches)",
    ]
