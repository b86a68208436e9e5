"""`charges apply-codes`: copy the chosen codes of codes-to-add.xlsx into Account Codes."""

from __future__ import annotations

import sys

from processor.cli.exit_codes import EXIT_OK
from processor.cli.printing import plural


def run(args) -> int:
    from processor.recipes.apply_codes import apply_codes

    done = apply_codes(args.file, args.workbooks)
    for account, app, code in done.already:
        print(f"  {code} for {app} is held by {account} already: left as it is")
    if not done.added:
        print("Nothing to add: every chosen code is held already.")
        return EXIT_OK
    first, last = done.rows
    print(
        f"Added {plural(len(done.added), 'code')} to {args.workbooks / 'accounts.xlsx'} › "
        f"Account Codes, rows {first} to {last}; the previous workbook is {done.backup}."
    )
    for warning in done.warnings:
        print(f"charges: warning: {warning}", file=sys.stderr)
    print("Next: charges retry BATCH_DIR --out NEW_DIR bills the rows these codes blocked.")
    return EXIT_OK
