"""`charges report`: execute the report notebooks with papermill and publish HTML (I/O edge).

For each batch: notebooks/billing.ipynb and notebooks/unmatched.ipynb run with
the batch folder as parameter into BATCH_DIR/reports/ (executed .ipynb kept,
errors included), then each becomes a static HTML page without code (``page``).
The per-account statements and codes-to-add.xlsx are written beside them.

A batch's work is three jobs (billing, unmatched with codes-to-add, statements). The
jobs of every batch given run side by side in worker processes, up to the cores; each
writes only its own files, so the outputs are the same in any order. The notebooks run
in the worker itself (``notebook_engine``), not in a Jupyter kernel each.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from processor import reports
from processor.batch.checked import check_folder
from processor.batch.folder import REPORTS
from processor.errors import RenderError
from processor.reports.at_stake import at_stake_by_code, total_at_stake, value_at_stake
from processor.reports.page import page_html
from processor.reports.statement_files import write_statements

# the papermill engine the notebooks run in; None: ours, in this process
# (``notebook_engine``). `bench/bench_report_calls.py` alone names papermill's own
# ("nbclient", a kernel per notebook), with one worker, to measure the way reports ran
# before.
ENGINE: str | None = None
TOP_CODES = 50  # unknown codes the unmatched report lists (with their suggestions)


@dataclass
class Rendered:
    batch: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things the user should know
    history: str = ""  # the history the batch was checked against


@contextlib.contextmanager
def notebook(name: str) -> Iterator[Path]:
    """A report notebook shipped in the package (notebooks/ in a checkout), as a file."""
    try:
        shipped = resources.files("processor.notebooks")
    except ModuleNotFoundError:  # run from a checkout: processor/ is the source folder
        shipped = Path(__file__).resolve().parents[2] / "notebooks"
    with resources.as_file(shipped.joinpath(name)) as path:
        if not path.is_file():
            raise RenderError(
                f"the report notebook {name} is missing from this installation; reinstall "
                "device-charges",
                path,
            )
        yield path


def _forget_papermill_cwd() -> None:
    """Papermill's local file handler changes the process's directory to a folder it keeps
    (process-wide) around every read and write, set per run and restored after it. Two runs
    at once can leave a stale folder there, and the next run's reads and writes would move
    this process into it: cleared before each run, so that every run holds the current one
    (a run that finds it cleared by another does no move at all)."""
    from papermill.iorw import papermill_io

    with contextlib.suppress(Exception):  # a papermill without it has nothing to clear
        papermill_io.get_handler("local").cwd(None)


def _execute(name: str, target: Path, parameters: dict):
    """Runs a report notebook into ``target``; returns the executed notebook."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from processor.reports import notebook_engine

    _forget_papermill_cwd()
    try:
        with notebook(name) as source:
            return pm.execute_notebook(
                str(source),
                str(target),
                parameters=parameters,
                engine_name=ENGINE or notebook_engine.NAME,
                progress_bar=False,
            )
    except PapermillExecutionError as exc:
        raise RenderError(
            f"{name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(the executed notebook with the error is {target})",
            target,
        ) from None


def publish(nb, target: Path) -> Path:
    """The HTML page of an executed notebook: prose and outputs only, no code or script."""
    target.write_text(page_html(nb, default_title=target.stem), encoding="utf-8")
    return target


def to_html(notebook: Path, target: Path) -> Path:
    """The HTML page of an executed notebook file (see ``publish``)."""
    import nbformat

    return publish(nbformat.read(notebook, as_version=4), target)


def _billing(batch_dir: Path) -> tuple[list[Path], list[str]]:
    """The billing report."""
    out = batch_dir / REPORTS
    executed = out / "billing.ipynb"
    nb = _execute("billing.ipynb", executed, {"batch_dir": str(batch_dir)})
    return [executed, publish(nb, out / "billing.html")], []


def _unmatched(batch_dir: Path, workbooks: Path | None) -> tuple[list[Path], list[str]]:
    """The unmatched report and codes-to-add.xlsx. The workbooks are read once, here: the
    notebook is given the suggestions for the codes it lists, and codes-to-add.xlsx gets
    them all; the unmatched rows are priced once, for both."""
    batch = reports.load_batch(batch_dir)
    out = batch_dir / REPORTS
    ref = reports.reference_for(batch, workbooks)
    hints = listed = stake = by_code = None
    if ref is not None:
        values = value_at_stake(batch, ref)
        by_code = at_stake_by_code(batch, ref, values)
        total = total_at_stake(batch, ref, values)
        stake = {
            "total": None if total is None else str(total),
            "codes": {c: str(v) for c, v in by_code.items()},
        }
        codes = reports.unknown_codes(batch)
        hints = reports.suggestions(
            list(codes["Code"]), ref, batch.manifest["application"], batch.manifest["location"]
        )
        listed = {c: hints[c] for c in codes["Code"].head(TOP_CODES)}
    executed = out / "unmatched.ipynb"
    nb = _execute(
        "unmatched.ipynb",
        executed,
        {
            "batch_dir": str(batch_dir),
            "workbooks": str(workbooks) if workbooks else None,
            "top_codes": TOP_CODES,
            "suggestions": listed,
            "at_stake": stake,
        },
    )
    files, notes = [executed, publish(nb, out / "unmatched.html")], []
    if hints is not None:
        path, note = reports.codes_to_add_path(out)
        files.append(reports.write_codes_to_add(batch, ref, path, hints, by_code))
        notes += [note] if note else []
    return files, notes


def _statements(batch_dir: Path) -> tuple[list[Path], list[str]]:
    """Each account's statement files."""
    batch = reports.load_batch(batch_dir)
    return write_statements(batch, batch_dir / REPORTS / "statements"), []


def _workers(jobs: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, jobs))


def _warm() -> None:
    """Everything a job imports, imported before the workers fork, so that each starts
    with it rather than importing it again."""
    import nbformat  # noqa: F401

    from processor.reports import notebook_engine  # noqa: F401  (papermill, IPython)
    from processor.reports.page import _markdown

    _markdown()


def _run_jobs(jobs: list[tuple[Callable, tuple]], workers: int) -> list:
    """Each job's result, in order; once every job has stopped, the first failure (in the
    jobs' order) is raised. Jobs run in worker processes when there are several."""
    if workers <= 1 or len(jobs) <= 1:
        outcomes = []
        for job, args in jobs:
            try:
                outcomes.append(job(*args))
            except Exception as exc:  # the others still run: their reports are written
                outcomes.append(exc)
    else:
        _warm()
        # fork on Linux: a worker starts with this process's imports in milliseconds;
        # elsewhere a worker imports them itself
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            running = [pool.submit(job, *args) for job, args in jobs]
        outcomes = [r.exception() or r.result() for r in running]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def render_batches(
    batch_dirs: list[Path],
    workbooks: Path | None = None,
    history: Path | None = None,
    workers: int | None = None,
) -> list[Rendered]:
    """Billing and unmatched reports, statements and codes-to-add.xlsx for each batch
    folder, into BATCH_DIR/reports/, once every folder is checked against the history it
    was recorded in (or ``history``). The batches' jobs run side by side, in up to
    ``workers`` processes (default: the cores).

    Raises:
        ReportError: a batch folder is missing or unreadable.
        UsageError: its history is not there, or a batch file changed since its commit.
        RenderError: a notebook failed (its executed copy, with the error, is kept); the
            other reports are written all the same.
    """
    done, jobs = [], []
    for b in batch_dirs:  # every folder checked before any is rendered
        b = Path(b).resolve()
        checked = check_folder(b, history)  # a changed batch file is never reported
        reports.load_batch(b)  # fails early, with a clear message
        (b / REPORTS).mkdir(exist_ok=True)
        done.append(Rendered(b, notes=list(checked.notes), history=checked.history))
        jobs += [(_billing, (b,)), (_unmatched, (b, workbooks)), (_statements, (b,))]
    outcomes = _run_jobs(jobs, workers or _workers(len(jobs)))
    for i, (files, notes) in enumerate(outcomes):
        done[i // 3].files += files
        done[i // 3].notes += notes
    return done


def render_batch(
    batch_dir: Path,
    workbooks: Path | None = None,
    history: Path | None = None,
    workers: int | None = None,
) -> Rendered:
    """One batch's reports (see ``render_batches``)."""
    return render_batches([batch_dir], workbooks, history, workers)[0]


def render_period(
    batch_dirs: list[Path], out: Path, history: Path | None = None, checked: bool = False
) -> list[Path]:
    """A period summary across several batches, by location and application, once each
    folder is checked against its history.

    Raises:
        ReportError: a batch cannot be read, or two batches in use bill the same row.
        UsageError: a history is not there, or a batch file changed since its commit.

    ``checked``: the folders were checked against their history already (by
    ``render_batches`` in the same command), so their files are not hashed again.
    """
    for b in [] if checked else batch_dirs:
        check_folder(b, history)
    batches = [reports.load_batch(b) for b in batch_dirs]
    problems = reports.double_billed(batches)
    if problems:
        raise reports.ReportError("; ".join(problems))
    out.mkdir(parents=True, exist_ok=True)
    executed = out / "period-summary.ipynb"
    nb = _execute(
        "period.ipynb",
        executed,
        {"batch_dirs": [str(Path(b).resolve()) for b in batch_dirs]},
    )
    return [executed, publish(nb, out / "period-summary.html")]
