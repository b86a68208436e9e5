"""Invoices from Batch Sheet lines: one per account across the batches exported, numbered
and dated by the Books settings. Pure: the batches' lines and settings in, invoices out;
each accounting system's file is written from them (``processor.books.systems``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from processor.reference.books import BookSetting

ZERO = Decimal(0)


@dataclass(frozen=True)
class BatchLines:
    """One batch's part of an export: its id, date, period and Batch Sheet lines."""

    batch_id: str
    batch_date: dt.date
    period: tuple[dt.date, dt.date] | None
    lines: list[dict]  # account_id, account_name, product, description, quantity, net,
    # tax_rate, tax, gross, gl_code (as lines.parquet holds them)


@dataclass
class InvoiceLine:
    """A Batch Sheet line on an invoice."""

    batch_id: str
    product: str
    service: str  # the product's description (else its name)
    quantity: Decimal
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    gross: Decimal
    gl_code: str
    period: tuple[dt.date, dt.date] | None


@dataclass
class Invoice:
    """One account's invoice."""

    account_id: str
    account_name: str
    number: str = ""
    sequence: int | None = None  # the number a run of # stands for
    lines: list[InvoiceLine] = field(default_factory=list)

    def total(self, what: str) -> Decimal:
        """Net, tax or gross: the sum of the lines' (each as the Batch Sheet has it)."""
        return sum((getattr(ln, what) for ln in self.lines), ZERO)


def invoices(batches: list[BatchLines]) -> list[Invoice]:
    """One invoice per account, by Account ID; its lines in the batches' order, then by
    product. A line of zero is not invoiced (the Batch Sheet lists it apart)."""
    out: dict[str, Invoice] = {}
    for b in batches:
        for ln in b.lines:
            if ln["net"] == 0:
                continue
            inv = out.setdefault(ln["account_id"], Invoice(ln["account_id"], ln["account_name"]))
            inv.lines.append(
                InvoiceLine(
                    b.batch_id,
                    ln["product"],
                    ln.get("description") or ln["product"],
                    ln["quantity"],
                    ln["net"],
                    ln["tax_rate"],
                    ln["tax"],
                    ln["gross"],
                    ln.get("gl_code") or "",
                    b.period,
                )
            )
    return [out[k] for k in sorted(out)]


_HASHES = re.compile(r"#+")
_TOKEN = re.compile(r"\{(date|account)\}", re.IGNORECASE)


def invoice_number(pattern: str, date: dt.date, account_id: str, sequence: int | None) -> str:
    """The pattern with {date} as YYYYMMDD, {account} as the Account ID and a run of # as
    the sequence number, zero-padded to the run's length (never cut)."""
    values = {"date": f"{date:%Y%m%d}", "account": account_id}
    text = _TOKEN.sub(lambda m: values[m.group(1).casefold()], pattern)
    if sequence is not None:
        text = _HASHES.sub(lambda m: str(sequence).zfill(len(m.group(0))), text, count=1)
    return text


def number(
    found: list[Invoice],
    setting: BookSetting,
    date: dt.date,
    start: int,
    again: dict[str, tuple[str, int | None]] | None = None,
) -> None:
    """Give each invoice its number: ``again`` (Account ID → the number it had in the
    export being repeated) first, then the pattern, counting from ``start`` in Account ID
    order where it takes a number."""
    seq = start
    for inv in found:
        if again and inv.account_id in again:
            inv.number, inv.sequence = again[inv.account_id]
            continue
        inv.sequence = seq if setting.numbered else None
        inv.number = invoice_number(setting.pattern, date, inv.account_id, inv.sequence)
        if setting.numbered:
            seq += 1


def quantity_text(q: Decimal) -> str:
    """A quantity as people write it: 1,234 or 12.5."""
    q = Decimal(q)
    if q == q.to_integral_value():
        return f"{int(q):,}"
    return f"{q.normalize():,f}"


def date_text(d: dt.date, month_first: bool) -> str:
    """DD/MM/YYYY, or MM/DD/YYYY for a US organisation."""
    return f"{d:%m/%d/%Y}" if month_first else f"{d:%d/%m/%Y}"


def description(line: InvoiceLine, month_first: bool) -> str:
    """What a client reads on the invoice line: the service, its quantity (the line is
    written as 1 × its net) and the period it covers."""
    text = f"{line.service} x {quantity_text(line.quantity)}"
    if line.period:
        start, end = (date_text(d, month_first) for d in line.period)
        text += f", {start}" if start == end else f", {start} to {end}"
    return text


def money_text(value: Decimal, places: int) -> str:
    """An amount as the file holds it: no separators, the currency's places."""
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"
