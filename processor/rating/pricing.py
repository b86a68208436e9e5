"""Price matched charges exactly: each product's rows by its pricing mode (``modes``), then
the rules every mode shares (README "Matching and pricing"):

- the held quantity, cost and duration (6 decimal places, fixed at read time) are priced;
- a charge whose price is below zero before the Minimum Charge is a credit: billed
  negative, never raised; every other charge (zero included) is raised to the minimum;
- each charge's net is rounded half away from zero to the currency's minor unit, and
  ``zero-price`` is judged on that rounded net;
- tax is the product's rate, else the location's. With Tax Rounding ``Per Charge`` each
  charge's tax is rounded on its net; with ``Per Line`` (the default) tax is worked on
  each Batch Sheet line (``processor.batch.sheet``) and the charge carries none.
"""

from __future__ import annotations

from decimal import localcontext

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.rating import modes
from processor.rating.bands import band_of, out_of_hours
from processor.rating.tax import HUNDRED, PER_CHARGE
from processor.reference.records import Reference
from schemas.charges import BOOL, DECIMAL
from schemas.checks import key
from schemas.money import EXACT, HELD

SUM = pa.decimal128(37, 6)  # room for one more digit in a sum of two
# a price before rounding, as an allowance's share of it is worked (room for 10^12 at 30
# places: every workbook figure and held value multiplied out, exactly)
PLAN_VALUE = pa.decimal256(76, 30)


def _plan_value(value: pa.Array) -> pa.Array:
    """A price before rounding, at PLAN_VALUE's scale (exact up to 30 places)."""
    if value.type.scale > PLAN_VALUE.scale:
        value = pc.round(value, PLAN_VALUE.scale, round_mode="half_towards_infinity")
    return pc.cast(value, PLAN_VALUE)


def price(frame: pd.DataFrame, ref: Reference, location: str) -> pd.DataFrame:
    """Add net, tax_rate, tax and gross to billed rows; unpriceable rows become unmatched.

    Each product's rows are priced together by the product's pricing mode, in Arrow
    decimals (exact: decimal256 wide enough for every product), then rounded half away from
    zero.

    Args:
        frame: a matched chunk (status, product and what the modes read: ``modes.READS``,
            the row's time and account among them).
        ref: the reference data.
        location: the import's location (its currency, tax rate and tax rounding).

    Returns:
        The frame with net, tax_rate, tax, gross (Arrow decimals, null where not billed;
        tax and gross null on every row when the location rounds tax per line), with
        ``no-tariff`` and ``zero-price`` rows moved to unmatched and ``free-call`` rows
        (a Tariff product's calls no longer than its Free Seconds) to skipped.
    """
    out = frame.copy()
    # the time band of each charge's start, for tariffs with bands (none are asked for
    # when no tariff is priced here)
    out["band"] = None
    if ref.band_times and any(
        ref.products[key(p)].pricing == "tariff"
        for p in pc.unique(arrow.text(out["product"])).to_pylist()
        if p is not None and key(p) in ref.products
    ):
        out["band"] = band_of(out["occurred_at"], ref, location)
    places = ref.minor_unit(location)
    loc = ref.location(location)
    per_charge = loc.tax_rounding == PER_CHARGE
    n = len(out)
    # rows that become unmatched here (no tariff, zero price) are few: they are noted, and
    # the status, reason and detail columns are rewritten only when there are some
    unpriced: list[tuple[np.ndarray, str, object, str]] = []
    tax_rate = np.full(n, None, dtype=object)
    nets: list = []
    taxes: list = []
    billed = arrow.flags(pc.equal(arrow.text(out["status"]), "billed"))
    # each product name keyed once: a row's product as an index into the distinct names
    which = np.full(n, -1, dtype=np.int64)
    which[billed], names = arrow.factorize(arrow.text(out["product"]).filter(pa.array(billed)))
    by_key: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_key.setdefault(key(name), []).append(i)

    # charges an allowance may cover (their account's plan includes their product) carry
    # their price before rounding and their usage, for ``processor.rating.allowances``
    plan_values: list = []
    plan_usages: list = []
    labels: list = []  # a Tariff rate's Destination per priced call
    premiums: list = []  # and whether it is a premium-rate destination

    accounts: list[pa.Array] = []

    def account_ids() -> pa.Array:
        """The chunk's Account IDs as Arrow text (made once, when first asked)."""
        if not accounts:
            accounts.append(arrow.text(out["account_id"]))
        return accounts[0]

    def covered(product_name: str, idx: np.ndarray) -> np.ndarray:
        """Which of these rows' accounts have an allowance of the product."""
        codes, distinct = arrow.factorize(account_ids().take(pa.array(idx)))
        if not len(distinct):
            return np.zeros(len(idx), dtype=bool)
        has = np.array([ref.allowance(a, product_name) is not None for a in distinct], bool)
        return has[codes]

    def price_rows(product, idx: np.ndarray) -> None:
        """One product's rows, as one set of accounts is billed for it."""
        if product.free_seconds is not None and product.pricing == "tariff":
            # a call no longer than Free Seconds is free: decided before pricing, so no
            # tariff or zero price is ever asked of it
            seconds = out["duration"].iloc[idx].to_numpy(dtype="float64", na_value=0)
            free = seconds <= product.free_seconds
            if free.any():
                said = np.array([str(int(s)) for s in seconds[free]], dtype=object)
                unpriced.append((idx[free], "free-call", said, "skipped"))
                idx = idx[~free]
                if not len(idx):
                    return
        rows = out[modes.READS].iloc[idx]  # only what pricing reads: a chunk has many more
        got = modes.get(product.pricing).price(product, rows, ref, places)
        if got.priced is not None:
            if not got.priced.all():
                unpriced.append((idx[~got.priced], got.reason, got.detail, "unmatched"))
            idx = idx[got.priced]
            if not len(idx):
                return
        value, usage, label, premium = got.value, got.usage, got.label, got.premium
        net = pc.round(value, places, round_mode="half_towards_infinity")
        zero = arrow.flags(pc.equal(net, 0))
        if not product.can_be_zero and zero.any():
            # judged on the rounded net before any allowance: an included charge is not
            # a zero-price problem
            unpriced.append((idx[zero], "zero-price", None, "unmatched"))
            keep = ~zero
            idx, net, value = idx[keep], net.filter(pa.array(keep)), value.filter(pa.array(keep))
            usage = None if usage is None else usage[keep]
            label = None if label is None else label[keep]
            premium = None if premium is None else premium[keep]
        if ref.plans:
            planned = covered(product.name, idx)
            if planned.any():
                at = idx[planned]
                plan_values.append((at, _plan_value(value.filter(pa.array(planned)))))
                if usage is not None:  # a Tariff's billable seconds (else: the quantity)
                    plan_usages.append((at, pa.array(usage[planned].astype(np.int64)).cast(HELD)))
        r = product.tax_rate if product.tax_rate is not None else loc.tax_rate
        tax_rate[idx] = r
        nets.append((idx, net))
        if label is not None:
            labels.append((idx, pa.array(label, pa.string())))
        if premium is not None:
            premiums.append((idx, pa.array(premium, pa.bool_())))
        if per_charge:
            with localcontext(EXACT):
                share = r / HUNDRED
            narrow = pc.cast(net, modes.NARROW)
            tax = pc.round(
                pc.multiply(narrow, modes.exact(share)), places, round_mode="half_towards_infinity"
            )
            taxes.append((idx, tax))

    # accounts with their own prices for a product (Account Prices): priced apart
    own = ref.prices_by_product()
    for pkey, named in by_key.items():
        product = ref.products[pkey]
        idx = np.flatnonzero(np.isin(which, named))
        if pkey not in own:
            price_rows(product, idx)
            continue
        codes, distinct = arrow.factorize(account_ids().take(pa.array(idx)))
        keyed = np.array([key(a) if isinstance(a, str) else "" for a in distinct], dtype=object)
        # accounts with the same own prices are priced together (a price list given to
        # many accounts is one set of prices)
        prices = [own[pkey].get(account) for account in keyed]
        which_prices, distinct_prices = pd.factorize(pd.Series(prices, dtype=object))
        for j, prices_j in enumerate(distinct_prices):
            rows_j = np.isin(codes, np.flatnonzero(which_prices == j))
            price_rows(product.for_account(prices_j), idx[rows_j])
        if (which_prices < 0).any():  # accounts without prices of their own
            price_rows(product, idx[np.isin(codes, np.flatnonzero(which_prices < 0))])
    net_col = arrow.scatter(n, nets, pa.scalar(None, HELD))
    if unpriced:
        status = out["status"].to_numpy(dtype=object).copy()
        reason = out["reason"].to_numpy(dtype=object).copy()
        detail = out["detail"].to_numpy(dtype=object).copy()
        for rows_at, why, said, outcome in unpriced:
            status[rows_at], reason[rows_at] = outcome, why
            if said is not None:
                detail[rows_at] = said
        for name, values in [("status", status), ("reason", reason), ("detail", detail)]:
            out[name] = arrow.from_objects(values, out.index)
    out["net"] = pd.Series(net_col, dtype=DECIMAL, index=out.index)
    out["destination_name"] = arrow.series(
        arrow.scatter(n, labels, pa.scalar(None, pa.string())), out.index
    )
    # what the toll-fraud alert counts: calls to premium destinations, and out of hours
    out["premium"] = pd.Series(
        arrow.scatter(n, premiums, pa.scalar(False, pa.bool_())), dtype=BOOL, index=out.index
    )
    call = out["duration"].notna().to_numpy()
    late = np.zeros(n, dtype=bool)
    if call.any():
        bands = out["band"].to_numpy(dtype=object) if out["band"].notna().any() else None
        late = call & out_of_hours(out["occurred_at"], ref, location, bands)
    out["out_of_hours"] = pd.Series(pa.array(late), dtype=BOOL, index=out.index)
    if plan_values:
        for name, parts, kind in (
            ("plan_value", plan_values, PLAN_VALUE),
            ("plan_usage", plan_usages, HELD),
        ):
            filled = arrow.scatter(n, parts, pa.scalar(None, kind))
            out[name] = pd.Series(filled, dtype=pd.ArrowDtype(kind), index=out.index)
    out["tax_rate"] = tax_rate
    if per_charge:
        tax_col = arrow.scatter(n, taxes, pa.scalar(None, HELD))
        out["tax"] = pd.Series(tax_col, dtype=DECIMAL, index=out.index)
        out["gross"] = pd.Series(
            pc.add(net_col.cast(SUM), tax_col.cast(SUM)).cast(HELD),
            dtype=DECIMAL,
            index=out.index,
        )
    else:
        out["tax"] = pd.Series(pa.nulls(n, HELD), dtype=DECIMAL, index=out.index)
        out["gross"] = out["tax"]
    return out
