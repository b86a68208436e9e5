"""Sage 50 Accounts' audit trail transactions import (File › Import › Audit Trail
Transactions): one row per Batch Sheet line, an SI (sales invoice) row, or an SC (sales
credit) row with positive amounts for a line below zero. Sage takes Net Amount and Tax
Amount as written, so each invoice (the rows sharing its Reference) totals the Batch Sheet's
lines exactly."""

from __future__ import annotations

from processor.books.invoices import Invoice, quantity_text
from processor.books.systems.base import BooksFile, Context, safe_text

DETAILS = 60  # characters Sage 50 keeps of Details


class Sage50(BooksFile):
    name = "sage50"
    title = "Sage 50"
    header = (
        "Type",
        "Account Reference",
        "Nominal A/C Ref",
        "Department Code",
        "Date",
        "Reference",
        "Details",
        "Net Amount",
        "Tax Code",
        "Tax Amount",
        "Exchange Rate",
        "Extra Reference",
        "User Name",
        "Project Refn",
        "Cost Code Refn",
    )
    number_length = 30
    customer_length = 8
    negative_invoices = True  # a credit line is an SC row of its own
    needs_account_code = True

    def customer(self, inv: Invoice, books) -> str:
        return books.customer(inv.account_id, inv.account_id).upper()

    def rows(self, inv: Invoice, ctx: Context) -> list[list[str]]:
        out = []
        for line in inv.lines:
            credit = line.net < 0
            details = f"{line.service} x {quantity_text(line.quantity)}"
            out.append(
                [
                    "SC" if credit else "SI",
                    safe_text(self.customer(inv, ctx.books)),
                    safe_text(self.account_code(line, ctx)),
                    "",
                    ctx.date(ctx.invoice_date),
                    safe_text(inv.number),
                    safe_text(details[:DETAILS]),
                    ctx.money(-line.net if credit else line.net),
                    safe_text(self.tax_code(line, ctx)),
                    ctx.money(-line.tax if credit else line.tax),
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
        return out

    def warnings(self, found: list[Invoice], ctx: Context) -> list[str]:
        codes = {self.tax_code(ln, ctx) for inv in found for ln in inv.lines}
        odd = sorted(c for c in codes if not (c[:1] in "Tt" and c[1:].isdigit()))
        if odd:
            return [
                f"Sage 50 takes tax codes T0 to T99, and these lines have {', '.join(odd)}: "
                "name each rate's T code on the Tax Codes sheet (accounts.xlsx) before "
                "importing the file"
            ]
        return []
