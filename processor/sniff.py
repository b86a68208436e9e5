"""`charges sniff`: which built-in formats could a file be, best first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from processor.exports import ExportError, read_export
from processor.formats import registry
from processor.formats.base import Format

SAMPLE_ROWS = 50


@dataclass(frozen=True)
class Guess:
    """How well one format reads the start of a file."""

    format: Format
    score: float  # share of non-blank rows parsed, plus a bonus for a telltale text
    parsed: int
    rows: int
    preview: pd.DataFrame
    problem: str = ""


def sniff(path: Path, day_first: bool = True) -> list[Guess]:
    """Try every built-in format on the first rows of ``path``; best first."""
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace")
    guesses = []
    for fmt in registry.all_formats():
        try:
            chunk = next(
                read_export(path, fmt, fmt.match_on, chunk_rows=SAMPLE_ROWS, day_first=day_first),
                None,
            )
        except ExportError as exc:
            # the first sentence is enough here: which column its header lacks
            guesses.append(Guess(fmt, 0.0, 0, 0, pd.DataFrame(), str(exc).split(";")[0]))
            continue
        if chunk is None or chunk.empty:
            guesses.append(Guess(fmt, 0.0, 0, 0, pd.DataFrame(), "no data rows"))
            continue
        rows = chunk[chunk["skip"] != "blank-line"]
        parsed = int(rows["error"].isna().sum())
        score = parsed / max(len(rows), 1)
        if fmt.sniff_hint and fmt.sniff_hint in head:
            score += 0.5
        problem = "" if parsed == len(rows) else str(rows["error"].dropna().iloc[0])
        guesses.append(Guess(fmt, score, parsed, len(rows), preview(chunk), problem))
    return sorted(guesses, key=lambda g: (-g.score, g.format.name))


def preview(chunk: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first rows as the import would see them."""
    codes = [c for c in chunk.columns if c.startswith("match_")]
    cols = [
        "line",
        "occurred_at",
        *codes,
        "quantity",
        "duration",
        "cost",
        "destination",
        "item",
        "skip",
        "error",
    ]
    return chunk[cols].head(n)
