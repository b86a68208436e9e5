"""Allowances: what an account's plan includes each month, used by its charges in order
(README "Allowances").

An allowance is per account × product × calendar month (of the charge's start, on the
location's wall clock). Charges use it in order of start time, then input file order,
then line; what earlier committed batches used this month is given (from the history).

- **Included Quantity**: covered = min(what is left, usage); the price is multiplied by
  (usage − covered) / usage before rounding. Usage is a Tariff call's billable seconds,
  else the held quantity.
- **Included Amount**: after rounding, covered = min(what is left, net); net − covered is
  billed.
- A credit, a charge whose price is exactly zero and one whose usage is zero use none.

Pricing (``processor.rating.pricing``) marks the charges an allowance may cover with their
price before rounding (``plan_value``) and a Tariff call's billable seconds
(``plan_usage``; any other charge's usage is its quantity); ``Allowances`` holds them back
from the batch until every file is read, then prices them here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import arrow
from processor.history.store import use_key
from processor.ledger.screening import DIGEST
from processor.rating.tax import PER_CHARGE, round_money, tax_on
from processor.reference.records import AMOUNT, QUANTITY, Reference
from schemas.charges import CHARGES, DECIMAL
from schemas.checks import key
from schemas.money import EXACT, HELD

ZERO = Decimal(0)
MICRO = 1_000_000  # a held quantity in whole millionths
HELD_STATUS = "held"  # a charge waiting for its allowance: written once ``apply`` gives it
SUM = pa.decimal128(37, 6)  # room for the digit a sum or difference of two may add
PLAN_COLUMNS = ("plan_value", "plan_usage")
# the columns of a held charge: what the batch's files are made of, and what this reads
KEPT = {*CHARGES.columns, *PLAN_COLUMNS, DIGEST, "status", "tax_rate"}
INCLUDED = ("included_quantity", "included_amount")


@dataclass(frozen=True)
class Use:
    """What one batch used of one allowance."""

    account_id: str
    product: str
    month: str  # YYYY-MM
    kind: str  # quantity or amount
    used: Decimal
    plan: str = ""
    included: Decimal = Decimal(0)  # what the plan includes a month (seconds for a Tariff)
    before: Decimal = Decimal(0)  # what committed batches had used this month
    seconds: bool = False  # a Tariff product's quantity: billable seconds

    def record(self) -> dict:
        """As the manifest keeps it (the history keeps the first five)."""
        left = max(Decimal(0), self.included - self.before - self.used)
        return {
            "account_id": self.account_id,
            "product": self.product,
            "month": self.month,
            "kind": self.kind,
            "used": str(self.used),
            "plan": self.plan,
            "included": str(self.included),
            "before": str(self.before),
            "left": str(left),
            "seconds": self.seconds,
        }


@dataclass
class Allowances:
    """The charges of one batch that an allowance may cover, held back until all are in."""

    ref: Reference
    location: str
    held: list[pd.DataFrame] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    waived: Decimal = ZERO
    charges: int = 0  # charges that used an allowance

    def hold(self, priced: pd.DataFrame) -> pd.DataFrame:
        """The priced chunk without the charges an allowance may cover (kept here)."""
        if not self.ref.plans or "plan_value" not in priced:
            return priced
        planned = priced["plan_value"].notna().to_numpy() & (
            priced["status"].to_numpy(dtype=object) == "billed"
        )
        if not planned.any():
            return priced
        # only what the batch writes of a billed charge is kept (a chunk has many more);
        # the chunk keeps them as HELD: the writer passes over them (``apply`` gives them)
        kept = [c for c in priced.columns if c in KEPT]
        self.held.append(priced[kept].iloc[np.flatnonzero(planned)])
        status = pc.if_else(pa.array(planned), HELD_STATUS, arrow.text(priced["status"]))
        return priced.assign(status=arrow.series(status, priced.index))

    def apply(self, used_before: Mapping[tuple, Decimal], files: list[str]) -> pd.DataFrame:
        """The held charges priced with what is left of their allowances.

        Worked a column at a time: what each charge may use is a running sum within its
        allowance, in integers (millionths of a quantity, minor units of an amount); only
        the charges an allowance covers are priced again one by one.

        Args:
            used_before: what committed batches used, by ``use_key``.
            files: the input files' names in input order (the order within one start time).

        Returns:
            The held charges with net, tax and gross as billed, and ``included_quantity``
            and ``included_amount``; ``uses``, ``waived`` and ``charges`` are set.
        """
        if not self.held:
            return pd.DataFrame()
        frame = pd.concat(self.held, ignore_index=True)
        self.held = []
        n = len(frame)
        rank = {name: i for i, name in enumerate(files)}
        when = frame["occurred_at"].to_numpy(dtype="datetime64[us]")
        names, distinct = arrow.factorize(arrow.text(frame["source_file"]))
        file_no = np.array([rank.get(f, len(rank)) for f in distinct], np.int64)[names]
        # the order charges use their allowances in (the frame itself is not reordered)
        order = np.lexsort((frame["line"].to_numpy(dtype=np.int64), file_no, when))
        month = when.astype("datetime64[M]")
        places = self.ref.minor_unit(self.location)
        per_charge = self.ref.location(self.location).tax_rounding == PER_CHARGE

        value = pa.array(frame["plan_value"].array)
        # a Tariff call's billable seconds; the held quantity of any other charge
        usage = pc.coalesce(pa.array(frame["plan_usage"].array), pa.array(frame["quantity"].array))
        full = pa.array(frame["net"].array).cast(HELD)  # rounded, before any allowance
        # a credit, a price of exactly zero and a usage of zero use none
        using = arrow.flags(pc.and_(pc.greater(value, 0), pc.not_equal(usage, 0)))
        # one allowance per account × product × month
        parts = [arrow.factorize(arrow.text(frame[c])) for c in ("account_id", "product")]
        m_codes, m_names = pd.factorize(month)
        joint = (parts[0][0] * len(parts[1][1]) + parts[1][0]) * len(m_names) + m_codes
        groups, distinct_groups = pd.factorize(joint)
        first = np.empty(len(distinct_groups), dtype=np.int64)
        first[groups[::-1]] = np.arange(n)[::-1]  # each group's first row
        allowances = []  # per group: (account, product, month, allowance, included, before)
        for at in first:
            account, product = frame["account_id"].iat[at], frame["product"].iat[at]
            mon = str(month[at])
            allowance = self.ref.allowance(account, product)
            included = allowance.included
            if allowance.kind == AMOUNT:  # used in the currency's minor units
                included = round_money(included, places)
            before = used_before.get(use_key(account, product, mon, allowance.kind), ZERO)
            allowances.append((account, product, mon, allowance, included, before))
        is_amount = np.array([a[3].kind == AMOUNT for a in allowances], dtype=bool)
        scale = np.where(is_amount, 10**places, MICRO)  # what one of an integer is worth
        left = [
            int(max(ZERO, a[4] - a[5]) * int(k)) for a, k in zip(allowances, scale, strict=True)
        ]
        amount = is_amount[groups]
        spend = np.where(amount, _integers(full, 10**places), _integers(usage, MICRO))
        spend = np.where(using, spend, 0)
        exact = max(left, default=0) < 1 << 62 and int(spend.max(initial=0)) * n < 1 << 62
        kind = np.int64 if exact else object  # a sum that could pass int64: Python's ints
        spend, room = spend.astype(kind), np.array(left, dtype=kind)[groups]
        sorted_prior = (
            pd.Series(spend[order]).groupby(groups[order]).cumsum().to_numpy() - spend[order]
        )
        prior = np.empty(n, dtype=kind)
        prior[order] = sorted_prior
        cover = np.minimum(np.maximum(room - prior, 0), spend)
        covered = np.flatnonzero(cover != 0)
        self.charges = len(covered)
        used = pd.Series(cover).groupby(groups).sum().to_numpy()
        for g, (account, product, mon, allowance, included, before) in enumerate(allowances):
            seconds = self.ref.products[key(product)].pricing == "tariff"
            spent = Decimal(int(used[g])) / int(scale[g])
            # every allowance met is told, a spent one too: statements say what is left
            self.uses.append(
                Use(account, product, mon, allowance.kind, spent, allowance.plan, included,
                    before, seconds and allowance.kind == QUANTITY)
            )  # fmt: skip

        # only the charges an allowance covered are priced again
        new_net = []
        fulls = full.take(pa.array(covered)).to_pylist()
        values = value.take(pa.array(covered)).to_pylist()
        usages = usage.take(pa.array(covered)).to_pylist()
        with localcontext(EXACT):
            for i, f, v, u in zip(covered, fulls, values, usages, strict=True):
                c = Decimal(int(cover[i])) / int(scale[groups[i]])
                new_net.append(f - c if amount[i] else round_money(v * (u - c) / u, places))
        mask = np.zeros(n, dtype=bool)
        mask[covered] = True
        billed = pc.replace_with_mask(full, pa.array(mask), pa.array(new_net, HELD))
        waived = pc.cast(pc.subtract(full.cast(SUM), billed.cast(SUM)), HELD)
        self.waived = pc.sum(waived).as_py() or ZERO
        quantity = np.where(amount, 0, cover).astype(np.int64 if exact else object)
        frame["net"] = pd.Series(billed, dtype=DECIMAL)
        frame["included_quantity"] = pd.Series(_held_from(quantity, MICRO), dtype=DECIMAL)
        frame["included_amount"] = pd.Series(waived, dtype=DECIMAL)
        if per_charge and len(covered):
            rates = frame["tax_rate"].to_numpy(dtype=object)[covered]
            new_tax = [tax_on(n_, r, places) for n_, r in zip(new_net, rates, strict=True)]
            tax = pc.replace_with_mask(
                pa.array(frame["tax"].array).cast(HELD), pa.array(mask), pa.array(new_tax, HELD)
            )
            frame["tax"] = pd.Series(tax, dtype=DECIMAL)
            frame["gross"] = pd.Series(
                pc.cast(pc.add(billed.cast(SUM), tax.cast(SUM)), HELD), dtype=DECIMAL
            )
        return frame.drop(columns=list(PLAN_COLUMNS))

    def priced(
        self, used_before: Mapping[tuple, Decimal], files: list[str], rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        """``apply``'s charges a part at a time, so that the batch's files are written from
        one part while the next is made ready."""
        frame = self.apply(used_before, files)
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows]

    def summary(self) -> dict:
        """The manifest's ``allowances``: the value waived, how many charges used one, and
        what each allowance used (the history records it at commit)."""
        places = self.ref.minor_unit(self.location)
        return {
            "waived": str(self.waived.quantize(Decimal(1).scaleb(-places))),
            "charges": self.charges,
            "used": [u.record() for u in self.uses],
        }


def _held_from(whole: np.ndarray, per_one: int) -> pa.Array:
    """Whole numbers of 1 / ``per_one`` as held decimals."""
    if whole.dtype == object:
        return pa.array([Decimal(int(w)) / per_one for w in whole], HELD)
    ints = pa.array(whole, pa.int64()).cast(pa.decimal128(19, 0))
    share = Decimal(1) / per_one  # per_one is a power of ten: exact
    return pc.cast(pc.multiply(ints, pa.scalar(share, pa.decimal128(7, 6))), HELD)


def _integers(values: pa.Array, per_one: int) -> np.ndarray:
    """Exact decimals as whole numbers of 1 / ``per_one`` (nulls as 0)."""
    if per_one <= MICRO and values.type == HELD:
        # a held value is stored as its whole number of millionths: read as it is
        held = pc.fill_null(values, pa.scalar(0, HELD))
        held = held.combine_chunks() if isinstance(held, pa.ChunkedArray) else held
        words = np.frombuffer(held.buffers()[1], dtype="<i8").reshape(-1, 2)
        words = words[held.offset : held.offset + len(held)]
        low, high = words[:, 0], words[:, 1]
        if (high == (low >> 63)).all():  # every value fits 64 bits
            whole, rest = np.divmod(low, MICRO // per_one)
            if not rest.any():
                return whole

    wide = pc.cast(values, pa.decimal256(40, 6))
    scaled = pc.multiply(wide, pa.scalar(Decimal(per_one), pa.decimal256(19, 0)))
    return np.asarray(pc.fill_null(pc.cast(scaled, pa.int64()), 0).to_numpy(), dtype=np.int64)


__all__ = ["AMOUNT", "QUANTITY", "Allowances", "Use"]
