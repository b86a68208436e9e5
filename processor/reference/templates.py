"""`charges init`: template workbooks built from the schemas (I/O edge).

Every header is styled, frozen and commented with its column's description;
code columns are formatted as text; reference and choice columns get drop-down
lists that cover whole columns, so rows added later stay covered.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidation

from processor.findings import column_letter
from processor.ingest.formats import registry
from processor.outputs.xlsx.workbook import header_style
from schemas.workbooks import WORKBOOKS

LAST_ROW = 1_048_576
TEXT_KINDS = {"code", "login", "id"}
LISTS_SHEET = "Lists"
FORMAT_SLOTS = 200  # rows of the Formats sheet the Format drop-down follows


def header_comment(column) -> str:
    """The header's comment: what the column holds, whether it is required, what it takes,
    each said once (a description that says "Optional" already is not told again)."""
    meta = column.metadata
    text = column.description.strip()
    parts = [text]
    if meta["required"]:
        parts.append("Required.")
    elif not text.casefold().startswith("optional"):
        parts.append("Optional.")
    if meta["choices"] and not all(c in text for c in meta["choices"]):
        parts.append("One of: " + ", ".join(meta["choices"]) + ".")
    if meta["ref"] == "Formats":
        if "Formats sheet" not in text:
            parts.append("A built-in format, or one on the Formats sheet.")
    elif meta["ref"] and f"from {meta['ref']}" not in text:
        parts.append(f"Must be on the {meta['ref']} sheet.")
    return " ".join(parts)


def header_height(columns) -> float:
    """Points for a header row whose names wrap within their column widths."""
    lines = max(
        -(-len(name) // max(int(col.metadata["width"]) - 1, 1)) for name, col in columns.items()
    )
    return 15.0 * max(lines, 1) + 3


def _list_validation(formula: str, title: str, prompt: str, strict: bool = True) -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    dv.showDropDown = False  # (sic) False shows the in-cell arrow
    dv.showErrorMessage = True
    dv.errorStyle = "stop" if strict else "warning"
    dv.errorTitle = title
    dv.error = prompt
    return dv


def write_templates(folder: Path, overwrite: bool = False) -> list[Path]:
    """Write accounts.xlsx and devices.xlsx templates into ``folder``.

    Raises:
        FileExistsError: a workbook is already there (and ``overwrite`` is False).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for book in WORKBOOKS:
        path = folder / book.filename
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path}: already exists; templates never overwrite a workbook")
    for book in WORKBOOKS:
        path = folder / book.filename
        wb = Workbook()
        wb.remove(wb.active)
        names = {s.name for s in book.sheets}
        lists: list[tuple[str, list[str]]] = []  # choice lists kept on the Lists sheet
        for schema in book.sheets:
            ws = wb.create_sheet(schema.name)
            ws.freeze_panes = "A2"
            for i, (name, column) in enumerate(schema.columns.items()):
                letter = column_letter(i)
                cell = ws.cell(row=1, column=i + 1, value=name)
                cell.font, cell.fill, cell.alignment = header_style()
                comment = Comment(header_comment(column), "device-charges")
                comment.width, comment.height = 300, 120
                cell.comment = comment
                meta = column.metadata
                ws.column_dimensions[letter].width = meta["width"]
                if meta["kind"] in TEXT_KINDS:
                    ws.column_dimensions[letter].number_format = "@"
                area = f"{letter}2:{letter}{LAST_ROW}"
                dv = None
                if meta["choices"] and any("," in c for c in meta["choices"]):
                    # a list formula cannot hold a comma: the choices go on the Lists sheet
                    lists.append((name, meta["choices"]))
                    col = column_letter(len(lists))
                    dv = _list_validation(
                        f"={LISTS_SHEET}!${col}$2:${col}${len(meta['choices']) + 1}",
                        name,
                        f"Choose one of: {' '.join(meta['choices'])}.",
                    )
                elif meta["choices"]:
                    dv = _list_validation(
                        '"' + ",".join(meta["choices"]) + '"',
                        name,
                        f"Choose one of: {', '.join(meta['choices'])}.",
                    )
                elif meta["ref"] == "Formats":
                    dv = _list_validation(
                        f"={LISTS_SHEET}!$A$2:$A${len(registry.names()) + FORMAT_SLOTS + 1}",
                        name,
                        "Choose a built-in format or one defined on the Formats sheet.",
                        strict=False,
                    )
                elif meta["ref"] in names:
                    key_letter = column_letter(0)
                    dv = _list_validation(
                        f"='{meta['ref']}'!${key_letter}$2:${key_letter}${LAST_ROW}",
                        name,
                        f"Choose a value from the {meta['ref']} sheet (add it there first).",
                    )
                if dv is not None:
                    dv.add(area)
                    ws.add_data_validation(dv)
            ws.auto_filter.ref = f"A1:{column_letter(len(schema.columns) - 1)}1"
            ws.row_dimensions[1].height = header_height(schema.columns)
        if "Formats" in names or lists:
            _lists_sheet(wb, lists)
        wb.save(path)
        written.append(path)
    return written


def _lists_sheet(wb: Workbook, lists: list[tuple[str, list[str]]]) -> None:
    """Built-in format names, then whatever the Formats sheet defines; then other lists."""
    ws = wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    ws["A1"] = "Format choices"
    for j, (name, choices) in enumerate(lists, start=2):
        ws.cell(row=1, column=j, value=f"{name} choices")
        for i, choice in enumerate(choices, start=2):
            ws.cell(row=i, column=j, value=choice).data_type = "s"
    builtins = registry.names()
    for i, name in enumerate(builtins, start=2):
        ws.cell(row=i, column=1, value=name)
    start = len(builtins) + 2
    for j in range(FORMAT_SLOTS):
        ws.cell(row=start + j, column=1, value=f'=IF(Formats!A{j + 2}="","",Formats!A{j + 2})')
