"""What the commands print: findings, a batch in a few lines, a history's batch, a progress
bar, counted words."""

from __future__ import annotations

import sys

from processor import findings as fnd

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


COST_PLACES = 4  # a device's cost is shown to 4 places, as the reports show it


def shown(value, currency: str | None = None, places: int | None = None) -> str:
    """An amount as every command prints it: the currency's minor unit (a cost: 4 places),
    with thousands separators; empty when there is none."""
    from processor.reports.figures import money  # the reports' own form, loaded when asked
    from schemas.currencies import MINOR_UNITS

    if value is None or value == "":
        return ""
    if places is None:
        places = MINOR_UNITS.get((currency or "").upper(), 2)
    return money(value, places)


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
        f"  device cost {shown(c['read'], places=COST_PLACES)}: billed "
        f"{shown(c['matched'], places=COST_PLACES)}, unmatched "
        f"{shown(c['unmatched'], places=COST_PLACES)}, skipped "
        f"{shown(c['skipped'], places=COST_PLACES)}"
    )
    print(
        f"  billed {m['currency']} net {shown(b['net'], m['currency'])}, tax "
        f"{shown(b['tax'], m['currency'])} ({m['tax_rounding'].lower()}), gross "
        f"{shown(b['gross'], m['currency'])}"
    )
    if m["credits"]["rows"]:
        print(
            f"  of which credits: {plural(m['credits']['rows'], 'row')}, net "
            f"{shown(m['credits']['net'], m['currency'])}"
        )
    for code, v in m["reasons"].items():
        print(f"    {code}: {plural(v['rows'], 'row')}")
    print(f"  wrote {result.batch_dir}")
    print(f"  recorded in the {result.history}")
    for alert in m.get("alerts", []):  # before approval: what to check first
        print(f"charges: ALERT: {alert['message']}", file=sys.stderr)
    bad = m["reasons"].get("unparseable-row", {}).get("rows", 0)
    if r["read"] and bad * 2 > r["read"]:
        print(
            f"charges: {bad:,} of {r['read']:,} rows could not be read as format "
            f"{m['format']}: is this a {m['format']} export? `charges sniff FILE` names the "
            "formats a file could be",
            file=sys.stderr,
        )


def print_history_batch(b: dict) -> None:
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
    cur = b["currency"] or ""
    print(
        f"  Billed {cur}: net {shown(b['net'] or 0, cur)}, tax {shown(b['tax'] or 0, cur)}, "
        f"gross {shown(b['gross'] or 0, cur)}"
    )
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
            print(
                f"    {code}: {plural(v['rows'], 'row')}, cost "
                f"{shown(v['cost'], places=COST_PLACES)}"
            )


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,234 rows` (``many``: the plural where it is not word + s)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def pd_options():
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 20)
