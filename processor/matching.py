"""Match canonical charges to accounts and products (pure functions).

Input: a canonical chunk (see ``processor.exports``). Output: the same rows with
``status`` (billed | unmatched | skipped), ``reason``, ``detail``, ``code``,
``account_id``, ``account_name`` and ``product`` set; pricing comes next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from processor.formats.base import Format
from processor.reference import Reference
from schemas.checks import key

VALID_CODE = re.compile(r"^[A-Za-z0-9]+\Z")  # ASCII only: ı, ſ, K (Kelvin) never match


@dataclass(frozen=True)
class Context:
    """The lookups for one (application, location) import."""

    application: str
    location: str
    codes: dict[str, str]  # CODE → account id, at this location
    elsewhere: dict[str, str]  # CODE → "account A1 at Leeds", other locations
    match_fields: tuple[str | int, ...]  # names, or 0-based positions
    default_product: str


def context(ref: Reference, application: str, location: str, fmt: Format) -> Context:
    """Lookups for one import, built once."""
    app_key, loc_key = key(application), key(location)
    app_name, _, product, match_on = ref.applications[app_key]
    here, other = {}, {}
    for (a, loc, code), account in ref.codes.items():
        if a != app_key:
            continue
        if loc == loc_key:
            here[code] = account
        else:
            other.setdefault(code, f"account {account} at {ref.locations[loc][0]}")
    fields = tuple(match_on) if match_on else tuple(fmt.match_on)
    return Context(app_name, ref.locations[loc_key][0], here, other, fields, product)


def match(chunk: pd.DataFrame, ref: Reference, ctx: Context, fmt: Format) -> pd.DataFrame:
    """Set status, reason and account on every row of a canonical chunk."""
    n = len(chunk)
    out = chunk.copy()
    status = np.full(n, "billed", dtype=object)
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    error = out["error"].notna().to_numpy()
    status[error], reason[error], detail[error] = (
        "unmatched",
        "unparseable-row",
        out["error"][error],
    )
    skip = out["skip"].notna().to_numpy() & ~error
    status[skip], reason[skip] = "skipped", out["skip"][skip]
    skip_detail = out["skip_detail"] if "skip_detail" in out else pd.Series([None] * n)
    detail[skip] = skip_detail.to_numpy()[skip]

    candidates = [c for c in out.columns if c.startswith("match_")]
    cleaned, valid = [], []
    for c in candidates:
        s = out[c].fillna("").astype(str).str.strip()
        if fmt.clean_code is not None:
            s = fmt.clean_code(s)
        ok = s.str.match(VALID_CODE).fillna(False).astype(bool)
        # upper-case ASCII only: str.upper() would turn ı into I and ſ into S
        cleaned.append(s.where(~ok, s.str.upper()))
        valid.append(ok)
    account = pd.Series([None] * n, dtype=object)
    code = pd.Series([None] * n, dtype=object)
    first = pd.Series([None] * n, dtype=object)
    elsewhere = pd.Series([None] * n, dtype=object)
    elsewhere_code = pd.Series([None] * n, dtype=object)
    # the first field that resolves wins; when none does, a code held at another location
    # names that location, else the first non-empty field's own reason
    for s, ok in zip(cleaned, valid, strict=True):
        found = s.where(ok).map(ctx.codes)
        take = account.isna() & found.notna()
        account[take], code[take] = found[take], s[take]
        first_take = first.isna() & (s != "")
        first[first_take] = s[first_take]
        other = s.where(ok).map(ctx.elsewhere)
        e_take = elsewhere.isna() & other.notna()
        elsewhere[e_take], elsewhere_code[e_take] = other[e_take], s[e_take]
    open_ = status == "billed"
    none = (account.isna() & open_).to_numpy()
    missing = none & first.isna().to_numpy()
    status[none] = "unmatched"
    reason[missing] = "missing-code"
    detail[missing] = " or ".join(
        f"column {f + 1}" if isinstance(f, int) else f for f in ctx.match_fields
    )
    at_other = none & ~missing & elsewhere.notna().to_numpy()
    reason[at_other], detail[at_other] = "code-at-other-location", elsewhere[at_other]
    invalid = none & ~missing & ~at_other & ~first.fillna("").str.match(VALID_CODE).to_numpy()
    reason[invalid] = "invalid-code"
    unknown = none & ~missing & ~at_other & ~invalid
    reason[unknown] = "unknown-code"
    code[none] = first[none]
    code[at_other] = elsewhere_code[at_other]  # the code that is held, at that location

    # account state, looked up once per distinct account
    ids = account.to_numpy(dtype=object)
    found = {a: ref.accounts.get(key(a)) for a in pd.unique(ids[account.notna().to_numpy()])}
    which, distinct = pd.factorize(pd.Series(ids, dtype=object), use_na_sentinel=True)
    held = [found.get(a) for a in distinct]
    pick = np.where(which >= 0, which, len(held))  # the last slot: no account
    names = np.array([a.name if a else None for a in held] + [None], dtype=object)[pick]
    active = np.array([a is None or a.active for a in held] + [True], dtype=bool)[pick]
    open_ = status == "billed"
    inactive = open_ & ~active
    status[inactive], reason[inactive] = "unmatched", "inactive-account"
    # outside the account's dates: compared as days, for accounts that have dates
    dated = {a: acc for a, acc in found.items() if acc and (acc.start or acc.end)}
    if dated:
        far_past, far_future = np.datetime64("0001-01-01"), np.datetime64("9999-12-31")
        starts = np.array(
            [np.datetime64(acc.start) if acc.start else far_past for acc in dated.values()]
        )
        ends = np.array(
            [np.datetime64(acc.end) if acc.end else far_future for acc in dated.values()]
        )
        which = pd.Index(list(dated)).get_indexer(ids)
        days = out["occurred_at"].to_numpy(dtype="datetime64[D]")
        has = (which >= 0) & (status == "billed")
        pos = np.where(has, which, 0)
        outside = has & ((days < starts[pos]) | (days > ends[pos]))
        for i in np.flatnonzero(outside):
            acc = dated[ids[i]]
            detail[i] = f"{acc.start or '…'} to {acc.end or '…'}"
        status[outside], reason[outside] = "unmatched", "outside-account-dates"

    # product: an item rule, else the application's default
    app_key = key(ctx.application)
    items = out["item"].to_numpy(dtype=object)
    rule = {
        it: ref.rules.get((app_key, key(it)), ctx.default_product)
        for it in pd.unique(items)
        if isinstance(it, str) and it
    }
    products = np.array(
        [
            rule.get(it, ctx.default_product) if isinstance(it, str) else ctx.default_product
            for it in items
        ],
        dtype=object,
    )
    known = {p: key(p) in ref.products for p in pd.unique(products)}
    no_product = (status == "billed") & ~np.array([known[p] for p in products], dtype=bool)
    status[no_product], reason[no_product] = "unmatched", "unknown-product"
    detail[no_product] = products[no_product]

    out["status"], out["reason"], out["detail"] = status, reason, detail
    out["code"], out["account_id"], out["account_name"] = code.to_numpy(), account.to_numpy(), names
    out["product"] = products
    return out
