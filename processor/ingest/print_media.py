"""A print job's paper size and duplex, as Product Rules compare them (README "Print by
size, colour and duplex"): long media names become their common name, and the ways
devices say two-sided or one-sided become Yes and No. Other values keep their text."""

from __future__ import annotations

import pandas as pd

PAPER_SIZES = {
    "iso_a4_210x297mm": "A4",
    "iso_a3_297x420mm": "A3",
    "iso_a5_148x210mm": "A5",
    "na_letter_8.5x11in": "Letter",
    "na_legal_8.5x14in": "Legal",
}
DUPLEX = {
    "duplex": "Yes",
    "two-sided-long-edge": "Yes",
    "two-sided-short-edge": "Yes",
    "not duplex": "No",
    "one-sided": "No",
}


def _named(values: pd.Series, names: dict[str, str]) -> pd.Series:
    """Each value by its common name where it has one (compared without case)."""
    mapped = values.str.strip().str.casefold().map(names)
    return mapped.where(mapped.notna(), values)


def paper_sizes(values: pd.Series) -> pd.Series:
    """`iso_a4_210x297mm` → A4 (and A3, A5, Letter, Legal); others as they are."""
    return _named(values, PAPER_SIZES)


def duplexes(values: pd.Series) -> pd.Series:
    """DUPLEX and two-sided-… → Yes; NOT DUPLEX and one-sided → No; others as they are."""
    return _named(values, DUPLEX)
