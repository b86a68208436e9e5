"""`charges history`: the batches of an import history, or one of them."""

from __future__ import annotations

import json
import sys

from processor.cli.exit_codes import EXIT_OK
from processor.cli.printing import print_history_batch, shown


def run(args) -> int:
    from processor.batch.life import recover
    from processor.errors import UsageError
    from processor.history import HistoryError, default_path, open_history

    path = args.history or default_path(args.workbooks)
    if args.batch_id == "copy" or args.to:
        if args.batch_id != "copy" or not args.to:
            raise UsageError(
                "to copy a history, give both: charges history copy --to postgresql://... "
                "(and --history PATH for a history not beside the workbooks)"
            )
        return copy(path, args.to)
    hist = open_history(path)
    for note in [*hist.warnings, *recover(hist)]:
        print(f"charges: {note}", file=sys.stderr)
    if args.format == "text":
        print(f"The {hist.said()}")
    try:
        if args.batch_id:
            one = hist.batch(args.batch_id)
            if one is None:
                raise HistoryError(f"batch {args.batch_id} is not in the history {path}")
            if args.format == "json":
                print(json.dumps(one, indent=2, ensure_ascii=False))
                return EXIT_OK
            print_history_batch(one)
            return EXIT_OK
        rows = hist.batches()
    finally:
        hist.close()
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("No batches yet.")
    for b in rows:
        # a batch that billed nothing has no charges to date
        period = (
            f"charges {b['period_from'][:10]} to {(b['period_to'] or '')[:10]}"
            if b["period_from"]
            else "no charges billed"
        )
        cur = b["currency"] or ""
        retry = f", retry of {b['retry_of']}" if b["retry_of"] else ""
        print(
            f"{b['id']}  {b['status'].upper():9} {b['application']} at {b['location']}, "
            f"batch {b['batch_date']}{retry}"
        )
        print(
            f"    {period}; rows {b['rows_read'] or 0:,}: billed "
            f"{b['rows_billed'] or 0:,}, unmatched {b['rows_unmatched'] or 0:,}, "
            f"skipped {b['rows_skipped'] or 0:,}; "
            f"{cur} net {shown(b['net'] or 0, cur)}, tax {shown(b['tax'] or 0, cur)}, gross "
            f"{shown(b['gross'] or 0, cur)}"
        )
        print(f"    {b['folder']}")
        if b["status"] == "void":
            print(f"    void: {b['void_reason']}")
    return EXIT_OK


def copy(source, url: str) -> int:
    """`charges history copy --to URL`."""
    from processor.errors import UsageError
    from processor.history import history_place

    if not isinstance(history_place(url), str):
        raise UsageError(f"--to {url}: is not a PostgreSQL URL (postgresql://user@host/db)")
    if isinstance(source, str):
        raise UsageError(
            f"{source}: is a PostgreSQL history already; copy copies a SQLite history file"
        )
    from processor.history.copying import copy_history

    done = copy_history(source, url)
    print(
        f"copied the history {source} (id {done.history_id[:8]}) into {done.history}: "
        f"{done.batches:,} batches, {done.keys:,} billed keys, "
        f"{sum(done.rows.values()):,} rows in all, checked by counts and totals"
    )
    print(
        f"  name it from now on: --history {done.history} (or CHARGES_HISTORY); "
        f"{source} is left as it was"
    )
    return EXIT_OK
