"""Match canonical charges to accounts and products (pure functions).

Input: a canonical chunk (see ``processor.ingest``). Output: the same rows with
``status`` (billed | unmatched | skipped), ``reason``, ``detail``, ``code``,
``account_id``, ``account_name`` and ``product`` set; pricing comes next.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.ingest.formats.base import Format
from processor.reference.records import CodeSpan, Reference
from schemas.checks import key

# what a code may hold: ASCII letters and digits (Account Codes), and . - _ @ too (a login on
# a Device Import Map). ASCII only: ı, ſ, K (Kelvin) never match; Arrow's RE2 reads $ as
# the text's end
_VALID_CODE = r"^[A-Za-z0-9._@-]+$"


@dataclass(frozen=True)
class Context:
    """The lookups for one (application, location) import."""

    application: str
    location: str
    codes: dict[str, str]  # CODE → account id, at this location
    elsewhere: dict[str, tuple[str, str]]  # CODE → (account id, location), other locations
    match_fields: tuple[str | int, ...]  # names, or 0-based positions
    default_product: str
    # the next Match On field is tried only when this one is empty (True), or also when
    # it matches no account at this location (False: the Applications sheet's When Unmatched)
    only_when_empty: bool = True
    # CODE → its holders by date, at this location (codes given From or To dates)
    spans: dict[str, tuple[CodeSpan, ...]] = field(default_factory=dict)

    @functools.cached_property
    def lookups(self) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
        """``codes`` and ``elsewhere`` as Arrow (keys, values), for joins: the codes here
        and their accounts, the codes elsewhere, "account A1 at Leeds" and "Leeds"."""
        return (
            pa.array([*self.codes, *self.spans], pa.string()),
            pa.array([*self.codes.values(), *[None] * len(self.spans)], pa.string()),
            pa.array(list(self.elsewhere), pa.string()),
            pa.array([f"account {a} at {loc}" for a, loc in self.elsewhere.values()], pa.string()),
            pa.array([loc for _, loc in self.elsewhere.values()], pa.string()),
        )


def context(ref: Reference, application: str, location: str, fmt: Format) -> Context:
    """Lookups for one import, built once."""
    app_key, loc_key = key(application), key(location)
    app = ref.applications[app_key]
    app_name, product, match_on = app.name, app.product, app.match_on
    here, other, spans = {}, {}, {}
    for (a, loc, code), account in ref.codes.items():
        if a != app_key:
            continue
        if loc == loc_key:
            here[code] = account
        else:
            other.setdefault(code, (account, ref.locations[loc].name))
    for (a, loc, code), held in ref.spans.items():
        if a != app_key:
            continue
        if loc == loc_key:
            spans[code] = held
        else:
            other.setdefault(code, (held[0].account_id, ref.locations[loc].name))
    fields = tuple(match_on) if match_on else tuple(fmt.match_on)
    only_when_empty = app.fall_back != "when unmatched"
    return Context(
        app_name,
        ref.locations[loc_key].name,
        here,
        other,
        fields,
        product,
        only_when_empty,
        spans,
    )


def _on_their_days(
    at: np.ndarray, rows: np.ndarray, days: np.ndarray, ctx: Context, plain: int
) -> tuple[np.ndarray, np.ndarray]:
    """For rows whose code has dates (``at`` past the ``plain`` codes), the account that
    held it on the row's day (None where none did); each distinct (code, day) once."""
    codes = list(ctx.spans)
    pairs = pd.DataFrame({"code": at[rows] - plain, "day": days[rows]})
    which, distinct = pd.factorize(pd.MultiIndex.from_frame(pairs))
    accounts = []
    for code, day in distinct:
        day = None if pd.isna(day) else pd.Timestamp(day).date()
        held = ctx.spans[codes[code]]
        accounts.append(
            next((s.account_id for s in held if day is not None and s.holds(day)), None)
        )
    return np.array(accounts, dtype=object)[which], pairs["code"].to_numpy()


def _where(keys: pa.Array, values: pa.Array, ok: np.ndarray) -> np.ndarray:
    """Per value, its place in ``keys`` (-1 where absent or not ``ok``): a hash join."""
    at = pc.fill_null(pc.index_in(values, value_set=keys), -1).to_numpy(zero_copy_only=False)
    return np.where(ok, at, -1)


def _pick(n: int, source: np.ndarray, candidates: list[pa.Array]) -> pa.Array:
    """Per row, the value of candidate ``source[i]`` (null where -1)."""
    parts = [(np.flatnonzero(source == j), c) for j, c in enumerate(candidates)]
    parts = [(idx, pc.take(c, pa.array(idx))) for idx, c in parts if len(idx)]
    return arrow.scatter(n, parts, pa.scalar(None, pa.string()))


def _rule_product(rules: list, item, paper, duplex, default: str) -> str:
    """The product of the first rule (the most criteria first) that matches a row's keyed
    item, paper size and duplex (None: blank), else ``default``."""
    for rule in rules:
        if rule.matches(item, paper, duplex):
            return rule.product
    return default


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

    # each Match On field: stripped, cleaned by the format, upper-cased where it is a
    # valid code (ASCII only: str.upper() would turn ı into I and ſ into S)
    cleaned, valid = [], []
    for c in [c for c in out.columns if c.startswith("match_")]:
        s = arrow.strip(arrow.plain(out[c]))
        if fmt.clean_code is not None:
            s = arrow.plain(fmt.clean_code(arrow.series(s)))
        ok = arrow.flags(pc.match_substring_regex(s, _VALID_CODE))
        cleaned.append(pc.if_else(pa.array(ok), pc.ascii_upper(s), s))
        valid.append(ok)
    here_keys, here_ids, other_keys, other_text, other_location = ctx.lookups
    plain = len(ctx.codes)  # here_keys past these are codes with dates
    days = out["occurred_at"].to_numpy(dtype="datetime64[D]") if ctx.spans else None
    dated = np.full(n, None, dtype=object)  # the account a dated code gave
    outside = np.full(n, -1, dtype=np.int64)  # a dated code held on other days only
    # the first non-empty field decides (with When Unmatched: the first field that resolves
    # wins); when none resolves, a code held at another location names that location, else
    # the first non-empty field's own reason
    found = np.full(n, -1, dtype=np.int64)  # place in here_keys
    code_from = np.full(n, -1, dtype=np.int64)  # which field gave the code
    first_from = np.full(n, -1, dtype=np.int64)  # the first non-empty field
    other = np.full(n, -1, dtype=np.int64)  # place in other_keys
    other_from = np.full(n, -1, dtype=np.int64)
    outside_from = np.full(n, -1, dtype=np.int64)
    for j, (s, ok) in enumerate(zip(cleaned, valid, strict=True)):
        first = (first_from < 0) & arrow.flags(pc.not_equal(s, ""))  # its first non-empty
        asked = first if ctx.only_when_empty else np.ones(n, dtype=bool)
        at = _where(here_keys, s, ok & asked)
        rows = np.flatnonzero((at >= plain) & (found < 0))
        if len(rows):  # a code with dates: the account that held it on the row's day
            held, code = _on_their_days(at, rows, days, ctx, plain)
            none = held == None  # noqa: E711 (elementwise)
            dated[rows[~none]] = held[~none]
            late = rows[none][outside[rows[none]] < 0]
            outside[late], at[rows[none]] = code[none][outside[rows[none]] < 0], -1
            outside_from[late] = j
        take = (found < 0) & (at >= 0)
        found[take], code_from[take] = at[take], j
        first_from[first] = j
        at = _where(other_keys, s, ok & asked)
        take = (other < 0) & (at >= 0)
        other[take], other_from[take] = at[take], j
    first_text = _pick(n, first_from, cleaned)
    open_ = status == "billed"
    none = (found < 0) & open_
    missing = none & (first_from < 0)
    status[none] = "unmatched"
    reason[missing] = "missing-code"
    detail[missing] = " or ".join(
        f"column {f + 1}" if isinstance(f, int) else f for f in ctx.match_fields
    )
    # a code held here, but on other days only: its holders and their days decide
    off_days = none & ~missing & (outside >= 0)
    reason[off_days] = "outside-code-dates"
    held_text = np.array(["; ".join(map(str, held)) for held in ctx.spans.values()], dtype=object)
    detail[off_days] = held_text[outside[off_days]] if off_days.any() else []
    at_other = none & ~missing & ~off_days & (other >= 0)
    reason[at_other] = "code-at-other-location"
    detail[at_other] = pc.take(other_text, pa.array(other[at_other])).to_numpy(zero_copy_only=False)
    invalid = (
        none
        & ~missing
        & ~off_days
        & ~at_other
        & ~arrow.flags(pc.match_substring_regex(pc.fill_null(first_text, ""), _VALID_CODE))
    )
    reason[invalid] = "invalid-code"
    unknown = none & ~missing & ~off_days & ~at_other & ~invalid
    reason[unknown] = "unknown-code"
    # the code that matched; else the code held at another location; else the first one
    code_from = np.where(
        none,
        np.where(off_days, outside_from, np.where(at_other, other_from, first_from)),
        code_from,
    )
    code = _pick(n, code_from, cleaned)
    account = pc.take(here_ids, pa.array(found, mask=found < 0))
    if ctx.spans:
        has = dated != None  # noqa: E711 (elementwise)
        account = pc.if_else(pa.array(has), pa.array(dated, pa.string()), account)
    # the location the deciding code belongs to: here, another one, or none (the wrong
    # --location shows as most codes belonging to another one)
    code_location = pc.if_else(
        pa.array(found >= 0),
        pa.scalar(ctx.location),
        pc.take(other_location, pa.array(other, mask=~at_other)),
    )

    # account state, looked up once per distinct account (the columns stay Arrow: a take
    # from the few distinct values, not a Python string a row)
    which, distinct = arrow.factorize(account)
    held = [ref.accounts.get(key(a)) for a in distinct]
    pick = np.where(which >= 0, which, len(held))  # the last slot: no account
    names = pc.take(pa.array([a.name if a else None for a in held] + [None], pa.string()), pick)
    active = np.array([a is None or a.active for a in held] + [True], dtype=bool)[pick]
    open_ = status == "billed"
    inactive = open_ & ~active
    status[inactive], reason[inactive] = "unmatched", "inactive-account"
    # outside the account's dates: compared as days, for accounts that have dates
    if any(a and (a.start or a.end) for a in held):
        far_past, far_future = np.datetime64("0001-01-01"), np.datetime64("9999-12-31")
        starts = np.array(
            [np.datetime64(a.start) if a and a.start else far_past for a in held] + [far_past]
        )
        ends = np.array(
            [np.datetime64(a.end) if a and a.end else far_future for a in held] + [far_future]
        )
        days = out["occurred_at"].to_numpy(dtype="datetime64[D]")
        has = (which >= 0) & (status == "billed")
        outside = has & ((days < starts[pick]) | (days > ends[pick]))
        for i in np.flatnonzero(outside):
            acc = held[which[i]]
            detail[i] = f"{acc.start or '…'} to {acc.end or '…'}"
        status[outside], reason[outside] = "unmatched", "outside-account-dates"

    # product: the Product Rule naming the most of the row's item, paper size and duplex
    # that match it, else the application's default
    for name in ("paper_size", "duplex"):
        if name not in out:  # a chunk from before print media were read
            out[name] = None
    rules = ref.rules.get(key(ctx.application), [])
    # each distinct (item, paper size, duplex) looked up once: each column's distinct
    # values keyed, then the distinct combinations of them
    parts = [
        pd.factorize(out[c].to_numpy(dtype=object), use_na_sentinel=True)
        for c in ("item", "paper_size", "duplex")
    ]
    joint = np.zeros(len(out), dtype=np.int64)
    for codes, uniques in parts:
        joint = joint * (len(uniques) + 1) + (codes + 1)  # 0: blank
    which, combos = pd.factorize(joint)
    values = [
        [None, *(key(u) if isinstance(u, str) and u.strip() else None for u in uniques)]
        for _, uniques in parts
    ]
    chosen = []
    for combo in combos:
        at = []
        for _, uniques in reversed(parts):
            combo, digit = divmod(int(combo), len(uniques) + 1)
            at.append(digit)
        item, paper, duplex = (values[i][d] for i, d in enumerate(reversed(at)))
        chosen.append(_rule_product(rules, item, paper, duplex, ctx.default_product))
    options = [*chosen, ctx.default_product]
    pick = which
    known = np.array([key(p) in ref.products for p in options], dtype=bool)
    no_product = (status == "billed") & ~known[pick]
    status[no_product], reason[no_product] = "unmatched", "unknown-product"
    detail[no_product] = np.array(options, dtype=object)[pick[no_product]]
    products = pc.take(pa.array(options, pa.string()), pick)

    for name, values in [
        ("status", status),
        ("reason", reason),
        ("detail", detail),
    ]:
        out[name] = arrow.from_objects(values, out.index)
    for name, values in [("account_name", names), ("account_id", account), ("product", products)]:
        out[name] = arrow.series(values, out.index)
    out["code"] = arrow.series(code, out.index)
    out["code_location"] = arrow.series(code_location, out.index)
    return out
