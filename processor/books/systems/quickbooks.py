"""QuickBooks Online's invoice import (Settings › Import data › Invoices): the columns
its import maps by name. Each line is 1 × the line's net (ItemRate and ItemAmount), so
QuickBooks' line amount is the Batch Sheet's net exactly, and ItemTaxAmount gives the
line's tax as the Batch Sheet rounded it; at most 100 invoices and 1,000 rows a file."""

from __future__ import annotations

from processor.books.invoices import Invoice, description
from processor.books.systems.base import BooksFile, Context, safe_text


class QuickBooks(BooksFile):
    name = "quickbooks"
    title = "QuickBooks"
    header = (
        "InvoiceNo",
        "Customer",
        "InvoiceDate",
        "DueDate",
        "Item(Product/Service)",
        "ItemDescription",
        "ItemQuantity",
        "ItemRate",
        "ItemAmount",
        "ItemTaxCode",
        "ItemTaxAmount",
    )
    max_invoices = 100
    max_rows = 1000
    number_length = 21

    def rows(self, inv: Invoice, ctx: Context) -> list[list[str]]:
        customer = safe_text(self.customer(inv, ctx.books))
        return [
            [
                safe_text(inv.number),
                customer,
                ctx.date(ctx.invoice_date),
                ctx.date(ctx.due_date),
                safe_text(line.product),
                safe_text(description(line, ctx.setting.month_first)),
                "1",
                ctx.money(line.net),
                ctx.money(line.net),
                safe_text(self.tax_code(line, ctx)),
                ctx.money(line.tax),
            ]
            for line in inv.lines
        ]
