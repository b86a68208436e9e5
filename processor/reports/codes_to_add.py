"""codes-to-add.xlsx: the unknown codes of a batch, ready for a clerk to choose an account
for each (``charges apply-codes`` copies the chosen ones into the workbooks)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from processor.reports.at_stake import at_stake_by_code
from processor.reports.batch import Batch
from processor.reports.figures import unknown_codes

CODES_SHEET = "Codes To Add"


CODES_HEADER_ROW = 2  # row 1 tells the clerk what to do


LOCATION_CELL = 3  # column of the hidden Accounts sheet's first row: the batch's location
ID_NAME = " — "  # the drop-down shows "A1001 — Acme Ltd"; apply-codes keeps the ID


def codes_to_add_path(folder: Path) -> tuple[Path, str | None]:
    """Where codes-to-add.xlsx goes: never over one a clerk has filled in.

    Returns:
        The path to write, and a note for the user when it is not the usual one.
    """
    from openpyxl import load_workbook

    path = folder / "codes-to-add.xlsx"
    if not path.exists():
        return path, None
    try:
        ws = load_workbook(path, read_only=True)[CODES_SHEET]
        filled = any(
            r[0] not in (None, "")
            for r in ws.iter_rows(min_row=CODES_HEADER_ROW + 1, values_only=True)
        )
    except Exception:  # unreadable: keep it too, it is the clerk's
        filled = True
    if not filled:
        return path, None
    n = 2
    while (folder / f"codes-to-add-{n}.xlsx").exists():
        n += 1
    new = folder / f"codes-to-add-{n}.xlsx"
    return new, (
        f"{path} has accounts chosen in it, so it was kept as it is; the new list is {new.name}"
    )


def write_codes_to_add(
    batch: Batch,
    ref,
    path: Path,
    hints: dict[str, list[str]] | None = None,
    stake: dict[str, Decimal] | None = None,
) -> Path:
    """codes-to-add.xlsx: unknown codes pre-filled as Account Codes rows, with a drop-down
    of this location's active accounts ("ID — Name") and an instruction row; `charges
    apply-codes` copies the rows with an account chosen into Account Codes. ``stake``:
    each code's value at stake, when the caller has worked it out (``at_stake_by_code``)."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from processor.outputs.xlsx.workbook import header_style, set_text
    from schemas.checks import key

    m = batch.manifest
    codes = unknown_codes(batch)
    # a code the workbooks hold now (apply-codes ran since) is not asked for again
    scope = (key(m["application"]), key(m["location"]))
    keys = [(*scope, str(c).strip().upper()) for c in codes["Code"]]
    held = [k in ref.codes or k in ref.spans for k in keys]
    codes = codes[~pd.Series(held, index=codes.index, dtype=bool)]
    accounts = sorted(
        (a.account_id, a.name)
        for a in ref.accounts.values()
        if key(a.location) == key(m["location"]) and a.active
    )
    wb = Workbook()
    ws = wb.active
    ws.title = CODES_SHEET
    lists = wb.create_sheet("Accounts")
    lists.sheet_state = "hidden"
    for i, (acc, name) in enumerate(accounts, start=1):
        set_text(lists.cell(i, 1), f"{acc}{ID_NAME}{name}")
    set_text(lists.cell(1, LOCATION_CELL), m["location"])  # apply-codes warns of another
    headers = [
        "Account ID",
        "Application",
        "Code",
        "Rows",
        "Device cost",
        "Value at stake (estimate)",
        "First seen",
        "Last seen",
        "Suggestions",
    ]
    widths = [34, 22, 14, 8, 12, 14, 17, 17, 60]
    if stake is None:  # its rows priced as if matched
        stake = at_stake_by_code(batch, ref)
    note = ws.cell(
        1,
        1,
        f"What to do: for each code, choose its account in column A (active accounts at "
        f"{m['location']}); leave it blank to skip the code. Save, then run: charges "
        f"apply-codes THIS-FILE --workbooks {m.get('workbooks', 'WORKBOOKS')}, and then: "
        f"charges retry {batch.path} --out NEW-BATCH-FOLDER",
    )
    note.font = Font(bold=True)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.row_dimensions[1].height = 64  # the instruction whole, on screen and on paper
    # printed landscape, every column on the page's width, the header on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{CODES_HEADER_ROW}:{CODES_HEADER_ROW}"
    ws.oddFooter.center.text = "Page &P of &N"
    for i, (h, w) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(CODES_HEADER_ROW, i, h)
        cell.font, cell.fill, _ = header_style()
        cell.alignment = Alignment(wrap_text=True, vertical="top")  # never cut
        ws.column_dimensions[cell.column_letter].width = w
    ws.row_dimensions[CODES_HEADER_ROW].height = 30
    ws.freeze_panes = f"A{CODES_HEADER_ROW + 1}"
    ws.column_dimensions["C"].number_format = "@"
    first = CODES_HEADER_ROW + 1
    for r, row in enumerate(codes.itertuples(index=False), start=first):
        set_text(ws.cell(r, 2), m["application"])
        set_text(ws.cell(r, 3), str(row.Code))
        ws.cell(r, 4, int(row.Rows))
        ws.cell(r, 5, Decimal(str(row[2]))).number_format = "#,##0.00####"
        if str(row.Code) in stake:
            ws.cell(r, 6, stake[str(row.Code)]).number_format = "#,##0.00"
        ws.cell(r, 7, row[3].to_pydatetime()).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(r, 8, row[4].to_pydatetime()).number_format = "yyyy-mm-dd hh:mm"
        hint = ws.cell(r, 9)
        text = "; ".join((hints or {}).get(row.Code, []))
        set_text(hint, text)
        hint.alignment = Alignment(wrap_text=True, vertical="top")
        # tall enough for its wrapped lines (a spreadsheet does not always grow the row),
        # every cell at the row's top, beside the first line of its suggestions
        ws.row_dimensions[r].height = 15 * max(1, -(-len(text) // widths[8]))
        for c in range(1, 9):
            ws.cell(r, c).alignment = Alignment(vertical="top")
    if accounts:
        dv = DataValidation(
            type="list", formula1=f"=Accounts!$A$1:$A${len(accounts)}", allow_blank=True
        )
        dv.error = f"Choose an active account at {m['location']}."
        dv.add(f"A{first}:A{max(len(codes), 1) + first + 1000}")
        ws.add_data_validation(dv)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
