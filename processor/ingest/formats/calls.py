"""Helpers shared by the call-logger formats."""

from __future__ import annotations

import numpy as np
import pandas as pd


def field(frame: pd.DataFrame, name: str) -> pd.Series:
    """A format field as stripped text ('' when absent)."""
    return frame[f"field:{name}"].fillna("").astype(str).str.strip()


def skips(frame: pd.DataFrame, *rules: tuple[pd.Series, str, pd.Series | str]):
    """Combine (mask, reason, detail) rules, the first that applies wins.

    Returns:
        (reason, detail) Series for a classifier.
    """
    n = len(frame)
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)
    for mask, code, words in rules:
        take = mask.to_numpy(dtype=bool) & pd.isna(reason)
        reason[take] = code
        detail[take] = words[take].to_numpy() if isinstance(words, pd.Series) else words
    return pd.Series(reason, index=frame.index), pd.Series(detail, index=frame.index)


def asterisk_classify(frame: pd.DataFrame):
    """Asterisk family: only answered calls with billed seconds are billable."""
    disposition = field(frame, "disposition").str.upper()
    billsec = frame["duration"].fillna(0)
    return skips(
        frame,
        (disposition != "ANSWERED", "unanswered-call", disposition.replace("", "no disposition")),
        (billsec <= 0, "unanswered-call", "answered, 0 seconds billed"),
    )
