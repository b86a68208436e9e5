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
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from processor.batch.sheet import minutes_seconds
from processor.reports.batch import Batch
from processor.reports.figures import money
from schemas.currencies import MINOR_UNITS

HEADERS = ["Date", "Service", "Description", "Destination", "Quantity", "Net", "Tax", "Gross"]


# a cell a spreadsheet would read as a formula (or a DDE call) when it starts with one of
# these: text columns of a statement CSV get a leading ' as spreadsheets expect
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = 4  # Date, Service, Description, Destination; the rest are numbers


def csv_safe(row: list) -> list:
    """A statement CSV row whose text cells can never run as a formula in Excel."""
    return [
        "'" + v if i < TEXT_COLUMNS and isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
        for i, v in enumerate(row)
    ]


# names Windows keeps for devices, whatever follows them: CON.csv cannot be a file there
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(10)}
STEM_LIMIT = 40  # characters of an Account ID kept in a file name


def file_stems(accounts: list[str]) -> dict[str, str]:
    """Account ID → its statements' file name (without extension), safe and unique on
    every common file system: the ID itself when it is ASCII letters, digits, - and _ only,
    at most STEM_LIMIT long and not a name Windows reserves; else those characters of it,
    cut to STEM_LIMIT, a - and the first 8 hex digits of the ID's sha256. IDs whose names
    would differ only in case get the suffix too (Windows and macOS ignore case)."""
    import hashlib

    def cleaned(a: str) -> str:
        return "".join(ch for ch in a if ch.isascii() and (ch.isalnum() or ch in "-_"))

    def suffixed(a: str) -> str:
        digest = hashlib.sha256(a.encode("utf-8")).hexdigest()[:8]
        return f"{cleaned(a)[:STEM_LIMIT] or 'account'}-{digest}"

    stems = {
        a: a
        if cleaned(a) == a and a and len(a) <= STEM_LIMIT and a.upper() not in _RESERVED
        else suffixed(a)
        for a in map(str, accounts)
    }
    folded: dict[str, int] = {}
    for stem in stems.values():
        folded[stem.casefold()] = folded.get(stem.casefold(), 0) + 1
    return {a: suffixed(a) if folded[s.casefold()] > 1 else s for a, s in stems.items()}


def void_line(text: str) -> str:
    """The line a void batch's statement starts with."""
    return " ".join(text.split("\n")[:2]).strip() + " Do not send this statement."


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
        charges, lines: the account's own rows, when the caller has them already (else
            they are picked out of the batch).
    """
    c = batch.charges[batch.charges["account_id"] == account] if charges is None else charges
    mine = batch.lines[batch.lines["account_id"] == account] if lines is None else lines
    texts = _charge_texts(batch, c.sort_values(["occurred_at", "line"], kind="stable"))
    return _rows(texts, 0, len(c)), _totals(batch, mine)


def _per_distinct(values: pd.Series, text: Callable[[object], str]) -> np.ndarray:
    """``text`` of each value, worked out once per distinct value (a column of a million
    charges holds far fewer); missing values get ``text(None)``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [text(u) for u in uniques]
    if (codes < 0).any():
        texts.append(text(None))
    return np.array(texts, dtype=object)[codes]


def _when(at) -> str:
    return "" if at is None or pd.isna(at) else f"{at:%Y-%m-%d %H:%M}"


def _charge_texts(batch: Batch, c: pd.DataFrame) -> list[list[str]]:
    """The statement columns of charges (in their order), as text, a column at a time."""
    places = MINOR_UNITS.get(batch.currency, 2)
    services = batch.services
    cols = [
        _per_distinct(c["occurred_at"], _when),
        _per_distinct(c["product"], lambda p: services.get(p, p)),
        _per_distinct(c["description"], _plain),
        _per_distinct(c["destination"], _plain),
        _per_distinct(c["quantity"], _quantity),
        _per_distinct(c["net"], lambda v: money(v, places)),
    ]
    if batch.per_line:  # the rows carry no tax: each service's total does
        cols += [np.full(len(c), "", dtype=object)] * 2
    else:
        cols += [_per_distinct(c[n], lambda v: money(v, places)) for n in ("tax", "gross")]
    return [col.tolist() for col in cols]


def _rows(texts: list[list[str]], start: int, end: int) -> list[list]:
    return [list(r) for r in zip(*(col[start:end] for col in texts), strict=True)]


def _totals(batch: Batch, lines: pd.DataFrame) -> list[list]:
    """Each service's total as the Batch Sheet bills it, then what the client's plan
    includes of it, used and left this month."""
    places = MINOR_UNITS.get(batch.currency, 2)
    services = batch.services
    totals = [
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
        for ln in lines.sort_values("product").itertuples(index=False)
    ]
    account = lines["account_id"].iloc[0] if len(lines) else None
    return totals + [
        ["", services.get(u["product"], u["product"]), plan_text(u, batch.currency), "", "",
         "", "", ""]
        for u in batch.allowances(account)
    ]  # fmt: skip


def plan_text(use: dict, currency: str) -> str:
    """What a plan includes of a service, what these charges used and what is left, as a
    client reads it (a Tariff's calls in minutes and seconds)."""
    places = MINOR_UNITS.get(currency, 2)

    def shown(v: str) -> str:
        d = Decimal(v)
        if use["kind"] == "amount":
            return f"{money(d, places)} {currency}"
        if use.get("seconds"):
            return f"{minutes_seconds(d)} min"
        return _quantity(d)

    return (
        f"Plan {use['plan']} includes {shown(use['included'])} a month: "
        f"{shown(use['used'])} used here, {shown(use['left'])} left for {use['month']}"
    )


def write_statements(batch: Batch, folder: Path) -> list[Path]:
    """statements/ACCOUNT.csv and ACCOUNT.xlsx for every billed account."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    names = dict(zip(batch.lines["account_id"], batch.lines["account_name"], strict=True))
    # every charge's text worked out once, in account order; an account's rows are a slice
    c = batch.charges.sort_values(["account_id", "occurred_at", "line"], kind="stable")
    texts = _charge_texts(batch, c)
    accounts = c["account_id"].to_numpy(dtype=object)
    bounds = {}
    if len(accounts):
        cuts = np.flatnonzero(accounts[1:] != accounts[:-1]) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(accounts)]
        bounds = dict(zip(accounts[starts], zip(starts, ends, strict=True), strict=True))
    long = any(end - start >= ARROW_ROWS for start, end in bounds.values())
    cells = _cells(texts, c, batch.per_line) if long else []
    lines = dict(iter(batch.lines.groupby("account_id", sort=False)))
    stems = file_stems(list(names))
    for account in sorted(names):
        start, end = bounds.get(account, (0, 0))
        rows, totals = _rows(texts, start, end), _totals(batch, lines[account])
        safe = stems[account]
        path = folder / f"{safe}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            if batch.void:  # a void batch's statement says so before anything else
                w.writerow(csv_safe([void_line(batch.void)]))
            w.writerow(HEADERS)
            w.writerows(csv_safe(r) for r in itertools.chain(rows, totals))
        written.append(path)
        columns = (
            [col.slice(start, end - start) for col in cells] if end - start >= ARROW_ROWS else None
        )
        path = folder / f"{safe}.xlsx"
        written.append(_xlsx(batch, account, names[account], rows, totals, path, columns))
    return written


def _cells(texts: list[list[str]], c: pd.DataFrame, per_line: bool) -> list[pa.Array]:
    """The statement's columns as the workbook holds them: text, and the
    charges' own decimals for quantity and money (Excel reads them as numbers)."""
    out = [pa.array(col, pa.string()) for col in texts[:4]]
    for name in ("quantity", "net", "tax", "gross"):
        arr = pa.array(c[name].array)
        if per_line and name in ("tax", "gross"):  # the rows carry none: the totals do
            arr = pa.nulls(len(c), arr.type)
        out.append(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
    return out


# A statement of this many charges or more has its rows' XML made a column at a time
# (``TableBook.arrow_table``: a fixed cost a workbook, whatever its size); a smaller one is
# written cell by cell (``TableBook.table``: a cost a cell). Where the two cross is measured
# in the README's bench table (client statements).
ARROW_ROWS = 150


def _xlsx(
    batch: Batch,
    account: str,
    name: str,
    rows: list[list],
    totals: list[list],
    path: Path,
    columns: list[pa.Array] | None = None,
) -> Path:
    """The statement as a workbook a clerk can send: a heading, the lines, the totals.

    Args:
        rows, totals: the charges' rows and the totals as text (``statement_rows``).
        columns: the charges' rows as the workbook holds them (``_cells``): when given,
            written a column at a time instead of ``rows`` cell by cell.
    """
    from processor.outputs.xlsx.workbook import Col, TableBook

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
    title = [void_line(batch.void)] if batch.void else []
    title += [
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

    below = [[None] * 8, *map(typed, totals)]
    book = TableBook(path, places, small=True)
    if columns is not None:
        book.arrow_table("Statement", cols, lambda: iter([columns]), title=title, after=below)
    else:
        book.table("Statement", cols, [*map(typed, rows), *below], title)
    book.close()
    return path
