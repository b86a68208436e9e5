"""How figures are shown in the HTML reports: exact money as text, tables, badges and
charts (inline SVG)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pandas as pd

from processor.reports import charts
from processor.reports.figures import money


def _decimal(column: pd.Series) -> bool:
    """Decimal values, as an Arrow decimal column or Python Decimals."""
    return str(column.dtype).startswith("decimal") or (
        column.dtype == object and column.map(lambda v: isinstance(v, Decimal)).any()
    )


def show(frame: pd.DataFrame, money_cols=(), places: int = 2) -> pd.DataFrame:
    """A frame with money as text (exact, with thousands separators) for display."""
    out = frame.copy()
    for c in money_cols:
        if c in out:
            out[c] = [money(v, places) for v in out[c]]
    for c in out.columns:
        if c not in money_cols and str(c).endswith("%"):  # shares: one decimal place
            out[c] = ["" if v is None or v is pd.NA else f"{Decimal(str(v)):.1f}" for v in out[c]]
        elif c not in money_cols and _decimal(out[c]):
            out[c] = [
                ("" if v is None or v is pd.NA else f"{Decimal(str(v)).normalize():,f}")
                for v in out[c]
            ]
    return out


# Every text a report shows comes from a workbook, an export or a batch folder, and reaches
# HTML escaped: never as Markdown, whose links and raw HTML would run


def text(value: object) -> str:
    """Text as HTML character data."""
    from html import escape

    return escape(str(value))


def heading(value: object) -> str:
    """A report's title."""
    return f"<h1>{text(value)}</h1>"


def bold(value: object) -> str:
    return f"<p><b>{text(value)}</b></p>"


def key_values(pairs: dict[str, str]) -> str:
    """A two-column HTML table of headline figures."""
    from html import escape

    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:2em'>{escape(k)}</th>"
        f"<td style='text-align:right'>{escape(str(v))}</td></tr>"
        for k, v in pairs.items()
    )
    return f"<table class='headline'>{rows}</table>"


def html(frame: pd.DataFrame, money_cols=(), places: int = 2) -> str:
    """A frame as an HTML table: text left, numbers right, money exact, blanks blank."""
    numeric = [
        i
        for i, c in enumerate(frame.columns, start=1)
        if c in money_cols
        or pd.api.types.is_numeric_dtype(frame[c])
        or str(frame[c].dtype).startswith(("int", "double"))
        or _decimal(frame[c])
    ]
    shown = show(frame, money_cols, places)
    for c in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[c]) or str(shown[c].dtype).startswith(
            "timestamp"
        ):
            shown[c] = [("" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}") for v in shown[c]]
    shown = shown.astype(object).where(shown.notna(), "")
    table = shown.to_html(
        index=False, na_rep="", escape=True, border=0, classes="report", table_id="TABLE"
    )
    # named by its content, not a counter: a page is the same whichever process wrote it
    table_id = "t" + hashlib.blake2b(table.encode(), digest_size=6).hexdigest()
    rules = "".join(
        f"#{table_id} td:nth-child({i}),#{table_id} th:nth-child({i}){{text-align:right}}"
        for i in numeric
    )
    style = (
        f"<style>#{table_id} td,#{table_id} th{{text-align:left;padding:2px 10px}}{rules}</style>"
    )
    return style + table.replace('id="TABLE"', f'id="{table_id}"', 1)


def balanced_badge(rec: pd.DataFrame) -> str:
    if rec.attrs.get("balanced"):
        cost = (
            "and the device cost adds up"
            if rec["Device cost"].iloc[0] != 0
            else "(no device cost in this export)"
        )
        return (
            "<p style='color:#1a7f37;font-weight:bold'>✔ Balanced: every row read is "
            f"billed, unmatched or skipped, {cost}.</p>"
        )
    return (
        "<p style='color:#cf222e;font-weight:bold'>✘ NOT balanced: the batch files do not "
        "add up to what was read. Do not bill this batch; import it again.</p>"
    )


def top_accounts_chart(accounts: pd.DataFrame, top: int, currency: str) -> str:
    """The ``top`` accounts by net, largest first, as an SVG bar chart."""
    head = accounts.head(top)
    return charts.horizontal_bars(
        f"Top {min(top, len(accounts))} accounts by net ({currency})",
        [f"{a} {n}" for a, n in zip(head["Account ID"], head["Account Name"], strict=True)],
        [Decimal(str(v)) for v in head["Net"]],
        [money(v) for v in head["Net"]],
    )


def daily_chart(days: pd.DataFrame, currency: str) -> str:
    """Billed net per day, as an SVG bar chart."""
    nets = [Decimal(str(v)) for v in days["Net"]]
    return charts.vertical_bars(
        f"Billed net per day ({currency})",
        [str(d) for d in days["Day"]],
        nets,
        money(max([Decimal(0), *nets])),
    )


def charts_row(*svgs: str) -> str:
    return charts.side_by_side(*svgs)


def reasons_chart(reasons: pd.DataFrame) -> str:
    """Rows not billed per reason (red: unmatched, grey: skipped), as an SVG bar chart."""
    return charts.horizontal_bars(
        "Rows not billed, by reason (red: unmatched, grey: skipped)",
        list(reasons["Reason"]),
        list(reasons["Rows"]),
        [f"{n:,}" for n in reasons["Rows"]],
        [charts.RED if o == "Unmatched" else charts.GREY for o in reasons["Outcome"]],
    )


def actions_html(reasons: pd.DataFrame) -> str:
    from html import escape

    if reasons.empty:
        return "<p>Every row was billed: nothing to do.</p>"
    items = "".join(
        f"<li><b>{escape(r.Title)}</b> (<code>{escape(r.Reason)}</code>, {r.Rows:,} rows): "
        f"{escape(r.What_to_do)}</li>"
        for r in reasons.rename(columns={"What to do": "What_to_do"}).itertuples()
    )
    return f"<ul>{items}</ul>"


def alerts_html(manifest: dict) -> str:
    """The batch's spend alerts, before its totals: each in words, in red; or a line
    saying there are none."""
    from html import escape

    alerts = manifest.get("alerts") or []
    if not alerts:
        return (
            "<p style='color:#1a7f37'>No spend alerts: no account jumped against its "
            "average, none is above its limit, no toll-fraud signs.</p>"
        )
    items = "".join(f"<li>{escape(a['message'])}</li>" for a in alerts)
    return (
        "<div style='border:2px solid #cf222e;padding:0.5em 1em;margin:1em 0'>"
        f"<p style='color:#cf222e;font-weight:bold'>⚠ {len(alerts)} spend alert"
        f"{'s' if len(alerts) != 1 else ''}: check before approving this batch</p>"
        f"<ul>{items}</ul></div>"
    )


def warnings_html(sentences: list[str]) -> str:
    """Sentences to act on, in red (nothing when there are none)."""
    from html import escape

    return "".join(
        f"<p style='color:#cf222e;font-weight:bold'>⚠ {escape(t)}</p>" for t in sentences
    )
