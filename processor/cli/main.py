"""The `charges` command: a thin layer over the Python API.

Exit codes: 0 done; 1 workbook or input errors (nothing written); 2 usage
errors; 3 with --fail-on-unmatched when rows were unmatched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import signal
import sys
from pathlib import Path

from processor import findings as fnd

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_UNMATCHED = 0, 1, 2, 3


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
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # every option says what it does, and its default where it has one
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=_Help)

    s = sub.add_parser("init", help="write empty template workbooks into a folder")
    s.add_argument(
        "folder", type=Path, help="the folder to write accounts.xlsx and devices.xlsx into"
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
    _history_option(s)

    s = sub.add_parser(
        "apply-codes", help="copy the codes chosen on codes-to-add.xlsx into Account Codes"
    )
    s.add_argument("file", type=Path, metavar="FILE", help="a filled-in codes-to-add.xlsx")
    _workbooks_option(s, "the folder holding accounts.xlsx (a dated backup is kept)", required=True)

    s = sub.add_parser("void", help="mark a batch void and release its rows to be billed again")
    s.add_argument("batch", type=Path, metavar="BATCH_DIR", help="the batch to void")
    s.add_argument("--reason", required=True, help="why the batch is void (recorded)")
    _history_option(s)

    s = sub.add_parser("history", help="list the batches in the import history, newest first")
    s.add_argument("batch_id", nargs="?", metavar="BATCH_ID", help="show one batch in full")
    _workbooks_option(
        s,
        "the workbooks folder, where the history is kept unless --history says",
        default=Path("workbooks"),
    )
    s.add_argument(
        "--format", choices=["text", "json"], default="text", help="lines for people, or JSON"
    )
    _history_option(s)

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
        type=Path,
        metavar="PATH",
        help="the import history (default: history.sqlite in the workbooks folder)",
    )


BAR_FROM_BYTES = 5_000_000


class Progress:
    """A progress bar (tqdm) over the share of each input read, with the rows done."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.bar = None

    def __call__(self, name: str, rows: int, share: float) -> None:
        if not self.show:
            return
        from tqdm import tqdm

        if self.bar is None or self.bar.desc != f"  {name}":
            self.close()
            self.bar = tqdm(
                total=100, desc=f"  {name}", unit="%", file=sys.stderr, leave=True, ncols=80
            )
        self.bar.n = round(share * 100)
        self.bar.set_postfix_str(plural(rows, "row"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    # a terminated run unwinds like an interrupted one, so partial output is removed
    signal.signal(signal.SIGTERM, _terminated)
    from processor.errors import (
        ExportError,
        HistoryError,
        OutputError,
        RenderError,
        ReportError,
        UsageError,
        WorkbookError,
    )

    try:
        return {
            "init": cmd_init,
            "validate": cmd_validate,
            "import": cmd_import,
            "formats": cmd_formats,
            "sniff": cmd_sniff,
            "report": cmd_report,
            "retry": cmd_retry,
            "void": cmd_void,
            "apply-codes": cmd_apply_codes,
            "history": cmd_history,
        }[args.command](args)
    except UsageError as exc:
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


def cmd_init(args) -> int:
    from processor.reference.templates import write_templates

    for path in write_templates(args.folder):
        print(f"wrote {path}")
    print(f"Fill them in, then run: charges validate --workbooks {args.folder}")
    return EXIT_OK


def print_findings(found, stream=None) -> None:
    stream = stream or sys.stderr
    errs, warns = fnd.errors(found), fnd.warnings(found)
    for title, part in (("Errors", errs), ("Warnings", warns)):
        if len(part):
            print(f"{title} ({len(part)}):", file=stream)
            for line in fnd.grouped(part):
                print(f"  {line}", file=stream)
    print(
        f"{len(errs)} error{'s' if len(errs) != 1 else ''}, "
        f"{len(warns)} warning{'s' if len(warns) != 1 else ''}",
        file=stream,
    )


def cmd_validate(args) -> int:
    from processor.reference.loading import validate_folder

    _, found = validate_folder(args.workbooks)
    n_err = len(fnd.errors(found))
    if args.format == "json":
        doc = {
            "errors": n_err,
            "warnings": len(fnd.warnings(found)),
            "findings": [{**row, "text": fnd.render(row)} for row in found.to_dict("records")],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_findings(found, sys.stdout)
    return EXIT_ERRORS if n_err else EXIT_OK


def cmd_import(args) -> int:
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
        _report([result.batch_dir], None)
    if args.fail_on_unmatched and result.manifest["rows"]["unmatched"]:
        return EXIT_UNMATCHED
    return EXIT_OK


def print_batch(result) -> None:
    """What an import or a retry wrote, in a few lines."""
    for note in result.notes:
        print(f"charges: {note}", file=sys.stderr)
    if len(result.warnings):
        print_findings(result.warnings)
    m = result.manifest
    r, c, b = m["rows"], m["cost"], m["billed"]
    what = f"retry of batch {m['retry_of']}" if m.get("retry_of") else f"batch {m['batch_date']}"
    print(f"{m['application']} at {m['location']} ({m['format']}), {what} {m['batch_id']}")
    print(
        f"  rows read {r['read']:,}: billed {r['matched']:,}, unmatched {r['unmatched']:,}, "
        f"skipped {r['skipped']:,}"
    )
    print(
        f"  device cost {c['read']}: billed {c['matched']}, unmatched {c['unmatched']}, "
        f"skipped {c['skipped']}"
    )
    print(
        f"  billed {m['currency']} net {b['net']}, tax {b['tax']} ({m['tax_rounding'].lower()}), "
        f"gross {b['gross']}"
    )
    if m["credits"]["rows"]:
        print(
            f"  of which credits: {plural(m['credits']['rows'], 'row')}, net {m['credits']['net']}"
        )
    for code, v in m["reasons"].items():
        print(f"    {code}: {plural(v['rows'], 'row')}")
    print(f"  wrote {result.batch_dir}")
    bad = m["reasons"].get("unparseable-row", {}).get("rows", 0)
    if r["read"] and bad * 2 > r["read"]:
        print(
            f"charges: {bad:,} of {r['read']:,} rows could not be read as format "
            f"{m['format']}: is this a {m['format']} export? `charges sniff FILE` names the "
            "formats a file could be",
            file=sys.stderr,
        )


def cmd_retry(args) -> int:
    from processor.recipes.retry import run_retry

    result = run_retry(args.batch, args.out, args.workbooks, args.history, args.batch_date)
    print_batch(result)
    if args.report:
        _report([result.batch_dir], None)
    return EXIT_OK


def cmd_apply_codes(args) -> int:
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
    print("Next: charges retry BATCH_DIR --out NEW_DIR bills the rows these codes blocked.")
    return EXIT_OK


def cmd_void(args) -> int:
    from processor.recipes.void import void_batch

    info = void_batch(args.batch, args.reason, args.history)
    print(
        f"batch {info['batch_id']} is void (by {info['by']}, {info['at']}); "
        f"{plural(info['released'], 'row')} may be billed again. {args.batch}/VOID.txt says so."
    )
    return EXIT_OK


def cmd_history(args) -> int:
    from processor.history import HistoryError, default_path, open_history

    path = args.history or default_path(args.workbooks)
    if not Path(path).is_file():
        raise HistoryError(f"{path}: no import history yet; `charges import` starts one")
    hist = open_history(path)
    try:
        if args.batch_id:
            one = hist.batch(args.batch_id)
            if one is None:
                raise HistoryError(f"batch {args.batch_id} is not in the history {path}")
            if args.format == "json":
                print(json.dumps(one, indent=2, ensure_ascii=False))
                return EXIT_OK
            _print_one(one)
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
        period = f"{(b['period_from'] or '')[:10]} to {(b['period_to'] or '')[:10]}"
        retry = f", retry of {b['retry_of']}" if b["retry_of"] else ""
        print(
            f"{b['id']}  {b['status'].upper():9} {b['application']} at {b['location']}, "
            f"batch {b['batch_date']}{retry}"
        )
        print(
            f"    charges {period}; rows {b['rows_read'] or 0:,}: billed "
            f"{b['rows_billed'] or 0:,}, unmatched {b['rows_unmatched'] or 0:,}, "
            f"skipped {b['rows_skipped'] or 0:,}; "
            f"{b['currency'] or ''} net {b['net']}, tax {b['tax']}, gross {b['gross']}"
        )
        print(f"    {b['folder']}")
        if b["status"] == "void":
            print(f"    void: {b['void_reason']}")
    return EXIT_OK


def _print_one(b: dict) -> None:
    print(f"Batch {b['id']}: {b['status'].upper()}")
    for label, k in (
        ("Application", "application"),
        ("Location", "location"),
        ("Format", "format"),
        ("Batch date", "batch_date"),
        ("Folder", "folder"),
        ("Created", "created_at"),
        ("Retry of", "retry_of"),
        ("Charges from", "period_from"),
        ("Charges to", "period_to"),
        ("Workbooks", "workbooks_fingerprint"),
    ):
        if b.get(k):
            print(f"  {label}: {b[k]}")
    print(
        f"  Rows: read {b['rows_read'] or 0:,}, billed {b['rows_billed'] or 0:,}, unmatched "
        f"{b['rows_unmatched'] or 0:,}, skipped {b['rows_skipped'] or 0:,}"
    )
    print(f"  Billed {b['currency'] or ''}: net {b['net']}, tax {b['tax']}, gross {b['gross']}")
    if b["retried_rows"]:
        print(f"  Rows retried into later batches: {b['retried_rows']:,}")
    if b["status"] == "void":
        print(f"  Void: {b['voided_at']} by {b['voided_by']}: {b['void_reason']}")
    print("  Inputs:")
    for i in b["inputs"]:
        print(f"    {i['path']} ({i['size']:,} bytes, {i['rows']:,} rows, sha256 {i['sha256']})")
    if b["reasons"]:
        print("  Reasons:")
        for code, v in b["reasons"].items():
            print(f"    {code}: {plural(v['rows'], 'row')}, cost {v['cost']}")


def plural(n: int, word: str) -> str:
    """`1 row`, `2 rows`, `1,234 rows`."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def cmd_formats(args) -> int:
    from processor.ingest.formats import registry

    for fmt in registry.all_formats():
        print(f"{fmt.name}: {fmt.description}")
        print(f"  fields: {', '.join(fmt.fields)}")
        print(f'  decimal separator: "{fmt.decimal_separator}"')
        print(
            f"  Match On default: {', '.join(map(str, fmt.match_on))}"
            + (f"; Item: {fmt.item}" if fmt.item else "")
        )
    return EXIT_OK


def cmd_sniff(args) -> int:
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


def pd_options():
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 20)


def _report(batches: list[Path], workbooks: Path | None) -> None:
    from processor.reports.render import render_batch

    for b in batches:
        done = render_batch(b, workbooks)
        for note in done.notes:
            print(f"charges: {note}", file=sys.stderr)
        print(
            f"  reports: {done.batch / 'reports' / 'billing.html'}, "
            f"{done.batch / 'reports' / 'unmatched.html'}"
        )


def cmd_report(args) -> int:
    from processor import reports
    from processor.reports.render import render_period

    if len(args.batches) > 1:  # refuse a double-billed period before rendering anything
        problems = reports.double_billed([reports.load_batch(b) for b in args.batches])
        if problems:
            raise reports.ReportError("; ".join(problems))
    _report(args.batches, args.workbooks)
    if len(args.batches) > 1:
        out = args.summary_dir or args.batches[0].resolve().parent
        files = render_period(args.batches, out)
        print(f"  period summary: {files[-1]}")
    return EXIT_OK
