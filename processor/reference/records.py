"""Reference data: the validated workbooks as typed lookups for one import.

Built only from sheets that passed validation, so conversions here cannot fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from processor.ingest.formats import registry
from processor.ingest.formats.base import Format
from processor.reference.books import Books, build_books
from processor.reference.reading import Sheet
from processor.reference.validation import split_fields
from schemas.checks import DAY_SECONDS, DELIMITER_NAMES, as_text, key, to_clock, to_days, to_decimal
from schemas.currencies import MINOR_UNITS
from schemas.money import QUANTUM


@dataclass(frozen=True)
class Location:
    """A row of the Locations sheet."""

    name: str
    currency: str
    tax_rate: Decimal
    tax_rounding: str  # "per line" | "per charge"
    time_zone: str | None  # IANA name, or None: wall-clock times are kept
    operator: str | None = None  # who bills from here, as statements head it
    address: str | None = None
    alert_jump: Decimal = Decimal(3)  # spend alerts (README "Spend alerts")
    alert_calls: int = 10
    out_of_hours: str | None = None  # a Time Bands band; None: 20:00 to 07:00


@dataclass(frozen=True)
class Application:
    """A row of the Applications sheet: whose exports, read how, billed as what."""

    name: str
    format: str  # a built-in format's name, or one on the Formats sheet
    product: str  # the product a row is billed as unless a Product Rule names another
    match_on: list[str]  # the fields carrying the code, in order of preference
    # the next Match On field is tried only when this one is empty ("when empty"), or also
    # when it matches nothing at this location ("when unmatched")
    fall_back: str = "when empty"


@dataclass(frozen=True)
class Product:
    name: str
    description: str
    pricing: str  # cost plus | unit price | tariff
    unit_price: Decimal | None
    markup_pct: Decimal
    markup_fixed: Decimal
    minimum: Decimal | None
    tax_rate: Decimal | None
    gl_code: str
    tariff: str | None
    can_be_zero: bool
    maximum: Decimal | None = None  # the most a charge that is not a credit is billed at
    free_seconds: int | None = None  # Tariff: a call this short or shorter is free
    discount: Decimal | None = None  # % taken off before the Minimum and Maximum Charge

    def for_account(self, own: AccountPrice | None) -> Product:
        """The product as one account is billed for it: its Account Prices row's values
        where it gives them, the product's elsewhere."""
        if own is None:
            return self
        given = {f.name: getattr(own, f.name) for f in dataclasses.fields(own)}
        return dataclasses.replace(self, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class AccountPrice:
    """A row of Account Prices: what differs for one account (None keeps the product's)."""

    unit_price: Decimal | None = None
    markup_pct: Decimal | None = None
    markup_fixed: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    tariff: str | None = None
    discount: Decimal | None = None


@dataclass(frozen=True)
class ProductRule:
    """A row of Product Rules: what it names of a row (keys; None: any), and its product."""

    item: str | None
    paper_size: str | None
    duplex: str | None
    product: str

    @property
    def criteria(self) -> int:
        return sum(v is not None for v in (self.item, self.paper_size, self.duplex))

    def matches(self, item: str | None, paper_size: str | None, duplex: str | None) -> bool:
        """Every criterion it names equals the row's (keys: without case)."""
        return all(
            want is None or want == got
            for want, got in ((self.item, item), (self.paper_size, paper_size),
                              (self.duplex, duplex))
        )  # fmt: skip


@dataclass(frozen=True)
class Rate:
    prefix: str
    destination: str
    per_minute: Decimal
    connection: Decimal
    minimum_seconds: int
    increment_seconds: int
    band: str | None = None  # the time band the rate is for (None: any time)
    premium: bool = False  # a premium-rate destination (toll-fraud alerts)


@dataclass(frozen=True)
class BandTime:
    """A row of Time Bands: the day types (Mon..Sun = 0..6, Holiday = 7) and the times of
    day (seconds after midnight, From inclusive, To exclusive) one band holds. To at or
    before From: From to midnight and midnight to To, of the same day type."""

    band: str
    days: frozenset[int]
    start: int
    end: int

    def spans(self) -> list[tuple[int, int]]:
        """The [from, to) seconds of a day it holds."""
        if self.start < self.end:
            return [(self.start, self.end)]
        return [(self.start, DAY_SECONDS), (0, self.end)]


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    location: str
    active: bool
    start: dt.date | None
    end: dt.date | None
    plan: str | None = None  # the plan key (from Plans) whose allowances it has
    alert_above: Decimal | None = None  # flag a batch whose net for it is above this


QUANTITY, AMOUNT = "quantity", "amount"  # the two kinds of allowance


@dataclass(frozen=True)
class Allowance:
    """A row of Plans: what a plan includes of one product each calendar month."""

    plan: str
    kind: str  # QUANTITY or AMOUNT
    # quantity: the held quantity, or billable seconds for a Tariff product (the sheet's
    # minutes × 60); amount: in the currency
    included: Decimal


@dataclass(frozen=True)
class CodeSpan:
    """The days a code belongs to an account (inclusive; None: open at that end)."""

    account_id: str
    start: dt.date | None
    end: dt.date | None

    def holds(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def __str__(self) -> str:
        if self.start is None:
            return f"account {self.account_id} up to {self.end.isoformat()}"
        if self.end is None:
            return f"account {self.account_id} from {self.start.isoformat()}"
        return f"account {self.account_id} from {self.start.isoformat()} to {self.end.isoformat()}"


@dataclass
class Reference:
    """Everything an import needs from the workbooks, keyed for lookup."""

    locations: dict[str, Location]
    accounts: dict[str, Account]
    # (application key, location key, CODE) → account id; from both code sheets
    codes: dict[tuple[str, str, str], str]
    applications: dict[str, Application]
    products: dict[str, Product]
    # application key → its Product Rules, those naming the most criteria first
    rules: dict[str, list[ProductRule]]
    formats: dict[str, Format] = field(default_factory=dict)  # defined on the Formats sheet
    tariffs: dict[str, list[Rate]] = field(default_factory=dict)
    # (application key, location key, CODE) → its holders by date, for codes given From or
    # To dates (such a code is not in ``codes``): a code that changed hands
    spans: dict[tuple[str, str, str], tuple[CodeSpan, ...]] = field(default_factory=dict)
    # (account key, product key) → that account's own prices for the product
    account_prices: dict[tuple[str, str], AccountPrice] = field(default_factory=dict)
    band_times: list[BandTime] = field(default_factory=list)  # the Time Bands sheet
    # plan key → product key → what the plan includes of it
    plans: dict[str, dict[str, Allowance]] = field(default_factory=dict)
    # location key ("" for every location) → its holidays
    holidays: dict[str, frozenset[dt.date]] = field(default_factory=dict)
    books: Books = field(default_factory=Books)  # what `charges export` writes by
    _by_product: dict | None = field(default=None, repr=False, compare=False)

    def prices_by_product(self) -> dict[str, dict[str, AccountPrice]]:
        """Account Prices as product key → account key → prices (worked out once)."""
        if self._by_product is None:
            self._by_product = {}
            for (account, product), prices in self.account_prices.items():
                self._by_product.setdefault(product, {})[account] = prices
        return self._by_product

    def allowance(self, account_id: str, product: str) -> Allowance | None:
        """What an account's plan includes of a product, or None."""
        account = self.accounts.get(key(account_id))
        if account is None or account.plan is None:
            return None
        return self.plans.get(account.plan, {}).get(key(product))

    def holidays_at(self, location: str) -> frozenset[dt.date]:
        """The days rated as Holiday at a location."""
        return self.holidays.get(key(location), frozenset()) | self.holidays.get("", frozenset())

    def currency(self, location: str) -> str:
        return self.locations[key(location)].currency

    def minor_unit(self, location: str) -> int:
        return MINOR_UNITS[self.currency(location)]

    def location(self, location: str) -> Location:
        return self.locations[key(location)]

    def format_for(self, name: str) -> Format | None:
        return self.formats.get(key(name)) or registry.get(name)


def _text(v: object) -> str:
    return "" if v is None else as_text(v).strip()


def _dec(v: object, default: Decimal | None = None) -> Decimal | None:
    d = to_decimal(v)
    return default if d is None else d


def _int(v: object, default: int) -> int:
    d = to_decimal(v)
    return default if d is None else int(d)


def build(sheets: dict[str, Sheet]) -> Reference:
    """Typed lookups from validated sheets.

    Every name is held in the spelling of its own sheet (a product named ``cp`` on
    Applications and ``CP`` on Products is ``CP`` everywhere), so outputs carry one spelling.
    """
    locs = {
        key(r["Location"]): Location(
            _text(r["Location"]),
            _text(r["Currency"]).upper(),
            _dec(r["Tax Rate %"]),
            key(r["Tax Rounding"]) if r["Tax Rounding"] is not None else "per line",
            _text(r["Time Zone"]) or None,
            _text(r.get("Operator Name")) or None,
            _text(r.get("Operator Address")) or None,
            _dec(r.get("Alert Jump"), Decimal(3)),
            _int(r.get("Alert Calls"), 10),
            _text(r.get("Out Of Hours Band")) or None,
        )
        for _, r in sheets["Locations"].rows()
    }
    # accounts and codes (tens of thousands of rows) a column at a time: each column's keys,
    # texts and dates are those validation worked out (``Sheet.keys`` keeps them)
    a = sheets["Accounts"]
    plan_keys = a.keys("Plan") if "Plan" in a.frame else [None] * len(a.frame)
    accounts = {
        k: Account(i, n, locs[loc].name, status == "active", start, end, plan)
        for k, i, n, loc, status, start, end, plan in zip(
            a.keys("Account ID"),
            a.texts("Account ID"),
            a.texts("Account Name").fillna(""),
            a.keys("Location"),
            a.keys("Status"),
            a.dates("Start Date"),
            a.dates("End Date"),
            plan_keys,
            strict=True,
        )
    }
    if "Alert Above" in a.frame:  # few accounts have a limit: set on those only
        for k, limit in zip(a.keys("Account ID"), a.frame["Alert Above"], strict=True):
            if limit is not None and to_decimal(limit) is not None:
                accounts[k] = dataclasses.replace(accounts[k], alert_above=to_decimal(limit))
    codes: dict[tuple[str, str, str], str] = {}
    c = sheets["Account Codes"]
    held = [accounts[k] for k in c.keys("Account ID")]
    codes.update(
        zip(
            zip(
                c.keys("Application"),
                [key(h.location) for h in held],
                c.texts("Code").fillna("").str.upper(),
                strict=True,
            ),
            [h.account_id for h in held],
            strict=True,
        )
    )
    m = sheets["Device Import Maps"]
    codes.update(
        zip(
            zip(
                m.keys("Application"),
                m.keys("Location"),
                m.texts("Code").fillna("").str.upper(),
                strict=True,
            ),
            [accounts[k].account_id for k in m.keys("Account ID")],
            strict=True,
        )
    )
    spans: dict[tuple[str, str, str], list[CodeSpan]] = {}
    for sheet, locations in ((c, [key(h.location) for h in held]), (m, m.keys("Location"))):
        for app_k, loc_k, code, acc, start, end in zip(
            sheet.keys("Application"),
            locations,
            sheet.texts("Code").fillna("").str.upper(),
            sheet.keys("Account ID"),
            sheet.dates("From"),
            sheet.dates("To"),
            strict=True,
        ):
            if start is not None or end is not None:
                spans.setdefault((app_k, loc_k, code), []).append(
                    CodeSpan(accounts[acc].account_id, start, end)
                )
    for triple in spans:
        codes.pop(triple, None)
    tariff_names: dict[str, str] = {}
    for _, r in sheets["Tariffs"].rows():
        tariff_names.setdefault(key(r["Tariff"]), _text(r["Tariff"]))
    products = {
        key(r["Product"]): Product(
            name=_text(r["Product"]),
            description=_text(r["Description"]),
            pricing=key(r["Pricing"]),
            unit_price=_dec(r["Unit Price"]),
            markup_pct=_dec(r["Markup %"], Decimal(0)),
            markup_fixed=_dec(r["Markup Fixed"], Decimal(0)),
            minimum=_dec(r["Minimum Charge"]),
            tax_rate=_dec(r["Tax Rate %"]),
            gl_code=_text(r["GL Code"]),
            tariff=tariff_names.get(key(r["Tariff"]), _text(r["Tariff"])) if r["Tariff"] else None,
            can_be_zero=key(r["Can Be Zero Price"]) == "yes" if r["Can Be Zero Price"] else False,
            maximum=_dec(r.get("Maximum Charge")),
            free_seconds=None if r.get("Free Seconds") is None else _int(r["Free Seconds"], 0),
        )
        for _, r in sheets["Products"].rows()
    }
    apps = {
        key(r["Application"]): Application(
            _text(r["Application"]),
            _text(r["Format"]),
            products[key(r["Product"])].name,
            split_fields(r["Match On"]) if r["Match On"] is not None else [],
            key(r["Fall Back"]) if r.get("Fall Back") is not None else "when empty",
        )
        for _, r in sheets["Applications"].rows()
    }
    rules: dict[str, list[ProductRule]] = {}
    for _, r in sheets["Product Rules"].rows():
        rules.setdefault(key(r["Application"]), []).append(
            ProductRule(
                *(key(r.get(c)) if r.get(c) is not None else None
                  for c in ("Item", "Paper Size", "Duplex")),
                products[key(r["Product"])].name,
            )
        )  # fmt: skip
    for listed in rules.values():
        listed.sort(key=lambda rule: -rule.criteria)  # the most criteria first
    band_names: dict[str, str] = {}
    band_times = []
    if "Time Bands" in sheets:
        for _, r in sheets["Time Bands"].rows():
            name = band_names.setdefault(key(r["Band"]), _text(r["Band"]))
            band_times.append(
                BandTime(name, to_days(r["Days"]), to_clock(r["From"]), to_clock(r["To"]))
            )
    holidays: dict[str, set[dt.date]] = {}
    if "Holidays" in sheets:
        h = sheets["Holidays"]
        for day, loc in zip(h.dates("Date"), h.keys("Location"), strict=True):
            holidays.setdefault(loc or "", set()).add(day)
    tariffs: dict[str, list[Rate]] = {}
    for _, r in sheets["Tariffs"].rows():
        tariffs.setdefault(key(r["Tariff"]), []).append(
            Rate(
                prefix=_text(r["Prefix"]),
                destination=_text(r["Destination"]),
                per_minute=_dec(r["Rate Per Minute"]),
                connection=_dec(r["Connection Fee"], Decimal(0)),
                minimum_seconds=_int(r["Minimum Seconds"], 0),
                increment_seconds=max(_int(r["Increment Seconds"], 1), 1),
                band=band_names.get(key(r["Band"]), _text(r["Band"])) if r.get("Band") else None,
                premium=key(r.get("Premium")) == "yes" if r.get("Premium") else False,
            )
        )
    for rates in tariffs.values():
        rates.sort(key=lambda rt: len(rt.prefix), reverse=True)  # longest prefix first
    formats = {key(r["Format"]): sheet_format(r) for _, r in sheets["Formats"].rows()}
    account_prices = (
        {
            (key(r["Account ID"]), key(r["Product"])): AccountPrice(
                unit_price=_dec(r["Unit Price"]),
                markup_pct=_dec(r["Markup %"]),
                markup_fixed=_dec(r["Markup Fixed"]),
                minimum=_dec(r["Minimum Charge"]),
                maximum=_dec(r["Maximum Charge"]),
                tariff=tariff_names.get(key(r["Tariff"]), _text(r["Tariff"]))
                if r["Tariff"]
                else None,
                discount=_dec(r["Discount %"]),
            )
            for _, r in sheets["Account Prices"].rows()
        }
        if "Account Prices" in sheets
        else {}
    )
    plans: dict[str, dict[str, Allowance]] = {}
    for _, r in sheets["Plans"].rows() if "Plans" in sheets else []:
        product = products[key(r["Product"])]
        quantity, amount_ = _dec(r["Included Quantity"]), _dec(r["Included Amount"])
        if quantity is not None:
            seconds = product.pricing == "tariff"
            held = quantity.quantize(QUANTUM, rounding=ROUND_HALF_UP)  # as quantities are held
            allowance = Allowance(_text(r["Plan"]), QUANTITY, held * 60 if seconds else held)
        else:
            allowance = Allowance(_text(r["Plan"]), AMOUNT, amount_)
        plans.setdefault(key(r["Plan"]), {})[key(r["Product"])] = allowance
    return Reference(
        locs,
        accounts,
        codes,
        apps,
        products,
        rules,
        formats,
        tariffs,
        {t: tuple(sorted(s, key=lambda x: x.start or dt.date.min)) for t, s in spans.items()},
        account_prices,
        band_times=band_times,
        holidays={k: frozenset(v) for k, v in holidays.items()},
        plans=plans,
        books=build_books(sheets),
    )


def _colref(v: object) -> str | int | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.strip().isdigit()):
        return int(to_decimal(v)) - 1  # positions are 1-based on the sheet
    return _text(v)


def sheet_format(r: dict) -> Format:
    """A Format from one row of the Formats sheet."""
    has_header = r["Has Header"] is None or key(r["Has Header"]) == "yes"
    delim = _text(r["Delimiter"]) if r["Delimiter"] is not None else ","
    delim = DELIMITER_NAMES.get(delim.casefold(), delim) if len(delim) != 1 else delim
    code = _colref(r["Code Column"])
    fmt_text = _text(r["Date Format"])
    return Format(
        name=_text(r["Format"]),
        description="defined on the Formats sheet",
        fields=(),  # taken from the file's header, or positions
        match_on=(code,),
        date=_colref(r["Date Column"]),
        time=_colref(r["Time Column"]),
        date_formats=(fmt_text,) if fmt_text else (),
        delimiter=delim,
        encoding=_text(r["Encoding"]) or None,
        has_header=has_header,
        header_rows=_int(r["Header Rows"], 1 if has_header else 0),
        footer_rows=_int(r["Footer Rows"], 0),
        quantity=_colref(r["Quantity Column"]),
        cost=_colref(r["Cost Column"]),
        duration=_colref(r["Duration Column"]),
        destination=_colref(r["Destination Column"]),
        description_field=_colref(r["Description Column"]),
        item=_colref(r["Item Column"]),
        ignore_zero=key(r["Ignore Zero Values"]) == "yes" if r["Ignore Zero Values"] else False,
        decimal_separator=_text(r["Decimal Separator"]) or ".",
        sheet_defined=True,
        file_type="excel" if key(r["File Type"]) == "excel" else "csv",
        sheet=_text(r["Sheet"]) or None,
    )
