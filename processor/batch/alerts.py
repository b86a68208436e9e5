"""Spend alerts before approval (README "Spend alerts"): an account whose net jumps against
its monthly average, an account above its own limit, and an account with many calls to
premium destinations or out of hours (the signs of PBX toll fraud, or of a wrong mapping).

Pure: the batch's lines, the calls counted as chunks were written (``CallCounts``), what
the history says earlier batches billed, and the workbooks' settings in; alerts out, as
data (a stable ``kind``, the figures, and a message).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from processor.reference.records import Location, Reference
from schemas.checks import key

ZERO = Decimal(0)
MONTHS_BACK = 3  # the jump alert's average is over the previous three calendar months


class CallCounts:
    """Per account, billed calls to premium destinations and out of hours, counted as the
    batch's chunks are written."""

    def __init__(self) -> None:
        self.premium: dict[str, int] = defaultdict(int)
        self.late: dict[str, int] = defaultdict(int)
        self.either: dict[str, int] = defaultdict(int)

    def add(self, billed: pd.DataFrame) -> None:
        if "premium" not in billed or not len(billed):
            return
        premium = billed["premium"].fillna(False).to_numpy(dtype=bool)
        late = billed["out_of_hours"].fillna(False).to_numpy(dtype=bool)
        either = premium | late
        if not either.any():
            return
        accounts = billed["account_id"].to_numpy(dtype=object)[either]
        for counter, flags in ((self.premium, premium), (self.late, late), (self.either, either)):
            names, n = np.unique(accounts[flags[either]], return_counts=True)
            for a, c in zip(names, n, strict=True):
                counter[a] += int(c)


def previous_months(batch_date: dt.date, count: int = MONTHS_BACK) -> list[str]:
    """The ``count`` calendar months before the batch date's, as YYYY-MM, oldest first."""
    y, m = batch_date.year, batch_date.month
    out = []
    for _ in range(count):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.append(f"{y:04d}-{m:02d}")
    return out[::-1]


def account_nets(lines: list[dict]) -> dict[str, Decimal]:
    """Each account's net: the sum of its Batch Sheet lines, by Account ID."""
    nets: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in lines:
        nets[ln["account_id"]] += ln["net"]
    return dict(sorted(nets.items()))


def _money(v: Decimal, places: int) -> str:
    return f"{v.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):,.{places}f}"


def spend_alerts(
    lines: list[dict],
    calls: CallCounts,
    earlier: dict[str, dict[str, Decimal]],
    ref: Reference,
    location: str,
    places: int,
) -> list[dict]:
    """The alerts of a batch, by account then kind.

    Args:
        lines: the Batch Sheet lines (an account's net is the sum of its lines').
        calls: the calls counted per account.
        earlier: per Account ID, what committed batches of this application and location
            billed in each of the previous months (``HistoryStore.monthly_nets``).
    """
    loc: Location = ref.location(location)
    nets = account_nets(lines)
    names = {ln["account_id"]: ln["account_name"] for ln in lines}
    for a in calls.either:
        names.setdefault(a, ref.accounts[key(a)].name if key(a) in ref.accounts else a)
    out = []
    for account in sorted(set(nets) | set(calls.either)):
        net, who = nets.get(account, ZERO), f"{account} ({names[account]})"
        months = earlier.get(account, {})
        if loc.alert_jump > 0 and months:
            average = sum(months.values(), ZERO) / len(months)
            if average > 0 and net > loc.alert_jump * average:
                times = (net / average).quantize(Decimal("0.1"), ROUND_HALF_UP)
                out.append(
                    {
                        "kind": "spend-jump",
                        "account_id": account,
                        "account_name": names[account],
                        "net": str(net),
                        "average": str(average.quantize(Decimal(1).scaleb(-places))),
                        "months": sorted(months),
                        "message": (
                            f"{who}: net {_money(net, places)} in this batch is {times:f} times "
                            f"its monthly average of {_money(average, places)} over "
                            f"{len(months)} month{'s' if len(months) > 1 else ''} "
                            f"({', '.join(sorted(months))}); check its calls and codes "
                            "before approving"
                        ),
                    }
                )
        account_rec = ref.accounts.get(key(account))
        limit = account_rec.alert_above if account_rec else None
        if limit is not None and net > limit:
            out.append(
                {
                    "kind": "above-limit",
                    "account_id": account,
                    "account_name": names[account],
                    "net": str(net),
                    "limit": str(limit),
                    "message": (
                        f"{who}: net {_money(net, places)} in this batch is above its Alert "
                        f"Above of {_money(limit, places)}; check it before approving"
                    ),
                }
            )
        either = calls.either.get(account, 0)
        if either > loc.alert_calls:
            premium, late = calls.premium.get(account, 0), calls.late.get(account, 0)
            hours = (
                f"in time band {loc.out_of_hours}"
                if loc.out_of_hours
                else "between 20:00 and 07:00"
            )
            out.append(
                {
                    "kind": "toll-fraud-signs",
                    "account_id": account,
                    "account_name": names[account],
                    "premium_calls": premium,
                    "out_of_hours_calls": late,
                    "calls": either,
                    "message": (
                        f"{who}: {either} calls to premium destinations or out of hours "
                        f"({premium} premium, {late} {hours}), more than the "
                        f"{loc.alert_calls} allowed (Locations › Alert Calls): the signs of "
                        "toll fraud, or of a code mapped to the wrong account; check before "
                        "approving"
                    ),
                }
            )
    return out
