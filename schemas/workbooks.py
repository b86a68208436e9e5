"""The workbook contract: one pandera schema per sheet.

These schemas are the single source of truth. The validator runs them, the
template writer (``charges init``) builds headers, comments, text formats and
drop-downs from them, and the README's workbook reference is generated from
them (``python -m processor docs``).

Column metadata keys:
    kind: how the cell is read (text, code, id, number, money, percent, integer,
        date, choice, currency, column, delimiter, encoding, date-format, fields).
    ref: the sheet whose first column this column must name (drop-down and
        cross-sheet check).
    choices: allowed values of a choice column (drop-down and check).
    label: how messages name a value of this column ("code", "Account ID").
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

from schemas import checks

YES_NO = ["Yes", "No"]
STATUSES = ["Active", "Inactive"]
PRICINGS = ["Cost Plus", "Unit Price", "Tariff"]
TAX_ROUNDINGS = ["Per Line", "Per Charge"]
FALL_BACKS = ["When Empty", "When Unmatched"]
DECIMAL_SEPARATORS = [".", ","]
FILE_TYPES = ["CSV", "Excel"]
# the accounting systems `charges export` writes for, as the Books sheets name them
BOOKS_SYSTEMS = ["Xero", "QuickBooks", "Sage 50", "Lines"]
DATE_ORDERS = ["DD/MM/YYYY", "MM/DD/YYYY"]

ACCOUNTS_BOOK = "accounts.xlsx"
DEVICES_BOOK = "devices.xlsx"

_KIND_CHECKS = {
    "code": lambda: [checks.letters_digits(), checks.stored_as_text()],
    "login": lambda: [checks.login_characters(), checks.stored_as_text()],
    "id": lambda: [checks.letters_digits()],
    "number": lambda: checks.number(minimum=None),
    "money": lambda: checks.number(minimum=0),
    "percent": checks.percent,
    "integer": lambda: [checks.whole_number()],
    "date": lambda: [checks.date()],
    "currency": lambda: [checks.currency()],
    "column": lambda: [checks.column_ref()],
    "delimiter": lambda: [checks.delimiter()],
    "encoding": lambda: [checks.encoding()],
    "date-format": lambda: [checks.date_format()],
    "timezone": lambda: [checks.time_zone()],
    "days": lambda: [checks.days()],
    "clock": lambda: [checks.clock()],
    "quantity": lambda: checks.number(minimum=0),
    "invoice-number": lambda: [checks.invoice_number()],
}


def col(
    header: str,
    kind: str,
    description: str,
    *,
    required: bool = False,
    unique: bool = False,
    ref: str | None = None,
    choices: list[str] | None = None,
    label: str | None = None,
    width: int = 16,
    percent_cells: bool = False,
) -> pa.Column:
    """Declare one workbook column: its checks come from its kind."""
    # a formula error (#REF!, #N/A) is named as such, whatever the column
    found = [checks.no_formula_error(), *_KIND_CHECKS.get(kind, list)()]
    if choices:
        found.append(checks.choice(choices))
    if unique:
        found.append(checks.unique())
    return pa.Column(
        None,  # raw cells are mixed types; the checks read them
        checks=found,
        nullable=not required,
        name=header,
        title=header,
        description=description,
        metadata={
            "kind": kind,
            "required": required,
            "ref": ref,
            "choices": choices,
            "label": label or header,
            "width": width,
            # a cell Excel shows as 20 % holds 0.2: read it as 20
            "percent_cells": percent_cells or kind == "percent",
        },
    )


def sheet(
    name: str, workbook: str, description: str, *columns: pa.Column, optional: bool = False
) -> pa.DataFrameSchema:
    """A sheet's contract; an ``optional`` sheet may be missing from a workbook made
    before it existed (it is read as empty)."""
    return pa.DataFrameSchema(
        {c.name: c for c in columns},
        name=name,
        description=description,
        metadata={"workbook": workbook, "optional": optional},
        strict=False,  # extra columns are allowed and ignored
    )


LOCATIONS = sheet(
    "Locations",
    ACCOUNTS_BOOK,
    "The sites you bill from. Each import is for one location.",
    col(
        "Location",
        "text",
        "The location's name, as you choose it on the command line.",
        required=True,
        unique=True,
        width=22,
    ),
    col(
        "Currency",
        "currency",
        "ISO 4217 code of the currency you bill in, e.g. GBP.",
        required=True,
        width=10,
    ),
    col(
        "Tax Rate %",
        "percent",
        "Default tax (VAT) rate for this location, e.g. 20 for 20%.",
        required=True,
        width=12,
    ),
    col(
        "Tax Rounding",
        "choice",
        "Per Line: the tax of each Batch Sheet line is its net × rate, rounded once, as the "
        "bill run invoices it. Per Charge: each charge's tax is rounded and the line adds them "
        "up. Blank = Per Line.",
        choices=TAX_ROUNDINGS,
        width=12,
    ),
    col(
        "Time Zone",
        "timezone",
        "Optional: the location's IANA time zone, e.g. Europe/London. Timestamps written with "
        "an offset or Z are converted to it. Blank = their wall-clock time is kept.",
        width=16,
    ),
    col(
        "Operator Name",
        "text",
        "Optional: who bills from this location, as client statements head it (your "
        "company's name). Blank = the location's name.",
        width=24,
    ),
    col(
        "Operator Address",
        "text",
        "Optional: the address under the operator's name on client statements; separate "
        "its lines with commas or line breaks.",
        width=36,
    ),
    col(
        "Alert Jump",
        "number",
        "Spend alert: flag an account whose net in a batch is more than this many times its "
        "monthly average over the previous three months. Blank = 3; 0 = no such alert.",
        width=10,
    ),
    col(
        "Alert Calls",
        "integer",
        "Toll-fraud alert: flag an account with more than this many calls in a batch to "
        "premium destinations or out of hours. Blank = 10.",
        width=10,
    ),
    col(
        "Out Of Hours Band",
        "text",
        "The time band (from Time Bands) that is out of hours for the toll-fraud alert. "
        "Blank = 20:00 to 07:00.",
        ref="Time Bands",
        width=14,
    ),
)

ACCOUNTS = sheet(
    "Accounts",
    ACCOUNTS_BOOK,
    "Customer accounts that charges are billed to.",
    col(
        "Account ID",
        "id",
        "The account's ID in your billing system: letters and digits only.",
        required=True,
        unique=True,
        width=14,
    ),
    col(
        "Account Name",
        "text",
        "The customer's name, as shown on the batch sheet.",
        required=True,
        width=30,
    ),
    col(
        "Location",
        "text",
        "The location the account belongs to (from Locations).",
        required=True,
        ref="Locations",
        width=22,
    ),
    col(
        "Status",
        "choice",
        "Active accounts are billed; Inactive ones are reported, not billed.",
        required=True,
        choices=STATUSES,
        width=10,
    ),
    col("Start Date", "date", "Optional: charges dated before this day are not billed.", width=12),
    col("End Date", "date", "Optional: charges dated after this day are not billed.", width=12),
    col(
        "Plan",
        "text",
        "Optional: the plan (from Plans) whose allowances the account has each month.",
        ref="Plans",
        width=14,
    ),
    col(
        "Customer in Books",
        "text",
        "Optional: the customer as your accounting system knows it (charges export): the "
        "contact's name in Xero and QuickBooks, the A/C reference in Sage 50. Blank = the "
        "Account Name (Sage 50: the Account ID).",
        width=24,
    ),
    col(
        "Alert Above",
        "money",
        "Optional: flag this account on the batch before approval when its net in a batch is "
        "above this amount.",
        width=12,
    ),
)


ACCOUNT_PRICES = sheet(
    "Account Prices",
    ACCOUNTS_BOOK,
    "An account's own prices for a product: only the differences (a blank cell keeps the "
    "product's value), one row per account and product.",
    col("Account ID", "id", "The account (from Accounts).", required=True, ref="Accounts",
        width=14),
    col("Product", "text", "The product (from Products in devices.xlsx).", required=True,
        ref="Products", width=14),
    col("Unit Price", "money", "Optional: this account's Unit Price.", width=11),
    col("Markup %", "number", "Optional: this account's Markup %.", width=10,
        percent_cells=True),
    col("Markup Fixed", "number", "Optional: this account's Markup Fixed.", width=12),
    col("Minimum Charge", "money", "Optional: this account's Minimum Charge.", width=14),
    col("Maximum Charge", "money", "Optional: this account's Maximum Charge.", width=14),
    col("Tariff", "text", "Optional: the tariff this account's calls are rated on.",
        ref="Tariffs", width=12),
    col("Discount %", "percent", "Optional: taken off the price before the Minimum and "
        "Maximum Charge, e.g. 10.", width=10),
    optional=True,
)  # fmt: skip


PLANS = sheet(
    "Plans",
    ACCOUNTS_BOOK,
    "What a plan includes each calendar month, per product: a quantity or an amount (one "
    "of the two), one row per plan and product.",
    col("Plan", "text", "The plan's name, given to accounts on the Accounts sheet.",
        required=True, width=16),
    col("Product", "text", "The product (from Products in devices.xlsx).", required=True,
        ref="Products", width=14),
    col("Included Quantity", "quantity", "Units included a month: pages, or minutes for Tariff "
        "products (whole seconds: 1.5 is fine, 1.01 is not).", width=12),
    col("Included Amount", "money", "Or: an amount of the product's charges included a "
        "month, in the location's currency.", width=12),
    optional=True,
)  # fmt: skip


def code_dates() -> tuple:
    """From and To: the days a code belongs to its account (a code that changes hands)."""
    return (
        col(
            "From",
            "date",
            "Optional: the first day the code belongs to this account (blank: always before).",
            width=12,
        ),
        col(
            "To",
            "date",
            "Optional: the last day the code belongs to this account (blank: from then on). "
            "The same code may belong to another account on other days.",
            width=12,
        ),
    )


ACCOUNT_CODES = sheet(
    "Account Codes",
    ACCOUNTS_BOOK,
    "Codes that identify an account in an application's exports (one row per code).",
    col(
        "Account ID",
        "id",
        "The account the code belongs to (from Accounts).",
        required=True,
        ref="Accounts",
        width=14,
    ),
    col(
        "Application",
        "text",
        "The application (device) whose exports carry the code "
        "(from Applications in devices.xlsx).",
        required=True,
        ref="Applications",
        width=22,
    ),
    col(
        "Code",
        "code",
        "The code as the device writes it: letters and digits only. "
        "Format as Text so leading zeros stay.",
        required=True,
        label="code",
        width=14,
    ),
    *code_dates(),
)

APPLICATIONS = sheet(
    "Applications",
    DEVICES_BOOK,
    "The external applications or devices whose exports you import.",
    col(
        "Application",
        "text",
        "A name for the device or application, e.g. Reception PBX.",
        required=True,
        unique=True,
        width=22,
    ),
    col(
        "Format",
        "text",
        "How its exports are laid out: a built-in format name "
        "(charges formats lists them) or one defined on the Formats sheet.",
        required=True,
        ref="Formats",
        width=22,
    ),
    col(
        "Product",
        "text",
        "The product billed for its rows unless a Product Rule picks another.",
        required=True,
        ref="Products",
        width=18,
    ),
    col(
        "Match On",
        "fields",
        "Optional: the export fields that carry the code, in order of "
        "preference, separated by commas (e.g. accountcode, src). Blank = the format's default.",
        width=24,
    ),
    col(
        "Fall Back",
        "choice",
        "When the next Match On field is tried. When Empty: only when this one is empty, so a "
        "code that is there but matches no account is reported, never billed to whoever owns "
        "the next field. When Unmatched: also when this one matches nothing here. Blank = "
        "When Empty.",
        choices=FALL_BACKS,
        width=14,
    ),
)

DEVICE_IMPORT_MAPS = sheet(
    "Device Import Maps",
    DEVICES_BOOK,
    "Codes mapped to accounts for one application at one location "
    "(e.g. extensions or print logins).",
    col(
        "Application",
        "text",
        "The application whose exports carry the code.",
        required=True,
        ref="Applications",
        width=22,
    ),
    col(
        "Location",
        "text",
        "The location the mapping applies to (from Locations in accounts.xlsx).",
        required=True,
        ref="Locations",
        width=22,
    ),
    col(
        "Code",
        "login",
        "The code as the device writes it: letters, digits and . - _ @ (a print login such "
        "as j.smith or jsmith@example.com, a badge id such as badge-0042). Format as Text so "
        "leading zeros stay.",
        required=True,
        label="code",
        width=14,
    ),
    col(
        "Account ID",
        "id",
        "The account billed for this code (from Accounts in accounts.xlsx).",
        required=True,
        ref="Accounts",
        width=14,
    ),
    *code_dates(),
)

PRODUCTS = sheet(
    "Products",
    DEVICES_BOOK,
    "What a charge is billed as, and how it is priced.",
    col(
        "Product",
        "text",
        "The product code in your billing system.",
        required=True,
        unique=True,
        width=18,
    ),
    col(
        "Description",
        "text",
        "The product's description on the batch sheet.",
        required=True,
        width=28,
    ),
    col(
        "Pricing",
        "choice",
        "Cost Plus: device cost with markup. Unit Price: quantity × Unit Price. "
        "Tariff: call duration rated on a tariff.",
        required=True,
        choices=PRICINGS,
        width=12,
    ),
    col("Unit Price", "money", "Price per unit (page, call...) for Unit Price products.", width=11),
    col(
        "Markup %",
        "number",
        "Cost Plus: percentage added to the device's cost, e.g. 15 (a cell formatted as a "
        "percentage, 15 %, is read as 15).",
        width=10,
        percent_cells=True,
    ),
    col("Markup Fixed", "number", "Cost Plus: fixed amount added to each charge.", width=12),
    col("Minimum Charge", "money", "Optional: the least a single charge is billed at.", width=14),
    col(
        "Tax Rate %",
        "percent",
        "Optional: tax rate for this product; blank = the location's rate.",
        width=11,
    ),
    col("GL Code", "text", "Optional: general ledger code shown on the batch sheet.", width=10),
    col(
        "Tariff",
        "text",
        "Tariff products: the tariff that rates the calls (from Tariffs).",
        ref="Tariffs",
        width=14,
    ),
    col(
        "Can Be Zero Price",
        "choice",
        "Yes if a charge of 0.00 may be billed; No (default) "
        "reports it instead, since a zero line blocks the bill run.",
        choices=YES_NO,
        width=10,
    ),
    col(
        "Maximum Charge",
        "money",
        "Optional: the most a single charge that is not a credit is billed at.",
        width=14,
    ),
    col(
        "Free Seconds",
        "integer",
        "Optional, Tariff products: a call of this many seconds or fewer is free (skipped as "
        "free-call, never billed).",
        width=10,
    ),
)

PRODUCT_RULES = sheet(
    "Product Rules",
    DEVICES_BOOK,
    "An export row's item (mono/colour, a call type), paper size and duplex pick its "
    "product: a rule matches when each of them it names equals the row's, and the rule "
    "naming the most wins.",
    col(
        "Application",
        "text",
        "The application the rule applies to.",
        required=True,
        ref="Applications",
        width=22,
    ),
    col(
        "Item",
        "text",
        "Optional: the item value in the export, e.g. colour (compared without case).",
        width=14,
    ),
    col(
        "Product",
        "text",
        "The product billed for rows this rule matches.",
        required=True,
        ref="Products",
        width=18,
    ),
    col(
        "Paper Size",
        "text",
        "Optional: the job's paper size, e.g. A4, A3, Letter (a print log's long names such "
        "as iso_a3_297x420mm are read as A3).",
        width=12,
    ),
    col(
        "Duplex",
        "choice",
        "Optional: Yes for two-sided jobs, No for one-sided.",
        choices=YES_NO,
        width=8,
    ),
)

FORMATS = sheet(
    "Formats",
    DEVICES_BOOK,
    "Your own export layouts, for devices without a built-in format. Columns are named by "
    "header text, or by position (1 = first column).",
    col(
        "Format",
        "text",
        "A name for the layout, used in Applications › Format.",
        required=True,
        unique=True,
        width=18,
    ),
    col(
        "Delimiter",
        "delimiter",
        "Field separator: one character, or comma, semicolon, tab, pipe. Blank = comma.",
        width=10,
    ),
    col(
        "Encoding",
        "encoding",
        "Text encoding, e.g. utf-8 or cp1252. Blank = utf-8 "
        "(cp1252 is tried when a file is not UTF-8).",
        width=10,
    ),
    col(
        "Header Rows",
        "integer",
        "Lines (Excel: sheet rows) to skip before the data, including the header line "
        "and any title rows above it. Blank = 1 with a header, 0 without.",
        width=8,
    ),
    col(
        "Footer Rows",
        "integer",
        "Lines (Excel: sheet rows) to skip at the end of the file (totals). Blank = 0.",
        width=8,
    ),
    col(
        "Has Header",
        "choice",
        "Yes if the last skipped line holds column names. Blank = Yes.",
        choices=YES_NO,
        width=8,
    ),
    col("Code Column", "column", "The column holding the code.", required=True, width=12),
    col(
        "Date Column",
        "column",
        "The column holding the date (or date and time).",
        required=True,
        width=12,
    ),
    col(
        "Date Format",
        "date-format",
        "How dates are written, e.g. %d/%m/%Y %H:%M. Blank = ISO (2026-01-31 13:45:00).",
        width=16,
    ),
    col("Time Column", "column", "Optional: a separate column holding the time.", width=12),
    col("Description Column", "column", "Optional: text describing the charge.", width=12),
    col(
        "Quantity Column", "column", "Optional: units (pages, calls); blank = 1 per row.", width=12
    ),
    col("Cost Column", "column", "Optional: the device's cost of the row.", width=12),
    col("Duration Column", "column", "Optional: call duration in seconds or HH:MM:SS.", width=12),
    col("Destination Column", "column", "Optional: dialled number, for Tariff pricing.", width=12),
    col(
        "Item Column",
        "column",
        "Optional: the item that picks a product via Product Rules.",
        width=12,
    ),
    col(
        "Ignore Zero Values",
        "choice",
        "Yes to skip rows whose quantity and cost are both zero.",
        choices=YES_NO,
        width=10,
    ),
    col(
        "Decimal Separator",
        "choice",
        'The decimal separator of the numbers in the export: "." (1,234.50) or "," '
        '(1.234,50). Blank = ".".',
        choices=DECIMAL_SEPARATORS,
        width=10,
    ),
    col(
        "File Type",
        "choice",
        "CSV for a text export (any delimiter), Excel for a workbook (.xlsx, .xls, .ods): "
        "each sheet row is a line, numbered as the sheet numbers it. Blank = CSV.",
        choices=FILE_TYPES,
        width=9,
    ),
    col(
        "Sheet",
        "text",
        "Excel only: the sheet to read. Blank = the first.",
        width=12,
    ),
)

TARIFFS = sheet(
    "Tariffs",
    DEVICES_BOOK,
    "Call rates by destination prefix: the longest prefix that matches the dialled number wins.",
    col("Tariff", "text", "The tariff's name, used by Tariff products.", required=True, width=14),
    col(
        "Prefix",
        "code",
        "Dialled-number prefix, digits only, e.g. 44 or 0044 or 07.",
        required=True,
        label="prefix",
        width=10,
    ),
    col("Destination", "text", "The destination's name, e.g. UK mobile.", required=True, width=20),
    col("Rate Per Minute", "money", "Price per minute.", required=True, width=12),
    col("Connection Fee", "money", "Optional: added once per call.", width=12),
    col(
        "Minimum Seconds",
        "integer",
        "Optional: a shorter call is billed as this many seconds.",
        width=10,
    ),
    col(
        "Increment Seconds",
        "integer",
        "Optional: billed seconds round up to a multiple of this "
        "(e.g. 60 for per-minute billing). Blank = 1.",
        width=10,
    ),
    col(
        "Band",
        "text",
        "Optional: the time band (from Time Bands) this rate is for. Blank = any time; a row "
        "with the call's band wins over a blank one with a prefix as long.",
        ref="Time Bands",
        width=12,
    ),
    col(
        "Premium",
        "choice",
        "Yes for a premium-rate destination: calls to it count towards the toll-fraud alert "
        "(Locations › Alert Calls). Blank = No.",
        choices=YES_NO,
        width=10,
    ),
)

TIME_BANDS = sheet(
    "Time Bands",
    DEVICES_BOOK,
    "When each time band holds, on the location's clock: a call is rated in the band of its "
    "start. A band may have several rows.",
    col("Band", "text", "The band's name, e.g. Peak, Evening, Weekend.", required=True,
        width=14),
    col("Days", "days", "The days it holds: Mon, Tue, Wed, Thu, Fri, Sat, Sun and Holiday, "
        "separated by commas, and ranges such as Mon-Fri.", required=True, width=18),
    col("From", "clock", "The time it starts, HH:MM (inclusive).", required=True, width=8),
    col("To", "clock", "The time it ends, HH:MM (not included). At or before From: the band "
        "runs past midnight into the start of the same day; 00:00 to 00:00 is the whole day.",
        required=True, width=8),
    optional=True,
)  # fmt: skip

HOLIDAYS = sheet(
    "Holidays",
    DEVICES_BOOK,
    "Days rated as Holiday in Time Bands, whatever their weekday.",
    col("Date", "date", "The holiday.", required=True, width=12),
    col("Location", "text", "Optional: the location it is a holiday at (from Locations in "
        "accounts.xlsx). Blank = every location.", ref="Locations", width=22),
    optional=True,
)  # fmt: skip


BOOKS = sheet(
    "Books",
    ACCOUNTS_BOOK,
    "How `charges export` writes invoices for each accounting system: one row per system, "
    "every cell optional (a system with no row takes the defaults).",
    col("System", "choice", "The accounting system (charges export --to).", required=True,
        unique=True, choices=BOOKS_SYSTEMS, width=12),
    col("Invoice Number", "invoice-number", "The invoice number: {date} is the batch date as "
        "YYYYMMDD, {account} the Account ID, and a run of # the next number, zero-padded to "
        "its length (INV-#####). Blank = {date}-{account}.", width=22),
    col("Next Number", "integer", "With #: the first number to use; the history counts on "
        "from the last one exported. Blank = 1.", width=10),
    col("Days Until Due", "integer", "Days from the invoice date to its due date. Blank = 30.",
        width=10),
    col("Date Order", "choice", "How dates are written: MM/DD/YYYY for a US organisation. "
        "Blank = DD/MM/YYYY.", choices=DATE_ORDERS, width=12),
    optional=True,
)  # fmt: skip

TAX_CODES = sheet(
    "Tax Codes",
    ACCOUNTS_BOOK,
    "A tax rate as the accounting system names it: Xero's tax rate name, e.g. 20% (VAT on "
    "Income), QuickBooks' tax code, Sage 50's T code, e.g. T1. A rate with no row is "
    "written as the rate, e.g. 20%.",
    col("System", "choice", "The accounting system. Blank = every system.",
        choices=BOOKS_SYSTEMS, width=12),
    col("Tax Rate %", "percent", "The rate, as on Locations or Products, e.g. 20.",
        required=True, width=10),
    col("Code in Books", "text", "What the accounting system calls this rate.", required=True,
        width=24),
    optional=True,
)  # fmt: skip

GL_CODES = sheet(
    "GL Codes",
    ACCOUNTS_BOOK,
    "A product's GL Code as the accounting system's sales account: Xero's account code, "
    "Sage 50's nominal code. A GL Code with no row is written as it is.",
    col("System", "choice", "The accounting system. Blank = every system.",
        choices=BOOKS_SYSTEMS, width=12),
    col("GL Code", "text", "The GL Code, as on Products.", required=True, width=10),
    col("Code in Books", "text", "The account or nominal code the system books it to.",
        required=True, width=16),
    optional=True,
)  # fmt: skip


@dataclass(frozen=True)
class Workbook:
    """A workbook file and its sheets, in order."""

    filename: str
    sheets: tuple[pa.DataFrameSchema, ...]


WORKBOOKS: tuple[Workbook, ...] = (
    Workbook(
        ACCOUNTS_BOOK,
        (LOCATIONS, ACCOUNTS, ACCOUNT_CODES, ACCOUNT_PRICES, PLANS, BOOKS, TAX_CODES, GL_CODES),
    ),
    Workbook(
        DEVICES_BOOK,
        (
            APPLICATIONS,
            DEVICE_IMPORT_MAPS,
            PRODUCTS,
            PRODUCT_RULES,
            FORMATS,
            TARIFFS,
            TIME_BANDS,
            HOLIDAYS,
        ),
    ),
)

SHEETS: dict[str, pa.DataFrameSchema] = {s.name: s for wb in WORKBOOKS for s in wb.sheets}


def key_column(sheet_name: str) -> str:
    """The column other sheets refer to: the sheet's first column."""
    return next(iter(SHEETS[sheet_name].columns))
