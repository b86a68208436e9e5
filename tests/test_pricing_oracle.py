"""Pricing checked against an independent implementation of the README's rules.

The oracle below is written from the README ("Matching and pricing") with Python's
decimal module alone; it shares no code with ``processor``. Generated scenarios cover
the three pricing modes, minimum and maximum charges, free calls, credits, product tax
overrides, both Tax
Roundings and currencies with 0, 2 and 3 minor units; every billed row, every Batch
Sheet line and every total is compared.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from processor import run_import
from tests.conftest import base, put, row, sheet_lines, write_books

D = Decimal
HEADER = "Code,Date,Description,Quantity,Cost,Item,Duration,Destination"
CURRENCIES = {"JPY": 0, "GBP": 2, "KWD": 3}
ACCOUNTS = {"100": "A1", "400": "A4", "500": "A5"}


# --- the oracle: the README's rules, written again --------------------------------------


def half_away(value: Decimal, places: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        q = value.quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP)
    return q + 0 if q != 0 else abs(q)


def held(text: str) -> Decimal:
    """A number as read: exact, then held at 6 places, half away from zero."""
    return half_away(Decimal(text.replace(",", "")), 6)


DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]


def day_list(text: str) -> set[str]:
    """A Days cell: names and ranges in week order, trimmed, without case."""
    out = set()
    for part in text.split(","):
        ends = [e.strip().lower() for e in part.split("-")]
        if len(ends) == 1:
            out.add(ends[0])
        else:
            out.update(DAYS[DAYS.index(ends[0]) : DAYS.index(ends[1]) + 1])
    return out


def minutes(cell) -> int:
    """From or To, typed as text HH:MM or as an Excel time cell."""
    if isinstance(cell, dt.time):
        return cell.hour * 60 + cell.minute
    h, m = cell.split(":")
    return int(h) * 60 + int(m)


def band_of(when: dt.datetime, bands: list[dict], holidays: set[dt.date]) -> str | None:
    """The band whose Days hold the day type and whose times hold the start time."""
    day = "holiday" if when.date() in holidays else DAYS[when.weekday()]
    at = when.hour * 60 + when.minute
    for b in bands:
        start, end = minutes(b["from"]), minutes(b["to"])
        inside = start <= at < end if start < end else (at >= start or at < end)
        if day in day_list(b["days"]) and inside:
            return b["band"]
    return None


def oracle_net(product: dict, row: dict, tariffs: list[dict], places: int, band=None):
    """(net, None) for a billed charge, or (None, reason) for an unmatched one; ``band`` is
    the call's time band (None: none holds it)."""
    if product["pricing"] == "Tariff" and product["free"] is not None:
        # a call no longer than Free Seconds (whole seconds, as held) is free: before any
        # tariff or price is asked of it
        whole = math.ceil(held(row["duration"])) if row["duration"] else 0
        if whole <= int(product["free"]):
            return None, "free-call"
    with localcontext() as ctx:
        ctx.prec = 100
        qty = held(row["quantity"]) if row["quantity"] else D(1)
        cost = held(row["cost"]) if row["cost"] else D(0)
        if product["pricing"] == "Cost Plus":
            value = cost * (1 + D(product["markup"]) / 100) + D(product["fixed"])
        elif product["pricing"] == "Unit Price":
            value = qty * D(product["unit"])
        else:
            digits = "".join(ch for ch in row["destination"] if ch.isdigit())
            best = None
            usable = [
                t
                for t in tariffs
                if t.get("band") is None or (band and t["band"].lower() == band.lower())
            ]
            for t in usable:
                longer = best is None or len(t["prefix"]) > len(best["prefix"])
                # at equal length, the band's row wins over a blank one
                tie = (
                    best is not None
                    and len(t["prefix"]) == len(best["prefix"])
                    and best.get("band") is None
                    and t.get("band") is not None
                )
                if digits.startswith(t["prefix"]) and (longer or tie):
                    best = t
            if best is None or not digits:
                return None, "no-tariff"
            secs = math.ceil(held(row["duration"])) if row["duration"] else 0
            secs = max(secs, best["min"])
            secs = -(-secs // best["inc"]) * best["inc"]
            value = D(secs) * D(best["rate"]) / 60 + D(best["fee"])
    if product.get("discount"):
        with localcontext() as ctx:
            ctx.prec = 100
            value = value * (1 - D(product["discount"]) / 100)
    if value >= 0 and product["minimum"] is not None and value < D(product["minimum"]):
        value = D(product["minimum"])
    if value >= 0 and product["maximum"] is not None and value > D(product["maximum"]):
        value = D(product["maximum"])
    net = half_away(value, places)
    if net == 0 and not product["zero_ok"]:
        return None, "zero-price"
    return net, None


# --- scenarios ----------------------------------------------------------------------------


def amount(rng: random.Random, lo: int, hi: int, places: int) -> str:
    """A decimal written the way devices write them, sometimes with more places than held."""
    whole = rng.randint(lo, hi)
    frac = "".join(rng.choice("0123456789") for _ in range(places))
    text = f"{whole}.{frac}" if places else str(whole)
    if rng.random() < 0.15 and whole >= 0:
        text = "-" + text  # a credit
    if rng.random() < 0.1:
        text = f"{whole}.{'5' * places}" if places else text  # exact halves
    return text


def scenario(seed: int) -> dict:
    rng = random.Random(seed)
    later = random.Random(seed + 1000)  # the rules added later: the first draws stay as they were
    currency = rng.choice(list(CURRENCIES))
    rounding = rng.choice(["Per Line", "Per Charge", None])
    loc_rate = rng.choice(["20", "17.5", "5", "0", "12.345"])

    def product(name: str, pricing: str) -> dict:
        return {
            "name": name,
            "pricing": pricing,
            "markup": rng.choice(["0", "10", "12.5", "33.333"]),
            "fixed": rng.choice(["0", "0.05", "0.0049", "1"]),
            "unit": rng.choice(["0.065", "0.035", "1.005", "0.0005", "12"]),
            "minimum": rng.choice([None, None, "0.10", "0.5", "1"]),
            "tax": rng.choice([None, None, "0", "5", "21"]),
            "zero_ok": rng.random() < 0.3,
            "maximum": later.choice([None, None, "2", "5.5", "1"]),
            "free": later.choice([None, "0", "5", "60"]) if pricing == "Tariff" else None,
        }

    def own_prices() -> dict:
        """One account's prices for one product: only the differences."""
        choices = {
            "unit": ["0.02", "2.5"],
            "markup": ["0", "50"],
            "fixed": ["0.1", "0"],
            "minimum": ["0.25", "1"],
            "maximum": ["3", "8.5"],
            "discount": ["10", "12.5", "100", "33.3"],
        }
        return {k: later.choice(v) for k, v in choices.items() if later.random() < 0.4}

    products = [
        product("CP", "Cost Plus"),
        product("UP", "Unit Price"),
        product("TR", "Tariff"),
    ]
    tariffs = [
        {"prefix": p, "rate": r, "fee": f, "min": m, "inc": i}
        for p, r, f, m, i in [
            ("0", rng.choice(["0.01", "0.015"]), "0", 0, 1),
            ("07", rng.choice(["0.12", "0.1234"]), rng.choice(["0", "0.02"]), 60, 30),
            ("0700", "1.00", "0", rng.choice([0, 10]), rng.choice([1, 60])),
            ("44", rng.choice(["0.05", "0.0333"]), "0.011", 0, 6),
        ]
    ]
    rows = []
    for _ in range(rng.randint(5, 30)):
        rows.append(
            {
                "code": rng.choice(list(ACCOUNTS)),
                "date": f"2026-10-{rng.randint(1, 31):02d} 10:{rng.randint(0, 59):02d}",
                "quantity": rng.choice(["", "1", "3", amount(rng, 0, 40, rng.choice([0, 3, 7]))]),
                "cost": amount(rng, 0, 20, rng.choice([2, 4, 7])),
                "item": rng.choice(["cp", "up", "tr", ""]),
                "duration": rng.choice(["", "0", "5", "59", "61", "75.4", "3600"]),
                "destination": rng.choice(["07123456", "0700 111", "01234", "4420", "999", ""]),
            }
        )
    account_prices = {
        (account, name): own_prices()
        for account in ("A1", "A4")
        for name in ("CP", "UP", "TR")
        if later.random() < 0.5
    }
    bands, holidays = time_bands(random.Random(seed + 2000), rows, tariffs)
    return {
        "bands": bands,
        "holidays": holidays,
        "account_prices": account_prices,
        "currency": currency,
        "places": CURRENCIES[currency],
        "rounding": rounding,
        "loc_rate": loc_rate,
        "products": products,
        "tariffs": tariffs,
        "rows": rows,
    }


def time_bands(rng: random.Random, rows: list[dict], tariffs: list[dict]):
    """Time bands and holidays (often none), calls at every hour, and tariff rows per band."""

    def clock(text: str):
        h, m = text.split(":")
        return text if rng.random() < 0.5 else dt.time(int(h), int(m))  # text or a time cell

    kind = rng.choice(["none", "simple", "split", "night"])
    bands = {
        "none": [],
        "simple": [
            ("Peak", "Mon-Fri", "08:00", "18:00"),
            ("Off", "Mon-Fri", "18:00", "08:00"),
            ("Wkd", "Sat, Sun, Holiday", "00:00", "00:00"),
        ],
        "split": [
            ("Peak", "mon-fri", "08:00", "18:00"),
            ("Off", "Mon - Fri", "18:00", "00:00"),
            ("off", "MON-FRI", "00:00", "08:00"),
            ("Wkd", "sat,sun", "00:00", "00:00"),
        ],
        "night": [("Off", "Mon-Sun, Holiday", "22:00", "06:00")],
    }[kind]
    bands = [{"band": b, "days": d, "from": clock(f), "to": clock(t)} for b, d, f, t in bands]
    holidays = rng.choice(
        [[], [("2026-10-05", None)], [("2026-10-05", "London"), ("2026-10-12", "Leeds")]]
    )
    for r in rows:
        if rng.random() < 0.7:
            day = rng.choice([3, 4, 5, 10, 12, rng.randint(1, 31)])
            hm = rng.choice(
                ["07:59", "08:00", "17:59", "18:00", "00:00", "23:59", "22:00", "05:59"]
            )
            hm = hm if rng.random() < 0.6 else f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
            r["date"] = f"2026-10-{day:02d} {hm}"
    if bands:
        tariffs += [
            {"prefix": "07", "rate": "0.05", "fee": "0", "min": 0, "inc": 1, "band": "off"},
            {"prefix": "0", "rate": "0.002", "fee": "0.01", "min": 0, "inc": 1, "band": "OFF"},
            {"prefix": "0700", "rate": "0.5", "fee": "0", "min": 0, "inc": 1, "band": "Peak"},
            {"prefix": "99", "rate": "0.2", "fee": "0", "min": 0, "inc": 1, "band": "Peak"},
            {"prefix": "4", "rate": "0.001", "fee": "0", "min": 0, "inc": 1, "band": "Wkd"},
        ]
        tariffs[:] = [
            t
            for t in tariffs
            if t.get("band", "x").lower() in {"x", *(b["band"].lower() for b in bands)}
        ]
    return bands, holidays


def call_band(sc: dict, r: dict) -> str | None:
    when = dt.datetime.strptime(r["date"], "%Y-%m-%d %H:%M")
    days = {dt.date.fromisoformat(d) for d, loc in sc["holidays"] if loc in (None, "London")}
    return band_of(when, sc["bands"], days)


def write_scenario(tmp: Path, sc: dict) -> tuple[Path, Path]:
    data = base()
    data["Locations"][0] = ["London", sc["currency"], float(sc["loc_rate"]), sc["rounding"]]
    data["Accounts"] += [
        ["A4", "Delta Ltd", "London", "Active", None, None],
        ["A5", "Echo Ltd", "London", "Active", None, None],
    ]
    data["Account Codes"] += [["A4", "PBX", "400"], ["A5", "PBX", "500"]]
    data["Products"] = [
        row(
            "Products",
            {
                "Product": p["name"],
                "Description": p["name"] + " charges",
                "Pricing": p["pricing"],
                "Unit Price": p["unit"],  # text cells: exact
                "Markup %": p["markup"],
                "Markup Fixed": p["fixed"],
                "Minimum Charge": p["minimum"],
                "Tax Rate %": p["tax"],
                "Tariff": "Std" if p["pricing"] == "Tariff" else None,
                "Can Be Zero Price": "Yes" if p["zero_ok"] else "No",
                "Maximum Charge": p["maximum"],
                "Free Seconds": p["free"],
            },
        )
        for p in sc["products"]
    ]
    data["Account Prices"] = [
        row(
            "Account Prices",
            {
                "Account ID": account,
                "Product": name,
                "Unit Price": own.get("unit"),
                "Markup %": own.get("markup"),
                "Markup Fixed": own.get("fixed"),
                "Minimum Charge": own.get("minimum"),
                "Maximum Charge": own.get("maximum"),
                "Discount %": own.get("discount"),
            },
        )
        for (account, name), own in sc["account_prices"].items()
    ]
    put(data, "Applications", 0, {"Product": "CP"})
    data["Product Rules"] = [["PBX", "up", "UP"], ["PBX", "tr", "TR"]]
    data["Tariffs"] = [
        row(
            "Tariffs",
            {
                "Tariff": "Std",
                "Prefix": t["prefix"],
                "Destination": "dest",
                "Rate Per Minute": t["rate"],
                "Connection Fee": t["fee"],
                "Minimum Seconds": t["min"],
                "Increment Seconds": t["inc"],
                "Band": t.get("band"),
            },
        )
        for t in sc["tariffs"]
    ]
    data["Time Bands"] = [
        row("Time Bands", {"Band": b["band"], "Days": b["days"], "From": b["from"], "To": b["to"]})
        for b in sc["bands"]
    ]
    data["Holidays"] = [
        row("Holidays", {"Date": dt.date.fromisoformat(d), "Location": loc})
        for d, loc in sc["holidays"]
    ]
    folder = write_books(tmp / "wb", data)
    lines = [HEADER] + [
        ",".join(
            [
                r["code"],
                r["date"],
                "call",
                r["quantity"],
                r["cost"],
                r["item"],
                r["duration"],
                r["destination"],
            ]
        )
        for r in sc["rows"]
    ]
    export = tmp / "e.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, export


def expected(sc: dict):
    """Per-row outcome, Batch Sheet lines and totals, from the oracle."""
    by_name = {p["name"]: p for p in sc["products"]}
    places = sc["places"]
    per_charge = sc["rounding"] == "Per Charge"
    rows, lines = {}, {}
    for i, r in enumerate(sc["rows"], start=2):
        name = {"up": "UP", "tr": "TR"}.get(r["item"], "CP")
        p = by_name[name] | sc["account_prices"].get((ACCOUNTS[r["code"]], name), {})
        net, reason = oracle_net(p, r, sc["tariffs"], places, call_band(sc, r))
        rows[i] = (net, reason)
        if net is None:
            continue
        rate = D(p["tax"]) if p["tax"] is not None else D(sc["loc_rate"])
        key = (ACCOUNTS[r["code"]], name)
        line = lines.setdefault(key, {"qty": D(0), "net": D(0), "tax": D(0), "rate": rate})
        line["qty"] += held(r["quantity"]) if r["quantity"] else D(1)
        line["net"] += net
        if per_charge:
            line["tax"] += half_away(net * rate / 100, places)
    for line in lines.values():
        if not per_charge:
            line["tax"] = half_away(line["net"] * line["rate"] / 100, places)
        line["gross"] = line["net"] + line["tax"]
    return rows, lines


@pytest.mark.parametrize("seed", range(24))
def test_every_line_priced_as_the_readme_says(tmp_path, seed):
    sc = scenario(seed)
    folder, export = write_scenario(tmp_path, sc)
    out = tmp_path / "batch"
    result = run_import(folder, "London", "PBX", [export], out, dt.date(2026, 10, 31))
    want_rows, want_lines = expected(sc)

    charges = pd.read_parquet(out / "charges.parquet")
    unmatched = pd.read_parquet(out / "unmatched.parquet")
    got = {
        int(ln): (D(str(n)), None) for ln, n in zip(charges["line"], charges["net"], strict=True)
    }
    got |= {
        int(ln): (None, reason)
        for ln, reason in zip(unmatched["line"], unmatched["reason"], strict=True)
    }
    skipped = pd.read_parquet(out / "skipped.parquet")
    got |= {
        int(ln): (None, reason)
        for ln, reason in zip(skipped["line"], skipped["reason"], strict=True)
    }
    assert {k: (v[0] if v[0] is None else v[0].normalize(), v[1]) for k, v in got.items()} == {
        k: (v[0] if v[0] is None else v[0].normalize(), v[1]) for k, v in want_rows.items()
    }

    lines = pd.read_parquet(out / "lines.parquet")
    got_lines = {
        (a, p): tuple(D(str(v)).normalize() for v in (q, n, t, g))
        for a, p, q, n, t, g in zip(
            lines["account_id"],
            lines["product"],
            lines["quantity"],
            lines["net"],
            lines["tax"],
            lines["gross"],
            strict=True,
        )
    }
    assert got_lines == {
        k: tuple(v[c].normalize() for c in ("qty", "net", "tax", "gross"))
        for k, v in want_lines.items()
    }
    # the Batch Sheet shows the same lines, and the totals are their sums
    shown = {
        (r[0], r[2]): (D(str(r[5])), D(str(r[7])), D(str(r[8])))
        for r in sheet_lines(out / "batch.xlsx")
    }
    places = D(10) ** -sc["places"]
    # a line of zero is nothing to invoice: it is listed on Zero Lines, not the Batch Sheet
    assert {k: tuple(x.quantize(places) for x in v) for k, v in shown.items()} == {
        k: (v["net"], v["tax"], v["gross"]) for k, v in want_lines.items() if v["net"] != 0
    }
    zero = load_workbook(out / "batch.xlsx")["Zero Lines"]
    assert {
        (r[0], r[2]) for r in zero.iter_rows(min_row=2, values_only=True) if r[2] is not None
    } == {k for k, v in want_lines.items() if v["net"] == 0}
    m = json.loads((out / "manifest.json").read_text())
    for col in ("net", "tax", "gross"):
        total = sum((v[col] for v in want_lines.values()), D(0))
        assert D(m["billed"][col]) == total
    credits = [n for n, _ in want_rows.values() if n is not None and n < 0]
    assert m["credits"]["rows"] == len(credits)
    assert D(m["credits"]["net"]) == sum(credits, D(0))
    assert result.manifest["tax_rounding"] == (sc["rounding"] or "Per Line")


def test_the_scenarios_cover_every_rule():
    """The generated scenarios reach every branch the README names (so the test above
    cannot pass by never meeting a rule)."""
    seen = set()
    for seed in range(24):
        sc = scenario(seed)
        rows, _ = expected(sc)
        seen.add(("currency", sc["places"]))
        seen.add(("rounding", sc["rounding"] or "Per Line"))
        by_name = {p["name"]: p for p in sc["products"]}
        for i, r in enumerate(sc["rows"], start=2):
            net, reason = rows[i]
            name = {"up": "UP", "tr": "TR"}.get(r["item"], "CP")
            own = sc["account_prices"].get((ACCOUNTS[r["code"]], name), {})
            p = by_name[name] | own
            seen.add(("pricing", p["pricing"]))
            if net is not None and own:
                seen.add(("account price",))
            if net is not None and own.get("discount"):
                seen.add(("discount",))
            if reason:
                seen.add(("reason", reason))
            if net is not None and net < 0:
                seen.add(("credit",))
            if net is not None and p["minimum"] is not None and net == D(p["minimum"]):
                seen.add(("minimum",))
            if net is not None and p["tax"] is not None:
                seen.add(("tax override",))
            if net is not None and p["maximum"] is not None and net == D(p["maximum"]):
                seen.add(("maximum",))
            band = call_band(sc, r)
            if p["pricing"] == "Tariff" and reason != "free-call":
                seen.add(("band", band and band.lower(), "billed" if net is not None else reason))
            when = dt.datetime.strptime(r["date"], "%Y-%m-%d %H:%M")
            if when.date() == dt.date(2026, 10, 5) and sc["holidays"] and band:
                seen.add(("holiday", band))
    assert seen >= {
        ("currency", 0),
        ("currency", 2),
        ("currency", 3),
        ("rounding", "Per Line"),
        ("rounding", "Per Charge"),
        ("pricing", "Cost Plus"),
        ("pricing", "Unit Price"),
        ("pricing", "Tariff"),
        ("reason", "zero-price"),
        ("reason", "no-tariff"),
        ("reason", "free-call"),
        ("maximum",),
        ("account price",),
        ("discount",),
        ("credit",),
        ("minimum",),
        ("tax override",),
        ("band", "peak", "billed"),
        ("band", "off", "billed"),
        ("band", "wkd", "billed"),
        ("band", None, "billed"),
        ("band", "off", "no-tariff"),
        ("holiday", "Wkd"),
    }
