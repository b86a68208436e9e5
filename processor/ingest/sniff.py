"""`charges sniff`: which formats could a file be, best first, and why.

Every built-in format is tried on the first rows, and so is every layout on the Formats
sheet when the workbooks are given. Only the plausible ones are listed (those that read
most rows), each with its reason; the preview shows the best one's first rows under the
format's own field names, blanks as blanks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from processor.errors import ExportError
from processor.ingest.formats import registry
from processor.ingest.formats.base import Format
from processor.ingest.reading import read_export

SAMPLE_ROWS = 50
PLAUSIBLE = 0.5  # share of rows a format must read to be worth listing


@dataclass(frozen=True)
class Guess:
    """How well one format reads the start of a file."""

    format: Format
    score: float  # share of non-blank rows parsed, plus a bonus for a telltale text
    parsed: int
    rows: int
    preview: pd.DataFrame
    problem: str = ""
    hint: bool = False  # the file carries the format's telltale text

    @property
    def plausible(self) -> bool:
        return self.rows > 0 and self.parsed / self.rows >= PLAUSIBLE

    def reason(self) -> str:
        """Why this format is listed, in words."""
        out = f"reads {self.parsed} of {self.rows} rows"
        if self.hint:
            out += f', and the file says "{self.format.sniff_hint}"'
        if self.format.sheet_defined:
            out += " (a layout on your Formats sheet)"
        if self.problem:
            out += f"; first problem: {self.problem}"
        return out


def sniff(path: Path, day_first: bool = True, extra: list[Format] | None = None) -> list[Guess]:
    """Try every built-in format (and ``extra`` ones) on the first rows of ``path``; best
    first."""
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace")
    guesses = []
    for fmt in [*registry.all_formats(), *(extra or [])]:
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
        hint = bool(fmt.sniff_hint and fmt.sniff_hint in head)
        if hint:
            score += 0.5
        problem = "" if parsed == len(rows) else str(rows["error"].dropna().iloc[0])
        guesses.append(Guess(fmt, score, parsed, len(rows), preview(chunk, fmt), problem, hint))
    return sorted(guesses, key=lambda g: (-g.score, g.format.name))


def _name(ref: str | int | None, fallback: str) -> str:
    if ref is None:
        return fallback
    return f"column {ref + 1}" if isinstance(ref, int) else str(ref)


def preview(chunk: pd.DataFrame, fmt: Format, n: int = 5) -> pd.DataFrame:
    """The first rows as the import would read them, under the format's own field names."""
    head = chunk.head(n)
    out = pd.DataFrame({"line": head["line"].to_numpy()})
    out[_name(fmt.date, "date")] = [
        "" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M:%S}" for v in head["occurred_at"]
    ]
    for i, field in enumerate(fmt.match_on):
        col = f"match_{i}"
        if col in head:
            out[_name(field, f"code {i + 1}")] = head[col].to_numpy()
    for role, ref, fallback in (
        ("quantity", fmt.quantity, "quantity"),
        ("duration", fmt.duration, "duration"),
        ("cost", fmt.cost, "cost"),
        ("destination", fmt.destination, "destination"),
        ("item", fmt.item, "item"),
    ):
        if ref is not None or role == "quantity":
            out[_name(ref, fallback)] = head[role].to_numpy()
    out["read as"] = [
        f"unreadable: {e}"
        if isinstance(e, str)
        else (f"skipped: {s}" if isinstance(s, str) else "")
        for e, s in zip(head["error"], head["skip"], strict=True)
    ]
    # blanks as blanks: no NaN, <NA> or None for a person to puzzle over
    return (
        out.astype(object)
        .where(out.notna(), "")
        .map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else v)
    )
