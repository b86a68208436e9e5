"""Writing one batch folder's files: the sinks, the tally, the manifest, the Summary sheet.

Shared by every recipe that makes a batch (import and retry): each priced chunk
goes to ``BatchWriter.add``; ``finish`` writes lines.parquet, batch.xlsx and
manifest.json from what was added, so their figures agree by construction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from processor import __version__, row_digests
from processor.batch import workbook
from processor.batch.alerts import CallCounts, account_nets
from processor.batch.folder import CHARGES, LINES, SKIPPED, UNMATCHED, WORKBOOK
from processor.batch.manifest import write_manifest
from processor.batch.sheet import BatchSheet, included_rows, sheet_rows, zero_rows
from processor.ledger.screening import DIGEST, digests_of
from processor.outputs import parquet
from processor.rating.allowances import HELD_STATUS
from processor.rating.estimates import estimated_nets
from processor.reasons import REASONS
from schemas import charges as sc
from schemas.checks import key
from schemas.money import HELD

ZERO = Decimal(0)


def total(values: pd.Series) -> Decimal:
    """The exact sum of a column of held values (a sum of nothing, or zero, is 0)."""
    got = pc.sum(pa.array(values, type=HELD)).as_py()
    return ZERO if got is None or got == 0 else got


def describe(
    batch_id: str,
    ref,
    location: str,
    application: str,
    fmt,
    inputs: list[dict],
    match_on: list,
    workbooks: Path,
    history: Path,
    history_id: str | None = None,
    **extra,
) -> dict:
    """The manifest's descriptive entries, alike for every recipe (import, retry), in the
    order shown; ``extra`` entries (a retry's ``retry_of``) follow the batch id."""
    loc = ref.location(location)
    return {
        "batch_id": batch_id,
        **extra,
        "location": loc.name,
        "application": ref.applications[key(application)].name,
        "format": fmt.name,
        "currency": ref.currency(location),
        "time_zone": loc.time_zone,
        # who bills from the location, as client statements head it
        "operator": {"name": loc.operator or loc.name, "address": loc.address or ""},
        "inputs": inputs,
        "match_on": [str(f) for f in match_on],
        "workbooks": str(Path(workbooks).resolve()),
        "history": str(history),
        "history_id": history_id,
    }


# what the batch sheet and the reasons' messages read, beside the schemas' own columns
_READ = {"status", "reason", "detail", "code", "account_id", "account_name", "product"}
_READ |= {"destination", "occurred_at", "cost", "quantity", "net", "tax", "tax_rate", DIGEST}


def _writes(column: str, schema) -> bool:
    return column in schema.columns or column in _READ or column.startswith("match_")


def with_included(billed: pd.DataFrame) -> pd.DataFrame:
    """Billed rows with what allowances covered of them (none, unless
    ``processor.rating.allowances`` priced them)."""
    if "included_quantity" in billed:
        return billed
    zero = pd.Series(
        pa.array(np.zeros(len(billed), dtype=np.int64)).cast(HELD),
        dtype=sc.DECIMAL,
        index=billed.index,
    )
    return billed.assign(included_quantity=zero, included_amount=zero)


class BatchWriter:
    """Accumulates priced chunks into a batch folder being written (``folder`` is the
    hidden partial folder; the caller renames it into place)."""

    @classmethod
    def for_batch(cls, folder: Path, ref, location: str, application: str) -> BatchWriter:
        """A writer for one application's batch at one location (its currency's minor unit
        and its Tax Rounding)."""
        loc = ref.location(location)
        sheet = BatchSheet(ref.products, ref.minor_unit(location), loc.tax_rounding)
        writer = cls(folder, sheet, ref.applications[key(application)].name, loc.name)
        writer.estimate = lambda rows: estimated_nets(rows, ref, loc.name)
        return writer

    def __init__(self, folder: Path, sheet: BatchSheet, application: str, location: str):
        self.folder = folder
        # an unmatched row's value at stake (None: the writer has no workbooks to price by)
        self.estimate: Callable[[pd.DataFrame], pd.Series] | None = None
        self.sheet = sheet
        self.application, self.location = application, location
        self.rows: Counter[str] = Counter()
        self.cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.by_reason: dict[str, list] = defaultdict(lambda: [0, ZERO])
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.calls = CallCounts()  # what the toll-fraud alert counts
        self._digests: list[np.ndarray] | None = []  # None: a billed chunk came without
        self.sinks = {
            "billed": parquet.ParquetSink(folder / CHARGES, sc.CHARGES),
            "unmatched": parquet.ParquetSink(folder / UNMATCHED, sc.UNMATCHED),
            "skipped": parquet.ParquetSink(folder / SKIPPED, sc.SKIPPED),
        }

    def add(self, priced: pd.DataFrame) -> None:
        """Write a priced chunk."""
        if not len(priced):
            return
        statuses = priced["status"].to_numpy(dtype=object)
        for status in pd.unique(statuses):  # in order of first appearance, as groupby would
            if status == HELD_STATUS:  # waiting for its allowance: added again once priced
                continue
            mask = statuses == status
            # only the columns this status writes are taken (a chunk has many more)
            schema = sc.CHARGES if status == "billed" else sc.SKIPPED
            part = priced[[c for c in priced.columns if _writes(c, schema)]]
            part = part if mask.all() else part[mask]
            self.rows[status] += len(part)
            self.cost[status] += total(part["cost"])
            if status == "billed":
                part = with_included(part)
                self.sinks[status].write(parquet.billed_frame(part))
                if self._digests is not None and DIGEST in part:
                    self._digests.append(digests_of(part))
                else:
                    self._digests = None
                self.sheet.add(part)
                self.calls.add(part)
                when = part["occurred_at"].dropna()
                if len(when):
                    lo, hi = when.min(), when.max()
                    self.first = lo if self.first is None else min(self.first, lo)
                    self.last = hi if self.last is None else max(self.last, hi)
            else:
                if status == "unmatched" and self.estimate is not None:
                    part = part.assign(at_stake=self.estimate(part))
                self.sinks[status].write(
                    parquet.unbilled_frame(
                        part, self.application, self.location, status == "skipped"
                    )
                )
                for reason, rpart in part.groupby("reason", sort=False):
                    self.by_reason[reason][0] += len(rpart)
                    self.by_reason[reason][1] += total(rpart["cost"])

    def abandon(self) -> None:
        """Stop writing (the batch failed): what is being written finishes, files close."""
        for sink in self.sinks.values():
            with contextlib.suppress(Exception):  # the failure that got here is the one to tell
                sink.close()

    def billed_digests(self) -> np.ndarray | None:
        """The digests of the row keys written to charges.parquet, for the commit (None
        when a chunk came without them: the commit reads them back from the file)."""
        if self._digests is None:
            return None
        return (
            np.concatenate(self._digests) if self._digests else np.empty(0, f"S{row_digests.WIDTH}")
        )

    def finish(
        self,
        meta: dict,
        batch_date: dt.date,
        allowances: dict | None = None,
        alerts: Callable[[list[dict]], list[dict]] | None = None,
    ) -> dict:
        """Close the parquet files; write lines.parquet, batch.xlsx and manifest.json.

        Args:
            meta: the manifest's descriptive entries (batch id, location, application,
                format, currency, inputs, workbooks, history...), in the order shown.
            batch_date: the Batch Sheet's date.

        Returns:
            The manifest written.
        """
        for sink in self.sinks.values():
            sink.close()
        lines = self.sheet.lines()
        billed = BatchSheet.totals(lines)
        credits = self.sheet.credits()
        rows, cost = self.rows, self.cost
        manifest = {
            **meta,
            "batch_date": batch_date.isoformat(),
            "tax_rounding": "Per Charge" if self.sheet.per_charge else "Per Line",
            "period": {
                "from": None if self.first is None else self.first.isoformat(),
                "to": None if self.last is None else self.last.isoformat(),
            },
            "rows": {
                "read": sum(rows.values()),
                "matched": rows["billed"],
                "unmatched": rows["unmatched"],
                "skipped": rows["skipped"],
            },
            "cost": {
                "read": str(sum(cost.values(), ZERO)),
                "matched": str(cost["billed"]),
                "unmatched": str(cost["unmatched"]),
                "skipped": str(cost["skipped"]),
            },
            "billed": {k: str(v) for k, v in billed.items()},
            "lines": len(lines),
            "credits": {"rows": credits["rows"], "net": str(credits["net"])},
            "reasons": {
                r: {"rows": n, "cost": str(c)} for r, (n, c) in sorted(self.by_reason.items())
            },
            # what plans' allowances waived (README "Allowances"); ``used`` is recorded in
            # the history at commit, by account × product × month
            "allowances": allowances or {"waived": "0", "charges": 0, "used": []},
            # spend alerts before approval (README "Spend alerts"), and each account's net,
            # which the history keeps for the alerts of later batches
            "alerts": alerts(lines) if alerts else [],
            "account_nets": {a: str(v) for a, v in account_nets(lines).items()},
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "version": __version__,
        }
        parquet.write_lines(self.folder / LINES, lines)
        workbook.write_batch_xlsx(
            self.folder / WORKBOOK,
            sheet_rows(lines, batch_date),
            summary_rows(manifest, self.by_reason),
            self.folder / UNMATCHED,
            self.folder / SKIPPED,
            self.sheet.places,
            included_rows(lines),
            zero_rows(lines),
            page_title(manifest),
        )
        write_manifest(self.folder, manifest)
        return manifest


def page_title(manifest: dict) -> str:
    """What heads each printed page of batch.xlsx."""
    p = manifest.get("period") or {}
    span = (
        f", charges {(p.get('from') or '')[:10]} to {(p.get('to') or '')[:10]}"
        if p.get("from")
        else ""
    )
    return (
        f"{manifest['location']}: {manifest['application']}, batch date "
        f"{manifest['batch_date']}{span} (batch {manifest.get('batch_id', '')})"
    )


def _note(text: str) -> list:
    return [text, None, None, None, None, None]


def summary_rows(manifest: dict, by_reason: dict) -> list[list]:
    """The Summary sheet: counts, totals, credits, the reconciliation, reasons, settings."""
    r, c, b = manifest["rows"], manifest["cost"], manifest["billed"]
    balanced = (r["read"] == r["matched"] + r["unmatched"] + r["skipped"]) and (
        Decimal(c["read"])
        == Decimal(c["matched"]) + Decimal(c["unmatched"]) + Decimal(c["skipped"])
    )
    alerts = manifest.get("alerts") or []
    # the alerts come before the totals: they are what to check before approving them
    out = [_note(f"ALERT: {a['message']}") for a in alerts] or [
        _note("Alerts: none (no spend jump, no account above its limit, no toll-fraud signs)")
    ]
    out += [
        ["Rows read", r["read"], Decimal(c["read"]), None, None, None],
        [
            "Billed",
            r["matched"],
            Decimal(c["matched"]),
            Decimal(b["net"]),
            Decimal(b["tax"]),
            Decimal(b["gross"]),
        ],
        [
            "Credits (billed, included above)",
            manifest["credits"]["rows"],
            None,
            Decimal(manifest["credits"]["net"]),
            None,
            None,
        ],
        [
            "Included in plans (not billed: the value waived)",
            manifest["allowances"]["charges"],
            None,
            Decimal(manifest["allowances"]["waived"]),
            None,
            None,
        ],
        ["Unmatched", r["unmatched"], Decimal(c["unmatched"]), None, None, None],
        ["Skipped", r["skipped"], Decimal(c["skipped"]), None, None, None],
        _note("Balanced (read = billed + unmatched + skipped): " + ("yes" if balanced else "NO")),
    ]
    for code, (n, cost) in sorted(by_reason.items()):
        reason = REASONS[code]
        out.append(
            [f"{reason.status.capitalize()}: {reason.title} ({code})", n, cost, None, None, None]
        )
    for sheet, key_ in (("Unmatched", "unmatched"), ("Skipped", "skipped")):
        if r[key_] > workbook.XLSX_ROW_LIMIT:
            out.append(
                _note(
                    f"The {sheet} sheet shows the first {workbook.XLSX_ROW_LIMIT:,} of "
                    f"{r[key_]:,} rows; all are in {key_}.parquet"
                )
            )
    if Decimal(c["read"]) == 0:
        out.append(_note("Device cost: none in this export, so no margin can be shown"))
    if manifest.get("batch_id"):
        out.append(_note(f"Batch: {manifest['batch_id']}"))
    if manifest.get("retry_of"):
        out.append(_note(f"Retry of batch {manifest['retry_of']}"))
    out.append(_note(f"Location: {manifest['location']}"))
    out.append(_note(f"Application: {manifest['application']} ({manifest['format']})"))
    out.append(_note(f"Currency: {manifest['currency']}"))
    out.append(_note(f"Tax Rounding: {manifest['tax_rounding']}"))
    out.append(_note(f"Batch date: {manifest['batch_date']}"))
    return out
