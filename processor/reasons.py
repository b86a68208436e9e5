"""Why a row was not billed: stable reason codes with a title and a message template.

Reasons are data, kept as columns (``reason``, ``detail``) on the unmatched and
skipped tables; ``render`` turns a table's rows into sentences in one pass.
Placeholders: {code}, {application}, {location}, {account}, {detail},
{destination}, {product}, {date}.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow


def excerpt(text: object, limit: int = 40) -> str:
    """A short printable excerpt of data text for a message (no control characters)."""
    if not isinstance(text, str):
        return ""  # None, NaN: nothing to quote
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return clean[:limit] + "…" if len(text) > limit else clean


@dataclass(frozen=True)
class Reason:
    code: str
    status: str  # unmatched | skipped
    title: str
    template: str  # one row's message
    action: str = ""  # what to do about all such rows, for reports


_REASONS = [
    Reason(
        "missing-code",
        "unmatched",
        "Missing code",
        "the row has no code in {detail}; the device recorded none, so the row cannot be "
        "matched: bill it by hand if it is chargeable",
        action=(
            "The device recorded no code. Check the extension or login is set up on the device, "
            "and bill these rows by hand if they are chargeable."
        ),
    ),
    Reason(
        "unknown-code",
        "unmatched",
        "Unknown code",
        'code "{code}" is not held by any account for {application} at {location}; add it to '
        "the account on Account Codes, or to the Device Import Map of {application} at "
        "{location}",
        action=(
            "Add each code below to its account on Account Codes (application {application}), or "
            "to the Device Import Map of {application} at {location}. codes-to-add.xlsx is pre-"
            "filled: choose the accounts in it, run charges apply-codes, then charges retry "
            "bills the rows these codes blocked."
        ),
    ),
    Reason(
        "invalid-code",
        "unmatched",
        "Invalid code",
        'code "{code}" has characters other than letters, digits and . - _ @; correct it at the '
        "device (or bill the row by hand)",
        action=(
            "The code has characters other than letters, digits and . - _ @. Correct it at the "
            "device (or in its configuration), or bill the rows by hand."
        ),
    ),
    Reason(
        "outside-code-dates",
        "unmatched",
        "Code held on other days",
        'code "{code}" of {application} at {location} belongs to {detail}, not on {date}; '
        "if the code belonged to an account that day, set its From and To dates on Account "
        "Codes or the Device Import Map, then retry",
        action=(
            "These codes changed hands, and no account held them on the day of the charge. Set"
            " the From and To dates of the account that had the code that day (Account Codes"
            " or the Device Import Map), then run charges retry."
        ),
    ),
    Reason(
        "code-at-other-location",
        "unmatched",
        "Code held at another location",
        'code "{code}" belongs to {detail} for {application}, not at {location}; was the wrong '
        "--location chosen?",
        action=(
            "These codes belong to accounts at another location: check that --location was right,"
            " and import the file for that location instead."
        ),
    ),
    Reason(
        "inactive-account",
        "unmatched",
        "Inactive account",
        'code "{code}" belongs to account {account}, which is Inactive; set it Active on '
        "Accounts to bill it, or move the code to the account now using it",
        action=(
            "The account is Inactive. Set it Active on Accounts if it should be billed, or move "
            "the code to the account now using it."
        ),
    ),
    Reason(
        "outside-account-dates",
        "unmatched",
        "Outside the account's dates",
        "dated {date}, outside the dates of account {account} ({detail}); check its Start "
        "Date and End Date on Accounts, or move the code to the account that had it then",
        action=(
            "The charge is dated outside the account's Start Date and End Date. Correct the dates"
            " on Accounts, or move the code to the account that had it then."
        ),
    ),
    Reason(
        "unknown-product",
        "unmatched",
        "Unknown product",
        'product "{detail}" is not on the Products sheet; add it there',
        action=("Add the product to the Products sheet."),
    ),
    Reason(
        "no-tariff",
        "unmatched",
        "No tariff rate",
        'no rate on tariff {detail} for destination "{destination}"; add a prefix for it to '
        "the Tariffs sheet",
        action=("Add a prefix for these destinations to the tariff on the Tariffs sheet."),
    ),
    Reason(
        "zero-price",
        "unmatched",
        "Zero price",
        "priced at zero on product {product}, which cannot be zero price (a zero line blocks "
        "the bill run); check its price, or set Can Be Zero Price to Yes",
        action=(
            "The charge priced at zero on a product that cannot be zero price. Check the "
            "product's price, or set Can Be Zero Price to Yes."
        ),
    ),
    Reason(
        "unparseable-row",
        "unmatched",
        "Unparseable row",
        "the line cannot be read: {detail}; check this line of the file",
        action=(
            "The line cannot be read. Look at the raw line: fix the export at the device, or "
            "choose another format (charges sniff FILE)."
        ),
    ),
    Reason("blank-line", "skipped", "Blank line", "the line is blank", action="Nothing to do."),
    Reason(
        "free-call",
        "skipped",
        "Free call",
        "a call of {detail} seconds, no longer than the Free Seconds of product {product}: "
        "free, never billed",
        action="Nothing to do: calls this short are free on their product (Free Seconds).",
    ),
    Reason(
        "duplicate-row",
        "skipped",
        "The same row again",
        "the same row as {detail} (the same record id, or the same content), counted once",
        action="Nothing to do: a row the export repeats is billed once.",
    ),
    Reason(
        "already-billed",
        "skipped",
        "Billed in an earlier batch",
        "already billed in batch {detail}; a row is billed once, ever",
        action=(
            "Nothing to do: the export overlaps an earlier one, and these rows were billed "
            "then. To bill them again, void that batch first (charges void)."
        ),
    ),
    Reason(
        "zero-value",
        "skipped",
        "Zero value",
        "quantity and cost are both zero and the format ignores zero values",
        action=("Nothing to do: zero rows are ignored by the format's Ignore Zero Values."),
    ),
    Reason(
        "unanswered-call",
        "skipped",
        "Unanswered call",
        "the call was not answered ({detail})",
        action="Nothing to do: unanswered calls are not billed.",
    ),
    Reason(
        "inbound-call",
        "skipped",
        "Inbound call",
        "an inbound call is not billed",
        action="Nothing to do: inbound calls are not billed.",
    ),
    Reason(
        "internal-call",
        "skipped",
        "Internal call",
        "an internal call is not billed",
        action="Nothing to do: calls between extensions are not billed.",
    ),
    Reason(
        "duplicate-leg",
        "skipped",
        "Another leg of a billed call",
        "another row of call {detail}, which is billed once",
        action=("Nothing to do: the call is billed once, on its first row."),
    ),
]
REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}
UNMATCHED = [r.code for r in _REASONS if r.status == "unmatched"]
SKIPPED = [r.code for r in _REASONS if r.status == "skipped"]


# the columns a template's fields are made from
_TEMPLATE_FIELDS = {"code", "account_id", "detail", "destination", "product", "occurred_at"}


def render(rows: pd.DataFrame, application: str, location: str) -> pa.Array:
    """The message of each row, from its reason's template (built column-wise, a reason
    at a time)."""
    n = len(rows)
    reason = rows["reason"].to_numpy(dtype=object)
    parts: list[tuple[np.ndarray, pa.Array]] = []
    used = rows[[c for c in rows.columns if c in _TEMPLATE_FIELDS]]  # not the whole row
    for code in pd.unique(reason):
        idx = np.flatnonzero(reason == code)
        part = used if len(idx) == n else used.iloc[idx]
        values = {
            # text from the export: a short printable excerpt, never raw control bytes
            "code": lambda p: _excerpts(p["code"], 40),
            "application": lambda p: application,
            "location": lambda p: location,
            "account": lambda p: arrow.plain(p["account_id"]) if "account_id" in p else "",
            "detail": lambda p: _excerpts(p["detail"], 300),
            "destination": lambda p: _excerpts(p["destination"], 40),
            "product": lambda p: arrow.plain(p["product"]) if "product" in p else "",
            "date": lambda p: arrow.plain(p["occurred_at"].dt.strftime("%Y-%m-%d")),
        }
        pieces: list = []
        for literal, field, _, _ in string.Formatter().parse(REASONS[code].template):
            if literal:
                pieces.append(literal)
            if field is not None:
                pieces.append(values[field](part))
        arrays = [
            p if isinstance(p, pa.Array) else pa.array([p] * len(idx), pa.string()) for p in pieces
        ]
        text = pc.binary_join_element_wise(*arrays, "") if len(arrays) > 1 else arrays[0]
        parts.append((idx, text))
    return arrow.scatter(n, parts, pa.scalar("", pa.string()))


def _excerpts(values: pd.Series, limit: int) -> pa.Array:
    """``excerpt`` of each value: most are short and printable and pass as they are."""
    arr = arrow.text(values)
    plain = pc.and_(
        # printable ASCII is printable to Python too; anything else goes through excerpt
        pc.fill_null(pc.match_substring_regex(arr, r"^[ -~]*$"), False),
        pc.less_equal(pc.fill_null(pc.utf8_length(arr), 0), limit),
    )
    plain = pc.or_(pc.fill_null(plain, False), pc.equal(pc.fill_null(arr, ""), ""))
    out = pc.fill_null(arr, "")
    odd = np.flatnonzero(~arrow.flags(plain))
    if len(odd):
        fixed = [excerpt(v, limit) for v in pc.take(arr, pa.array(odd)).to_pylist()]
        mask = np.zeros(len(arr), dtype=bool)
        mask[odd] = True
        out = pc.replace_with_mask(out, pa.array(mask), pa.array(fixed, pa.string()))
    return out
