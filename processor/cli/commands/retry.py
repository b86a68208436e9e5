"""`charges retry`: bill the rows a committed batch could not bill before."""

from __future__ import annotations

from processor.cli.commands.report import render_reports
from processor.cli.exit_codes import EXIT_OK, EXIT_UNMATCHED
from processor.cli.printing import print_batch


def run(args) -> int:
    from processor.errors import NothingBilled
    from processor.recipes.retry import run_retry

    try:
        result = run_retry(args.batch, args.out, args.workbooks, args.history, args.batch_date)
    except NothingBilled as nothing:
        print(nothing)
        return EXIT_UNMATCHED if args.fail_on_unmatched and nothing.unmatched else EXIT_OK
    print_batch(result)
    if args.fail_on_unmatched and result.manifest["rows"]["unmatched"]:
        return EXIT_UNMATCHED
    if args.report:
        render_reports([result.batch_dir], None, args.history)
    return EXIT_OK
