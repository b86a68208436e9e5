"""Xero's sales invoice import (Business › Invoices › Import): its own CSV template's
columns, mandatory ones marked with * as the template marks them. Amounts are tax
exclusive (choose "Tax Exclusive" when importing). Each line is 1 × the line's net, so
Xero's line amount is the Batch Sheet's net exactly, and TaxAmount gives the line's tax as
the Batch Sheet rounded it; at most 500 invoices a file."""

from __future__ import annotations

from processor.books.invoices import Invoice, description
from processor.books.systems.base import BooksFile, Context, safe_text


class Xero(BooksFile):
    name = "xero"
    title = "Xero"
    header = (
        "*ContactName",
        "EmailAddress",
        "POAddressLine1",
        "POAddressLine2",
        "POAddressLine3",
        "POAddressLine4",
        "POCity",
        "PORegion",
        "POPostalCode",
        "POCountry",
        "*InvoiceNumber",
        "Reference",
        "*InvoiceDate",
        "*DueDate",
        "Total",
        "InventoryItemCode",
        "*Description",
        "*Quantity",
        "*UnitAmount",
        "Discount",
        "*AccountCode",
        "*TaxType",
        "TaxAmount",
        "TrackingName1",
        "TrackingOption1",
        "TrackingName2",
        "TrackingOption2",
        "Currency",
        "BrandingTheme",
    )
    max_invoices = 500
    number_length = 255
    needs_account_code = True

    def rows(self, inv: Invoice, ctx: Context) -> list[list[str]]:
        contact = safe_text(self.customer(inv, ctx.books))
        out = []
        for line in inv.lines:
            cells = dict.fromkeys(self.header, "")
            cells.update(
                {
                    "*ContactName": contact,
                    "*InvoiceNumber": safe_text(inv.number),
                    "Reference": safe_text(ctx.location),
                    "*InvoiceDate": ctx.date(ctx.invoice_date),
                    "*DueDate": ctx.date(ctx.due_date),
                    "*Description": safe_text(description(line, ctx.setting.month_first)),
                    "*Quantity": "1",
                    "*UnitAmount": ctx.money(line.net),
                    "*AccountCode": safe_text(self.account_code(line, ctx)),
                    "*TaxType": safe_text(self.tax_code(line, ctx)),
                    "TaxAmount": ctx.money(line.tax),
                    "Currency": ctx.currency,
                }
            )
            out.append([cells[h] for h in self.header])
        return out

    def warnings(self, found: list[Invoice], ctx: Context) -> list[str]:
        if not any(k[0] in ("", "xero") for k in ctx.books.tax_codes):
            return [
                "Xero names a tax rate by its display name, e.g. 20% (VAT on Income); the "
                "rates are written as 20% etc. unless the Tax Codes sheet names them"
            ]
        return []
