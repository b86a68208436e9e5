"""`charges export`: the Batch Sheet lines of committed batches as an accounting system's
invoice import file, one invoice per account, each batch exported once.

The recipe: check every batch folder against its history (``check_folder``) → refuse a
void batch, a batch from before the history, batches of several histories, locations or
currencies → the workbooks' Books settings → hold the history → refuse batches exported
before (unless --again, which gives each invoice its earlier number) → invoices, numbered
→ refuse what the system would not take → write the file(s) beside --out, hidden →
record the export in the history → put the file(s) in place.

A run stopped after the record and before the files were put in place leaves an export the
history knows and no file: the next export of those batches says so, and --again writes it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from processor.batch.checked import check_folder
from processor.batch.folder import LINES, remove_stale
from processor.batch.life import hold, stop_here
from processor.batch.manifest import read_manifest
from processor.books.invoices import BatchLines, Invoice, invoices, number
from processor.books.systems import SYSTEMS
from processor.books.systems.base import Context
from processor.errors import HistoryError, UsageError, WorkbookError
from processor.history import open_history, recorded_in, same_place
from processor.history.store import new_id, now, user
from processor.reference.loading import load_reference
from schemas.checks import key
from schemas.currencies import MINOR_UNITS

ZERO = Decimal(0)
TOTALS = ("net", "tax", "gross")


@dataclass
class Exported:
    """What an export wrote: its files, invoices and totals, and what to tell the user."""

    export_id: str
    system: str
    files: list[Path]
    invoices: list[Invoice]
    currency: str
    places: int
    batches: list[str]
    again: bool
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def total(self, what: str) -> Decimal:
        return sum((inv.total(what) for inv in self.invoices), ZERO)


def _period(manifest: dict) -> tuple[dt.date, dt.date] | None:
    p = manifest.get("period") or {}
    if not p.get("from") or not p.get("to"):
        return None
    return dt.date.fromisoformat(p["from"][:10]), dt.date.fromisoformat(p["to"][:10])


def _lines(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    path = folder / LINES
    if not path.is_file():
        raise UsageError(
            f"{folder}: has no {LINES} (it was imported by an earlier version); import its "
            "exports again into a new batch to export it"
        )
    return pq.read_table(path).to_pylist()


def _one(what: str, values: dict[Path, str]) -> str:
    """The one location or currency of every batch, or a refusal naming each."""
    found = {key(v) for v in values.values()}
    if len(found) > 1:
        listed = "; ".join(f"{f}: {v}" for f, v in values.items())
        raise UsageError(
            f"the batches are of more than one {what} ({listed}); an export is for one "
            f"{what}: export each {what}'s batches on their own; nothing was written"
        )
    return next(iter(values.values()))


def _parts(out: Path, count: int) -> list[Path]:
    """The file names of an export split into ``count`` parts (one: --out itself)."""
    if count == 1:
        return [out]
    return [
        out.with_name(f"{out.stem}-part{i}-of-{count}{out.suffix}") for i in range(1, count + 1)
    ]


def _split(system, rows_of: list[list[list[str]]]) -> list[list[list[str]]]:
    """Invoices' rows into files of at most the system's invoices and rows (an invoice is
    never split across files)."""
    files: list[list[list[str]]] = [[]]
    invoices_in = 0
    for rows in rows_of:
        full = (system.max_invoices and invoices_in >= system.max_invoices) or (
            system.max_rows and len(files[-1]) + len(rows) > system.max_rows
        )
        if full and files[-1]:
            files.append([])
            invoices_in = 0
        files[-1].extend(rows)
        invoices_in += 1
    return files


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())


def _earlier(hist, system: str, batch_ids: list[str], again: bool) -> tuple[dict, list[str]]:
    """Refuse batches exported before (without --again); with it, the invoice numbers of
    the export being repeated (the same batches to the same system), and notes."""
    earlier = hist.exports_of(batch_ids)
    if not earlier:
        return {}, []
    if not again:
        lines = []
        for e in earlier:
            files = ", ".join(e["files"])
            gone = [f for f in e["files"] if not Path(f).is_file()]
            lines.append(
                f"batch{'es' if len(e['batches']) > 1 else ''} {', '.join(e['batches'])} "
                f"{'were' if len(e['batches']) > 1 else 'was'} exported to "
                f"{SYSTEMS[e['system']].title} on {e['created_at'][:16].replace('T', ' ')} by "
                f"{e['created_by']} ({files}"
                + (", which is not there: that export was stopped" if gone else "")
                + ")"
            )
        raise UsageError(
            "; ".join(lines) + ". A batch is exported once, so no invoice is booked twice: "
            "to write it again (the earlier file was lost, or not imported), add --again; "
            "nothing was written"
        )
    same = [e for e in earlier if e["system"] == system and set(e["batches"]) == set(batch_ids)]
    notes = [
        f"exported before on {e['created_at'][:10]} to {SYSTEMS[e['system']].title} "
        f"({', '.join(e['files'])}); written again (--again)"
        for e in earlier
    ]
    return (hist.invoice_numbers(same[-1]["id"]) if same else {}), notes


def export_batches(
    folders: list[Path],
    system: str,
    out: Path,
    again: bool = False,
    workbooks: Path | None = None,
    history: Path | None = None,
) -> Exported:
    """Write the batches' Batch Sheet lines as ``system``'s invoice import file at ``out``
    (split into numbered parts where the system takes fewer invoices a file).

    Raises:
        UsageError: a void, unrecorded or exported batch (without ``again``), a mix of
            histories, locations or currencies, a file the system would not take, ``out``
            exists.
        WorkbookError: the workbooks have errors.
    """
    books_file = SYSTEMS[system]
    out = Path(os.path.abspath(out))
    seen: dict[Path, None] = {}
    for f in folders:
        seen.setdefault(Path(f).resolve(), None)
    folders = list(seen)
    notes: list[str] = []
    manifests: dict[Path, dict] = {}
    for folder in folders:
        checked = check_folder(folder, history)
        notes += checked.notes
        record = checked.record
        if record is None:
            raise UsageError(
                f"{folder}: was imported before the history was kept, so it cannot be "
                "exported once only; import its exports again into a new batch; nothing was "
                "written"
            )
        if record["status"] == "void":
            raise UsageError(
                f"batch {record['id']} ({folder}) is void (by {record.get('voided_by')}, "
                f"{record.get('voided_at')}): a void batch is never invoiced; leave it out; "
                "nothing was written"
            )
        manifests[folder] = read_manifest(folder)
    where = {same_place(recorded_in(m, history)) for m in manifests.values()}
    if len(where) > 1:
        raise UsageError(
            "the batches were recorded in different histories "
            f"({', '.join(sorted(map(str, where)))}); export each history's batches on their "
            "own; nothing was written"
        )
    location = _one("location", {f: m["location"] for f, m in manifests.items()})
    currency = _one("currency", {f: m["currency"] for f, m in manifests.items()}).upper()
    places = MINOR_UNITS[currency]
    wb = Path(workbooks or next(iter(manifests.values())).get("workbooks") or "")
    if not wb.is_dir():
        raise UsageError(
            f"{wb}: the workbooks the batches used are not there; name the folder holding "
            "accounts.xlsx with --workbooks; nothing was written"
        )
    ref, found = load_reference(wb)
    if ref is None:
        raise WorkbookError(found, "nothing was exported; fix the errors above and run again")
    setting = ref.books.setting(books_file.title)
    batches = [
        BatchLines(m["batch_id"], dt.date.fromisoformat(m["batch_date"]), _period(m), _lines(f))
        # by batch date, then in the order given: two batches imported in one second
        # have ids in no order (their tails are random), so an invoice's lines would not be
        for f, m in sorted(manifests.items(), key=lambda fm: fm[1]["batch_date"])
    ]
    batch_ids = [b.batch_id for b in batches]
    invoice_date = max(b.batch_date for b in batches)
    ctx = Context(
        currency,
        places,
        location,
        invoice_date,
        invoice_date + dt.timedelta(days=setting.due_days),
        setting,
        ref.books,
    )
    found_invoices = invoices(batches)
    if not found_invoices:
        raise UsageError(
            "the batches bill nothing to invoice (every Batch Sheet line is zero, or there "
            "are none); nothing was written"
        )

    hist = open_history(next(iter(where)))
    try:
        notes += hold(hist)
        again_numbers, again_notes = _earlier(hist, system, batch_ids, again)
        notes += again_notes
        last = hist.last_number(system) if setting.numbered else None
        start = max(setting.next_number, (last or 0) + 1)
        number(found_invoices, setting, invoice_date, start, again_numbers)
        problems = books_file.problems(found_invoices, ctx)
        repeated = {n for n, _ in again_numbers.values()}
        used = hist.numbers_used(system, [i.number for i in found_invoices])
        for inv in found_invoices:
            u = used.get(inv.number)
            if u and inv.number not in repeated:
                problems.append(
                    f"account {inv.account_id}: invoice number {inv.number} was used by an "
                    f"earlier export on {u['created_at'][:10]} (account {u['account_id']}); "
                    f"give {books_file.title} an Invoice Number with # on the Books sheet "
                    "(accounts.xlsx), so each invoice gets a number of its own"
                )
        if problems:
            raise UsageError(
                f"{books_file.title} would not take this file:\n  "
                + "\n  ".join(problems)
                + "\nnothing was written"
            )
        rows_of = [books_file.rows(inv, ctx) for inv in found_invoices]
        parts = _split(books_file, rows_of)
        paths = _parts(out, len(parts))
        for p in paths:
            if p.exists():
                raise UsageError(
                    f"{p}: already exists; choose another --out file (an export never "
                    "overwrites a file); nothing was written"
                )
        if out.parent.exists() and not out.parent.is_dir():
            raise UsageError(f"{out.parent}: is a file, not a folder; choose another --out")
        out.parent.mkdir(parents=True, exist_ok=True)  # as import makes its --out folder
        notes += [
            f"removed {p}, left by an export that was stopped" for p in remove_stale(out.parent)
        ]
        hidden = [p.with_name(f".{p.name}.partial-{os.getpid()}") for p in paths]
        recorded = False
        try:
            for tmp, rows in zip(hidden, parts, strict=True):
                _write_csv(tmp, books_file.header, rows)
            export_id = new_id()
            hist.record_export(
                {
                    "id": export_id,
                    "system": system,
                    "files": [str(p) for p in paths],
                    "created_at": now(),
                    "created_by": user(),
                    "invoices": len(found_invoices),
                    **{k: sum((i.total(k) for i in found_invoices), ZERO) for k in TOTALS},
                    "currency": currency,
                    "again": again,
                },
                batch_ids,
                [(i.account_id, i.number, i.sequence) for i in found_invoices],
            )
            recorded = True
            stop_here("export-recorded")
            for tmp, p in zip(hidden, paths, strict=True):
                os.replace(tmp, p)
        except OSError as exc:
            what = (
                "the export is recorded in the history, but its file could not be put in "
                "place: free or unlock the disk and run again with --again"
                if recorded
                else "nothing was written or recorded: free or unlock the disk and run again"
            )
            raise HistoryError(
                f"{out.parent}: cannot be written ({exc.strerror or exc}); {what}"
            ) from None
        finally:
            for tmp in hidden:
                with contextlib.suppress(OSError):
                    tmp.unlink()
    finally:
        hist.close()
    return Exported(
        export_id,
        system,
        paths,
        found_invoices,
        currency,
        places,
        batch_ids,
        again,
        notes,
        books_file.warnings(found_invoices, ctx),
    )
