"""Validate the workbooks: cell checks (pandera) and rules across sheets.

Pure functions over the raw sheets that ``processor.reference.reading`` reads; every
problem becomes a finding row with its workbook, sheet and cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa

from processor import findings as fnd
from processor.ingest.formats import registry
from processor.reference.reading import Sheet
from schemas import checks
from schemas.checks import key
from schemas.workbooks import SHEETS, key_column


def cell_findings(sheet: Sheet) -> list[dict[str, str]]:
    """Run the sheet's pandera schema and turn its failure cases into findings."""
    schema: pa.DataFrameSchema = SHEETS[sheet.name]
    try:
        schema.validate(sheet.frame, lazy=True, inplace=True)  # no coercion: a check, no copy
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    out = []
    cases = cases.dropna(subset=["index"])
    # a formula error is the one thing to say about its cell
    bad = cases[cases["check"] == "formula-error"]
    errored = set(zip(bad["column"], bad["index"], strict=True))
    for column, check, index in zip(cases["column"], cases["check"], cases["index"], strict=True):
        if check != "formula-error" and (column, index) in errored:
            continue
        meta = schema.columns[column].metadata
        severity, template = checks.MESSAGES.get(check, ("error", "{label} is not valid ({check})"))
        value = sheet.frame.at[int(index), column]
        text = "" if value is None else checks.as_text(value)
        choices = [c if c[:1].isalnum() else f'"{c}"' for c in meta["choices"] or []]
        message = template.format(
            label=meta["label"], value=text, check=check, choices=", ".join(choices)
        )
        code = "required" if check == "not_nullable" else check
        out.append(
            fnd.finding(
                severity, code, message, sheet.workbook, sheet.name, sheet.cell(column, int(index))
            )
        )
    return out


def reference_findings(sheets: dict[str, Sheet]) -> list[dict[str, str]]:
    """Every Location, Account ID, Application, Product, Tariff and Format named must exist."""
    out = []
    for sheet in sheets.values():
        for name, column in SHEETS[sheet.name].columns.items():
            target = column.metadata["ref"]
            if not target or target not in sheets:
                continue
            target_sheet = sheets[target]
            known = set(target_sheet.keys(key_column(target)).dropna())
            extra = ""
            if target == "Formats":
                known |= {key(n) for n in registry.names()}
                extra = " or a built-in format (charges formats lists them)"
            values = sheet.frame[name]
            named = sheet.keys(name)
            unknown = named.notna() & ~named.isin(known)
            for row, value in values[unknown].items():
                out.append(
                    fnd.finding(
                        "error",
                        "unknown-reference",
                        f'{column.metadata["label"]} "{checks.as_text(value)}" is not on the '
                        f"{target} sheet ({target_sheet.workbook}){extra}; add it there or "
                        "correct the spelling",
                        sheet.workbook,
                        sheet.name,
                        sheet.cell(name, row),
                    )
                )
    return out


def code_findings(sheets: dict[str, Sheet]) -> list[dict[str, str]]:
    """A code resolves to at most one account per (Application, Location)."""
    if not {"Accounts", "Account Codes", "Device Import Maps"} <= sheets.keys():
        return []
    accounts = sheets["Accounts"]
    a = accounts.frame
    known = (a["Account ID"].notna() & a["Location"].notna()).to_numpy()
    account_location = dict(
        zip(accounts.keys("Account ID")[known], a["Location"][known], strict=True)
    )
    location_key = dict(
        zip(accounts.keys("Account ID")[known], accounts.keys("Location")[known], strict=True)
    )
    codes, maps = sheets["Account Codes"], sheets["Device Import Maps"]
    c, m = codes.frame, maps.frame

    def present(sheet: Sheet, *columns: str) -> np.ndarray:
        return np.logical_and.reduce([sheet.keys(col).notna().to_numpy() for col in columns])

    c_loc = codes.keys("Account ID").map(location_key)
    c_ok = present(codes, "Account ID", "Application", "Code") & c_loc.notna().to_numpy()
    m_ok = present(maps, "Application", "Location", "Code", "Account ID")
    # (application, location, code) of each holder, in sheet order: Account Codes, then maps
    apps = np.concatenate([codes.keys("Application")[c_ok], maps.keys("Application")[m_ok]])
    locs = np.concatenate([c_loc[c_ok], maps.keys("Location")[m_ok]])
    named = np.concatenate([codes.keys("Code")[c_ok], maps.keys("Code")[m_ok]])
    triples = [f"{a}\x1f{lc}\x1f{cd}" for a, lc, cd in zip(apps, locs, named, strict=True)]
    ids, _ = pd.factorize(np.array(triples, dtype=object))
    shared = np.flatnonzero(np.bincount(ids)[ids] > 1) if len(ids) else np.zeros(0, int)

    def days(sheet: Sheet, column: str, ok: np.ndarray) -> list:
        return list(np.array(sheet.dates(column), dtype=object)[ok])

    holders = pd.DataFrame(
        {
            "triple": ids,
            "acc": np.concatenate([c["Account ID"][c_ok], m["Account ID"][m_ok]]),
            "sheet": np.repeat([0, 1], [int(c_ok.sum()), int(m_ok.sum())]),
            "row": np.concatenate([c.index[c_ok], m.index[m_ok]]),
            "start": days(codes, "From", c_ok) + days(maps, "From", m_ok),
            "end": days(codes, "To", c_ok) + days(maps, "To", m_ok),
        }
    ).iloc[shared]  # the holders of a code another also holds
    out: list[dict[str, str]] = []
    owner = maps.keys("Account ID")[m_ok].map(location_key)
    elsewhere = owner.notna() & (owner != maps.keys("Location")[m_ok])
    for row in m.index[m_ok][elsewhere.to_numpy()]:
        acc, loc = m.at[row, "Account ID"], m.at[row, "Location"]
        owner_loc = account_location[key(acc)]
        out.append(
            fnd.finding(
                "error",
                "account-at-other-location",
                f'account {checks.as_text(acc)} belongs to location "{owner_loc}", not '
                f'"{loc}"; map the code at the account\'s location or correct the Account ID',
                maps.workbook,
                maps.name,
                maps.cell("Account ID", row),
            )
        )
    sheet_of = {0: codes, 1: maps}
    for _, entries in holders.groupby("triple", sort=False):
        held = list(entries[["acc", "sheet", "row", "start", "end"]].itertuples(index=False))
        for i, (acc, sheet_id, row, start, end) in enumerate(held):
            # an earlier holder whose days overlap this one's, another account first (a
            # code may change hands: holders on days that do not overlap are fine)
            overlapping = [h for h in held[:i] if _overlap(h[3], h[4], start, end)]
            if not overlapping:
                continue
            others = [
                h for h in overlapping if key(checks.as_text(h[0])) != key(checks.as_text(acc))
            ]
            earlier = (others or overlapping)[0]
            first_acc, first_sheet = checks.as_text(earlier[0]), sheet_of[earlier[1]]
            first_place = fnd.where(
                {
                    "workbook": first_sheet.workbook,
                    "sheet": first_sheet.name,
                    "cell": first_sheet.cell("Code", earlier[2]),
                }
            )
            sheet = sheet_of[sheet_id]
            acc = checks.as_text(acc)
            code_text = checks.as_text(sheet.frame.at[row, "Code"])
            app_text = checks.as_text(sheet.frame.at[row, "Application"])
            dated = any(d is not None for d in (start, end, earlier[3], earlier[4]))
            if key(acc) == key(first_acc):
                sev, rc = "warning", "duplicate-code"
                msg = (
                    f'code "{code_text}" for {app_text} is given to account {acc} again '
                    f"(also at {first_place}); remove one of them"
                )
            elif dated:
                sev, rc = "error", "conflicting-code"
                msg = (
                    f'code "{code_text}" for {app_text} at this location belongs to account '
                    f"{acc} {_span(start, end)} here and to account {first_acc} "
                    f"{_span(earlier[3], earlier[4])} at {first_place}, and those days "
                    "overlap; a code belongs to one account on any day: correct the From and "
                    "To dates of one of them"
                )
            else:
                sev, rc = "error", "conflicting-code"
                msg = (
                    f'code "{code_text}" for {app_text} at this location belongs to account '
                    f"{acc} here and to account {first_acc} at {first_place}; a code may "
                    "belong to one account only: remove or correct one, or give each its From "
                    "and To dates if the code changed hands"
                )
            out.append(
                fnd.finding(sev, rc, msg, sheet.workbook, sheet.name, sheet.cell("Code", row))
            )
    return out


def _overlap(a_start, a_end, b_start, b_end) -> bool:
    """Two inclusive ranges of days overlap (None: open at that end)."""
    return (a_start is None or b_end is None or a_start <= b_end) and (
        b_start is None or a_end is None or b_start <= a_end
    )


def _span(start, end) -> str:
    """A code's days, as a message names them."""
    if start is None and end is None:
        return "on every day"
    if start is None:
        return f"up to {end.isoformat()}"
    if end is None:
        return f"from {start.isoformat()}"
    return f"from {start.isoformat()} to {end.isoformat()}"


def _row_rules(sheets: dict[str, Sheet]) -> list[dict[str, str]]:
    """Rules within a row and duplicates of compound keys."""
    out = []

    def add(sheet: Sheet, column: str, row: int, code: str, message: str, severity="error"):
        out.append(
            fnd.finding(
                severity, code, message, sheet.workbook, sheet.name, sheet.cell(column, row)
            )
        )

    if "Products" in sheets:
        s = sheets["Products"]
        for row, r in s.rows():
            pricing = key(r["Pricing"]) if r["Pricing"] is not None else ""
            if pricing == "unit price" and r["Unit Price"] is None:
                add(
                    s,
                    "Unit Price",
                    row,
                    "missing-unit-price",
                    f'product "{r["Product"]}" is priced by Unit Price but has no Unit Price; '
                    "fill it in",
                )
            low, high = (
                checks.to_decimal(r.get("Minimum Charge")),
                checks.to_decimal(r.get("Maximum Charge")),
            )
            # a Maximum Charge below zero is the cell's own error (money is 0 or more)
            if high is not None and low is not None and 0 <= high < low:
                add(
                    s,
                    "Maximum Charge",
                    row,
                    "maximum-below-minimum",
                    f'product "{r["Product"]}" has a Maximum Charge {high.normalize():f} below '
                    f"its Minimum Charge {low.normalize():f}; correct one of them",
                )
            # Free Seconds below zero is the cell's own error (a whole number of 0 or more)
            free = checks.to_decimal(r.get("Free Seconds"))
            if free is not None and free >= 0 and pricing != "tariff":
                add(
                    s,
                    "Free Seconds",
                    row,
                    "free-seconds-not-tariff",
                    f'product "{r["Product"]}" has Free Seconds but is priced by '
                    f"{r['Pricing']}; Free Seconds applies to Tariff products only and is "
                    "ignored here",
                    severity="warning",
                )
            if pricing == "tariff" and r["Tariff"] is None:
                add(
                    s,
                    "Tariff",
                    row,
                    "missing-tariff",
                    f'product "{r["Product"]}" is priced by Tariff but names no Tariff; '
                    "name one from the Tariffs sheet",
                )
    if "Accounts" in sheets:
        s = sheets["Accounts"]
        dates = zip(s.frame.index, s.dates("Start Date"), s.dates("End Date"), strict=True)
        for row, start, end in dates:
            if start and end and end < start:
                add(
                    s,
                    "End Date",
                    row,
                    "end-before-start",
                    f"End Date {end.isoformat()} is before Start Date {start.isoformat()}",
                )
    if {"Account Prices", "Products"} <= sheets.keys():
        bounds = {
            key(r["Product"]): (
                checks.to_decimal(r.get("Minimum Charge")),
                checks.to_decimal(r.get("Maximum Charge")),
            )
            for _, r in sheets["Products"].rows()
            if r["Product"] is not None
        }
        s = sheets["Account Prices"]
        for row, r in s.rows():
            if r["Product"] is None or key(r["Product"]) not in bounds:
                continue
            low, high = bounds[key(r["Product"])]
            own_low = checks.to_decimal(r.get("Minimum Charge"))
            own_high = checks.to_decimal(r.get("Maximum Charge"))
            low = own_low if own_low is not None else low
            high = own_high if own_high is not None else high
            if low is not None and high is not None and 0 <= high < low:
                add(
                    s,
                    "Maximum Charge" if own_high is not None else "Minimum Charge",
                    row,
                    "maximum-below-minimum",
                    f"account {checks.as_text(r['Account ID'])} would be billed {r['Product']} "
                    f"with a Maximum Charge {high.normalize():f} below its Minimum Charge "
                    f"{low.normalize():f} (this row's or the product's); correct one of them",
                )
    for name in ("Account Codes", "Device Import Maps"):
        if name not in sheets:
            continue
        s = sheets[name]
        for row, start, end in zip(s.frame.index, s.dates("From"), s.dates("To"), strict=True):
            if start and end and end < start:
                add(
                    s,
                    "To",
                    row,
                    "end-before-start",
                    f"To {end.isoformat()} is before From {start.isoformat()}",
                )
    for name, cols, what in (
        (
            "Product Rules",
            ["Application", "Paper Size", "Duplex", "Item"],
            "a rule for this application, item, paper size and duplex",
        ),
        ("Account Prices", ["Account ID", "Product"], "a price for this account and product"),
        ("Plans", ["Plan", "Product"], "an allowance for this plan and product"),
        ("Tariffs", ["Tariff", "Band", "Prefix"], "a rate for this tariff, band and prefix"),
        ("Tax Codes", ["System", "Tax Rate %"], "a code for this system and rate"),
        ("GL Codes", ["System", "GL Code"], "a code for this system and GL Code"),
    ):
        if name not in sheets:
            continue
        s = sheets[name]
        keys = s.frame[cols].map(lambda v: key(v) if v is not None else None)
        # a blank Band is a value of its own (any time); the other columns are required
        optional = [
            i for i, c in enumerate(cols) if not SHEETS[name].columns[c].metadata["required"]
        ]
        seen: dict[tuple, int] = {}
        for row, values in zip(keys.index, keys.itertuples(index=False), strict=True):
            values = tuple("" if i in optional and v is None else v for i, v in enumerate(values))
            if None in values:
                continue
            if values in seen:
                add(
                    s,
                    cols[-1],
                    row,
                    "duplicate",
                    f"there is already {what} in row {seen[values]}; keep one",
                )
            else:
                seen[values] = row
    if "Formats" in sheets:
        out.extend(_format_rules(sheets["Formats"]))
    if "Product Rules" in sheets:
        out.extend(_product_rule_rules(sheets["Product Rules"]))
    if {"Plans", "Products"} <= sheets.keys():
        out.extend(_plan_rules(sheets["Plans"], sheets["Products"]))
    if "Time Bands" in sheets:
        out.extend(_band_rules(sheets["Time Bands"], sheets.get("Holidays")))
    if "Applications" in sheets:
        s = sheets["Applications"]
        custom = (
            {key(v) for v in sheets["Formats"].frame["Format"].dropna()}
            if ("Formats" in sheets)
            else set()
        )
        for row, r in s.rows():
            if r["Match On"] is None or r["Format"] is None or key(r["Format"]) in custom:
                continue
            fmt = registry.get(checks.as_text(r["Format"]))
            if fmt is None:
                continue
            for f in split_fields(r["Match On"]):
                if f.casefold() not in {x.casefold() for x in fmt.fields}:
                    add(
                        s,
                        "Match On",
                        row,
                        "unknown-field",
                        f'Match On names "{f}", which format {fmt.name} does not have; it has: '
                        f"{', '.join(fmt.fields)}",
                    )
    return out


_CRITERIA = ("Item", "Paper Size", "Duplex")


def _product_rule_rules(s: Sheet) -> list[dict[str, str]]:
    """A rule names at least one criterion; two rules of one application naming as many
    criteria never both match one row (which product bills it could not be told)."""
    out = []
    seen: dict[str, list[tuple[int, dict]]] = {}
    for row, r in s.rows():
        if r["Application"] is None or (
            r.get("Duplex") is not None and key(r["Duplex"]) not in {"yes", "no"}
        ):
            continue  # the cell's own error says what is wrong
        # criterion → (key, as typed)
        named = {c: (key(r[c]), checks.as_text(r[c])) for c in _CRITERIA if r.get(c) is not None}
        if not named:
            out.append(
                fnd.finding(
                    "error",
                    "rule-names-nothing",
                    "this rule names no Item, Paper Size or Duplex, so it would match every "
                    "row; name at least one (the application's Product bills the rows no "
                    "rule matches)",
                    s.workbook,
                    s.name,
                    s.cell("Item", row),
                )
            )
            continue
        for other_row, other in seen.get(key(r["Application"]), []):
            same = {c: v[0] for c, v in named.items()} == {c: v[0] for c, v in other.items()}
            if len(other) != len(named) or same:
                continue  # a rule naming more wins; the same rule twice is a duplicate
            if all(other[c][0] == v[0] for c, v in named.items() if c in other):
                both = {**other, **named}
                shown = ", ".join(f"{c} {both[c][1]}" for c in _CRITERIA if c in both)
                out.append(
                    fnd.finding(
                        "error",
                        "overlapping-rules",
                        f"this rule and the rule in row {other_row} name as many criteria "
                        f"and both match a row of {shown}, so which product bills it could "
                        "not be told; name another criterion in one of them, or make them "
                        "differ",
                        s.workbook,
                        s.name,
                        s.cell("Item", row),
                    )
                )
                break
        seen.setdefault(key(r["Application"]), []).append((row, named))
    return out


def _plan_rules(s: Sheet, products: Sheet) -> list[dict[str, str]]:
    """A plan's row includes a quantity or an amount, not both; a Tariff product's minutes
    are whole seconds."""
    out = []
    pricing = {
        key(r["Product"]): key(r["Pricing"]) if r["Pricing"] is not None else ""
        for _, r in products.rows()
        if r["Product"] is not None
    }
    for row, r in s.rows():
        if r["Plan"] is None or r["Product"] is None:
            continue
        plan, product = checks.as_text(r["Plan"]), checks.as_text(r["Product"])
        quantity = checks.to_decimal(r["Included Quantity"])
        given = [r["Included Quantity"] is not None, r["Included Amount"] is not None]
        if all(given):
            where, code = "Included Amount", "two-allowances"
            msg = (
                f'plan "{plan}" gives product {product} both an Included Quantity and an '
                "Included Amount; keep one of them"
            )
        elif not any(given):
            where, code = "Included Quantity", "no-allowance"
            msg = (
                f'plan "{plan}" includes nothing of product {product}; fill in its Included '
                "Quantity or its Included Amount"
            )
        elif (
            quantity is not None
            and quantity >= 0
            and pricing.get(key(product)) == "tariff"
            and quantity * 60 != (quantity * 60).to_integral_value()
        ):
            where, code = "Included Quantity", "minutes-not-whole-seconds"
            msg = (
                f"Included Quantity {quantity.normalize():f} minutes of Tariff product "
                f"{product} is {(quantity * 60).normalize():f} seconds, not a whole number; "
                "calls are counted in whole seconds: give minutes such as 1.5 (90 seconds)"
            )
        else:
            continue
        out.append(fnd.finding("error", code, msg, s.workbook, s.name, s.cell(where, row)))
    return out


_DAY_TEXT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Holiday")


def _band_rules(s: Sheet, holidays: Sheet | None) -> list[dict[str, str]]:
    """Two bands never hold one moment; holidays listed are rated as some band's Holiday."""
    out = []
    rows = []
    for row, r in s.rows():
        days, start, end = (
            checks.to_days(r["Days"]),
            checks.to_clock(r["From"]),
            checks.to_clock(r["To"]),
        )
        if r["Band"] is None or days is None or start is None or end is None:
            continue  # the cell's own error says what is wrong
        spans = [(start, end)] if start < end else [(start, checks.DAY_SECONDS), (0, end)]
        rows.append((row, checks.as_text(r["Band"]), days, spans))
    for i, (row, band, days, spans) in enumerate(rows):
        for other_row, other, other_days, other_spans in rows[:i]:
            if key(band) == key(other):
                continue  # one band's rows may overlap: they say the same
            shared = sorted(days & other_days)
            moment = next(
                (max(a, c) for a, b in spans for c, d in other_spans if max(a, c) < min(b, d)),
                None,
            )
            if not shared or moment is None:
                continue
            out.append(
                fnd.finding(
                    "error",
                    "overlapping-bands",
                    f'band "{band}" and band "{other}" in row {other_row} both hold '
                    f"{_DAY_TEXT[shared[0]]} {checks.clock_text(moment)}; a moment belongs to "
                    "one band: correct the Days, From or To of one of them",
                    s.workbook,
                    s.name,
                    s.cell("Days", row),
                )
            )
            break
    if holidays is not None and len(holidays.frame) and rows:
        if not any(checks.HOLIDAY in days for _, _, days, _ in rows):
            out.append(
                fnd.finding(
                    "warning",
                    "holiday-without-band",
                    "the Holidays sheet lists days, but no band's Days name Holiday, so a "
                    "call on a holiday has no band and is rated on the rows with a blank Band "
                    "only; add Holiday to the Days of the band holidays are rated in",
                    s.workbook,
                    s.name,
                )
            )
    return out


def split_fields(value: object) -> list[str]:
    """`accountcode, src` → ["accountcode", "src"]."""
    return [p.strip() for p in checks.as_text(value).replace(";", ",").split(",") if p.strip()]


_COLUMN_FIELDS = [c for c in SHEETS["Formats"].columns if c.endswith(" Column")]


def _format_rules(s: Sheet) -> list[dict[str, str]]:
    out = []
    for row, r in s.rows():
        has_header = r["Has Header"] is None or key(r["Has Header"]) == "yes"
        header_rows = checks.to_decimal(r["Header Rows"])
        if has_header and header_rows is not None and header_rows < 1:
            out.append(
                fnd.finding(
                    "error",
                    "inconsistent-format",
                    "Header Rows is 0 but Has Header is Yes; the header line is one of the skipped "
                    "lines, so use 1 or more (or set Has Header to No)",
                    s.workbook,
                    s.name,
                    s.cell("Header Rows", row),
                )
            )
        excel = r["File Type"] is not None and key(r["File Type"]) == "excel"
        for column in ("Delimiter", "Encoding") if excel else ("Sheet",):
            if r[column] is not None:
                what = (
                    "an Excel export's cells are read as they are, so it is not used; clear it"
                    if excel
                    else "it names the sheet of an Excel export; set File Type to Excel, or "
                    "clear it"
                )
                out.append(
                    fnd.finding(
                        "warning",
                        "inconsistent-format",
                        f"{column} is set but File Type is {'Excel' if excel else 'CSV'}: {what}",
                        s.workbook,
                        s.name,
                        s.cell(column, row),
                    )
                )
        if has_header:
            continue
        for column in _COLUMN_FIELDS:
            v = r[column]
            if v is not None and checks.to_decimal(v) is None:
                out.append(
                    fnd.finding(
                        "error",
                        "inconsistent-format",
                        f'{column} "{checks.as_text(v)}" names a header, but Has Header is No; '
                        "use the column's position (1 = first column)",
                        s.workbook,
                        s.name,
                        s.cell(column, row),
                    )
                )
    return out


def nothing_to_bill(sheets: dict[str, Sheet]) -> list[dict[str, str]]:
    """Workbooks with no accounts, or no applications, are valid but bill nothing yet."""
    out = []
    for name, what, book in (
        ("Locations", "locations", "accounts.xlsx"),
        ("Accounts", "accounts", "accounts.xlsx"),
        ("Applications", "applications (devices)", "devices.xlsx"),
        ("Products", "products", "devices.xlsx"),
    ):
        if name in sheets and sheets[name].frame.empty:
            out.append(
                fnd.finding(
                    "warning",
                    "nothing-to-bill",
                    f"has no {what} yet, so there is nothing to bill: fill in the {name} "
                    "sheet (its header comments say what each column holds)",
                    book,
                    name,
                )
            )
    return out


def across_sheets(sheets: dict[str, Sheet]) -> list[dict[str, str]]:
    """The findings of the rules across sheets (references, codes, rows, something to bill)."""
    rows = reference_findings(sheets)
    rows.extend(code_findings(sheets))
    rows.extend(_row_rules(sheets))
    rows.extend(nothing_to_bill(sheets))
    return rows
