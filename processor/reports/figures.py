"""Report figures from a loaded batch: pure functions the notebooks call and show.

Money stays Arrow decimal (or Decimal) until it is formatted for display; every total is
a sum of the rounded figures it shows."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute

from processor.batch.sheet import minutes_seconds
from processor.reasons import REASONS
from processor.reports.batch import Batch, unique_batches
from schemas.currencies import MINOR_UNITS
from schemas.money import HELD

ZERO = Decimal(0)


def money(value: object, places: int = 2) -> str:
    """1234.5 → '1,234.50' (exact: Decimal in, text out)."""
    if value is None or value is pd.NA:
        return ""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    return f"{d:,.{places}f}"


def _sum(series: pd.Series) -> Decimal:
    """Exact sum of a decimal column (Arrow computes it; no float on the way)."""
    if not len(series):
        return ZERO
    if isinstance(series.dtype, pd.ArrowDtype):
        total = pa.compute.sum(pa.array(series.array)).as_py()
        return ZERO if total is None else Decimal(total)
    return sum((Decimal(str(v)) for v in series.dropna()), ZERO)


def headline(batch: Batch) -> dict[str, str]:
    """The figures a reader looks at first."""
    c = batch.charges
    m = batch.manifest
    when = c["occurred_at"].dropna()
    period = f"{when.min():%Y-%m-%d} to {when.max():%Y-%m-%d}" if len(when) else "no charges"
    places = MINOR_UNITS.get(batch.currency, 2)
    credits = m.get("credits", {"rows": 0, "net": "0"})
    return {
        "Location": m["location"],
        "Application": f"{m['application']} ({m['format']})",
        "Batch date": m["batch_date"],
        "Charges dated": period,
        f"Billed net ({batch.currency})": money(m["billed"]["net"], places),
        f"Tax ({batch.currency})": money(m["billed"]["tax"], places),
        "Tax rounding": m.get("tax_rounding", "Per Charge"),
        f"Billed gross ({batch.currency})": money(m["billed"]["gross"], places),
        f"Credits ({batch.currency})": (
            f"{money(credits['net'], places)} on {credits['rows']:,} "
            f"row{'s' if credits['rows'] != 1 else ''}"
            if credits["rows"]
            else "none"
        ),
        "Rows billed": f"{m['rows']['matched']:,} of {m['rows']['read']:,}",
        "Accounts billed": f"{c['account_id'].nunique():,}",
    }


def credits(batch: Batch) -> pd.DataFrame:
    """The billed credits (charges with a negative net), for a clerk to see before approving."""
    c = batch.charges
    net = pa.array(c["net"].array) if len(c) else pa.array([], HELD)
    below = pa.compute.less(net, pa.scalar(Decimal(0), type=net.type))  # exact, vectorised
    neg = c[below.to_numpy(zero_copy_only=False)]
    cols = {
        "account_id": "Account ID",
        "account_name": "Account Name",
        "occurred_at": "Date",
        "product": "Product",
        "description": "Description",
        "cost": "Device cost",
        "net": "Net",
    }
    return neg[list(cols)].rename(columns=cols).reset_index(drop=True)


def reconciliation(batch: Batch) -> pd.DataFrame:
    """Read = billed + unmatched + skipped, in rows and device cost, from the files
    themselves; ``balanced`` says whether they agree with each other and the manifest,
    the billed money too (the Batch Sheet's lines against the manifest's totals: a
    manifest is never trusted alone)."""
    m = batch.manifest
    parts = [("Billed", batch.charges), ("Unmatched", batch.unmatched), ("Skipped", batch.skipped)]
    rows = [[name, len(f), _sum(f["cost"])] for name, f in parts]
    total_rows = sum(r[1] for r in rows)
    total_cost = sum((r[2] for r in rows), ZERO)
    table = pd.DataFrame(
        [
            ["Read", m["rows"]["read"], Decimal(m["cost"]["read"])],
            *rows,
            ["Billed + unmatched + skipped", total_rows, total_cost],
        ],
        columns=["", "Rows", "Device cost"],
    )
    table.attrs["balanced"] = (
        total_rows == m["rows"]["read"]
        and total_cost == Decimal(m["cost"]["read"])
        and [r[1] for r in rows] == [m["rows"][k] for k in ("matched", "unmatched", "skipped")]
        and all(_sum(batch.lines[k]) == Decimal(m["billed"][k]) for k in ("net", "tax", "gross"))
    )
    return table


def by_account(batch: Batch) -> pd.DataFrame:
    """Per account: rows, quantity, net, tax, gross and share of net, largest first.

    Sums of the Batch Sheet lines, so tax and gross follow the location's Tax Rounding."""
    g = batch.lines.groupby(["account_id", "account_name"], as_index=False).agg(
        Rows=("rows", "sum"),
        Quantity=("quantity", "sum"),
        Net=("net", "sum"),
        Tax=("tax", "sum"),
        Gross=("gross", "sum"),
    )
    total = _sum(g["Net"])
    g["Share %"] = [
        (Decimal(str(v)) * 100 / total).quantize(Decimal("0.1")) if total else ZERO
        for v in g["Net"]
    ]
    g = g.rename(columns={"account_id": "Account ID", "account_name": "Account Name"})
    return g.sort_values(["Net", "Account ID"], ascending=[False, True], ignore_index=True)


def by_product(batch: Batch) -> pd.DataFrame:
    """Per product: rows, quantity, device cost, net, tax, gross, margin (lines' sums)."""
    g = batch.lines.groupby("product", as_index=False).agg(
        Rows=("rows", "sum"),
        Quantity=("quantity", "sum"),
        Net=("net", "sum"),
        Tax=("tax", "sum"),
        Gross=("gross", "sum"),
    )
    cost = batch.charges.groupby("product")["cost"].sum()
    g.insert(3, "Cost", [cost.get(p, ZERO) for p in g["product"]])
    # no device cost (a print log, a room booking) is no margin: none is invented
    known = [Decimal(str(k)) != 0 for k in g["Cost"]]
    g["Margin"] = [
        Decimal(str(n)) - Decimal(str(k)) if ok else None
        for n, k, ok in zip(g["Net"], g["Cost"], known, strict=True)
    ]
    g["Margin %"] = [
        (m * 100 / Decimal(str(n))).quantize(Decimal("0.1"))
        if m is not None and Decimal(str(n))
        else None
        for m, n in zip(g["Margin"], g["Net"], strict=True)
    ]
    g = g.rename(columns={"product": "Product", "Cost": "Device cost"})
    return g.sort_values("Net", ascending=False, ignore_index=True)


def with_total(frame: pd.DataFrame, label: str, shown: int | None = None) -> pd.DataFrame:
    """The first ``shown`` rows of a table (all when None), then a totals row over every
    row: the sums of its Rows, Quantity and money columns (each a sum of the figures the
    rows show); shares and percentages are left blank, as they do not add up."""
    summed = [c for c in ("Rows", "Quantity", "Device cost", "Net", "Tax", "Gross", "Margin")
              if c in frame]  # fmt: skip
    total: dict = dict.fromkeys(frame.columns)
    total[frame.columns[0]] = (
        label if shown is None or shown >= len(frame) else (f"{label} (all {len(frame):,})")
    )
    for c in summed:
        values = [Decimal(str(v)) for v in frame[c] if v is not None and not pd.isna(v)]
        total[c] = sum(values, ZERO) if values else None
    head = frame if shown is None else frame.head(shown)
    out = pd.concat([head.astype(object), pd.DataFrame([total]).astype(object)], ignore_index=True)
    return out


def negative_margins(products: pd.DataFrame) -> list[str]:
    """A sentence for each product billed below its device cost (a margin below zero)."""
    out = []
    for r in products.itertuples(index=False):
        margin = getattr(r, "Margin", None)
        if margin is None or pd.isna(margin) or Decimal(str(margin)) >= 0:
            continue
        pct = products.loc[products["Product"] == r.Product, "Margin %"].iloc[0]
        out.append(
            f"{r.Product}: margin {money(margin)} ({pct} %): the device's cost is above the "
            "price billed for it. Check the product's pricing (Products sheet: Pricing, Unit "
            "Price, Markup) before approving"
        )
    return out


def allowances(batch: Batch) -> pd.DataFrame:
    """Per product: the charges plans' allowances covered, what they included (a Tariff's
    calls in minutes and seconds) and the value waived; empty when none did (or the batch
    is from before allowances)."""
    c = batch.charges
    columns = ["Product", "Charges", "Included", "Value waived"]
    if "included_amount" not in c:
        return pd.DataFrame(columns=columns)
    inc_q = c["included_quantity"].astype(object).map(lambda v: Decimal(str(v)))
    inc_a = c["included_amount"].astype(object).map(lambda v: Decimal(str(v)))
    used = (inc_q != 0) | (inc_a != 0)
    if not used.any():
        return pd.DataFrame(columns=columns)
    tariff = {u["product"] for u in batch.allowances() if u.get("seconds")}
    rows = []
    for product, at in c[used.to_numpy()].groupby("product", sort=True).groups.items():
        q, a = sum(inc_q[at], ZERO), sum(inc_a[at], ZERO)
        shown = f"{minutes_seconds(q)} min" if product in tariff else q.normalize()
        rows.append([product, len(at), shown if q else "", a])
    return pd.DataFrame(rows, columns=columns)


def daily(batch: Batch) -> pd.DataFrame:
    """Billed rows and net per day."""
    c = batch.charges
    day = c["occurred_at"].astype("datetime64[us]").dt.date
    return (
        c.assign(Day=day)
        .groupby("Day", as_index=False)
        .agg(Rows=("line", "size"), Net=("net", "sum"))
    )


def statements(
    batch: Batch, lines: int = 5, accounts: int | None = None
) -> dict[str, pd.DataFrame]:
    """The first ``lines`` of each account's charges, for the ``accounts`` largest by net
    (all when None), the largest first (as ``by_account`` ranks them)."""
    c = batch.charges
    chosen = by_account(batch)["Account ID"]
    if accounts is not None:
        chosen = chosen.head(accounts)
    c = c[c["account_id"].isin(set(chosen))]
    first = (
        c.sort_values(["account_id", "occurred_at", "line"])
        .groupby("account_id", sort=False)
        .head(lines)
    )
    cols = {
        "occurred_at": "Date",
        "description": "Description",
        "product": "Product",
        "quantity": "Quantity",
        "net": "Net",
    }
    if not batch.per_line:  # per line, a charge has no tax of its own
        cols |= {"tax": "Tax", "gross": "Gross"}
    grouped = dict(iter(first.groupby("account_id", sort=False)))
    return {a: grouped[a][list(cols)].rename(columns=cols) for a in chosen if a in grouped}


def by_reason(batch: Batch) -> pd.DataFrame:
    """Unmatched and skipped rows by reason: rows, device cost, what it means, what to do."""
    rows = []
    m = batch.manifest
    for status, frame in (("Unmatched", batch.unmatched), ("Skipped", batch.skipped)):
        if frame.empty:
            continue
        for code, g in frame.groupby("reason", sort=False):
            reason = REASONS[code]
            rows.append(
                [
                    status,
                    code,
                    reason.title,
                    len(g),
                    _sum(g["cost"]),
                    reason.action.format(application=m["application"], location=m["location"]),
                ]
            )
    table = pd.DataFrame(
        rows, columns=["Outcome", "Reason", "Title", "Rows", "Device cost", "What to do"]
    )
    return table.sort_values(["Outcome", "Rows"], ascending=[False, False], ignore_index=True)


def unknown_codes(batch: Batch) -> pd.DataFrame:
    """Codes no account holds, ranked by device cost then rows, with first and last seen."""
    u = batch.unmatched[batch.unmatched["reason"] == "unknown-code"]
    if u.empty:
        return pd.DataFrame(columns=["Code", "Rows", "Device cost", "First seen", "Last seen"])
    g = u.groupby("code", as_index=False).agg(
        Rows=("line", "size"),
        Cost=("cost", "sum"),
        First=("occurred_at", "min"),
        Last=("occurred_at", "max"),
    )
    g.columns = ["Code", "Rows", "Device cost", "First seen", "Last seen"]
    g["_cost"] = [Decimal(str(v)) for v in g["Device cost"]]
    g = g.sort_values(["_cost", "Rows", "Code"], ascending=[False, False, True])
    return g.drop(columns="_cost").reset_index(drop=True)


def _keys(frame: pd.DataFrame, keep=None) -> tuple[set, int]:
    """A frame's row keys (the rows that have one), and how many rows have none (blank or
    unreadable lines: each is its own row)."""
    if keep is not None:
        frame = frame[keep]
    if "row_key" not in frame:
        return set(), len(frame)
    keys = frame["row_key"]
    return set(keys.dropna()), int(keys.isna().sum())


def period_summary(batches: list[Batch]) -> pd.DataFrame:
    """One row per location × application (and currency) across batches, void batches left
    out (see ``void_batches``), each export row counted once, where it ended: billed in the
    batch (or retry) that billed it; unmatched only while no batch here billed it (a row
    unmatched in a batch, its retry and an overlapping export is one row); skipped once,
    and an ``already-billed`` row not at all (it is counted where it was billed). Rows is
    their sum; money is the batches' billed totals (a row is billed once, ever)."""
    groups: dict[tuple, dict] = {}
    for b in unique_batches(batches):
        if b.void:
            continue
        m = b.manifest
        g = groups.setdefault(
            (m["location"], m["application"], m["currency"]),
            {"batches": 0, "billed": set(), "billed_loose": 0, "unmatched": set(),
             "unmatched_loose": 0, "skipped": set(), "skipped_loose": 0,
             "Net": ZERO, "Tax": ZERO, "Gross": ZERO},
        )  # fmt: skip
        g["batches"] += 1
        keys, loose = _keys(b.charges)
        g["billed"] |= keys
        g["billed_loose"] += loose
        keys, loose = _keys(b.unmatched)
        g["unmatched"] |= keys
        g["unmatched_loose"] += loose
        if len(b.skipped):
            keys, loose = _keys(b.skipped, b.skipped["reason"] != "already-billed")
            g["skipped"] |= keys
            g["skipped_loose"] += loose
        for k in ("Net", "Tax", "Gross"):
            g[k] += Decimal(m["billed"][k.lower()])
    rows = []
    for (location, application, currency), g in sorted(groups.items()):
        billed = len(g["billed"]) + g["billed_loose"]
        unmatched = len(g["unmatched"] - g["billed"]) + g["unmatched_loose"]
        skipped = len(g["skipped"] - g["billed"] - g["unmatched"]) + g["skipped_loose"]
        rows.append(
            {
                "Location": location,
                "Application": application,
                "Currency": currency,
                "Batches": g["batches"],
                "Rows": billed + unmatched + skipped,
                "Billed": billed,
                "Unmatched": unmatched,
                "Skipped": skipped,
                "Net": g["Net"],
                "Tax": g["Tax"],
                "Gross": g["Gross"],
            }
        )
    return pd.DataFrame(rows)


def has_device_cost(batch: Batch) -> bool:
    """Whether the export carried any device cost (a print log or room booking may not)."""
    return Decimal(batch.manifest["cost"]["read"]) != 0


def unbilled_headline(batch: Batch, at_stake: dict | None = None) -> dict[str, str]:
    """The unmatched report's headline figures; with ``at_stake`` (``charges report``
    gives it), what the unmatched rows would have been billed, as an estimate."""
    m = batch.manifest
    out = {
        "Rows read": f"{m['rows']['read']:,}",
        "Unmatched": f"{m['rows']['unmatched']:,} rows, device cost "
        f"{money(m['cost']['unmatched'], 4)}",
    }
    if at_stake and at_stake.get("total") is not None:
        out["Value at stake (estimate)"] = (
            f"{money(at_stake['total'], MINOR_UNITS.get(batch.currency, 2))} "
            f"{batch.currency}: the unmatched rows of Unit Price and Tariff products priced "
            "as if they had matched, at the products' own prices"
        )
    out["Skipped"] = f"{m['rows']['skipped']:,} rows, device cost {money(m['cost']['skipped'], 4)}"
    out["Billed"] = f"{m['rows']['matched']:,} rows"
    return out


def unbilled_examples(batch: Batch, rows: int = 5) -> dict[str, pd.DataFrame]:
    out = {}
    cols = {
        "source_file": "File",
        "line": "Line",
        "code": "Code",
        "message": "Reason",
        "raw": "Raw row",
    }
    for frame in (batch.unmatched, batch.skipped):
        for reason, g in frame.groupby("reason", sort=True):
            out[reason] = g[list(cols)].rename(columns=cols).head(rows)
    return out


def period_totals(summary: pd.DataFrame) -> pd.DataFrame:
    if summary.empty:
        return summary
    cols = ["Batches", "Rows", "Billed", "Unmatched", "Skipped", "Net", "Tax", "Gross"]
    return summary.groupby("Currency", as_index=False)[cols].sum()
