"""What every accounting system's invoice file has in common: its limits, how a row is
written, and the checks that refuse a file the system would not take."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from processor.books.invoices import Invoice, InvoiceLine, date_text, money_text
from processor.outputs.xlsx.workbook import CSV_FORMULA_STARTS as FORMULA_STARTS
from processor.reference.books import Books, BookSetting


def safe_text(value: str) -> str:
    """Text that no spreadsheet opening the file can run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@dataclass(frozen=True)
class Context:
    """What the rows of one export are written with."""

    currency: str
    places: int
    location: str
    invoice_date: dt.date
    due_date: dt.date
    setting: BookSetting
    books: Books

    def date(self, d: dt.date) -> str:
        return date_text(d, self.setting.month_first)

    def money(self, value) -> str:
        return money_text(value, self.places)


class BooksFile:
    """One accounting system's invoice import file. Subclasses set the class attributes
    and write ``rows``; the export checks ``problems`` before anything is written."""

    name: str = ""  # charges export --to NAME
    title: str = ""  # the System on the Books sheet
    header: tuple[str, ...] = ()
    max_invoices: int | None = None  # per file: more are split into parts
    max_rows: int | None = None  # data rows per file (an invoice is never split)
    max_places: int | None = 2  # decimal places the system keeps
    number_length: int | None = None  # characters an invoice number may have
    customer_length: int | None = None
    negative_invoices: bool = False  # takes an invoice whose total is below zero
    needs_account_code: bool = False  # a line must name a sales account

    def customer(self, inv: Invoice, books: Books) -> str:
        """The customer as the system knows it: Customer in Books, else the name."""
        return books.customer(inv.account_id, inv.account_name)

    def account_code(self, line: InvoiceLine, ctx: Context) -> str:
        return ctx.books.gl_code(self.title, line.gl_code)

    def tax_code(self, line: InvoiceLine, ctx: Context) -> str:
        return ctx.books.tax_code(self.title, line.tax_rate)

    def rows(self, inv: Invoice, ctx: Context) -> list[list[str]]:
        raise NotImplementedError

    def problems(self, found: list[Invoice], ctx: Context) -> list[str]:
        """Why the system would refuse the file (empty: it takes it)."""
        out = []
        if self.max_places is not None and ctx.places > self.max_places:
            out.append(
                f"{self.title} keeps amounts to {self.max_places} decimal places, and "
                f"{ctx.currency} has {ctx.places}: export these batches with --to lines"
            )
        for inv in found:
            who = f"account {inv.account_id} ({inv.account_name})"
            if not self.negative_invoices and inv.total("gross") < 0:
                out.append(
                    f"{who}: its invoice totals {ctx.money(inv.total('gross'))} "
                    f"{ctx.currency}, below zero, and {self.title} imports no invoice below "
                    "zero: raise a credit note for it in the accounting system, then export "
                    "the other batches, or export with --to lines"
                )
            if self.number_length and len(inv.number) > self.number_length:
                out.append(
                    f"{who}: invoice number {inv.number} has {len(inv.number)} characters; "
                    f"{self.title} takes at most {self.number_length}: shorten the Invoice "
                    f"Number of {self.title} on the Books sheet (accounts.xlsx)"
                )
            name = self.customer(inv, ctx.books)
            if self.customer_length and len(name) > self.customer_length:
                out.append(
                    f"{who}: {self.title} knows a customer by a reference of at most "
                    f"{self.customer_length} characters, and {name} has {len(name)}: fill in "
                    "the account's Customer in Books (Accounts sheet, accounts.xlsx)"
                )
            if self.needs_account_code:
                for line in inv.lines:
                    if not self.account_code(line, ctx):
                        out.append(
                            f"{who}: product {line.product} has no GL Code, and {self.title} "
                            "needs an account code on every line: fill in its GL Code on the "
                            "Products sheet (devices.xlsx)"
                        )
        return list(dict.fromkeys(out))

    def warnings(self, found: list[Invoice], ctx: Context) -> list[str]:
        """What the user should check in the system before importing."""
        return []
