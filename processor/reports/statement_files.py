"""Per-account statements for clients: the client's lines only (I/O edge).

For each billed account, ``statements/ACCOUNT.csv``, ``.xlsx`` and ``.pdf``: each charge's
date and time, service, destination name (from the tariff) or document, number dialled,
duration (h:mm:ss) for calls, quantity (pages) for the rest, net, and, when tax is rounded
per charge, its tax and gross; then a total per service as the Batch Sheet bills it, what
the client's plan included, and a grand total. A column empty on every row is left out.
No device cost and no internal codes (files, lines, row keys, codes).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from processor.batch.sheet import minutes_seconds
from processor.outputs.xlsx.workbook import CSV_FORMULA_STARTS as FORMULA_STARTS
from processor.reports.batch import Batch
from processor.reports.figures import money
from schemas.currencies import MINOR_UNITS


@dataclass(frozen=True)
class Column:
    """A statement column: its header, what it holds, its width in a workbook."""

    header: str
    kind: str  # text, decimal or money
    width: int


COLUMNS = (
    Column("Date", "text", 17),
    Column("Service", "text", 22),
    Column("Destination or document", "text", 26),
    Column("Number dialled", "text", 16),
    Column("Duration", "text", 10),
    Column("Quantity", "decimal", 10),
    Column("Net", "money", 12),
    Column("Tax", "money", 12),
    Column("Gross", "money", 13),
)
ALWAYS = (0, 1, 6)  # date, service and net: shown even when a statement has no charge
TEXT_COLUMNS = tuple(i for i, c in enumerate(COLUMNS) if c.kind == "text")


def headers(kept: list[int], currency: str) -> list[str]:
    """The kept columns' headers, money ones with the currency: Net (GBP)."""
    return [
        f"{COLUMNS[i].header} ({currency})" if COLUMNS[i].kind == "money" else COLUMNS[i].header
        for i in kept
    ]


def csv_safe(row: list, text: tuple[int, ...] = TEXT_COLUMNS) -> list:
    """A statement CSV row whose text cells (at ``text``) can never run as a formula."""
    return [
        "'" + v if i in text and isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
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


def duration_text(seconds: object) -> str:
    """A call's seconds as h:mm:ss (65 → 0:01:05); empty when it has none."""
    if seconds is None or pd.isna(seconds):
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass
class Statement:
    """One account's statement as text: its columns, charge rows, totals below."""

    kept: list[int]  # indices into COLUMNS
    rows: list[list[str]]  # every column of COLUMNS
    totals: list[list[str]]  # per service, then plan lines
    grand: list[str]

    def shown(self, row: list) -> list:
        return [row[i] for i in self.kept]


def statement_rows(
    batch: Batch,
    account: str,
    charges: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
) -> Statement:
    """An account's statement: its charge rows, per-service totals, plan lines and grand
    total, as text for people, and the columns that are not empty on every row.

    Args:
        charges, lines: the account's own rows, when the caller has them already (else
            they are picked out of the batch).
    """
    c = batch.charges[batch.charges["account_id"] == account] if charges is None else charges
    mine = batch.lines[batch.lines["account_id"] == account] if lines is None else lines
    c = c.sort_values(["occurred_at", "line"], kind="stable")
    texts = _charge_texts(batch, c)
    return _statement(batch, texts, 0, len(c), mine, _durations(c))


def _statement(
    batch: Batch, texts: list[list[str]], start: int, end: int, lines: pd.DataFrame, seconds
) -> Statement:
    rows = _rows(texts, start, end)
    totals, grand = _totals(batch, lines, seconds)
    kept = [
        i
        for i in range(len(COLUMNS))
        if i in ALWAYS or any(texts[i][start:end]) or any(r[i] for r in totals) or grand[i]
    ]
    return Statement(kept, rows, totals, grand)


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
    """Every statement column of charges (in their order), as text, a column at a time. A
    call (a charge with a duration) shows where it went, the number and how long; any other
    charge its document (description) and quantity."""
    places = MINOR_UNITS.get(batch.currency, 2)
    services = batch.services
    call = c["duration"].notna().to_numpy()
    named = (
        _per_distinct(c["destination_name"], _plain)
        if "destination_name" in c
        else np.full(len(c), "", dtype=object)
    )
    cols = [
        _per_distinct(c["occurred_at"], _when),
        _per_distinct(c["product"], lambda p: services.get(p, p)),
        np.where(call, named, _per_distinct(c["description"], _plain)),
        np.where(call, _per_distinct(c["destination"], _plain), ""),
        _per_distinct(c["duration"], duration_text),
        np.where(call, "", _per_distinct(c["quantity"], _quantity)),
        _per_distinct(c["net"], lambda v: money(v, places)),
    ]
    if batch.per_line:  # the rows carry no tax: each service's total does
        cols += [np.full(len(c), "", dtype=object)] * 2
    else:
        cols += [_per_distinct(c[n], lambda v: money(v, places)) for n in ("tax", "gross")]
    return [np.asarray(col, dtype=object).tolist() for col in cols]


def _rows(texts: list[list[str]], start: int, end: int) -> list[list]:
    return [list(r) for r in zip(*(col[start:end] for col in texts), strict=True)]


def _durations(c: pd.DataFrame) -> dict:
    """Seconds of calls per (account, product)."""
    calls = c[c["duration"].notna()]
    if not len(calls):
        return {}
    summed = calls.groupby(["account_id", "product"], sort=False)["duration"].sum()
    return {k: int(v) for k, v in summed.items()}


def _totals(batch: Batch, lines: pd.DataFrame, seconds: dict) -> tuple[list[list], list]:
    """Each service's total as the Batch Sheet bills it, then what the client's plan
    includes of it, used and left this month; and the grand total (sums of the lines)."""
    places = MINOR_UNITS.get(batch.currency, 2)
    services = batch.services
    ordered = list(lines.sort_values("product").itertuples(index=False))
    totals = [
        [
            "",
            services.get(ln.product, ln.product),
            "Total",
            "",
            duration_text(seconds.get((ln.account_id, ln.product))),
            _quantity(ln.quantity),
            money(ln.net, places),
            money(ln.tax, places),
            money(ln.gross, places),
        ]
        for ln in ordered
    ]
    account = lines["account_id"].iloc[0] if len(lines) else None
    totals += [
        ["", services.get(u["product"], u["product"]), plan_text(u, batch.currency),
         *[""] * 6]
        for u in batch.allowances(account)
    ]  # fmt: skip
    sums = {
        k: sum((Decimal(str(getattr(ln, k))) for ln in ordered), Decimal(0))
        for k in ("net", "tax", "gross")
    }
    grand = ["", "Grand total", "", "", "", "", *(money(sums[k], places) for k in sums)]
    return totals, grand


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


def write_statements(batch: Batch, folder: Path, pdf: bool = True) -> list[Path]:
    """statements/ACCOUNT.csv, ACCOUNT.xlsx and ACCOUNT.pdf for every billed account."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    names = dict(zip(batch.lines["account_id"], batch.lines["account_name"], strict=True))
    # every charge's text worked out once, in account order; an account's rows are a slice
    c = batch.charges.sort_values(["account_id", "occurred_at", "line"], kind="stable")
    texts = _charge_texts(batch, c)
    seconds = _durations(c)
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
        st = _statement(batch, texts, start, end, lines[account], seconds)
        safe = stems[account]
        path = folder / f"{safe}.csv"
        text_at = tuple(j for j, i in enumerate(st.kept) if i in TEXT_COLUMNS)
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            if batch.void:  # a void batch's statement says so before anything else
                w.writerow(csv_safe([void_line(batch.void)], (0,)))
            w.writerow(headers(st.kept, batch.currency))
            for r in [*st.rows, *st.totals, st.grand]:
                w.writerow(csv_safe(st.shown(r), text_at))
        written.append(path)
        columns = (
            [cells[i].slice(start, end - start) for i in st.kept]
            if end - start >= ARROW_ROWS
            else None
        )
        path = folder / f"{safe}.xlsx"
        written.append(_xlsx(batch, account, names[account], st, path, columns))
        if pdf:
            from processor.reports.statement_pdf import write_pdf

            written.append(write_pdf(batch, account, names[account], st, folder / f"{safe}.pdf"))
    return written


def _cells(texts: list[list[str]], c: pd.DataFrame, per_line: bool) -> list[pa.Array]:
    """The statement's columns as the workbook holds them: text, and the charges' own
    decimals for quantity and money (Excel reads them as numbers)."""
    out = []
    for i in TEXT_COLUMNS:  # an empty text is an empty cell
        arr = pa.array(texts[i], pa.string())
        out.append(pa.compute.if_else(pa.compute.equal(arr, ""), pa.scalar(None, pa.string()), arr))
    call = pa.array(c["duration"].notna().to_numpy())
    for name in ("quantity", "net", "tax", "gross"):
        arr = pa.array(c[name].array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        if per_line and name in ("tax", "gross"):  # the rows carry none: the totals do
            arr = pa.nulls(len(c), arr.type)
        if name == "quantity":  # a call shows its duration instead
            arr = pa.compute.if_else(call, pa.nulls(len(c), arr.type), arr)
        out.append(arr)
    return out


# A statement of this many charges or more has its rows' XML made a column at a time
# (``TableBook.arrow_table``: a fixed cost a workbook, whatever its size); a smaller one is
# written cell by cell (``TableBook.table``: a cost a cell). Where the two cross is measured
# in the README's bench table (client statements).
ARROW_ROWS = 150


def title_lines(batch: Batch, account: str, name: str) -> list[str]:
    """What heads a statement: the client, and where and when the charges are from."""
    m = batch.manifest
    period = m.get("period") or {}
    title = [void_line(batch.void)] if batch.void else []
    return [
        *title,
        f"Statement for {name} ({account})",
        f"{m['location']}: {m['application']}, charges {(period.get('from') or '')[:10]} to "
        f"{(period.get('to') or '')[:10]}, batch date {m['batch_date']}",
    ]


def _xlsx(
    batch: Batch,
    account: str,
    name: str,
    st: Statement,
    path: Path,
    columns: list[pa.Array] | None = None,
) -> Path:
    """The statement as a workbook a clerk can send: a heading, the lines, the totals,
    printed to the page's width with the header row on every page and page x of y.

    Args:
        columns: the kept columns of the charges' rows as the workbook holds them
            (``_cells``): when given, written a column at a time instead of cell by cell.
    """
    from processor.outputs.xlsx.workbook import Col, TableBook

    places = MINOR_UNITS.get(batch.currency, 2)
    cols = [
        Col(h, COLUMNS[i].kind, COLUMNS[i].width)
        for h, i in zip(headers(st.kept, batch.currency), st.kept, strict=True)
    ]
    title = title_lines(batch, account, name)
    page = " · ".join(title[-2:])

    def typed(r: list) -> list:
        out = []
        for i in st.kept:
            v = r[i]
            if COLUMNS[i].kind == "text":
                out.append(v or None)
            else:
                out.append(Decimal(v.replace(",", "")) if v else None)
        return out

    below = [[None] * len(st.kept), *map(typed, st.totals), typed(st.grand)]
    book = TableBook(path, places, small=True)
    if columns is not None:
        book.arrow_table(
            "Statement", cols, lambda: iter([columns]), title=[*title, ""], after=below, page=page
        )
    else:
        book.table("Statement", cols, [*map(typed, st.rows), *below], [*title, ""], page=page)
    book.close()
    return path
