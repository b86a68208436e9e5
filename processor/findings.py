"""Findings: problems in the workbooks, kept as rows of a table.

A finding has a severity (error or warning), a stable code, a place
(workbook, sheet, cell) and a message in plain words. Errors stop an import;
warnings are shown and do not.
"""

from __future__ import annotations

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
    return pd.DataFrame(rows or [], columns=COLUMNS).astype(str)


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
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
