"""`charges export`: batches' Batch Sheet lines as an accounting system's import file."""

from __future__ import annotations

import sys

from processor.cli.exit_codes import EXIT_OK
from processor.cli.printing import plural


def run(args) -> int:
    from processor.books.invoices import money_text
    from processor.books.systems import SYSTEMS
    from processor.recipes.export_books import export_batches

    done = export_batches(args.batches, args.to, args.out, args.again, args.workbooks, args.history)
    for note in done.notes:
        print(f"charges: {note}", file=sys.stderr)
    title = SYSTEMS[done.system].title
    numbers = [i.number for i in done.invoices]
    span = numbers[0] if len(numbers) == 1 else f"{numbers[0]} to {numbers[-1]}"
    money = {k: money_text(done.total(k), done.places) for k in ("net", "tax", "gross")}
    print(
        f"{plural(len(done.invoices), 'invoice')} for {title} ({span}) from "
        f"{plural(len(done.batches), 'batch', 'batches')}: net {money['net']}, tax "
        f"{money['tax']}, gross {money['gross']} {done.currency}"
    )
    for f in done.files:
        print(f"  wrote {f}")
    for w in done.warnings:
        print(f"charges: check before importing: {w}", file=sys.stderr)
    print(
        f"  recorded as export {done.export_id}; the same batches are refused next time "
        "unless --again"
    )
    return EXIT_OK
