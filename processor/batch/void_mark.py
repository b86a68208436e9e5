"""The mark of a void batch: VOID.txt in its folder, a VOID sheet in front of its
batch.xlsx, and a banner at the top of its reports."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from processor.batch.folder import REPORTS, VOID, WORKBOOK
from processor.outputs.xlsx.front_sheet import add_front_sheet

_BODY = re.compile(r"(<body[^>]*>)", re.IGNORECASE)


def void_text(batch_id: str, info: dict, reason: str) -> str:
    return (
        f"VOID: batch {batch_id} was voided on {info['at']} by {info['by']}.\n"
        f"Reason: {reason}\n"
        "Do not bill from this batch. Its rows are released: import the corrected export "
        "again into a new batch folder.\n"
    )


def banner(text: str) -> str:
    """The VOID notice at the top of a report."""
    first = escape(text.splitlines()[0])
    rest = "<br>".join(escape(t) for t in text.splitlines()[1:])
    return (
        '<div class="void-banner" style="background:#b00020;color:#fff;padding:12px 16px;'
        f'font:bold 18px sans-serif">{first}<br><span style="font-weight:normal;'
        f'font-size:14px">{rest}</span></div>'
    )


def read_void(folder: Path) -> str | None:
    """The VOID.txt of a batch folder (who voided it, when and why), or None."""
    path = Path(folder) / VOID
    return path.read_text(encoding="utf-8") if path.is_file() else None


def mark_void(folder: Path, text: str) -> None:
    """Write VOID.txt into a batch folder and put the banner at the top of its reports."""
    folder = Path(folder)
    (folder / VOID).write_text(text, encoding="utf-8")
    reports = folder / REPORTS
    for page in reports.glob("*.html") if reports.is_dir() else []:
        html = page.read_text(encoding="utf-8")
        if "void-banner" not in html:
            page.write_text(_BODY.sub(lambda m: m.group(1) + banner(text), html, count=1))


def void_workbook(folder: Path, text: str) -> Path:
    """batch.xlsx with a VOID sheet in front saying who voided it, when and why, written
    beside it (``.batch.xlsx.void``) for the void to put in place once the history
    records it; returns that file."""
    folder = Path(folder)
    prepared = folder / f".{WORKBOOK}.void"
    lines = [f"VOID: {text.splitlines()[0].removeprefix('VOID: ')}", *text.splitlines()[1:]]
    add_front_sheet(folder / WORKBOOK, "VOID", lines, prepared)
    return prepared
