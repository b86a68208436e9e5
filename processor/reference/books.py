"""What `charges export` needs that the rest of the workbooks do not hold: the Books,
Tax Codes and GL Codes sheets and Accounts › Customer in Books, with the defaults a blank
cell (or a missing sheet) stands for."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from schemas.checks import as_text, key, to_decimal, to_invoice_pattern

DEFAULT_PATTERN = "{date}-{account}"
DEFAULT_DUE_DAYS = 30


@dataclass(frozen=True)
class BookSetting:
    """One system's row of the Books sheet (or its defaults)."""

    system: str
    pattern: str = DEFAULT_PATTERN
    next_number: int = 1
    due_days: int = DEFAULT_DUE_DAYS
    month_first: bool = False  # dates as MM/DD/YYYY

    @property
    def numbered(self) -> bool:
        """The pattern takes the next number (a run of #)."""
        return "#" in self.pattern


def rate_text(rate: Decimal) -> str:
    """A tax rate as the default tax code: 20 → "20%", 5.5 → "5.5%"."""
    return f"{rate.normalize():f}%"


@dataclass
class Books:
    """The settings of every system; each lookup falls back as the README says."""

    settings: dict[str, BookSetting] = field(default_factory=dict)  # key(system) →
    tax_codes: dict[tuple[str, Decimal], str] = field(default_factory=dict)  # ("" = any)
    gl_codes: dict[tuple[str, str], str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # key(account) → name in books

    def setting(self, system: str) -> BookSetting:
        return self.settings.get(key(system), BookSetting(system))

    def tax_code(self, system: str, rate: Decimal) -> str:
        rate = Decimal(rate).normalize()
        for scope in (key(system), ""):
            if (scope, rate) in self.tax_codes:
                return self.tax_codes[(scope, rate)]
        return rate_text(rate)

    def gl_code(self, system: str, gl: str | None) -> str:
        gl = gl or ""
        for scope in (key(system), ""):
            if (scope, key(gl)) in self.gl_codes:
                return self.gl_codes[(scope, key(gl))]
        return gl

    def customer(self, account_id: str, fallback: str) -> str:
        """The customer as the books know it, else ``fallback`` (the name, or for Sage 50
        the Account ID)."""
        return self.customers.get(key(account_id)) or fallback


def _text(v: object) -> str:
    return "" if v is None else as_text(v).strip()


def build_books(sheets: dict) -> Books:
    """Books settings from validated sheets (each optional)."""
    books = Books()
    for _, r in sheets["Books"].rows() if "Books" in sheets else []:
        system = _text(r["System"])
        nxt, due = to_decimal(r["Next Number"]), to_decimal(r["Days Until Due"])
        books.settings[key(system)] = BookSetting(
            system,
            to_invoice_pattern(r["Invoice Number"]) if r["Invoice Number"] else DEFAULT_PATTERN,
            int(nxt) if nxt is not None else 1,
            int(due) if due is not None else DEFAULT_DUE_DAYS,
            key(r["Date Order"]) == "mm/dd/yyyy" if r["Date Order"] is not None else False,
        )
    for _, r in sheets["Tax Codes"].rows() if "Tax Codes" in sheets else []:
        scope = key(r["System"]) if r["System"] is not None else ""
        books.tax_codes[(scope, to_decimal(r["Tax Rate %"]).normalize())] = _text(
            r["Code in Books"]
        )
    for _, r in sheets["GL Codes"].rows() if "GL Codes" in sheets else []:
        scope = key(r["System"]) if r["System"] is not None else ""
        books.gl_codes[(scope, key(r["GL Code"]))] = _text(r["Code in Books"])
    a = sheets["Accounts"]
    if "Customer in Books" in a.frame:
        for k, name in zip(a.keys("Account ID"), a.texts("Customer in Books"), strict=True):
            if isinstance(name, str) and name.strip():
                books.customers[k] = name.strip()
    return books
