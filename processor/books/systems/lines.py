"""A plain CSV of the invoices, for any other system: every line with its real quantity,
net, tax and gross, and the invoice's number, customer and dates."""

from __future__ import annotations

from processor.books.invoices import Invoice
from processor.books.systems.base import BooksFile, Context, safe_text


class Lines(BooksFile):
    name = "lines"
    title = "Lines"
    header = (
        "Invoice Number",
        "Account ID",
        "Customer",
        "Invoice Date",
        "Due Date",
        "Batch ID",
        "Product",
        "Description",
        "Quantity",
        "Net",
        "Tax Rate %",
        "Tax",
        "Gross",
        "Tax Code",
        "Account Code",
        "Currency",
    )
    max_places = None
    negative_invoices = True

    def rows(self, inv: Invoice, ctx: Context) -> list[list[str]]:
        return [
            [
                safe_text(inv.number),
                safe_text(inv.account_id),
                safe_text(self.customer(inv, ctx.books)),
                ctx.date(ctx.invoice_date),
                ctx.date(ctx.due_date),
                line.batch_id,
                safe_text(line.product),
                safe_text(line.service),
                f"{line.quantity.normalize():f}",
                ctx.money(line.net),
                f"{line.tax_rate.normalize():f}",
                ctx.money(line.tax),
                ctx.money(line.gross),
                safe_text(self.tax_code(line, ctx)),
                safe_text(self.account_code(line, ctx)),
                ctx.currency,
            ]
            for line in inv.lines
        ]
