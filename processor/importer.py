"""`charges import`: the recipe from exports to a batch folder.

load workbooks → resolve location and application → for each file, for each
chunk: read → match → price → append to outputs → batch sheet, summary,
manifest → rename the folder into place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from processor import __version__, outputs
from processor.api import UsageError, WorkbookError, load_reference
from processor.batchsheet import BatchSheet, sheet_rows
from processor.exports import read_export
from processor.matching import context, match
from processor.pricing import price
from processor.reasons import REASONS
from schemas import charges as sc
from schemas.checks import key

ZERO = Decimal(0)


@dataclass
class ImportResult:
    """What an import wrote and counted."""

    batch_dir: Path
    manifest: dict
    warnings: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # things done on the way, for the user


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_out(out: Path, files: list[Path], workbooks: Path) -> None:
    """Refuse a batch folder that is, holds, or sits inside an input or the workbooks folder."""
    wb = Path(workbooks).resolve()
    for f in [*(p.resolve() for p in files), wb]:
        what = "the workbooks folder" if f == wb else f"the input {f}"
        if out == f or out.is_relative_to(f) or f.is_relative_to(out):
            how = "is" if out == f else ("is inside" if out.is_relative_to(f) else "holds")
            raise UsageError(
                f"--out {out}: {how} {what}; choose a batch folder apart from the inputs and "
                "the workbooks, e.g. batches/2026-10"
            )


def _check_usage(
    ref, location: str, application: str, files: list[Path], out: Path
) -> dict[str, str]:
    """Refuse what cannot be imported; returns each input's sha256 by path."""
    if key(location) not in ref.locations:
        known = ", ".join(v[0] for v in ref.locations.values())
        raise UsageError(
            f'location "{location}" is not on the Locations sheet; choose one of: {known}'
        )
    if key(application) not in ref.applications:
        known = ", ".join(v[0] for v in ref.applications.values())
        raise UsageError(
            f'application "{application}" is not on the Applications sheet; choose one of: {known}'
        )
    seen: dict[str, Path] = {}
    for f in files:
        if not f.is_file():
            raise UsageError(f"{f}: no such file")
        digest = _sha256(f)
        if digest in seen:
            raise UsageError(
                f"{f}: has the same content as {seen[digest]}; its rows would be billed twice"
            )
        seen[digest] = f
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: already exists and is not empty; choose a new batch folder")
    return {str(p): d for d, p in seen.items()}


def run_import(
    workbooks: Path,
    location: str,
    application: str,
    files: list[Path],
    out: Path,
    batch_date: dt.date | None = None,
    progress: Callable[[str, int, float], None] | None = None,
    chunk_rows: int | None = None,
    day_first: bool = True,
) -> ImportResult:
    """Import device exports into a batch folder.

    Args:
        workbooks: folder with accounts.xlsx and devices.xlsx.
        location: the Location the import is for.
        application: the Application whose exports these are.
        files: the export files.
        out: the batch folder to create (must not exist, or be empty).
        batch_date: the batch date on the Batch Sheet (default: today).
        progress: called with (file name, rows done, share of the file read) as chunks
            finish.
        chunk_rows: rows per chunk (default: exports.CHUNK_ROWS).
        day_first: read ambiguous spreadsheet dates (10/02/20) day first.

    Returns:
        The batch folder, its manifest and the workbooks' warnings.

    Raises:
        WorkbookError: the workbooks have errors (nothing is written).
        UsageError: unknown location or application, missing file, non-empty folder.
        ExportError: a file lacks a column its format needs (nothing is written).
    """
    out = Path(out).resolve()  # absolute and normalised before any check
    _check_out(out, files, workbooks)
    ref, found = load_reference(workbooks)
    if ref is None:
        raise WorkbookError(found)
    digests = _check_usage(ref, location, application, files, out)
    batch_date = batch_date or dt.date.today()
    app_name, format_name, _, _ = ref.applications[key(application)]
    fmt = ref.format_for(format_name)
    ctx = context(ref, application, location, fmt)
    loc_name = ctx.location
    places = ref.minor_unit(location)
    kwargs = {"chunk_rows": chunk_rows} if chunk_rows else {}
    kwargs["day_first"] = day_first
    loc = ref.location(location)
    kwargs["time_zone"] = loc.time_zone

    rows: Counter[str] = Counter()
    cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_reason: dict[str, list] = defaultdict(lambda: [0, ZERO])
    sheet = BatchSheet(ref.products, places, loc.tax_rounding)
    inputs = []
    removed: list[Path] = []
    with outputs.atomic_dir(out, removed) as tmp:
        sinks = {
            "billed": outputs.ParquetSink(tmp / "charges.parquet", sc.CHARGES),
            "unmatched": outputs.ParquetSink(tmp / "unmatched.parquet", sc.UNMATCHED),
            "skipped": outputs.ParquetSink(tmp / "skipped.parquet", sc.SKIPPED),
        }
        for path in files:
            file_rows = 0
            size, done = max(path.stat().st_size, 1), [0]
            for chunk in read_export(path, fmt, ctx.match_fields, done=done, **kwargs):
                priced = price(match(chunk, ref, ctx, fmt), ref, location)
                file_rows += len(priced)
                for status, part in priced.groupby("status", sort=False):
                    rows[status] += len(part)
                    cost[status] += sum(part["cost"], ZERO)
                    if status == "billed":
                        sinks[status].write(outputs.billed_frame(part))
                        sheet.add(part)
                    else:
                        sinks[status].write(
                            outputs.unbilled_frame(part, app_name, loc_name, status == "skipped")
                        )
                        for reason, rpart in part.groupby("reason", sort=False):
                            by_reason[reason][0] += len(rpart)
                            by_reason[reason][1] += sum(rpart["cost"], ZERO)
                if progress:
                    progress(path.name, file_rows, min(done[0] / size, 1.0))
            inputs.append({"path": str(path), "sha256": digests[str(path)], "rows": file_rows})
        for sink in sinks.values():
            sink.close()

        lines = sheet.lines()
        billed = BatchSheet.totals(lines)
        credits = sheet.credits()
        read_rows = sum(rows.values())
        read_cost = sum(cost.values(), ZERO)
        manifest = {
            "batch_date": batch_date.isoformat(),
            "location": loc_name,
            "application": app_name,
            "format": fmt.name,
            "currency": ref.currency(location),
            "tax_rounding": "Per Charge" if sheet.per_charge else "Per Line",
            "time_zone": loc.time_zone,
            "inputs": inputs,
            "rows": {
                "read": read_rows,
                "matched": rows["billed"],
                "unmatched": rows["unmatched"],
                "skipped": rows["skipped"],
            },
            "cost": {
                "read": str(read_cost),
                "matched": str(cost["billed"]),
                "unmatched": str(cost["unmatched"]),
                "skipped": str(cost["skipped"]),
            },
            "billed": {k: str(v) for k, v in billed.items()},
            "lines": len(lines),
            "credits": {"rows": credits["rows"], "net": str(credits["net"])},
            "reasons": {r: {"rows": n, "cost": str(c)} for r, (n, c) in sorted(by_reason.items())},
            "workbooks": str(Path(workbooks).resolve()),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "version": __version__,
        }
        outputs.write_lines(tmp / "lines.parquet", lines)
        outputs.write_batch_xlsx(
            tmp / "batch.xlsx",
            sheet_rows(lines, batch_date),
            _summary(manifest, by_reason),
            tmp / "unmatched.parquet",
            tmp / "skipped.parquet",
            places,
        )
        outputs.write_manifest(tmp / "manifest.json", manifest)
    notes = [f"removed {p}, left by an import that was stopped before it finished" for p in removed]
    return ImportResult(out, manifest, found, notes)


def _summary(manifest: dict, by_reason: dict) -> list[list]:
    r, c, b = manifest["rows"], manifest["cost"], manifest["billed"]
    balanced = (r["read"] == r["matched"] + r["unmatched"] + r["skipped"]) and (
        Decimal(c["read"])
        == Decimal(c["matched"]) + Decimal(c["unmatched"]) + Decimal(c["skipped"])
    )
    out = [
        ["Rows read", r["read"], Decimal(c["read"]), None, None, None],
        [
            "Billed",
            r["matched"],
            Decimal(c["matched"]),
            Decimal(b["net"]),
            Decimal(b["tax"]),
            Decimal(b["gross"]),
        ],
        [
            "Credits (billed, included above)",
            manifest["credits"]["rows"],
            None,
            Decimal(manifest["credits"]["net"]),
            None,
            None,
        ],
        ["Unmatched", r["unmatched"], Decimal(c["unmatched"]), None, None, None],
        ["Skipped", r["skipped"], Decimal(c["skipped"]), None, None, None],
        ["Balanced (read = billed + unmatched + skipped)", None, None, None, None, None],
    ]
    out[-1][0] += ": yes" if balanced else ": NO"
    for code, (n, cost) in sorted(by_reason.items()):
        reason = REASONS[code]
        out.append(
            [f"{reason.status.capitalize()}: {reason.title} ({code})", n, cost, None, None, None]
        )
    for sheet, key_ in (("Unmatched", "unmatched"), ("Skipped", "skipped")):
        if r[key_] > outputs.XLSX_ROW_LIMIT:
            out.append(
                [
                    f"The {sheet} sheet shows the first {outputs.XLSX_ROW_LIMIT:,} of "
                    f"{r[key_]:,} rows; all are in {key_}.parquet",
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
            )
    out.append([f"Location: {manifest['location']}", None, None, None, None, None])
    out.append(
        [
            f"Application: {manifest['application']} ({manifest['format']})",
            None,
            None,
            None,
            None,
            None,
        ]
    )
    out.append([f"Currency: {manifest['currency']}", None, None, None, None, None])
    out.append([f"Tax Rounding: {manifest['tax_rounding']}", None, None, None, None, None])
    out.append([f"Batch date: {manifest['batch_date']}", None, None, None, None, None])
    return out
