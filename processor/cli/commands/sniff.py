"""`charges sniff`: the formats a file could be, best first."""

from __future__ import annotations

import sys

from processor.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from processor.cli.printing import pd_options, plural


def run(args) -> int:
    from processor.ingest.sniff import sniff
    from processor.reference.loading import UsageError

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    from processor.errors import ExportError
    from processor.ingest.blocks import open_blocks

    try:  # a workbook, an archive or a binary file is no format's: say so once
        open_blocks(args.file, None)
    except ExportError as exc:
        print(f"charges: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    extra = []
    if args.workbooks:  # the layouts on the Formats sheet are candidates too
        from processor.reference.loading import WorkbookError, load_reference

        ref, found = load_reference(args.workbooks)
        if ref is None:
            raise WorkbookError(found, "sniff tried the built-in formats only; fix the errors")
        extra = list(ref.formats.values())
    guesses = sniff(args.file, day_first=not args.month_first, extra=extra)
    plausible = [g for g in guesses if g.plausible]
    if not plausible:
        where = "the built-in formats" + (" or the Formats sheet" if extra else "")
        print(
            f"{args.file.name}: none of {where} reads it; describe it on the Formats sheet "
            "(then `charges sniff FILE --workbooks DIR` tries that layout)"
        )
        return EXIT_ERRORS
    print(f"{args.file.name} could be, best first:")
    for g in plausible:
        print(f"  {g.format.name}: {g.reason()}")
    others = len(guesses) - len(plausible)
    if others:
        print(f"  ({plural(others, 'other format')} read less than half of its rows)")
    best = plausible[0]
    print(f"\nFirst rows as {best.format.name} reads them:")
    with pd_options():
        print(best.preview.to_string(index=False))
    return EXIT_OK
