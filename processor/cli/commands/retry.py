"""`charges retry`: bill the rows a committed batch could not bill before."""

from __future__ import annotations

from processor.cli.commands.report import render_reports
from processor.cli.exit_codes import EXIT_OK
from processor.cli.printing import print_batch


def run(args) -> int:
    from processor.recipes.retry import run_retry

    result = run_retry(args.batch, args.out, args.workbooks, args.history, args.batch_date)
    print_batch(result)
    if args.report:
        render_reports([result.batch_dir], None, args.history)
    return EXIT_OK
