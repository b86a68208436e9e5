"""Price matched charges exactly (pure functions, Decimal throughout).

The rules (README "Matching and pricing"):

- the held quantity, cost and duration (6 decimal places, fixed at read time) are priced;
- a charge whose price is below zero before the Minimum Charge is a credit: billed
  negative, never raised; every other charge (zero included) is raised to the minimum;
- each charge's net is rounded half away from zero to the currency's minor unit, and
  ``zero-price`` is judged on that rounded net;
- tax is the product's rate, else the location's. With Tax Rounding ``Per Charge`` each
  charge's tax is rounded on its net; with ``Per Line`` (the default) tax is worked on
  each Batch Sheet line (``processor.batchsheet``) and the charge carries none.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.reference.records import Product, Rate, Reference
from schemas.checks import key
from schemas.money import EXACT, HELD

HUNDRED = Decimal(100)
SIXTY = Decimal(60)
ZERO = Decimal(0)
# wide enough that no intermediate product or quotient of held values is ever rounded
PER_LINE, PER_CHARGE = "per line", "per charge"


def round_money(value: Decimal, places: int) -> Decimal:
    """Round half away from zero to the currency's minor unit (never -0)."""
    with localcontext(EXACT):
        out = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return out.copy_abs() if out == 0 else out


def tax_on(net: Decimal, rate: Decimal, places: int) -> Decimal:
    """Tax on a net amount at ``rate`` percent, rounded half away from zero."""
    with localcontext(EXACT):
        return round_money(net * rate / HUNDRED, places)


def find_rate(rates: list[Rate], destination: str | None) -> Rate | None:
    """The rate with the longest prefix of the dialled number (digits only compared)."""
    if not destination:
        return None
    digits = "".join(ch for ch in destination if "0" <= ch <= "9")
    if not digits:
        return None
    for rate in rates:  # sorted longest prefix first
        if digits.startswith(rate.prefix):
            return rate
    return None


def billable_seconds(duration: int | None, rate: Rate) -> int:
    """Raise to the minimum, then round up to a multiple of the increment."""
    secs = max(duration or 0, rate.minimum_seconds)
    return math.ceil(secs / rate.increment_seconds) * rate.increment_seconds


def unrounded(
    product: Product, quantity: Decimal, cost: Decimal, rate: Rate | None, duration: int | None
) -> tuple[Decimal, bool]:
    """The charge before rounding, with the Minimum Charge applied, and whether it is a credit."""
    with localcontext(EXACT):
        if product.pricing == "cost plus":
            value = cost * (1 + product.markup_pct / HUNDRED) + product.markup_fixed
        elif product.pricing == "unit price":
            value = quantity * product.unit_price
        else:
            value = (
                Decimal(billable_seconds(duration, rate)) * rate.per_minute / SIXTY
                + rate.connection
            )
    credit = value < 0
    if not credit and product.minimum is not None and value < product.minimum:
        value = product.minimum
    return value, credit


_WIDE = pa.decimal256(76, 6)
SUM = pa.decimal128(37, 6)  # room for one more digit in a sum of two


def _const(value: Decimal) -> pa.Scalar:
    """A workbook figure as an exact Arrow decimal of just its own digits."""
    _, digits, exp = value.as_tuple()
    scale = max(-exp, 0)
    precision = max(len(digits) + max(exp, 0), scale, 1) + 1
    return pa.scalar(value, pa.decimal256(precision, scale))


_PRICED_FROM = ["destination", "duration", "quantity", "cost"]


def rate_index(rates: list[Rate], destinations: pa.Array) -> np.ndarray:
    """Per row, the index in ``rates`` (sorted longest prefix first) of the rate with the
    longest prefix of the dialled number's digits; -1 where none (or no digits)."""
    digits = pc.replace_substring_regex(pc.fill_null(destinations, ""), r"[^0-9]", "")
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    found = np.full(len(digits), -1, dtype=np.int64)
    by_length: dict[int, list[int]] = {}
    for i, r in enumerate(rates):
        by_length.setdefault(len(r.prefix), []).append(i)
    for size in sorted(by_length, reverse=True):
        todo = (found < 0) & (length >= max(size, 1))
        if not todo.any():
            continue
        head = pc.utf8_slice_codeunits(digits, 0, size)
        which = by_length[size]
        got = pc.index_in(head, pa.array([rates[i].prefix for i in which], pa.string()))
        pos = pc.fill_null(got, -1).to_numpy(zero_copy_only=False)
        take = todo & (pos >= 0)
        found[take] = np.asarray(which)[pos[take]]
    return found


def _values(
    product: Product, rows: pd.DataFrame, rates: list[Rate], places: int
) -> tuple[pa.Array, np.ndarray]:
    """Each row's charge before rounding, Minimum Charge applied (decimal256, exact), and
    which rows are credits. ``rows`` of one product; tariff rows must have a rate (their
    charges come rounded to ``places`` already)."""
    if product.pricing == "tariff":
        # per distinct (rate, billable seconds): the same exact rules, worked once each
        idx = rows["_rate"].to_numpy()
        duration = rows["duration"].to_numpy(dtype="float64", na_value=0).astype(np.int64)
        minimum = np.array([r.minimum_seconds for r in rates], dtype=np.int64)[idx]
        step = np.array([r.increment_seconds for r in rates], dtype=np.int64)[idx]
        secs = np.maximum(duration, minimum)
        billable = -(-secs // step) * step
        pairs, inverse = np.unique(np.stack([idx, billable]), axis=1, return_inverse=True)
        worked = [
            unrounded(product, ZERO, ZERO, rates[int(i)], int(b))
            for i, b in zip(pairs[0], pairs[1], strict=True)
        ]
        # a per-minute rate over 60 need not end: rounded here, exactly as round_money does
        rounded = [round_money(v, places) for v, _ in worked]
        values = pa.array(rounded, _WIDE).take(pa.array(inverse.ravel()))
        credit = np.array([c for _, c in worked], dtype=bool)[inverse.ravel()]
        return values, credit
    narrow = pa.decimal256(19, 6)  # a held value below 10^12
    if product.pricing == "cost plus":
        with localcontext(EXACT):
            factor = 1 + product.markup_pct / HUNDRED
        base = pc.multiply(pc.cast(pa.array(rows["cost"]), narrow), _const(factor))
        value = pc.add(base, _const(product.markup_fixed))
    else:
        value = pc.multiply(pc.cast(pa.array(rows["quantity"]), narrow), _const(product.unit_price))
    value = pc.cast(value, pa.decimal256(76, max(value.type.scale, 6)))
    credit = arrow.flags(pc.less(value, 0))
    if product.minimum is not None:
        low = pc.and_(pc.invert(pa.array(credit)), pc.less(value, _const(product.minimum)))
        value = pc.if_else(low, pc.cast(_const(product.minimum), value.type), value)
    return value, credit


def price(frame: pd.DataFrame, ref: Reference, location: str) -> pd.DataFrame:
    """Add net, tax_rate, tax and gross to billed rows; unpriceable rows become unmatched.

    Each product's rows are priced together in Arrow decimals (exact: decimal256 wide
    enough for every product, rounded half away from zero); a tariff's rows per distinct
    rate and billable seconds, by the same rules as ``unrounded``.

    Args:
        frame: a matched chunk (status, product, quantity, cost, duration, destination).
        ref: the reference data.
        location: the import's location (its currency, tax rate and tax rounding).

    Returns:
        The frame with net, tax_rate, tax, gross (Arrow decimals, null where not billed;
        tax and gross null on every row when the location rounds tax per line) and with
        ``no-tariff`` and ``zero-price`` rows moved to unmatched.
    """
    out = frame.copy()
    places = ref.minor_unit(location)
    loc = ref.location(location)
    per_charge = loc.tax_rounding == PER_CHARGE
    n = len(out)
    # rows that become unmatched here (no tariff, zero price) are few: they are noted, and
    # the status, reason and detail columns are rewritten only when there are some
    unpriced: list[tuple[np.ndarray, str, object]] = []
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
    for pkey, named in by_key.items():
        product = ref.products[pkey]
        idx = np.flatnonzero(np.isin(which, named))
        rows = out[_PRICED_FROM].iloc[idx]  # only what pricing reads: a chunk has many more
        rates: list[Rate] = []
        if product.pricing == "tariff":
            rates = ref.tariffs.get(key(product.tariff), [])
            found = rate_index(rates, pa.array(rows["destination"].to_numpy(), pa.string()))
            none = found < 0
            if none.any():
                unpriced.append((idx[none], "no-tariff", product.tariff))
            idx, rows = idx[~none], rows.iloc[~none].assign(_rate=found[~none])
            if not len(idx):
                continue
        value, _ = _values(product, rows, rates, places)
        net = pc.round(value, places, round_mode="half_towards_infinity")
        zero = arrow.flags(pc.equal(net, 0))
        if not product.can_be_zero and zero.any():
            unpriced.append((idx[zero], "zero-price", None))
            idx, net = idx[~zero], net.filter(pa.array(~zero))
        r = product.tax_rate if product.tax_rate is not None else loc.tax_rate
        tax_rate[idx] = r
        nets.append((idx, net))
        if per_charge:
            with localcontext(EXACT):
                share = r / HUNDRED
            narrow = pc.cast(net, pa.decimal256(19, 6))
            tax = pc.round(
                pc.multiply(narrow, _const(share)), places, round_mode="half_towards_infinity"
            )
            taxes.append((idx, tax))
    net_col = arrow.scatter(n, nets, pa.scalar(None, HELD))
    if unpriced:
        status = out["status"].to_numpy(dtype=object).copy()
        reason = out["reason"].to_numpy(dtype=object).copy()
        detail = out["detail"].to_numpy(dtype=object).copy()
        for rows_at, why, said in unpriced:
            status[rows_at], reason[rows_at] = "unmatched", why
            if said is not None:
                detail[rows_at] = said
        for name, values in [("status", status), ("reason", reason), ("detail", detail)]:
            out[name] = arrow.from_objects(values, out.index)
    out["net"] = pd.Series(net_col, dtype=pd.ArrowDtype(HELD), index=out.index)
    out["tax_rate"] = tax_rate
    if per_charge:
        tax_col = arrow.scatter(n, taxes, pa.scalar(None, HELD))
        out["tax"] = pd.Series(tax_col, dtype=pd.ArrowDtype(HELD), index=out.index)
        out["gross"] = pd.Series(
            pc.add(net_col.cast(SUM), tax_col.cast(SUM)).cast(HELD),
            dtype=pd.ArrowDtype(HELD),
            index=out.index,
        )
    else:
        out["tax"] = pd.Series(pa.nulls(n, HELD), dtype=pd.ArrowDtype(HELD), index=out.index)
        out["gross"] = out["tax"]
    return out
