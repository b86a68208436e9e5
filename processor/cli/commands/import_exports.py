"""`charges import`: exports into a new batch folder."""

from __future__ import annotations

import sys
from pathlib import Path

from processor.cli.commands.report import render_reports
from processor.cli.exit_codes import EXIT_OK, EXIT_UNMATCHED
from processor.cli.printing import BAR_FROM_BYTES, Progress, print_batch


def run(args) -> int:
    from processor.recipes.importing import run_import
    from processor.reference.loading import UsageError

    # a bar for large inputs, on a terminal only (logs and pipes stay clean)
    show = sys.stderr.isatty() and sum(f.stat().st_size for f in args.files if f.is_file()) > (
        BAR_FROM_BYTES
    )

    progress = Progress(show)

    if args.day_first and args.month_first:
        raise UsageError("choose --day-first or --month-first, not both")
    result = run_import(
        args.workbooks,
        args.location,
        args.application,
        args.files,
        args.out,
        args.batch_date,
        progress,
        day_first=not args.month_first,
        history=args.history,
        reimport=args.reimport,
        any_location=args.any_location,
        waiting=lambda text: print(f"charges: {text}", file=sys.stderr),
    )
    progress.close()
    if args.batch_date is None:
        result.notes.append(
            f"the batch date is today, {result.manifest['batch_date']}: give --batch-date to "
            "choose another"
        )
    for i in result.manifest["inputs"]:
        if i["rows"] == 0:
            print(
                f"charges: nothing to bill: {Path(i['path']).name} has no rows after its header",
                file=sys.stderr,
            )
    print_batch(result)
    if args.report:
        render_reports([result.batch_dir], None, args.history)
    if args.fail_on_unmatched and result.manifest["rows"]["unmatched"]:
        return EXIT_UNMATCHED
    if args.fail_on_alert and result.manifest.get("alerts"):
        return EXIT_UNMATCHED  # 3: hold the batch for a person to look at
    return EXIT_OK
