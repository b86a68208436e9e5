"""A batch folder, loaded and checked: its manifest, charges, lines and unbilled rows;
which batches are void, and which bill a row twice."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute

from processor.errors import ReportError
from schemas.currencies import MINOR_UNITS

FILES = ("manifest.json", "charges.parquet", "unmatched.parquet", "skipped.parquet")


@dataclass
class Batch:
    """One batch folder, loaded."""

    path: Path
    manifest: dict
    charges: pd.DataFrame
    unmatched: pd.DataFrame
    skipped: pd.DataFrame
    lines: pd.DataFrame  # the Batch Sheet: tax and gross as the location rounds them
    void: str | None = None  # VOID.txt: the batch was voided (who, when, why)

    @property
    def currency(self) -> str:
        return self.manifest["currency"]

    @functools.cached_property
    def services(self) -> dict:
        """Product → the service name a client reads (the Batch Sheet's description; a
        batch from before lines.parquet has none, and its product names stand in)."""
        names = self.lines["description"] if "description" in self.lines else self.lines["product"]
        return dict(zip(self.lines["product"], names, strict=True))

    @property
    def per_line(self) -> bool:
        """Tax is rounded per Batch Sheet line: charges carry no tax or gross of their own."""
        return self.manifest.get("tax_rounding", "Per Charge") == "Per Line"


def load_batch(path: Path | str) -> Batch:
    """Read a batch folder written by `charges import`.

    Raises:
        ReportError: the folder, a file, or the manifest is missing or unreadable.
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: no such batch folder; run `charges import` first")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ReportError(
            f"{path}: is not a complete batch folder (missing {', '.join(missing)}); "
            "import again into a new folder"
        )
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(
            f"{path / 'manifest.json'}: is not valid JSON ({str(exc)[:80]}); import again into "
            "a new folder"
        ) from None
    problem = manifest_problem(manifest)
    if problem:
        raise ReportError(
            f"{path / 'manifest.json'}: {problem}; it was changed or damaged after the import: "
            "import again into a new folder"
        )
    frames = {}
    for name in ("charges", "unmatched", "skipped"):
        try:
            frames[name] = pd.read_parquet(path / f"{name}.parquet", dtype_backend="pyarrow")
        except (OSError, pa.ArrowException) as exc:
            raise ReportError(
                f"{path / (name + '.parquet')}: cannot be read ({exc}); import again into a "
                "new folder"
            ) from None
    if (path / "lines.parquet").is_file():
        frames["lines"] = pd.read_parquet(path / "lines.parquet", dtype_backend="pyarrow")
    else:  # a batch from before lines.parquet: its tax was rounded per charge
        frames["lines"] = _lines_from_charges(frames["charges"])
    void = path / "VOID.txt"
    frames["void"] = void.read_text(encoding="utf-8") if void.is_file() else None
    return Batch(path, manifest, **frames)


def void_banner(batch: Batch) -> str:
    """The VOID notice a report shows at its top (empty for a batch in use)."""
    from processor.recipes.void import banner

    return banner(batch.void) if batch.void else ""


def unique_batches(batches: list[Batch]) -> list[Batch]:
    """Each batch once, however often it was named (by folder or batch id)."""
    seen, out = set(), []
    for b in batches:
        ident = b.manifest.get("batch_id") or str(b.path.resolve())
        if ident not in seen and str(b.path.resolve()) not in seen:
            seen |= {ident, str(b.path.resolve())}
            out.append(b)
    return out


def void_batches(batches: list[Batch]) -> list[Batch]:
    """The void ones, listed apart and counted in no total."""
    return [b for b in unique_batches(batches) if b.void]


def double_billed(batches: list[Batch]) -> list[str]:
    """Pairs of batches in use that bill the same row (same application, location, key)."""
    problems = []
    live = [b for b in unique_batches(batches) if not b.void]
    owners: dict[tuple[str, str, str], Batch] = {}
    clashes: dict[tuple[Path, Path], int] = {}
    for b in live:
        if "row_key" not in b.charges:
            continue
        scope = (b.manifest["application"].casefold(), b.manifest["location"].casefold())
        for k in b.charges["row_key"].dropna():
            first = owners.setdefault((*scope, k), b)
            if first is not b:
                clashes[(first.path, b.path)] = clashes.get((first.path, b.path), 0) + 1
    for (a, b), n in clashes.items():
        problems.append(
            f"{a} and {b} bill the same {n:,} row{'s' if n != 1 else ''}: they come from "
            "different histories, or one was copied; void one (charges void) and leave it out"
        )
    return problems


def _lines_from_charges(c: pd.DataFrame) -> pd.DataFrame:
    return c.groupby(["account_id", "account_name", "product"], as_index=False).agg(
        quantity=("quantity", "sum"),
        net=("net", "sum"),
        tax=("tax", "sum"),
        gross=("gross", "sum"),
        rows=("line", "size"),
    )


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


def reference_for(batch: Batch, workbooks: str | Path | None):
    """The workbooks' reference data for suggestions, or None when they cannot be loaded."""
    from processor.reference.loading import load_reference

    folder = workbooks or batch.manifest.get("workbooks")
    if not folder or not Path(folder).is_dir():
        return None
    ref, _ = load_reference(Path(folder))
    return ref
