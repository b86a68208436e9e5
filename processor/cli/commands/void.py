"""`charges void`: mark a batch void, so its rows can be billed again."""

from __future__ import annotations

import sys

from processor.cli.exit_codes import EXIT_OK
from processor.cli.printing import plural


def run(args) -> int:
    from processor.recipes.void import void_batch

    info = void_batch(args.batch, args.reason, args.history, args.with_retries)
    if info["marked_only"]:
        print(
            f"batch {info['batch_id']} was void already (by {info['by']}, {info['at']}); its "
            f"folder now says so too: {args.batch}/VOID.txt, and a VOID sheet in batch.xlsx"
        )
        print(f"  the {info['history']}")
        return EXIT_OK
    for r in info["retries"]:
        print(
            f"retry batch {r['batch_id']} is void with it; {plural(r['released'], 'row')} may "
            f"be billed again. {r['folder']}/VOID.txt says so."
        )
    print(
        f"batch {info['batch_id']} is void (by {info['by']}, {info['at']}); "
        f"{plural(info['released'], 'row')} may be billed again. {args.batch}/VOID.txt says so."
    )
    print(f"  recorded in the {info['history']}")
    for e in info.get("exported", []):
        print(
            f"charges: batch {info['batch_id']} was exported to the books on "
            f"{e['created_at'][:10]} ({', '.join(e['files'])}): its invoices are there "
            "still; credit or delete them in the accounting system",
            file=sys.stderr,
        )
    return EXIT_OK
