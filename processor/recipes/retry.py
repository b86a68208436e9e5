"""`charges retry`: bill the unmatched rows of a committed batch that match now.

The recipe: read the batch's unmatched.parquet (it keeps every canonical field) → drop
rows already retried → ledger (their own row keys) → match and price against today's
workbooks → a new batch folder, committed with its keys → the earlier batch's rows that
are now billed are marked as retried into the new batch, so a second retry does not bill
them again. Rows that still do not match are reported as unmatched again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor.batch.folder import UNMATCHED, check_empty, check_out
from processor.batch.life import BatchPlan, ImportResult, billed_row_keys, hold, new_batch
from processor.batch.manifest import read_manifest
from processor.batch.trust import file_sha256, trusted
from processor.errors import NothingBilled
from processor.history import HistoryError, open_history, recorded_in
from processor.history.store import Scope
from processor.ingest.numbers import HELD_DTYPE, ZERO_HELD
from processor.ledger.screening import screen
from processor.rating.allowances import Allowances
from processor.rating.matching import context, match
from processor.rating.pricing import price
from processor.reference.loading import UsageError, WorkbookError, load_reference
from schemas.checks import key
from schemas.rows import CANONICAL

CHUNK = 50_000


def _opt(column: pd.Series) -> np.ndarray:
    """Text values with blanks as None (as the reader makes them)."""
    return column.astype(object).where(column.notna(), None).to_numpy()


def _held(column: pd.Series) -> pd.Series:
    values = pa.array(column.to_numpy(dtype=object), HELD_DTYPE.pyarrow_dtype, from_pandas=True)
    return pd.Series(pc.fill_null(values, ZERO_HELD), dtype=HELD_DTYPE)


def _canonical(frame: pd.DataFrame, fields: int) -> pd.DataFrame:
    """Unmatched rows as the canonical chunk the reader would have made of them: the
    values they kept, each column typed by ``schemas.rows.CANONICAL``."""
    n = len(frame)
    unreadable = (frame["reason"] == "unparseable-row").to_numpy()
    kept = ["source_file", "line", "raw", "occurred_at", "duration", "destination", "item"]
    out = frame[kept].copy()
    out["occurred_at"] = pd.to_datetime(frame["occurred_at"]).astype("datetime64[us]")
    out["note"] = _opt(frame["note"])
    # held values as the reader holds them: Arrow decimals (a blank quantity is 0)
    out["quantity"] = _held(frame["quantity"])
    out["cost"] = _held(frame["cost"])
    out["description"] = frame["description"].fillna("")
    values = [
        (v.split("\x1f") if isinstance(v, str) else [])
        for v in frame["match_values"].astype(object)
    ]
    for i in range(fields):
        out[f"match_{i}"] = [v[i] if i < len(v) else None for v in values]
    for name in ("paper_size", "duplex"):  # a batch from before print media were kept has none
        out[name] = _opt(frame[name]) if name in frame else np.full(n, None, dtype=object)
    out["error"] = np.where(unreadable, _opt(frame["detail"]), None)
    out["skip"] = np.full(n, None, dtype=object)
    out["skip_detail"] = np.full(n, None, dtype=object)
    return CANONICAL.validate(out)


def _unmatched(path: Path, done: set[str]) -> Iterator[pd.DataFrame]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        frame = batch.to_pandas()
        if done:
            frame = frame[~frame["row_key"].isin(done)]
        if len(frame):
            yield frame.reset_index(drop=True)


def _nothing_billed(source_id: str, batch_dir: Path, writer, done: int) -> str:
    """Why a retry wrote no batch: what its rows still are, and what to do."""
    if not sum(writer.rows.values()):
        return (
            f"retry of batch {source_id} ({batch_dir}) has no row left to retry: every "
            "unmatched row was billed by an earlier retry; nothing was written"
        )
    before = (
        f"; {done:,} row{'s were' if done != 1 else ' was'} billed by an earlier retry"
        if done
        else ""
    )
    reasons = ", ".join(
        f"{n:,} {reason}"
        for reason, (n, _) in sorted(writer.by_reason.items(), key=lambda r: -r[1][0])
    )
    rows = sum(writer.rows.values())
    return (
        f"retry of batch {source_id} ({batch_dir}) billed nothing: its {rows:,} unmatched "
        f"row{'s' if rows != 1 else ''} still {'do' if rows != 1 else 'does'} not bill "
        f"({reasons}){before}; no batch was written or recorded. Add the missing codes "
        "(reports/codes-to-add.xlsx, then charges apply-codes) or correct the workbooks, "
        "then retry again"
    )


def run_retry(
    batch_dir: Path,
    out: Path,
    workbooks: Path | None = None,
    history: Path | None = None,
    batch_date: dt.date | None = None,
) -> ImportResult:
    """Bill the unmatched rows of a committed batch that match today's workbooks.

    Args:
        batch_dir: the earlier batch folder.
        out: the new batch folder (must not exist, or be empty).
        workbooks: the workbooks to match against (default: those the batch used).
        history: the import history (default: the one the batch was recorded in).
        batch_date: the new batch's date (default: the earlier batch's).

    Returns:
        The new batch folder, its manifest, the workbooks' warnings and notes.

    Raises:
        UsageError: not a batch folder, void, or not in the history; a bad --out.
        WorkbookError: the workbooks have errors.
        HistoryError: the history cannot be used.
        NothingBilled: no row bills now (nothing was written or recorded).
    """
    batch_dir = Path(batch_dir).resolve()
    manifest = read_manifest(batch_dir, need_id=True)
    source = batch_dir / UNMATCHED
    if not source.is_file():
        raise UsageError(f"{batch_dir}: has no {UNMATCHED}; import again into a new folder")
    workbooks = Path(workbooks or manifest["workbooks"])
    out = Path(out).resolve()
    check_out(out, [source], workbooks)
    ref, found = load_reference(workbooks)
    if ref is None:
        raise WorkbookError(found)
    location, application = manifest["location"], manifest["application"]
    if key(location) not in ref.locations or key(application) not in ref.applications:
        raise UsageError(
            f"{application} at {location} is no longer on the workbooks' Locations and "
            "Applications sheets; add it back to retry this batch"
        )
    fmt = ref.format_for(manifest["format"]) or ref.format_for(
        ref.applications[key(application)].format
    )
    ctx = context(ref, application, location, fmt)
    fields = manifest.get("match_on") or [str(f) for f in ctx.match_fields]
    ctx = dataclasses.replace(ctx, match_fields=tuple(fields))
    app_key, loc_key = key(application), key(location)
    batch_date = batch_date or dt.date.fromisoformat(manifest["batch_date"])
    source_id = manifest["batch_id"]

    hist = open_history(recorded_in(manifest, history))
    try:
        notes = hold(hist, scope=Scope(app_key, loc_key))
        record = trusted(hist, batch_dir, manifest, original=True)
        check_empty(out)  # after the history recovered what a stopped import left there
        if record["status"] != "committed":
            raise HistoryError(
                f"batch {source_id} ({batch_dir}) is {record['status']} in the history "
                f"{hist.path}; only a committed batch can be retried"
            )
        done = hist.retried_keys(source_id)
        inputs = [
            {"path": str(source), "sha256": file_sha256(source), "size": source.stat().st_size}
        ]
        plan = BatchPlan(ref, application, location, fmt, batch_date, workbooks, source_id)
        plans = Allowances(ref, location)
        with new_batch(hist, out, plan, inputs) as job:
            rows = 0
            for frame in _unmatched(source, done):
                chunk = _canonical(frame, len(fields))
                keys = _opt(frame["row_key"])
                chunk = screen(chunk, fmt, hist, job.met, application, app_key, loc_key, keys=keys)
                job.writer.add(plans.hold(price(match(chunk, ref, ctx, fmt), ref, location)))
                rows += len(chunk)
            inputs[0]["rows"] = rows
            # as an import: the rows' own files in the earlier batch's order
            files = [Path(i["path"]).name for i in manifest.get("inputs", [])]
            if plans.held:  # as an import: the location's allowances alone, to the commit
                hist.lock_allowances(loc_key)
            for part in plans.priced(hist.allowances_used(), files):
                job.writer.add(part)
            if not job.writer.rows["billed"]:  # no batch: nothing is written or recorded
                raise NothingBilled(
                    _nothing_billed(source_id, batch_dir, job.writer, len(done)), rows
                )
            job.finish(inputs, list(fields), plans.summary())
        # the earlier batch's rows now billed are retried: a second retry leaves them out
        hist.mark_retried(
            source_id, (k for part in billed_row_keys(out) for k in part.to_pylist()), job.id
        )
        notes += hist.warnings
        said = hist.said()
    finally:
        hist.close()
    if done:
        notes.append(f"{len(done):,} rows of batch {source_id} were retried before; left out")
    return ImportResult(out, job.manifest, found, notes + job.notes(), history=said)
