"""`charges report`: a batch's reports, and a period summary of several."""

from __future__ import annotations

import sys
from pathlib import Path

from processor.batch.folder import REPORTS
from processor.cli.exit_codes import EXIT_OK


def render_reports(batches: list[Path], workbooks: Path | None, history: Path | None) -> None:
    from processor.reports.render import render_batches

    for done in render_batches(batches, workbooks, history):
        for note in done.notes:
            print(f"charges: {note}", file=sys.stderr)
        if done.history:
            print(f"  checked against the {done.history}")
        print(
            f"  reports: {done.batch / REPORTS / 'billing.html'}, "
            f"{done.batch / REPORTS / 'unmatched.html'}"
        )


def run(args) -> int:
    from processor import reports
    from processor.reports.render import render_period

    if len(args.batches) > 1:  # refuse a double-billed period before rendering anything
        problems = reports.double_billed([reports.load_batch(b) for b in args.batches])
        if problems:
            raise reports.ReportError("; ".join(problems))
    render_reports(args.batches, args.workbooks, args.history)
    if len(args.batches) > 1:
        out = args.summary_dir or args.batches[0].resolve().parent
        files = render_period(args.batches, out, args.history, checked=True)
        print(f"  period summary: {files[-1]}")
    return EXIT_OK
