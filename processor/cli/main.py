"""The `charges` command: its options, and each command's run (``commands``) with the
errors every command may meet turned into messages and exit codes (``exit_codes``)."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import signal
import sys
from importlib import import_module
from pathlib import Path

from processor.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from processor.cli.printing import print_findings

# command → its module in processor/cli/commands
COMMANDS = {
    "init": "init",
    "validate": "validate",
    "import": "import_exports",
    "formats": "formats",
    "sniff": "sniff",
    "report": "report",
    "retry": "retry",
    "void": "void",
    "apply-codes": "apply_codes",
    "history": "history",
    "export": "export",
}


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default, where it has a real one."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date like 2026-01-31') from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="charges", description="Bill device usage from device exports and Excel workbooks."
    )
    from processor import __version__

    p.add_argument("--version", action="version", version=f"charges {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # every option says what it does, and its default where it has one
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=_Help)

    s = sub.add_parser(
        "init", help="write empty template workbooks into a folder, and create its history"
    )
    s.add_argument(
        "folder",
        type=Path,
        nargs="?",
        help="the folder to write accounts.xlsx and devices.xlsx into (and history.sqlite, "
        "unless --history names another place)",
    )
    s.add_argument(
        "--history",
        type=history_arg,
        metavar="PATH|URL",
        help="create the import history here (alone, when no folder is given)",
    )

    s = sub.add_parser("validate", help="check the workbooks and list every problem")
    _workbooks_option(
        s, "the folder holding accounts.xlsx and devices.xlsx", default=Path("workbooks")
    )
    s.add_argument(
        "--format", choices=["text", "json"], default="text", help="lines for people, or JSON"
    )

    s = sub.add_parser("import", help="import device exports into a batch folder")
    _workbooks_option(s, "the folder holding accounts.xlsx and devices.xlsx", required=True)
    s.add_argument(
        "--location", required=True, help="the Location the export is for (Locations sheet)"
    )
    s.add_argument(
        "--application",
        required=True,
        help="the device whose export this is (Applications sheet)",
    )
    s.add_argument(
        "--batch-date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the date on the Batch Sheet (default: today, and the summary says so)",
    )
    s.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="BATCH_DIR",
        help="the new batch folder (must not exist, or be empty)",
    )
    s.add_argument(
        "--fail-on-unmatched", action="store_true", help="exit 3 when any row is unmatched"
    )
    s.add_argument(
        "--fail-on-alert",
        action="store_true",
        help="exit 3 when the batch has spend alerts (a scheduler can hold it for a person)",
    )
    s.add_argument(
        "--report",
        action="store_true",
        help="render the billing and unmatched reports right after the import",
    )
    s.add_argument(
        "--reimport",
        action="store_true",
        help="import a file whose content was imported before (rows billed then are skipped "
        "as already-billed)",
    )
    s.add_argument(
        "--any-location",
        action="store_true",
        help="import even when more rows have a code of one other location than of --location",
    )
    _history_option(s)
    s.add_argument("files", type=Path, nargs="+", metavar="FILE", help="the device's exports")

    for flag, helptext in (
        ("--day-first", "read spreadsheet dates like 10/02/20 as 10 February (the default)"),
        ("--month-first", "read spreadsheet dates like 10/02/20 as 2 October"),
    ):
        s.add_argument(flag, action="store_true", help=helptext)

    s = sub.add_parser(
        "retry",
        help="bill the unmatched rows of a batch that match now (after codes were added)",
    )
    s.add_argument("batch", type=Path, metavar="BATCH_DIR", help="the batch whose rows to retry")
    s.add_argument("--out", type=Path, required=True, metavar="NEW_DIR", help="the new batch")
    _workbooks_option(s, "the workbooks to match against (default: those the batch used)")
    s.add_argument(
        "--batch-date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the new batch's date (default: the earlier batch's)",
    )
    s.add_argument("--report", action="store_true", help="render the new batch's reports")
    s.add_argument(
        "--fail-on-unmatched",
        action="store_true",
        help="exit 3 when rows still do not bill (a retry that bills nothing writes no batch)",
    )
    _history_option(s)

    s = sub.add_parser(
        "apply-codes", help="copy the codes chosen on codes-to-add.xlsx into Account Codes"
    )
    s.add_argument("file", type=Path, metavar="FILE", help="a filled-in codes-to-add.xlsx")
    _workbooks_option(s, "the folder holding accounts.xlsx (a dated backup is kept)", required=True)

    s = sub.add_parser("void", help="mark a batch void and release its rows to be billed again")
    s.add_argument("batch", type=Path, metavar="BATCH_DIR", help="the batch to void")
    s.add_argument("--reason", required=True, help="why the batch is void (recorded)")
    s.add_argument(
        "--with-retries",
        action="store_true",
        help="void the batch's retry batches too (without it, a batch with any is refused)",
    )
    _history_option(s)

    s = sub.add_parser(
        "history",
        help="list the batches in the import history, newest first; or copy it to PostgreSQL",
    )
    s.add_argument(
        "batch_id",
        nargs="?",
        metavar="BATCH_ID",
        help="show one batch in full; or copy, with --to: copy the history there",
    )
    s.add_argument(
        "--to",
        metavar="URL",
        help="with copy: the empty PostgreSQL database (postgresql://...) to copy a SQLite "
        "history into",
    )
    _workbooks_option(
        s,
        "the workbooks folder, where the history is kept unless --history says",
        default=Path("workbooks"),
    )
    s.add_argument(
        "--format", choices=["text", "json"], default="text", help="lines for people, or JSON"
    )
    _history_option(s)

    s = sub.add_parser(
        "export",
        help="write batches' Batch Sheet lines as an invoice import file for Xero, QuickBooks "
        "Online or Sage 50",
    )
    s.add_argument(
        "batches", type=Path, nargs="+", metavar="BATCH_DIR", help="the batches to invoice"
    )
    s.add_argument(
        "--to",
        required=True,
        choices=["xero", "quickbooks", "sage50", "lines"],
        help="the accounting system whose import file to write (lines: a plain CSV)",
    )
    s.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the file to write, e.g. invoices-2026-10.csv (parts are named FILE-part1-of-2.csv "
        "when the system takes fewer invoices a file)",
    )
    s.add_argument(
        "--again",
        action="store_true",
        help="export batches exported before (each invoice keeps its earlier number)",
    )
    _workbooks_option(s, "the workbooks with the Books settings (default: those the batch used)")
    s.add_argument(
        "--history",
        type=history_arg,
        metavar="PATH|URL",
        help="the import history (default: the one the batches were recorded in)",
    )

    sub.add_parser("formats", help="list the built-in device formats and their fields")

    s = sub.add_parser("report", help="render the billing and unmatched reports of batches")
    s.add_argument(
        "batches", type=Path, nargs="+", metavar="BATCH_DIR", help="the batch folders to report"
    )
    _workbooks_option(s, "workbooks for code suggestions (default: those the batch used)")
    s.add_argument(
        "--summary-dir",
        type=Path,
        metavar="DIR",
        help="where the period summary of several batches goes (default: the "
        "first batch's parent folder)",
    )
    s.add_argument(
        "--history",
        type=history_arg,
        metavar="PATH|URL",
        help="the import history to check the batches against (default: the one each batch "
        "was recorded in)",
    )

    s = sub.add_parser("sniff", help="name the formats a file could be, best first")
    s.add_argument("file", type=Path, help="the export to look at")
    _workbooks_option(s, "also try the layouts on this folder's Formats sheet")
    s.add_argument(
        "--month-first",
        action="store_true",
        help="read spreadsheet dates like 10/02/20 as 2 October",
    )
    return p


def _workbooks_option(s, help: str, **kw) -> None:
    s.add_argument("--workbooks", type=Path, metavar="DIR", help=help, **kw)


def _history_option(s) -> None:
    s.add_argument(
        "--history",
        type=history_arg,
        metavar="PATH|URL",
        help="the import history: a file, or a postgresql:// URL (default: CHARGES_HISTORY, "
        "else history.sqlite in the workbooks folder)",
    )


def history_arg(text: str) -> Path | str:
    """--history: a PostgreSQL URL stays text, anything else is a file path."""
    from processor.history import history_place

    return history_place(text)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    # CHARGES_HISTORY names the history of every command not given --history (a team's
    # PostgreSQL ledger, say)
    if getattr(args, "history", False) is None and os.environ.get("CHARGES_HISTORY"):
        args.history = history_arg(os.environ["CHARGES_HISTORY"])
        args.history_from_environment = True
    # a terminated run unwinds like an interrupted one, so partial output is removed
    signal.signal(signal.SIGTERM, _terminated)
    from processor.errors import (
        ExportError,
        HistoryError,
        NoHistoryError,
        OutputError,
        RenderError,
        ReportError,
        UsageError,
        WorkbookError,
    )

    try:
        # a command's module is imported when it runs: `charges formats` never loads pandas
        command = import_module(f"processor.cli.commands.{COMMANDS[args.command]}")
        return command.run(args)
    except (UsageError, NoHistoryError) as exc:
        print(f"charges: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WorkbookError as exc:
        print_findings(exc.findings)
        print(f"charges: {exc.action}", file=sys.stderr)
        return EXIT_ERRORS
    except ExportError as exc:
        print(f"charges: {exc}; nothing was written", file=sys.stderr)
        return EXIT_ERRORS
    except (ReportError, OutputError, HistoryError) as exc:
        print(f"charges: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    except RenderError as exc:
        print(f"charges: report failed: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    except FileExistsError as exc:
        print(f"charges: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head`: not an error
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt:
        print("charges: stopped; nothing was written", file=sys.stderr)
        return 130
