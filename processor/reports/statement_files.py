"""Per-account statements for clients: the client's lines only (I/O edge).

For each billed account, ``statements/ACCOUNT.csv`` and ``statements/ACCOUNT.xlsx``: date,
service, description, destination or document, quantity, net, tax and gross, then a total
per service as the Batch Sheet bills it. No device cost and no internal codes (files,
lines, row keys, codes). Tax follows the location's Tax Rounding: per charge, each row
carries its tax; per line, the rows carry none and each service's total carries the tax
the bill run invoices.
"""

from __future__ import annotations

import csv
import itertools
from decimal import Decimal
from pathlib import Path

import pandas as pd

from processor.reports.batch import Batch
from processor.reports.figures import money
from schemas.currencies import MINOR_UNITS

HEADERS = ["Date", "Service", "Description", "Destination", "Quantity", "Net", "Tax", "Gross"]


def _plain(v) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)


def _quantity(v) -> str:
    d = Decimal(str(v)).normalize()
    return f"{d:f}"


def statement_rows(
    batch: Batch,
    account: str,
    charges: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
) -> tuple[list[list], list[list]]:
    """An account's charge rows and its per-service totals, as text for people.

    Args:
        charges, lines: the account's own rows, when the caller has them grouped already
            (else they are picked out of the batch).
    """
    places = MINOR_UNITS.get(batch.currency, 2)
    services = batch.services
    c = batch.charges[batch.charges["account_id"] == account] if charges is None else charges
    c = c.sort_values(["occurred_at", "line"])
    rows = []
    # a column at a time as Python values (a row at a time, pandas boxed every cell)
    columns = ("occurred_at", "product", "description", "destination", "quantity", "net")
    for at, product, description, destination, quantity, net, tax, gross in zip(
        *(c[name].tolist() for name in (*columns, "tax", "gross")), strict=True
    ):
        rows.append(
            [
                "" if pd.isna(at) else f"{at:%Y-%m-%d %H:%M}",
                services.get(product, product),
                _plain(description),
                _plain(destination),
                _quantity(quantity),
                money(net, places),
                "" if batch.per_line else money(tax, places),
                "" if batch.per_line else money(gross, places),
            ]
        )
    totals = []
    mine = batch.lines[batch.lines["account_id"] == account] if lines is None else lines
    mine = mine.sort_values("product")
    for ln in mine.itertuples(index=False):
        totals.append(
            [
                "",
                services.get(ln.product, ln.product),
                "Total",
                "",
                _quantity(ln.quantity),
                money(ln.net, places),
                money(ln.tax, places),
                money(ln.gross, places),
            ]
        )
    return rows, totals


def write_statements(batch: Batch, folder: Path) -> list[Path]:
    """statements/ACCOUNT.csv and ACCOUNT.xlsx for every billed account."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    names = dict(zip(batch.lines["account_id"], batch.lines["account_name"], strict=True))
    # each account's rows picked out once, not by a pass over the whole batch per account
    charges = dict(iter(batch.charges.groupby("account_id", sort=False)))
    lines = dict(iter(batch.lines.groupby("account_id", sort=False)))
    for account in sorted(names):
        rows, totals = statement_rows(
            batch, account, charges.get(account, batch.charges.iloc[:0]), lines[account]
        )
        safe = "".join(ch for ch in str(account) if ch.isalnum()) or "account"
        path = folder / f"{safe}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS)
            w.writerows(itertools.chain(rows, totals))
        written.append(path)
        written.append(_xlsx(batch, account, names[account], rows, totals, folder / f"{safe}.xlsx"))
    return written


def _xlsx(batch: Batch, account: str, name: str, rows, totals, path: Path) -> Path:
    """The statement as a workbook a clerk can send: a heading, the lines, the totals."""
    from processor.xlsx import Col, TableBook

    m = batch.manifest
    places = MINOR_UNITS.get(batch.currency, 2)
    cols = [
        Col("Date", width=17),
        Col("Service", width=22),
        Col("Description", width=30),
        Col("Destination", width=16),
        Col("Quantity", "decimal", 10),
        Col(f"Net ({batch.currency})", "money", 12),
        Col(f"Tax ({batch.currency})", "money", 12),
        Col(f"Gross ({batch.currency})", "money", 13),
    ]
    period = m.get("period") or {}
    title = [
        f"Statement for {name} ({account})",
        f"{m['location']}: {m['application']}, charges {(period.get('from') or '')[:10]} to "
        f"{(period.get('to') or '')[:10]}, batch date {m['batch_date']}",
        "",
    ]

    def typed(r: list) -> list:
        out = list(r)
        out[4] = Decimal(r[4]) if r[4] else None
        for i in (5, 6, 7):
            out[i] = Decimal(r[i].replace(",", "")) if r[i] else None
        return out

    book = TableBook(path, places, small=True)
    book.table(
        "Statement",
        cols,
        [*[typed(r) for r in rows], [None] * 8, *[typed(t) for t in totals]],
        title,
    )
    book.close()
    return path
