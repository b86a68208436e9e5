"""The Batch Sheet: billed charges summed into one line per account × product.

Pure arithmetic, shared by every step that writes a batch. A line's net is the sum of
its charges' rounded nets. Its tax follows the location's Tax Rounding: ``Per Line``
rounds the line's net × rate once (as the bill run invoices it); ``Per Charge`` adds up
the charges' rounded taxes. Gross is always net + tax, and every total is a sum of lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from processor.rating.tax import PER_CHARGE, tax_on
from processor.reference.records import Product
from schemas.checks import key

ZERO = Decimal(0)
INCLUDED = ("included_quantity", "included_amount")
LINE_FIELDS = (
    "account_id",
    "account_name",
    "product",
    "description",
    "quantity",
    "net",
    "tax_rate",
    "tax",
    "gross",
    "gl_code",
    "rows",
    "included_quantity",
    "included_amount",
)


@dataclass
class BatchSheet:
    """Accumulates billed chunks; ``lines()`` gives the Batch Sheet."""

    products: dict[str, Product]
    places: int
    tax_rounding: str
    _lines: dict[tuple[str, str], dict] = field(default_factory=dict)
    credit_rows: int = 0
    credit_net: Decimal = ZERO

    @property
    def per_charge(self) -> bool:
        return self.tax_rounding == PER_CHARGE

    def add(self, billed: pd.DataFrame) -> None:
        """Add billed rows (account_id, account_name, product, quantity, net, tax, tax_rate)."""
        if not len(billed):
            return
        groups = billed.groupby(["account_id", "product"], sort=False)
        first = groups[["account_name", "tax_rate"]].first()
        sums = groups[["quantity", "net", "tax", *INCLUDED]].sum(min_count=1)
        counts = groups.size()
        for (account_id, product), name, rate, q, net, tax, inc_q, inc_a, rows in zip(
            first.index,
            first["account_name"],
            first["tax_rate"],
            sums["quantity"],
            sums["net"],
            sums["tax"],
            sums["included_quantity"],
            sums["included_amount"],
            counts,
            strict=True,
        ):
            line = self._lines.get((account_id, product))
            if line is None:
                p = self.products[key(product)]
                line = self._lines[(account_id, product)] = {
                    "tariff": p.pricing == "tariff",
                    "account_id": account_id,
                    "account_name": name,
                    "product": p.name,
                    "description": p.description,
                    "gl_code": p.gl_code,
                    "tax_rate": rate,
                    "quantity": ZERO,
                    "net": ZERO,
                    "charge_tax": ZERO,
                    "rows": 0,
                    "included_quantity": ZERO,
                    "included_amount": ZERO,
                }
            line["quantity"] += q
            line["net"] += net
            line["rows"] += int(rows)
            line["included_quantity"] += inc_q
            line["included_amount"] += inc_a
            if self.per_charge:
                line["charge_tax"] += tax
        credit = (billed["net"] < 0).to_numpy(dtype=bool)
        if credit.any():
            self.credit_rows += int(credit.sum())
            net = sum(billed["net"][credit], ZERO)
            self.credit_net += net.quantize(Decimal(1).scaleb(-self.places))

    def lines(self) -> list[dict]:
        """The Batch Sheet lines, by account then product, with tax and gross."""
        out = []
        unit = Decimal(1).scaleb(-self.places)
        for _, line in sorted(self._lines.items()):
            # sums of rounded figures are exact at the minor unit: quantize only sets the scale
            net = line["net"].quantize(unit)
            tax = (
                line["charge_tax"].quantize(unit)
                if self.per_charge
                else tax_on(net, line["tax_rate"], self.places)
            )
            out.append(
                {
                    **{k: line[k] for k in LINE_FIELDS if k in line},
                    "tariff": line["tariff"],
                    "net": net,
                    "tax": tax,
                    "gross": net + tax,
                }
            )
        return out

    @staticmethod
    def totals(lines: list[dict]) -> dict[str, Decimal]:
        """Net, tax and gross: sums of the lines' rounded figures."""
        return {k: sum((ln[k] for ln in lines), ZERO) for k in ("net", "tax", "gross")}

    def credits(self) -> dict:
        """Billed credits (charges with a negative net): rows and net."""
        return {"rows": self.credit_rows, "net": self.credit_net}


def minutes_seconds(seconds: Decimal) -> str:
    """Billable seconds as minutes and seconds (90 → 1:30)."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def included_shown(line: dict) -> object:
    """What a line's charges had included: a Tariff line's seconds as minutes and
    seconds, else the quantity; None when nothing was."""
    q = line.get("included_quantity", ZERO)
    if not q:
        return None
    return minutes_seconds(q) if line.get("tariff") else q


def used_allowance(line: dict) -> bool:
    return bool(line.get("included_quantity") or line.get("included_amount"))


def sheet_rows(lines: list[dict], batch_date: dt.date) -> list[list]:
    """The Batch Sheet's rows as batch.xlsx shows them: every line with a net (a line of
    zero is nothing to invoice, and is listed apart: ``included_rows``, ``zero_rows``)."""
    return [
        [
            ln["account_id"],
            ln["account_name"],
            ln["product"],
            ln["description"],
            ln["quantity"],
            ln["net"],
            ln["tax_rate"],
            ln["tax"],
            ln["gross"],
            ln["gl_code"],
            batch_date,
            included_shown(ln),
            ln.get("included_amount") or None,
        ]
        for ln in lines
        if ln["net"] != 0
    ]


def included_rows(lines: list[dict]) -> list[list]:
    """The Included sheet: lines whose net is zero because an allowance covered them."""
    return [
        [
            ln["account_id"],
            ln["account_name"],
            ln["product"],
            included_shown(ln),
            ln.get("included_amount", ZERO),
        ]
        for ln in lines
        if ln["net"] == 0 and used_allowance(ln)
    ]


def zero_rows(lines: list[dict]) -> list[list]:
    """The Zero Lines sheet: lines priced at zero with no allowance (Can Be Zero Price)."""
    return [
        [ln["account_id"], ln["account_name"], ln["product"], ln["quantity"], ln["rows"]]
        for ln in lines
        if ln["net"] == 0 and not used_allowance(ln)
    ]
