"""Measure `charges report` as a clerk runs it: one small batch, and 20 in one call.

Each call is its own process of the installed command (start-up included). Every batch
is 300 billed rows over 20 accounts, with unmatched rows (``bench_reports.write_batch``),
against workbooks of 200 accounts and 600 codes.
In the same run, the same calls with the report notebooks in a Jupyter kernel each and
the batches one at a time (``processor.reports.render.ENGINE`` set to papermill's own
engine, by this bench alone): the way reports ran before issue 23, less its nbconvert pages.

    python bench/bench_report_calls.py [BATCHES]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import product_python  # noqa: E402
from bench.bench_reports import write_batch  # noqa: E402
from bench.bench_workbooks import generate  # noqa: E402

ROWS, ACCOUNTS = 300, 20
SITE_ACCOUNTS, SITE_CODES = 200, 600  # the workbooks: a coworking operator's two sites


# the command, its report notebooks run by papermill's own engine: a kernel per notebook
YARDSTICK = (
    "import sys; from processor.reports import render; render.ENGINE = 'nbclient'; "
    "render._workers = lambda jobs: 1; from processor.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)


def timed_report(python: str, batches: list[Path], yardstick: bool) -> float:
    command = ["-c", YARDSTICK] if yardstick else ["-m", "processor"]
    began = time.perf_counter()
    subprocess.run(
        [python, *command, "report", *map(str, batches)],
        check=True,
        cwd=batches[0].parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # each batch's "imported before the history" note
    )
    return time.perf_counter() - began


def main(count: int) -> None:
    python = product_python()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "wb").mkdir()
        generate(tmp / "wb", SITE_ACCOUNTS, SITE_CODES)
        batches = []
        for i in range(count):
            batch = tmp / f"batch-{i + 1:02d}"
            batch.mkdir()
            write_batch(batch, ROWS, tmp / "wb", ACCOUNTS)
            batches.append(batch)
        timed_report(python, batches[:1], False)  # the file cache warm for both
        one = timed_report(python, batches[:1], False)
        one_before = timed_report(python, batches[:1], True)
        many = timed_report(python, batches, False)
        many_before = timed_report(python, batches, True)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
        print(
            f"charges report, {ROWS} rows and {ACCOUNTS} accounts a batch, {cores} cores: "
            f"one batch {one:.1f} s (a kernel a notebook, one at a time: {one_before:.1f} s, "
            f"{one_before / one:.1f} ×); {count} batches in one call {many:.1f} s "
            f"({many_before:.1f} s, {many_before / many:.1f} ×)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
