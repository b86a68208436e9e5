"""A batch folder, loaded and checked: its manifest, charges, lines and unbilled rows;
which batches are void, and which bill a row twice."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute

from processor.batch.folder import CHARGES, LINES, MANIFEST, SKIPPED, UNMATCHED
from processor.batch.manifest import read_manifest
from processor.batch.void_mark import banner, read_void
from processor.errors import ReportError

FILES = (MANIFEST, CHARGES, UNMATCHED, SKIPPED)


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

    def allowances(self, account: str | None = None) -> list[dict]:
        """What plans' allowances were used (``manifest["allowances"]["used"]``), of one
        account or all, in account, product and month order."""
        used = (self.manifest.get("allowances") or {}).get("used", [])
        mine = [u for u in used if account is None or u["account_id"] == account]
        return sorted(mine, key=lambda u: (u["account_id"], u["product"], u["month"]))

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
    manifest = read_manifest(path, ReportError)
    frames = {}
    for name, file in (("charges", CHARGES), ("unmatched", UNMATCHED), ("skipped", SKIPPED)):
        try:
            frames[name] = pd.read_parquet(path / file, dtype_backend="pyarrow")
        except (OSError, pa.ArrowException) as exc:
            raise ReportError(
                f"{path / file}: cannot be read ({exc}); import again into a new folder"
            ) from None
    if (path / LINES).is_file():
        frames["lines"] = pd.read_parquet(path / LINES, dtype_backend="pyarrow")
    else:  # a batch from before lines.parquet: its tax was rounded per charge
        frames["lines"] = _lines_from_charges(frames["charges"])
    frames["void"] = read_void(path)
    return Batch(path, manifest, **frames)


def void_banner(batch: Batch) -> str:
    """The VOID notice a report shows at its top (empty for a batch in use)."""
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


def reference_for(batch: Batch, workbooks: str | Path | None):
    """The workbooks' reference data for suggestions, or None when they cannot be loaded."""
    from processor.reference.loading import load_reference

    folder = workbooks or batch.manifest.get("workbooks")
    if not folder or not Path(folder).is_dir():
        return None
    ref, _ = load_reference(Path(folder))
    return ref
