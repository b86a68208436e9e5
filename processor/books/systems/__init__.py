"""The accounting systems `charges export --to` writes for: one module each."""

from __future__ import annotations

from processor.books.systems.base import BooksFile
from processor.books.systems.lines import Lines
from processor.books.systems.quickbooks import QuickBooks
from processor.books.systems.sage50 import Sage50
from processor.books.systems.xero import Xero

SYSTEMS: dict[str, BooksFile] = {s.name: s for s in (Xero(), QuickBooks(), Sage50(), Lines())}


def names() -> list[str]:
    return list(SYSTEMS)
