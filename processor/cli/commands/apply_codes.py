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
    mapped = len(done.mapped)
    if done.rows:
        first, last = done.rows
        print(
            f"Added {plural(len(done.added) - mapped, 'code')} to "
            f"{args.workbooks / 'accounts.xlsx'} › Account Codes, rows {first} to {last}; the "
            f"previous workbook is {done.backup}."
        )
    if done.map_rows:
        first, last = done.map_rows
        print(
            f"Added {plural(mapped, 'login')} (codes with . - _ or @, which Account Codes "
            f"cannot hold) to {args.workbooks / 'devices.xlsx'} › Device Import Maps, rows "
            f"{first} to {last}; the previous workbook is {done.map_backup}."
        )
    for warning in done.warnings:
        print(f"charges: warning: {warning}", file=sys.stderr)
    print("Next: charges retry BATCH_DIR --out NEW_DIR bills the rows these codes blocked.")
    return EXIT_OK
