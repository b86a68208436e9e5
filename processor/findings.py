"""Findings: problems in the workbooks, kept as rows of a table.

A finding has a severity (error or warning), a stable code, a place
(workbook, sheet, cell) and a message in plain words. Errors stop an import;
warnings are shown and do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported when a table is made: `charges --help` needs none
    import pandas as pd

COLUMNS = ["severity", "code", "workbook", "sheet", "cell", "message"]


def finding(
    severity: str, code: str, message: str, workbook: str = "", sheet: str = "", cell: str = ""
) -> dict[str, str]:
    """One finding as a row."""
    return {
        "severity": severity,
        "code": code,
        "workbook": workbook,
        "sheet": sheet,
        "cell": cell,
        "message": message,
    }


def frame(rows: list[dict[str, str]] | None = None) -> pd.DataFrame:
    """A findings table from rows (empty when there are none)."""
    import pandas as pd

    return pd.DataFrame(rows or [], columns=COLUMNS).astype(str)


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else frame()


def where(row: pd.Series | dict) -> str:
    """The place of a finding: `accounts.xlsx › Account Codes › C7`."""
    return " › ".join(p for p in (row["workbook"], row["sheet"], row["cell"]) if p)


def render(row: pd.Series | dict) -> str:
    """A finding as one line: `accounts.xlsx › Account Codes › C7: code "AB-12" has ...`."""
    place = where(row)
    return f"{place}: {row['message']}" if place else row["message"]


def errors(findings: pd.DataFrame) -> pd.DataFrame:
    return findings[findings["severity"] == "error"]


def warnings(findings: pd.DataFrame) -> pd.DataFrame:
    return findings[findings["severity"] == "warning"]


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def grouped(findings: pd.DataFrame, shown: int = 4) -> list[str]:
    """Findings as lines, one per message: the same problem in many cells is one line.

    `accounts.xlsx › Account Codes › B64, B65, B66, B67 and 18 more: Application "PBX" is ...`
    """
    lines = []
    keys = ["severity", "workbook", "sheet", "message"]
    for (_, workbook, sheet, message), part in findings.groupby(keys, sort=False):
        cells = [c for c in part["cell"] if c]
        place = " › ".join(p for p in (workbook, sheet) if p)
        if cells:
            more = len(cells) - shown
            where_ = ", ".join(cells[:shown]) + (f" and {more} more" if more > 0 else "")
            place = f"{place} › {where_}"
        lines.append(f"{place}: {message}" if place else message)
    return lines
