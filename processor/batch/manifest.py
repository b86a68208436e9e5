"""A batch folder's manifest: written once at the end of a batch, read by every command that
trusts a batch folder (report, retry, void) through ``read_manifest``, the one reader."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from processor.batch.folder import MANIFEST
from processor.errors import UsageError
from schemas.currencies import MINOR_UNITS


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write ``manifest.json`` into a batch folder being written."""
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_manifest(folder: Path, error: type[Exception] = UsageError, need_id: bool = False) -> dict:
    """A batch folder's manifest, checked for the shape reports and recipes rely on.

    Args:
        folder: the batch folder.
        error: the error raised, saying what is wrong and what to do (a UsageError for
            the recipes, a ReportError for reports).
        need_id: the batch must name its batch id (retry and void find it in the history).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise error(f"{folder}: no such batch folder; run `charges import` first")
    path = folder / MANIFEST
    if not path.is_file():
        raise error(
            f"{folder}: is not a complete batch folder (missing {MANIFEST}); import again "
            "into a new folder"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(
            f"{path}: is not valid JSON ({str(exc)[:80]}); import again into a new folder"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    problem = manifest_problem(manifest)
    if problem:
        raise error(
            f"{path}: {problem}; it was changed or damaged after the import: import again "
            "into a new folder"
        )
    if need_id and not isinstance(manifest.get("batch_id"), str):
        raise error(
            f"{path}: names no batch id: the batch was imported before the history was kept, "
            "so it cannot be retried or voided here"
        )
    return manifest


# what each manifest entry must be, for reports to trust it
_TEXT_KEYS = ("currency", "location", "application", "format", "batch_date")


_COUNT_KEYS = ("read", "matched", "unmatched", "skipped")


_MONEY_KEYS = {
    "cost": ("read", "matched", "unmatched", "skipped"),
    "billed": ("net", "tax", "gross"),
}


def _is_money(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        return Decimal(v).is_finite()
    except ArithmeticError:
        return False


def manifest_problem(m: object) -> str | None:
    """What is wrong with a manifest's shape or types (None when it can be reported on)."""
    if not isinstance(m, dict):
        return "is not a JSON object"
    for k in _TEXT_KEYS:
        if not isinstance(m.get(k), str):
            return f'"{k}" is missing or not text'
    if m["currency"] not in MINOR_UNITS:
        return f'"currency" is not a currency code ({str(m["currency"])[:12]})'
    rows = m.get("rows")
    if not isinstance(rows, dict):
        return '"rows" is missing or not an object'
    for k in _COUNT_KEYS:
        v = rows.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return f'"rows.{k}" is missing or not a whole number'
    for section, keys in _MONEY_KEYS.items():
        part = m.get(section)
        if not isinstance(part, dict):
            return f'"{section}" is missing or not an object'
        for k in keys:
            if not _is_money(part.get(k)):
                return f'"{section}.{k}" is missing or not an amount written as text'
    reasons = m.get("reasons", {})
    if not isinstance(reasons, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("rows"), int) and _is_money(v.get("cost"))
        for v in reasons.values()
    ):
        return '"reasons" is not a table of rows and cost by reason'
    credits = m.get("credits", {"rows": 0, "net": "0"})
    if not (
        isinstance(credits, dict)
        and isinstance(credits.get("rows"), int)
        and _is_money(credits.get("net"))
    ):
        return '"credits" is not rows and a net amount'
    return None
