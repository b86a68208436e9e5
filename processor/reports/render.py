"""`charges report`: execute the report notebooks with papermill and publish HTML (I/O edge).

For each batch: notebooks/billing.ipynb and notebooks/unmatched.ipynb run with
the batch folder as parameter into BATCH_DIR/reports/ (executed .ipynb kept,
errors included), then nbconvert writes self-contained HTML without code cells.
The per-account statements and codes-to-add.xlsx are written beside them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from processor import reports
from processor.batch.checked import check_folder
from processor.batch.folder import REPORTS
from processor.errors import RenderError
from processor.reports.at_stake import at_stake_by_code, total_at_stake, value_at_stake
from processor.reports.statement_files import write_statements

CELL_TIMEOUT = 600  # seconds per cell
KERNEL = "python3"
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


def _execute(name: str, target: Path, parameters: dict, cwd: Path) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _forget_papermill_cwd()
    try:
        with notebook(name) as source:
            pm.execute_notebook(
                str(source),
                str(target),
                parameters=parameters,
                kernel_name=KERNEL,
                execution_timeout=CELL_TIMEOUT,
                progress_bar=False,
                # the kernel starts in ``cwd``; papermill's own cwd= would change this
                # process's working directory, which two notebooks at once cannot share
                resources={"metadata": {"path": str(cwd)}},
                # the kernel's start-up chatter (a TCP warning) is not for billing staff
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
    except PapermillExecutionError as exc:
        raise RenderError(
            f"{name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(the executed notebook with the error is {target})",
            target,
        ) from None


# The reports are static pages: no script is needed, and none may reach the network
# (the lab template carries a MathJax/mermaid loader that would), so all are removed.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)


def to_html(notebook: Path, target: Path) -> Path:
    """Self-contained HTML of an executed notebook: outputs only, images inline."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    body = _SCRIPT.sub("", body)
    target.write_text(body, encoding="utf-8")
    return target


def render_batch(
    batch_dir: Path, workbooks: Path | None = None, history: Path | None = None
) -> Rendered:
    """Billing and unmatched reports for one batch folder, into BATCH_DIR/reports/, once
    the folder is checked against the history it was recorded in (or ``history``).

    Raises:
        ReportError: the batch folder is missing or unreadable.
        UsageError: its history is not there, or a batch file changed since its commit.
        RenderError: a notebook failed (its executed copy, with the error, is kept).
    """
    batch_dir = Path(batch_dir).resolve()
    checked = check_folder(batch_dir, history)  # a changed batch file is never reported
    batch = reports.load_batch(batch_dir)  # fails early, with a clear message
    out = batch_dir / REPORTS
    out.mkdir(exist_ok=True)
    done = Rendered(batch_dir, notes=checked.notes, history=checked.history)
    # the workbooks are read once, here: the unmatched notebook is given the suggestions
    # for the codes it lists, and codes-to-add.xlsx gets them all
    ref = reports.reference_for(batch, workbooks)
    hints = listed = stake = None
    if ref is not None:
        values = value_at_stake(batch, ref)  # the unmatched rows priced once, for both
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
    jobs = {
        "billing": {"batch_dir": str(batch_dir)},
        "unmatched": {
            "batch_dir": str(batch_dir),
            "workbooks": str(workbooks) if workbooks else None,
            "top_codes": TOP_CODES,
            "suggestions": listed,
            "at_stake": stake,
        },
    }
    # both notebooks run at once, each in its own kernel (a process: the two cores share
    # the work); an error is raised once both have stopped, the first report's first
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="notebook") as pool:
        running = {
            name: pool.submit(_execute, f"{name}.ipynb", out / f"{name}.ipynb", params, out)
            for name, params in jobs.items()
        }  # leaving the block waits for both
    for name, job in running.items():
        job.result()
        executed = out / f"{name}.ipynb"
        done.files += [executed, to_html(executed, out / f"{name}.html")]
    done.files += write_statements(batch, out / "statements")
    if hints is not None:
        path, note = reports.codes_to_add_path(out)
        done.files.append(reports.write_codes_to_add(batch, ref, path, hints, by_code))
        if note:
            done.notes.append(note)
    return done


def render_period(
    batch_dirs: list[Path], out: Path, history: Path | None = None, checked: bool = False
) -> list[Path]:
    """A period summary across several batches, by location and application, once each
    folder is checked against its history.

    Raises:
        ReportError: a batch cannot be read, or two batches in use bill the same row.
        UsageError: a history is not there, or a batch file changed since its commit.

    ``checked``: the folders were checked against their history already (by
    ``render_batch`` in the same command), so their files are not hashed again.
    """
    for b in [] if checked else batch_dirs:
        check_folder(b, history)
    batches = [reports.load_batch(b) for b in batch_dirs]
    problems = reports.double_billed(batches)
    if problems:
        raise reports.ReportError("; ".join(problems))
    out.mkdir(parents=True, exist_ok=True)
    executed = out / "period-summary.ipynb"
    _execute(
        "period.ipynb",
        executed,
        {"batch_dirs": [str(Path(b).resolve()) for b in batch_dirs]},
        out,
    )
    return [executed, to_html(executed, out / "period-summary.html")]
