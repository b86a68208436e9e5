"""The batch folder on disk: the names of its files, the check of ``--out``, and the
hidden sibling a batch is written into and renamed into place from, so a failed or killed
run never leaves a half-written batch."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from processor.errors import OutputError, UsageError

# the files of a batch folder, named here only
MANIFEST = "manifest.json"
CHARGES = "charges.parquet"
LINES = "lines.parquet"
UNMATCHED = "unmatched.parquet"
SKIPPED = "skipped.parquet"
WORKBOOK = "batch.xlsx"
VOID = "VOID.txt"
MARKER = ".batch-id"  # the batch id, written first: what a killed run left can be told
REPORTS = "reports"  # the folder the reports are rendered into
# what a whole batch folder holds (the reports and VOID.txt come later, or never)
BATCH_FILES = (MANIFEST, CHARGES, LINES, UNMATCHED, SKIPPED, WORKBOOK)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


_OS_WORDS = {
    errno.EACCES: "is not writable (permission denied)",
    errno.EPERM: "is not writable (permission denied)",
    errno.EROFS: "is on a read-only disk",
    errno.ENOSPC: "is on a disk that is full",
    errno.EDQUOT: "is on a disk whose quota is used up",
}


def output_problem(folder: Path, exc: OSError) -> OutputError:
    """An OSError met while writing, as a message naming the folder and what to do."""
    words = _OS_WORDS.get(exc.errno, f"cannot be written ({exc.strerror or _one_line(exc)})")
    return OutputError(
        f"{folder}: {words}; nothing was written. Choose another --out folder, or free or "
        "unlock the disk, and run again"
    )


def partial_path(target: Path) -> Path:
    """The hidden folder a batch is written into before it is renamed into place."""
    target = Path(os.path.abspath(target))
    return target.parent / f".{target.name}.partial-{os.getpid()}"


@contextlib.contextmanager
def atomic_dir(
    target: Path, removed: list[Path] | None = None, marker: str | None = None
) -> Iterator[Path]:
    """A temporary sibling folder renamed to ``target`` only when the block succeeds.

    Args:
        target: the folder to create (absent, or empty).
        removed: receives the leftover partial folders of killed runs that were cleared.
        marker: written into the marker file first, so what a killed run leaves can be told
            apart and removed by the next one.

    Raises:
        OutputError: the folder cannot be written (the partial folder is removed).
    """
    target = Path(os.path.abspath(target))
    tmp = partial_path(target)
    for above in target.parents:
        if above.exists():
            if not above.is_dir():
                raise OutputError(
                    f"{above}: is a file, not a folder; nothing was written. Choose another "
                    "--out folder, or free or unlock the disk, and run again"
                )
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gone = remove_stale(target.parent)
        if removed is not None:
            removed.extend(gone)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        if marker:
            (tmp / MARKER).write_text(marker + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_problem(target.parent, exc) from None
    try:
        yield tmp
        if target.exists():
            target.rmdir()  # checked empty before the run started
        tmp.rename(target)
    except OSError as exc:  # the disk, not the data: say which folder and what to do
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_problem(target.parent, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale(parent: Path) -> list[Path]:
    """Remove what killed runs (SIGKILL, power cut) left in ``parent``: hidden partial
    folders (and an export's partial files) of processes that are gone. Returns them."""
    gone = []
    for old in parent.glob(".*.partial-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:  # a file an export was writing
                with contextlib.suppress(OSError):
                    old.unlink()
            gone.append(old)
        except PermissionError:
            pass  # alive, someone else's
    return gone


def check_out(out: Path, files: list[Path], workbooks: Path) -> None:
    """Refuse a batch folder that is, holds, or sits inside an input or the workbooks
    folder (checked first, before anything is read)."""
    wb = Path(workbooks).resolve()
    for f in [*(p.resolve() for p in files), wb]:
        what = "the workbooks folder" if f == wb else f"the input {f}"
        if out == f or out.is_relative_to(f) or f.is_relative_to(out):
            how = "is" if out == f else ("is inside" if out.is_relative_to(f) else "holds")
            raise UsageError(
                f"--out {out}: {how} {what}; choose a batch folder apart from the inputs and "
                "the workbooks, e.g. batches/2026-10"
            )


def check_empty(out: Path) -> None:
    """Refuse a batch folder that already holds something (checked once the history has
    recovered what a stopped import left, which may have been this very folder)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: already exists and is not empty; choose a new batch folder")
