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
price before rounding (``plan_value``) and usage (``plan_usage``); ``Allowances`` holds
them back from the batch until every file is read, then prices them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pyarrow as pa

from processor.history.store import use_key
from processor.rating.tax import HUNDRED, PER_CHARGE, round_money
from processor.reference.records import AMOUNT, QUANTITY, Reference
from schemas.charges import DECIMAL
from schemas.checks import key
from schemas.money import EXACT, HELD

ZERO = Decimal(0)
PLAN_COLUMNS = ("plan_value", "plan_usage")
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
        self.held.append(priced[planned])
        return priced[~planned]

    def apply(self, used_before: Mapping[tuple, Decimal], files: list[str]) -> pd.DataFrame:
        """The held charges priced with what is left of their allowances.

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
        rank = {name: i for i, name in enumerate(files)}
        when = frame["occurred_at"].to_numpy(dtype="datetime64[us]")
        file_no = np.array([rank.get(f, len(rank)) for f in frame["source_file"]], np.int64)
        order = np.lexsort((frame["line"].to_numpy(dtype=np.int64), file_no, when))
        frame = frame.iloc[order].reset_index(drop=True)
        month = when[order].astype("datetime64[M]").astype(str)
        places = self.ref.minor_unit(self.location)
        per_charge = self.ref.location(self.location).tax_rounding == PER_CHARGE

        value = frame["plan_value"].to_numpy(dtype=object)
        usage = frame["plan_usage"].to_numpy(dtype=object)
        full = frame["net"].to_numpy(dtype=object)  # rounded, before any allowance
        net = full.copy()
        included_q = np.full(len(frame), ZERO, dtype=object)
        # a credit, a price of exactly zero and a usage of zero use none
        using = np.array([v > 0 and u != 0 for v, u in zip(value, usage, strict=True)], bool)
        accounts = frame["account_id"].to_numpy(dtype=object)
        products = frame["product"].to_numpy(dtype=object)
        groups = pd.DataFrame({"a": accounts, "p": products, "m": month}).groupby(
            ["a", "p", "m"], sort=False
        )
        for (account, product, mon), at in groups.indices.items():
            allowance = self.ref.allowance(account, product)
            before = used_before.get(use_key(account, product, mon, allowance.kind), ZERO)
            included = allowance.included
            if allowance.kind == AMOUNT:  # used in the currency's minor units
                included = round_money(included, places)
            left = max(ZERO, included - before)
            mine = at[using[at]]
            cover: list[Decimal] = []
            if len(mine) and left:
                spend = usage[mine] if allowance.kind == QUANTITY else full[mine]
                prior = np.cumsum(spend) - spend
                cover = [min(max(left - p, ZERO), s) for p, s in zip(prior, spend, strict=True)]
            used = sum(cover, ZERO)
            # every allowance met is told, a spent one too: statements say what is left
            seconds = self.ref.products[key(product)].pricing == "tariff"
            self.uses.append(
                Use(account, product, mon, allowance.kind, used, allowance.plan, included, before,
                    seconds and allowance.kind == QUANTITY)
            )  # fmt: skip
            for i, c in zip(mine, cover, strict=False):
                if c == 0:
                    continue
                self.charges += 1
                if allowance.kind == QUANTITY:
                    included_q[i] = c
                    with localcontext(EXACT):
                        net[i] = round_money(value[i] * (usage[i] - c) / usage[i], places)
                else:
                    net[i] = full[i] - c
        included_a = full - net
        self.waived = sum(included_a, ZERO)
        changed = included_a != 0
        frame["net"] = _held(net)
        frame["included_quantity"] = _held(included_q)
        frame["included_amount"] = _held(included_a)
        if per_charge and changed.any():
            tax = frame["tax"].to_numpy(dtype=object).copy()
            rate = frame["tax_rate"].to_numpy(dtype=object)
            with localcontext(EXACT):
                for i in np.flatnonzero(changed):
                    tax[i] = round_money(net[i] * rate[i] / HUNDRED, places)
            frame["tax"] = _held(tax)
            frame["gross"] = _held(net + tax)
        return frame.drop(columns=list(PLAN_COLUMNS))

    def summary(self) -> dict:
        """The manifest's ``allowances``: the value waived, how many charges used one, and
        what each allowance used (the history records it at commit)."""
        places = self.ref.minor_unit(self.location)
        return {
            "waived": str(self.waived.quantize(Decimal(1).scaleb(-places))),
            "charges": self.charges,
            "used": [u.record() for u in self.uses],
        }


def _held(values: np.ndarray) -> pd.Series:
    return pd.Series(pa.array(list(values), HELD), dtype=DECIMAL)


def used_by_month(records: list[dict]) -> dict[tuple, Decimal]:
    """Uses recorded by batches (``Use.record``), added up by ``use_key``."""
    out: dict[tuple, Decimal] = {}
    for r in records:
        k = use_key(r["account_id"], r["product"], r["month"], r["kind"])
        out[k] = out.get(k, ZERO) + Decimal(r["used"])
    return out


__all__ = ["AMOUNT", "QUANTITY", "Allowances", "Use", "used_by_month"]
