"""`charges init`: empty template workbooks, and the import history beside them (the only
way a history is ever created)."""

from __future__ import annotations

from processor.cli.exit_codes import EXIT_OK
from processor.errors import UsageError


def run(args) -> int:
    from processor.history import create_history, default_path
    from processor.reference.templates import write_templates

    if args.folder is None and args.history is None:
        raise UsageError(
            "name a folder for the workbooks (charges init workbooks), or a history to "
            "create (charges init --history PATH)"
        )
    if args.folder is not None:
        for path in write_templates(args.folder):
            print(f"wrote {path}")
    if getattr(args, "history_from_environment", False) and _there(args.history):
        # a team's shared history, named by CHARGES_HISTORY: a second clerk's templates
        # use it as it is
        print(f"using the import history {args.history} (CHARGES_HISTORY), which is there")
    else:
        history = create_history(args.history or default_path(args.folder))
        print(f"created the import history {history}")
    if args.folder is not None:
        print(f"Fill them in, then run: charges validate --workbooks {args.folder}")
    return EXIT_OK


def _there(place) -> bool:
    """Whether a history is at ``place`` already (a server that cannot be reached says so)."""
    from processor.errors import NoHistoryError
    from processor.history import open_history

    try:
        open_history(place).close()
    except NoHistoryError:
        return False
    return True
