"""`charges void`: mark a batch void, so its rows can be billed again.

The history records who (the OS user), when and why, and releases the batch's keys; the
folder gets a VOID.txt saying so, and its reports say VOID at the top.
"""

from __future__ import annotations

import re
from pathlib import Path

from processor.history.sqlite_store import History
from processor.recipes.retry import history_for, read_manifest

VOID_FILE = "VOID.txt"
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
    from html import escape

    first = escape(text.splitlines()[0])
    rest = "<br>".join(escape(t) for t in text.splitlines()[1:])
    return (
        '<div class="void-banner" style="background:#b00020;color:#fff;padding:12px 16px;'
        f'font:bold 18px sans-serif">{first}<br><span style="font-weight:normal;'
        f'font-size:14px">{rest}</span></div>'
    )


def void_batch(batch_dir: Path, reason: str, history: Path | None = None) -> dict:
    """Void a committed batch: release its keys, write VOID.txt, mark its reports.

    Returns:
        {"batch_id", "by", "at", "released"}.

    Raises:
        UsageError: not a batch folder of the history.
        HistoryError: not in the history, or void already.
    """
    batch_dir = Path(batch_dir).resolve()
    manifest = read_manifest(batch_dir)
    batch_id = manifest["batch_id"]
    reason = " ".join(reason.split())
    hist = History(history_for(manifest, history))
    try:
        hist.lock()
        info = hist.void(batch_id, reason)
    finally:
        hist.close()
    text = void_text(batch_id, info, reason)
    (batch_dir / VOID_FILE).write_text(text, encoding="utf-8")
    for page in (batch_dir / "reports").glob("*.html") if (batch_dir / "reports").is_dir() else []:
        html = page.read_text(encoding="utf-8")
        if "void-banner" not in html:
            page.write_text(_BODY.sub(lambda m: m.group(1) + banner(text), html, count=1))
    return {"batch_id": batch_id, **info}
