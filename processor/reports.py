"""Report figures from a batch folder: pure functions the notebooks call and show.

Everything here works on the batch's parquet files and manifest (money stays
Arrow decimal until it is formatted for display); the notebooks only lay it out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute

from processor.errors import ReportError
from processor.reasons import REASONS
from schemas.currencies import MINOR_UNITS

ZERO = Decimal(0)
FILES = ("manifest.json", "charges.parquet", "unmatched.parquet", "skipped.parquet")


@dataclass
class Batch:
    """One batch folder, loaded."""

    path: Path
    manifest: dict
    charges: pd.DataFrame
    unmatched: pd.DataFrame
    skipped: pd.DataFrame
    lines: pd.DataFrame  # the Batch Sheet: tax and gross as the location rounds them
    void: str | None = None  # VOID.txt: the batch was voided (who, when, why)

    @property
    def currency(self) -> str:
        return self.manifest["currency"]

    @property
    def per_line(self) -> bool:
        """Tax is rounded per Batch Sheet line: charges carry no tax or gross of their own."""
        return self.manifest.get("tax_rounding", "Per Charge") == "Per Line"


def load_batch(path: Path | str) -> Batch:
    """Read a batch folder written by `charges import`.

    Raises:
        ReportError: the folder, a file, or the manifest is missing or unreadable.
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: no such batch folder; run `charges import` first")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ReportError(
            f"{path}: is not a complete batch folder (missing {', '.join(missing)}); "
            "import again into a new folder"
        )
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(
            f"{path / 'manifest.json'}: is not valid JSON ({str(exc)[:80]}); import again into "
            "a new folder"
        ) from None
    problem = manifest_problem(manifest)
    if problem:
        raise ReportError(
            f"{path / 'manifest.json'}: {problem}; it was changed or damaged after the import: "
            "import again into a new folder"
        )
    frames = {}
    for name in ("charges", "unmatched", "skipped"):
        try:
            frames[name] = pd.read_parquet(path / f"{name}.parquet", dtype_backend="pyarrow")
        except (OSError, pa.ArrowException) as exc:
            raise ReportError(
                f"{path / (name + '.parquet')}: cannot be read ({exc}); import again into a "
                "new folder"
            ) from None
    if (path / "lines.parquet").is_file():
        frames["lines"] = pd.read_parquet(path / "lines.parquet", dtype_backend="pyarrow")
    else:  # a batch from before lines.parquet: its tax was rounded per charge
        frames["lines"] = _lines_from_charges(frames["charges"])
    void = path / "VOID.txt"
    frames["void"] = void.read_text(encoding="utf-8") if void.is_file() else None
    return Batch(path, manifest, **frames)


def void_banner(batch: Batch) -> str:
    """The VOID notice a report shows at its top (empty for a batch in use)."""
    from processor.void import banner

    return banner(batch.void) if batch.void else ""


def unique_batches(batches: list[Batch]) -> list[Batch]:
    """Each batch once, however often it was named (by folder or batch id)."""
    seen, out = set(), []
    for b in batches:
        ident = b.manifest.get("batch_id") or str(b.path.resolve())
        if ident not in seen and str(b.path.resolve()) not in seen:
            seen |= {ident, str(b.path.resolve())}
            out.append(b)
    return out


def void_batches(batches: list[Batch]) -> list[Batch]:
    """The void ones, listed apart and counted in no total."""
    return [b for b in unique_batches(batches) if b.void]


def double_billed(batches: list[Batch]) -> list[str]:
    """Pairs of batches in use that bill the same row (same application, location, key)."""
    problems = []
    live = [b for b in unique_batches(batches) if not b.void]
    owners: dict[tuple[str, str, str], Batch] = {}
    clashes: dict[tuple[Path, Path], int] = {}
    for b in live:
        if "row_key" not in b.charges:
            continue
        scope = (b.manifest["application"].casefold(), b.manifest["location"].casefold())
        for k in b.charges["row_key"].dropna():
            first = owners.setdefault((*scope, k), b)
            if first is not b:
                clashes[(first.path, b.path)] = clashes.get((first.path, b.path), 0) + 1
    for (a, b), n in clashes.items():
        problems.append(
            f"{a} and {b} bill the same {n:,} row{'s' if n != 1 else ''}: they come from "
            "different histories, or one was copied; void one (charges void) and leave it out"
        )
    return problems


def _lines_from_charges(c: pd.DataFrame) -> pd.DataFrame:
    return c.groupby(["account_id", "account_name", "product"], as_index=False).agg(
        quantity=("quantity", "sum"),
        net=("net", "sum"),
        tax=("tax", "sum"),
        gross=("gross", "sum"),
        rows=("line", "size"),
    )


# what each manifest entry must be, for reports to trust it
_TEXT_KEYS = ("currency", "location", "application", "format", "batch_date")
_COUNT_KEYS = ("read", "matched", "unmatched", "skipped")
_MONEY_KEYS = {
    "cost": ("read", "matched", "unmatched", "skipped"),
    "billed": ("net", "tax", "gross"),
}


def _is_money(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        return Decimal(v).is_finite()
    except ArithmeticError:
        return False


def manifest_problem(m: object) -> str | None:
    """What is wrong with a manifest's shape or types (None when it can be reported on)."""
    if not isinstance(m, dict):
        return "is not a JSON object"
    for k in _TEXT_KEYS:
        if not isinstance(m.get(k), str):
            return f'"{k}" is missing or not text'
    if m["currency"] not in MINOR_UNITS:
        return f'"currency" is not a currency code ({str(m["currency"])[:12]})'
    rows = m.get("rows")
    if not isinstance(rows, dict):
        return '"rows" is missing or not an object'
    for k in _COUNT_KEYS:
        v = rows.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return f'"rows.{k}" is missing or not a whole number'
    for section, keys in _MONEY_KEYS.items():
        part = m.get(section)
        if not isinstance(part, dict):
            return f'"{section}" is missing or not an object'
        for k in keys:
            if not _is_money(part.get(k)):
                return f'"{section}.{k}" is missing or not an amount written as text'
    reasons = m.get("reasons", {})
    if not isinstance(reasons, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("rows"), int) and _is_money(v.get("cost"))
        for v in reasons.values()
    ):
        return '"reasons" is not a table of rows and cost by reason'
    credits = m.get("credits", {"rows": 0, "net": "0"})
    if not (
        isinstance(credits, dict)
        and isinstance(credits.get("rows"), int)
        and _is_money(credits.get("net"))
    ):
        return '"credits" is not rows and a net amount'
    return None


def money(value: object, places: int = 2) -> str:
    """1234.5 → '1,234.50' (exact: Decimal in, text out)."""
    if value is None or value is pd.NA:
        return ""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    return f"{d:,.{places}f}"


def _sum(series: pd.Series) -> Decimal:
    """Exact sum of a decimal column (Arrow computes it; no float on the way)."""
    if not len(series):
        return ZERO
    if isinstance(series.dtype, pd.ArrowDtype):
        total = pa.compute.sum(pa.array(series.array)).as_py()
        return ZERO if total is None else Decimal(total)
    return sum((Decimal(str(v)) for v in series.dropna()), ZERO)


# --- billing ---------------------------------------------------------------------------


def headline(batch: Batch) -> dict[str, str]:
    """The figures a reader looks at first."""
    c = batch.charges
    m = batch.manifest
    when = c["occurred_at"].dropna()
    period = f"{when.min():%Y-%m-%d} to {when.max():%Y-%m-%d}" if len(when) else "no charges"
    places = MINOR_UNITS.get(batch.currency, 2)
    credits = m.get("credits", {"rows": 0, "net": "0"})
    return {
        "Location": m["location"],
        "Application": f"{m['application']} ({m['format']})",
        "Batch date": m["batch_date"],
        "Charges dated": period,
        f"Billed net ({batch.currency})": money(m["billed"]["net"], places),
        f"Tax ({batch.currency})": money(m["billed"]["tax"], places),
        "Tax rounding": m.get("tax_rounding", "Per Charge"),
        f"Billed gross ({batch.currency})": money(m["billed"]["gross"], places),
        f"Credits ({batch.currency})": (
            f"{money(credits['net'], places)} on {credits['rows']:,} "
            f"row{'s' if credits['rows'] != 1 else ''}"
            if credits["rows"]
            else "none"
        ),
        "Rows billed": f"{m['rows']['matched']:,} of {m['rows']['read']:,}",
        "Accounts billed": f"{c['account_id'].nunique():,}",
    }


def credits(batch: Batch) -> pd.DataFrame:
    """The billed credits (charges with a negative net), for a clerk to see before approving."""
    c = batch.charges
    net = pa.array(c["net"].array) if len(c) else pa.array([], pa.decimal128(38, 6))
    below = pa.compute.less(net, pa.scalar(Decimal(0), type=net.type))  # exact, vectorised
    neg = c[below.to_numpy(zero_copy_only=False)]
    cols = {
        "account_id": "Account ID",
        "account_name": "Account Name",
        "occurred_at": "Date",
        "product": "Product",
        "description": "Description",
        "cost": "Device cost",
        "net": "Net",
    }
    return neg[list(cols)].rename(columns=cols).reset_index(drop=True)


def reconciliation(batch: Batch) -> pd.DataFrame:
    """Read = billed + unmatched + skipped, in rows and device cost, from the files
    themselves; ``balanced`` says whether they agree with each other and the manifest."""
    m = batch.manifest
    parts = [("Billed", batch.charges), ("Unmatched", batch.unmatched), ("Skipped", batch.skipped)]
    rows = [[name, len(f), _sum(f["cost"])] for name, f in parts]
    total_rows = sum(r[1] for r in rows)
    total_cost = sum((r[2] for r in rows), ZERO)
    table = pd.DataFrame(
        [
            ["Read", m["rows"]["read"], Decimal(m["cost"]["read"])],
            *rows,
            ["Billed + unmatched + skipped", total_rows, total_cost],
        ],
        columns=["", "Rows", "Device cost"],
    )
    table.attrs["balanced"] = (
        total_rows == m["rows"]["read"]
        and total_cost == Decimal(m["cost"]["read"])
        and [r[1] for r in rows] == [m["rows"][k] for k in ("matched", "unmatched", "skipped")]
    )
    return table


def by_account(batch: Batch) -> pd.DataFrame:
    """Per account: rows, quantity, net, tax, gross and share of net, largest first.

    Sums of the Batch Sheet lines, so tax and gross follow the location's Tax Rounding."""
    g = batch.lines.groupby(["account_id", "account_name"], as_index=False).agg(
        Rows=("rows", "sum"),
        Quantity=("quantity", "sum"),
        Net=("net", "sum"),
        Tax=("tax", "sum"),
        Gross=("gross", "sum"),
    )
    total = _sum(g["Net"])
    g["Share %"] = [
        (Decimal(str(v)) * 100 / total).quantize(Decimal("0.1")) if total else ZERO
        for v in g["Net"]
    ]
    g = g.rename(columns={"account_id": "Account ID", "account_name": "Account Name"})
    return g.sort_values(["Net", "Account ID"], ascending=[False, True], ignore_index=True)


def by_product(batch: Batch) -> pd.DataFrame:
    """Per product: rows, quantity, device cost, net, tax, gross, margin (lines' sums)."""
    g = batch.lines.groupby("product", as_index=False).agg(
        Rows=("rows", "sum"),
        Quantity=("quantity", "sum"),
        Net=("net", "sum"),
        Tax=("tax", "sum"),
        Gross=("gross", "sum"),
    )
    cost = batch.charges.groupby("product")["cost"].sum()
    g.insert(3, "Cost", [cost.get(p, ZERO) for p in g["product"]])
    # no device cost (a print log, a room booking) is no margin: none is invented
    known = [Decimal(str(k)) != 0 for k in g["Cost"]]
    g["Margin"] = [
        Decimal(str(n)) - Decimal(str(k)) if ok else None
        for n, k, ok in zip(g["Net"], g["Cost"], known, strict=True)
    ]
    g["Margin %"] = [
        (m * 100 / Decimal(str(n))).quantize(Decimal("0.1"))
        if m is not None and Decimal(str(n))
        else None
        for m, n in zip(g["Margin"], g["Net"], strict=True)
    ]
    g = g.rename(columns={"product": "Product", "Cost": "Device cost"})
    return g.sort_values("Net", ascending=False, ignore_index=True)


def daily(batch: Batch) -> pd.DataFrame:
    """Billed rows and net per day."""
    c = batch.charges
    day = c["occurred_at"].astype("datetime64[us]").dt.date
    return (
        c.assign(Day=day)
        .groupby("Day", as_index=False)
        .agg(Rows=("line", "size"), Net=("net", "sum"))
    )


def statements(
    batch: Batch, lines: int = 5, accounts: int | None = None
) -> dict[str, pd.DataFrame]:
    """The first ``lines`` of each account's charges, for the ``accounts`` largest by net
    (all when None), in account order."""
    c = batch.charges
    chosen = by_account(batch)["Account ID"]
    if accounts is not None:
        chosen = chosen.head(accounts)
    c = c[c["account_id"].isin(set(chosen))]
    first = (
        c.sort_values(["account_id", "occurred_at", "line"])
        .groupby("account_id", sort=False)
        .head(lines)
    )
    cols = {
        "occurred_at": "Date",
        "description": "Description",
        "product": "Product",
        "quantity": "Quantity",
        "net": "Net",
    }
    if not batch.per_line:  # per line, a charge has no tax of its own
        cols |= {"tax": "Tax", "gross": "Gross"}
    return {
        a: g[list(cols)].rename(columns=cols) for a, g in first.groupby("account_id", sort=True)
    }


# --- unmatched -------------------------------------------------------------------------


def by_reason(batch: Batch) -> pd.DataFrame:
    """Unmatched and skipped rows by reason: rows, device cost, what it means, what to do."""
    rows = []
    m = batch.manifest
    for status, frame in (("Unmatched", batch.unmatched), ("Skipped", batch.skipped)):
        if frame.empty:
            continue
        for code, g in frame.groupby("reason", sort=False):
            reason = REASONS[code]
            rows.append(
                [
                    status,
                    code,
                    reason.title,
                    len(g),
                    _sum(g["cost"]),
                    reason.action.format(application=m["application"], location=m["location"]),
                ]
            )
    table = pd.DataFrame(
        rows, columns=["Outcome", "Reason", "Title", "Rows", "Device cost", "What to do"]
    )
    return table.sort_values(["Outcome", "Rows"], ascending=[False, False], ignore_index=True)


def unknown_codes(batch: Batch) -> pd.DataFrame:
    """Codes no account holds, ranked by device cost then rows, with first and last seen."""
    u = batch.unmatched[batch.unmatched["reason"] == "unknown-code"]
    if u.empty:
        return pd.DataFrame(columns=["Code", "Rows", "Device cost", "First seen", "Last seen"])
    g = u.groupby("code", as_index=False).agg(
        Rows=("line", "size"),
        Cost=("cost", "sum"),
        First=("occurred_at", "min"),
        Last=("occurred_at", "max"),
    )
    g.columns = ["Code", "Rows", "Device cost", "First seen", "Last seen"]
    g["_cost"] = [Decimal(str(v)) for v in g["Device cost"]]
    g = g.sort_values(["_cost", "Rows", "Code"], ascending=[False, False, True])
    return g.drop(columns="_cost").reset_index(drop=True)


_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance 1, or two neighbouring characters swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _adder(found: list[str]):
    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    return add


def _name(ref, account_id: str) -> str:
    from schemas.checks import key

    acc = ref.accounts.get(key(account_id))
    return acc.name if acc else "?"


def suggestions(
    codes: list[str], ref, application: str, location: str, limit: int = 3
) -> dict[str, list[str]]:
    """For each unknown code, what it may have been meant to be.

    Looks at the codes held for this application at this location (leading zeros,
    O/0 and I/1 mix-ups, one character different or two swapped) and at the same
    code held for another application or location.

    Args:
        codes: the unknown codes (as the export wrote them, upper case).
        ref: the workbooks' reference data (``processor.reference.Reference``).
        application, location: the batch's.

    Returns:
        code → up to ``limit`` suggestions in words.
    """
    from schemas.checks import key

    app_k, loc_k = key(application), key(location)
    here = {c: a for (ap, lo, c), a in ref.codes.items() if ap == app_k and lo == loc_k}
    by_stripped: dict[str, list[str]] = {}
    by_lookalike: dict[str, list[str]] = {}
    by_deletion: dict[str, set[str]] = {}
    for k in here:
        by_stripped.setdefault(k.lstrip("0"), []).append(k)
        by_lookalike.setdefault(k.translate(_LOOKALIKE), []).append(k)
        for v in {k, *(k[:i] + k[i + 1 :] for i in range(len(k)))}:
            by_deletion.setdefault(v, set()).add(k)
    elsewhere: dict[str, list[tuple[str, str, str]]] = {}
    for (ap, lo, c), a in ref.codes.items():
        if (ap, lo) != (app_k, loc_k):
            elsewhere.setdefault(c, []).append((ap, lo, a))
    apps = {k: v[0] for k, v in ref.applications.items()}
    locs = {k: v[0] for k, v in ref.locations.items()}

    out = {}
    for code in codes:
        x = str(code).upper()
        found: list[str] = []
        add = _adder(found)
        for ap, lo, a in sorted(elsewhere.get(x, [])):
            add(
                f"{x} is held by account {a} ({_name(ref, a)}) for {apps.get(ap, ap)} at "
                f"{locs.get(lo, lo)}"
            )
        near = set()
        for v in {x, *(x[:i] + x[i + 1 :] for i in range(len(x)))}:
            near |= by_deletion.get(v, set())
        seen = {x}
        for kind, ks in (
            ("leading zeros differ", by_stripped.get(x.lstrip("0"), [])),
            ("O/0 or I/1 mixed up", by_lookalike.get(x.translate(_LOOKALIKE), [])),
            ("one character different", [k for k in near if _one_edit(x, k)]),
        ):
            for k in sorted(set(ks) - seen):
                seen.add(k)
                add(f"{k} ({kind}), held by account {here[k]} ({_name(ref, here[k])})")
        out[code] = found[:limit]
    return out


CODES_SHEET = "Codes To Add"
CODES_HEADER_ROW = 2  # row 1 tells the clerk what to do
ID_NAME = " — "  # the drop-down shows "A1001 — Acme Ltd"; apply-codes keeps the ID


def codes_to_add_path(folder: Path) -> tuple[Path, str | None]:
    """Where codes-to-add.xlsx goes: never over one a clerk has filled in.

    Returns:
        The path to write, and a note for the user when it is not the usual one.
    """
    from openpyxl import load_workbook

    path = folder / "codes-to-add.xlsx"
    if not path.exists():
        return path, None
    try:
        ws = load_workbook(path, read_only=True)[CODES_SHEET]
        filled = any(
            r[0] not in (None, "")
            for r in ws.iter_rows(min_row=CODES_HEADER_ROW + 1, values_only=True)
        )
    except Exception:  # unreadable: keep it too, it is the clerk's
        filled = True
    if not filled:
        return path, None
    n = 2
    while (folder / f"codes-to-add-{n}.xlsx").exists():
        n += 1
    new = folder / f"codes-to-add-{n}.xlsx"
    return new, (
        f"{path} has accounts chosen in it, so it was kept as it is; the new list is {new.name}"
    )


def write_codes_to_add(
    batch: Batch, ref, path: Path, hints: dict[str, list[str]] | None = None
) -> Path:
    """codes-to-add.xlsx: unknown codes pre-filled as Account Codes rows, with a drop-down
    of this location's active accounts ("ID — Name") and an instruction row; `charges
    apply-codes` copies the rows with an account chosen into Account Codes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from processor.xlsx import HEADER_FILL, HEADER_FONT, set_text
    from schemas.checks import key

    m = batch.manifest
    codes = unknown_codes(batch)
    accounts = sorted(
        (a.account_id, a.name)
        for a in ref.accounts.values()
        if key(a.location) == key(m["location"]) and a.active
    )
    wb = Workbook()
    ws = wb.active
    ws.title = CODES_SHEET
    lists = wb.create_sheet("Accounts")
    lists.sheet_state = "hidden"
    for i, (acc, name) in enumerate(accounts, start=1):
        set_text(lists.cell(i, 1), f"{acc}{ID_NAME}{name}")
    headers = [
        "Account ID",
        "Application",
        "Code",
        "Rows",
        "Device cost",
        "First seen",
        "Last seen",
        "Suggestions",
    ]
    widths = [34, 22, 14, 8, 12, 17, 17, 80]
    note = ws.cell(
        1,
        1,
        f"What to do: for each code, choose its account in column A (active accounts at "
        f"{m['location']}); leave it blank to skip the code. Save, then run: charges "
        f"apply-codes THIS-FILE --workbooks {m.get('workbooks', 'WORKBOOKS')}, and then: "
        f"charges retry {batch.path} --out NEW-BATCH-FOLDER",
    )
    note.font = Font(bold=True)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.row_dimensions[1].height = 48
    for i, (h, w) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(CODES_HEADER_ROW, i, h)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = w
    ws.freeze_panes = f"A{CODES_HEADER_ROW + 1}"
    ws.column_dimensions["C"].number_format = "@"
    first = CODES_HEADER_ROW + 1
    for r, row in enumerate(codes.itertuples(index=False), start=first):
        set_text(ws.cell(r, 2), m["application"])
        set_text(ws.cell(r, 3), str(row.Code))
        ws.cell(r, 4, int(row.Rows))
        ws.cell(r, 5, Decimal(str(row[2]))).number_format = "#,##0.00####"
        ws.cell(r, 6, row[3].to_pydatetime()).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(r, 7, row[4].to_pydatetime()).number_format = "yyyy-mm-dd hh:mm"
        set_text(ws.cell(r, 8), "; ".join((hints or {}).get(row.Code, [])))
    if accounts:
        dv = DataValidation(
            type="list", formula1=f"=Accounts!$A$1:$A${len(accounts)}", allow_blank=True
        )
        dv.error = f"Choose an active account at {m['location']}."
        dv.add(f"A{first}:A{max(len(codes), 1) + first + 1000}")
        ws.add_data_validation(dv)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --- several batches -------------------------------------------------------------------


def period_summary(batches: list[Batch]) -> pd.DataFrame:
    """One row per location × application (and currency) across batches: each batch counted
    once, void batches left out (see ``void_batches``)."""
    rows = []
    for b in unique_batches(batches):
        if b.void:
            continue
        m = b.manifest
        rows.append(
            {
                "Location": m["location"],
                "Application": m["application"],
                "Currency": m["currency"],
                "Batches": 1,
                "Rows read": m["rows"]["read"],
                "Billed": m["rows"]["matched"],
                "Unmatched": m["rows"]["unmatched"],
                "Skipped": m["rows"]["skipped"],
                "Net": Decimal(m["billed"]["net"]),
                "Tax": Decimal(m["billed"]["tax"]),
                "Gross": Decimal(m["billed"]["gross"]),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    keys = ["Location", "Application", "Currency"]
    g = frame.groupby(keys, as_index=False).agg({c: "sum" for c in frame.columns if c not in keys})
    return g.sort_values(keys, ignore_index=True)


# --- display ---------------------------------------------------------------------------


def _decimal(column: pd.Series) -> bool:
    """Decimal values, as an Arrow decimal column or Python Decimals."""
    return str(column.dtype).startswith("decimal") or (
        column.dtype == object and column.map(lambda v: isinstance(v, Decimal)).any()
    )


def show(frame: pd.DataFrame, money_cols=(), places: int = 2) -> pd.DataFrame:
    """A frame with money as text (exact, with thousands separators) for display."""
    out = frame.copy()
    for c in money_cols:
        if c in out:
            out[c] = [money(v, places) for v in out[c]]
    for c in out.columns:
        if c not in money_cols and str(c).endswith("%"):  # shares: one decimal place
            out[c] = ["" if v is None or v is pd.NA else f"{Decimal(str(v)):.1f}" for v in out[c]]
        elif c not in money_cols and _decimal(out[c]):
            out[c] = [
                ("" if v is None or v is pd.NA else f"{Decimal(str(v)).normalize():,f}")
                for v in out[c]
            ]
    return out


def key_values(pairs: dict[str, str]) -> str:
    """A two-column HTML table of headline figures."""
    from html import escape

    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:2em'>{escape(k)}</th>"
        f"<td style='text-align:right'>{escape(str(v))}</td></tr>"
        for k, v in pairs.items()
    )
    return f"<table class='headline'>{rows}</table>"


_TABLES = iter(range(1, 1 << 30))


def html(frame: pd.DataFrame, money_cols=(), places: int = 2) -> str:
    """A frame as an HTML table: text left, numbers right, money exact, blanks blank."""
    numeric = [
        i
        for i, c in enumerate(frame.columns, start=1)
        if c in money_cols
        or pd.api.types.is_numeric_dtype(frame[c])
        or str(frame[c].dtype).startswith(("int", "double"))
        or _decimal(frame[c])
    ]
    shown = show(frame, money_cols, places)
    for c in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[c]) or str(shown[c].dtype).startswith(
            "timestamp"
        ):
            shown[c] = [("" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}") for v in shown[c]]
    shown = shown.astype(object).where(shown.notna(), "")
    table_id = f"t{next(_TABLES)}"
    rules = "".join(
        f"#{table_id} td:nth-child({i}),#{table_id} th:nth-child({i}){{text-align:right}}"
        for i in numeric
    )
    style = (
        f"<style>#{table_id} td,#{table_id} th{{text-align:left;padding:2px 10px}}{rules}</style>"
    )
    return style + shown.to_html(
        index=False, na_rep="", escape=True, border=0, classes="report", table_id=table_id
    )


def has_device_cost(batch: Batch) -> bool:
    """Whether the export carried any device cost (a print log or room booking may not)."""
    return Decimal(batch.manifest["cost"]["read"]) != 0


def balanced_badge(rec: pd.DataFrame) -> str:
    if rec.attrs.get("balanced"):
        cost = (
            "and the device cost adds up"
            if rec["Device cost"].iloc[0] != 0
            else "(no device cost in this export)"
        )
        return (
            "<p style='color:#1a7f37;font-weight:bold'>✔ Balanced: every row read is "
            f"billed, unmatched or skipped, {cost}.</p>"
        )
    return (
        "<p style='color:#cf222e;font-weight:bold'>✘ NOT balanced: the batch files do not "
        "add up to what was read. Do not bill this batch; import it again.</p>"
    )


def plot_top_accounts(accounts: pd.DataFrame, ax, top: int, currency: str) -> None:
    head = accounts.head(top).iloc[::-1]
    ax.barh(
        [f"{a} {n}"[:28] for a, n in zip(head["Account ID"], head["Account Name"], strict=True)],
        [float(Decimal(str(v))) for v in head["Net"]],
        color="#305496",
    )
    ax.set_title(f"Top {min(top, len(accounts))} accounts by net ({currency})")
    ax.set_xlabel(currency)


def plot_daily(days: pd.DataFrame, ax, currency: str) -> None:
    ax.bar(
        [str(d) for d in days["Day"]],
        [float(Decimal(str(v))) for v in days["Net"]],
        color="#305496",
    )
    ax.set_title(f"Billed net per day ({currency})")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)


def unbilled_headline(batch: Batch) -> dict[str, str]:
    m = batch.manifest
    return {
        "Rows read": f"{m['rows']['read']:,}",
        "Unmatched": f"{m['rows']['unmatched']:,} rows, device cost "
        f"{money(m['cost']['unmatched'], 4)}",
        "Skipped": f"{m['rows']['skipped']:,} rows, device cost {money(m['cost']['skipped'], 4)}",
        "Billed": f"{m['rows']['matched']:,} rows",
    }


def plot_reasons(reasons: pd.DataFrame, ax) -> None:
    data = reasons.iloc[::-1]
    colours = ["#cf222e" if o == "Unmatched" else "#8c959f" for o in data["Outcome"]]
    ax.barh(list(data["Reason"]), list(data["Rows"]), color=colours)
    ax.set_title("Rows not billed, by reason (red: unmatched, grey: skipped)")


def actions_html(reasons: pd.DataFrame) -> str:
    from html import escape

    if reasons.empty:
        return "<p>Every row was billed: nothing to do.</p>"
    items = "".join(
        f"<li><b>{escape(r.Title)}</b> (<code>{escape(r.Reason)}</code>, {r.Rows:,} rows): "
        f"{escape(r.What_to_do)}</li>"
        for r in reasons.rename(columns={"What to do": "What_to_do"}).itertuples()
    )
    return f"<ul>{items}</ul>"


def reference_for(batch: Batch, workbooks: str | Path | None):
    """The workbooks' reference data for suggestions, or None when they cannot be loaded."""
    from processor.api import load_reference

    folder = workbooks or batch.manifest.get("workbooks")
    if not folder or not Path(folder).is_dir():
        return None
    ref, _ = load_reference(Path(folder))
    return ref


def unbilled_examples(batch: Batch, rows: int = 5) -> dict[str, pd.DataFrame]:
    out = {}
    cols = {
        "source_file": "File",
        "line": "Line",
        "code": "Code",
        "message": "Reason",
        "raw": "Raw row",
    }
    for frame in (batch.unmatched, batch.skipped):
        for reason, g in frame.groupby("reason", sort=True):
            out[reason] = g[list(cols)].rename(columns=cols).head(rows)
    return out


def period_totals(summary: pd.DataFrame) -> pd.DataFrame:
    if summary.empty:
        return summary
    cols = ["Batches", "Rows read", "Billed", "Unmatched", "Skipped", "Net", "Tax", "Gross"]
    return summary.groupby("Currency", as_index=False)[cols].sum()
