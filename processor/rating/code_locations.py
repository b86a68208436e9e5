"""Where an import's codes belong: the check that catches the wrong ``--location``.

Every row whose deciding code is held at some location counts for that location. An
import where more rows belong to one other location than to its own, and at least
``AT_LEAST`` do, is most likely that location's export, and is refused unless the user
says otherwise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

AT_LEAST = 5  # rows of another location before an import is refused


@dataclass
class CodeLocations:
    """The rows of an import counted by the location their code belongs to."""

    counts: Counter = field(default_factory=Counter)

    def add(self, matched: pd.DataFrame) -> None:
        """Count a matched chunk's rows (skipped and unreadable rows carry no code)."""
        kept = (matched["status"] != "skipped") & (matched["reason"] != "unparseable-row")
        located = matched["code_location"][kept.to_numpy(dtype=bool, na_value=True)]
        self.counts.update(located.dropna().value_counts().to_dict())

    def elsewhere(self, location: str) -> tuple[str, int, int] | None:
        """(the other location, its rows, this location's rows) when the rows say the
        export is another location's; None when they do not."""
        others = [(n, loc) for loc, n in self.counts.items() if loc != location]
        if not others:
            return None
        rows, other = max(others)
        here = self.counts.get(location, 0)
        return (other, rows, here) if rows > here and rows >= AT_LEAST else None
