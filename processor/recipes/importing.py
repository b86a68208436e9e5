"""`charges import`: the recipe from exports to a batch folder.

load workbooks → resolve location and application → lock the history, refuse files
imported before → record the batch as pending → for each file, for each chunk: read →
ledger (row keys, duplicates, already billed) → match → price → write (charges a plan's
allowance may cover wait) → the waiting charges use their allowances in order → batch
sheet, summary, manifest → rename the folder into place → commit the batch, its keys and
what it used of allowances.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from processor.batch.folder import check_empty, check_out
from processor.batch.life import BatchPlan, ImportResult, hold, new_batch
from processor.batch.trust import file_sha256
from processor.history import default_path, open_history
from processor.history.store import Scope
from processor.ingest.reading import read_export
from processor.ledger.screening import screen
from processor.rating.allowances import Allowances
from processor.rating.code_locations import CodeLocations
from processor.rating.matching import context, match
from processor.rating.pricing import price
from processor.reference.loading import UsageError, WorkbookError, load_reference
from processor.threads import read_ahead
from schemas.checks import key


def _check_usage(
    ref, location: str, application: str, files: list[Path], hashed: dict[str, str]
) -> dict[str, str]:
    """Refuse what cannot be imported; returns each input's sha256 by path (``hashed``
    holds those worked out already)."""
    if key(location) not in ref.locations:
        known = ", ".join(v.name for v in ref.locations.values())
        raise UsageError(
            f'location "{location}" is not on the Locations sheet; choose one of: {known}'
        )
    if key(application) not in ref.applications:
        known = ", ".join(v.name for v in ref.applications.values())
        raise UsageError(
            f'application "{application}" is not on the Applications sheet; choose one of: {known}'
        )
    seen: dict[str, Path] = {}
    for f in files:
        if f.is_dir():
            raise UsageError(
                f"{f}: is a folder, not an export; name the export files in it (for example "
                f"{f}/*.csv)"
            )
        if not f.is_file():
            raise UsageError(f"{f}: no such file; check the path and name")
        digest = hashed.get(str(f)) or file_sha256(f)
        if digest in seen:
            raise UsageError(
                f"{f}: has the same content as {seen[digest]}; its rows would be billed twice"
            )
        seen[digest] = f
    return {str(p): d for d, p in seen.items()}


def _sha256s(files: list[Path]) -> dict[str, str]:
    """The sha256 of each input file that can be read, by path (the others are left to
    ``_check_usage``, which says what is wrong with them)."""
    out = {}
    for f in files:
        with contextlib.suppress(OSError):
            if f.is_file():
                out[str(f)] = file_sha256(f)
    return out


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
    history: Path | None = None,
    reimport: bool = False,
    waiting: Callable[[str], None] | None = None,
    any_location: bool = False,
) -> ImportResult:
    """Import device exports into a batch folder, billing each row once, ever.

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
        history: the import history (default: history.sqlite in the workbooks folder).
        reimport: import a file whose content was imported before (its rows still go
            through the key check, so nothing is billed twice).
        waiting: told at once what the import meets before it starts: another import
            holding the history, what a stopped import left and how it was recovered.
        any_location: import even when most codes belong to another location.

    Returns:
        The batch folder, its manifest, the workbooks' warnings and notes for the user.

    Raises:
        WorkbookError: the workbooks have errors (nothing is written).
        UsageError: unknown location or application, missing file, non-empty folder, a
            file imported before, most codes belonging to another location.
        ExportError: a file cannot be read as its format (nothing is written).
        HistoryError: the history cannot be used.
    """
    out = Path(out).resolve()  # absolute and normalised before any check
    check_out(out, files, workbooks)
    clock = Clock()
    # the inputs are hashed while the workbooks are read (hashlib lets go of the GIL)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        hashing = pool.submit(_sha256s, files)
        ref, found = load_reference(workbooks)
        clock.lap("workbooks")
        if ref is None:
            hashing.cancel()
            raise WorkbookError(found)
        hashed = hashing.result()
    digests = _check_usage(ref, location, application, files, hashed)
    batch_date = batch_date or dt.date.today()
    app = ref.applications[key(application)]
    app_name, format_name = app.name, app.format
    fmt = ref.format_for(format_name)
    ctx = context(ref, application, location, fmt)
    loc = ref.location(location)
    kwargs = {"chunk_rows": chunk_rows} if chunk_rows else {}
    kwargs |= {"day_first": day_first, "time_zone": loc.time_zone}
    app_key, loc_key = key(application), key(location)

    hist = open_history(history or default_path(workbooks))
    try:
        # imports of other applications or locations run meanwhile
        notes = hold(hist, waiting, scope=Scope(app_key, loc_key))
        if waiting:  # what was recovered is said now: a refusal below must not hide it
            for note in notes:
                waiting(note)
            notes = []
        check_empty(out)  # after the history recovered what a stopped import left there
        if not reimport:
            for path in files:
                earlier = hist.imported_file(digests[str(path)], app_key, loc_key)
                if earlier:
                    raise UsageError(
                        f"{path}: was imported already for {app_name} at {loc.name}, in batch "
                        f"{earlier[0]} ({earlier[1]}); its rows are billed. Use --reimport "
                        "to import it again (rows billed before are skipped as "
                        "already-billed)"
                    )
        inputs = [
            {"path": str(p), "sha256": digests[str(p)], "size": p.stat().st_size} for p in files
        ]
        plan = BatchPlan(ref, application, location, fmt, batch_date, workbooks)
        located = CodeLocations()
        plans = Allowances(ref, location)
        with new_batch(hist, out, plan, inputs) as job:
            for item in inputs:
                path = Path(item["path"])
                file_rows = 0
                size, done = max(path.stat().st_size, 1), [0]
                clock.lap("setup")
                chunks = read_export(path, fmt, ctx.match_fields, done=done, **kwargs)
                for chunk in read_ahead(chunks):
                    clock.lap("read")
                    chunk = screen(chunk, fmt, hist, job.met, app_name, app_key, loc_key)
                    clock.lap("ledger")
                    matched = match(chunk, ref, ctx, fmt)
                    located.add(matched)
                    clock.lap("match")
                    priced = price(matched, ref, location)
                    clock.lap("price")
                    job.writer.add(plans.hold(priced))  # an allowance's charges wait
                    clock.lap("write")
                    file_rows += len(chunk)
                    if progress:
                        progress(path.name, file_rows, min(done[0] / size, 1.0))
                clock.lap("read")  # the file's end
                item["rows"] = file_rows
            other = None if any_location else located.elsewhere(loc.name)
            if other:  # before the batch is finished: nothing is kept
                name, rows, here = other
                raise UsageError(
                    f"{rows:,} rows have a code of {name} and {here:,} a code of {loc.name}: "
                    f'is this an export of {name}? Import it with --location "{name}", or '
                    f"give --any-location to import it at {loc.name} anyway; nothing was "
                    "written"
                )
            # the charges allowances may cover, in order of start time, once all are read;
            # the location's other applications take turns from here to the commit
            if plans.held:
                hist.lock_allowances(loc_key, waiting=waiting)
            for part in plans.priced(hist.allowances_used(), [p.name for p in files]):
                job.writer.add(part)
            clock.lap("price")
            job.finish(inputs, ctx.match_fields, plans.summary())
        notes += hist.warnings
        said = hist.said()
    finally:
        hist.close()
    clock.lap("finish")
    return ImportResult(out, job.manifest, found, notes + job.notes(), said, clock.laps)


class Clock:
    """Seconds spent in each named step, added up over chunks."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = self.laps.get(step, 0.0) + now - self.last
        self.last = now
