"""Allowances checked against an independent implementation of the README's rules.

The oracle below is written from the README ("Allowances", "The price order") with
Python's decimal module alone. Each generated scenario imports two batches in one month
(the first from two files), voids the second, imports a third, then retries the first
once a code it could not match is added; every charge, every line, the Batch Sheet, the
Included sheet and the manifest are compared after each step.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from decimal import Decimal, localcontext
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from processor import create_history, run_import, run_retry, void_batch
from processor.errors import NothingBilled
from tests.conftest import base, row, sheet_lines, write_books
from tests.test_pricing_oracle import half_away, held  # the README's rounding, written once

D = Decimal
HEADER = "Code,Date,Description,Quantity,Cost,Item,Duration,Destination"
CURRENCIES = {"JPY": 0, "GBP": 2, "KWD": 3}
CODES = {"100": "A1", "400": "A4", "500": "A5"}  # 600 is added to A4 before the retry


# --- the oracle ---------------------------------------------------------------------------


def price(p: dict, r: dict) -> tuple[Decimal, Decimal] | None:
    """(price after Minimum and Maximum Charge, before rounding; usage), or None: no rate."""
    with localcontext() as ctx:
        ctx.prec = 100
        qty = held(r["quantity"]) if r["quantity"] else D(1)
        if p["pricing"] == "Unit Price":
            value, usage = qty * D(p["unit"]), qty
        elif p["pricing"] == "Cost Plus":
            value, usage = held(r["cost"]) * (1 + D(p["markup"]) / 100), qty
        else:
            if not r["destination"].startswith("0"):
                return None
            secs = math.ceil(held(r["duration"])) if r["duration"] else 0
            secs = max(secs, p["min_secs"])
            secs = -(-secs // p["inc"]) * p["inc"]
            value, usage = D(secs) * D(p["rate"]) / 60 + D(p["fee"]), D(secs)
        if p.get("discount"):
            value = value * (1 - D(p["discount"]) / 100)
    if value >= 0 and p["minimum"] is not None and value < D(p["minimum"]):
        value = D(p["minimum"])
    if value >= 0 and p["maximum"] is not None and value > D(p["maximum"]):
        value = D(p["maximum"])
    return value, usage


class Oracle:
    """What the README says each charge is billed at, batch after batch."""

    def __init__(self, sc: dict):
        self.sc = sc
        self.places = sc["places"]
        self.used: dict[tuple, Decimal] = {}  # (account, product, month, kind) → used
        self.batch_use: dict[str, dict[tuple, Decimal]] = {}

    def batch(self, name: str, files: list[list[dict]], codes: dict[str, str]) -> dict:
        """Every row's outcome: (file, line) → (net, included quantity, waived) or reason."""
        out, charges = {}, []
        for f, rows in enumerate(files):
            for line, r in enumerate(rows, start=2):
                account = codes.get(r["code"])
                if account is None:
                    out[(f, line)] = "unknown-code"
                    continue
                product = {"up": "UP", "tr": "TR"}.get(r["item"], "CP")
                p = self.sc["products"][product] | self.sc["own"].get((account, product), {})
                got = price(p, r)
                if got is None:
                    out[(f, line)] = "no-tariff"
                    continue
                value, usage = got
                full = half_away(value, self.places)
                if full == 0 and not p["zero_ok"]:
                    out[(f, line)] = "zero-price"
                    continue
                when = dt.datetime.strptime(r["date"], "%Y-%m-%d %H:%M")
                charges.append((when, f, line, account, product, value, usage, full))
        use: dict[tuple, Decimal] = {}
        for when, f, line, account, product, value, usage, full in sorted(
            charges, key=lambda c: (c[0], c[1], c[2])
        ):
            plan = self.sc["plans"].get(self.sc["plan_of"].get(account), {}).get(product)
            net, included, waived = full, D(0), D(0)
            if plan and value > 0 and usage != 0:
                kind, amount = plan
                if kind == "amount":
                    amount = half_away(amount, self.places)
                k = (account, product, when.strftime("%Y-%m"), kind)
                left = max(D(0), amount - self.used.get(k, D(0)))
                if kind == "quantity":
                    covered = min(left, usage)
                    with localcontext() as ctx:
                        ctx.prec = 100
                        net = half_away(value * (usage - covered) / usage, self.places)
                    included = covered
                else:
                    covered = min(left, full)
                    net = full - covered
                self.used[k] = self.used.get(k, D(0)) + covered
                use[k] = use.get(k, D(0)) + covered
                waived = full - net
            out[(f, line)] = (net, included, waived)
        self.batch_use[name] = use
        return out

    def void(self, name: str) -> None:
        for k, v in self.batch_use.pop(name).items():
            self.used[k] -= v


# --- scenarios ----------------------------------------------------------------------------


def scenario(seed: int) -> dict:
    rng = random.Random(seed)
    currency = rng.choice(list(CURRENCIES))

    def product(pricing: str) -> dict:
        return {
            "pricing": pricing,
            "unit": rng.choice(["0.04", "0.065", "1.005", "12"]),
            "markup": rng.choice(["0", "12.5"]),
            "rate": rng.choice(["0.12", "0.07", "1.3"]),
            "fee": rng.choice(["0", "0.02"]),
            "min_secs": rng.choice([0, 30, 60]),
            "inc": rng.choice([1, 6, 60]),
            "minimum": rng.choice([None, None, "0.5"]),
            "maximum": rng.choice([None, None, "4"]),
            "zero_ok": rng.random() < 0.3,
        }

    products = {"UP": product("Unit Price"), "CP": product("Cost Plus"), "TR": product("Tariff")}
    quantity = {
        "UP": lambda: ("quantity", D(rng.choice(["0", "5", "40", "100", "2.5"]))),
        "TR": lambda: ("quantity", D(rng.choice(["1.5", "10", "30"])) * 60),  # minutes
        "CP": lambda: ("quantity", D(rng.choice(["3", "10"]))),
    }
    amount = lambda: ("amount", D(rng.choice(["1", "2.555", "10", "0.5"])))  # noqa: E731
    plans = {
        "Desk": {name: (quantity[name]() if rng.random() < 0.6 else amount()) for name in products},
        "Office": {name: amount() for name in products if rng.random() < 0.7},
    }
    own = {("A1", "UP"): {"discount": "10"}} if rng.random() < 0.5 else {}

    def rows(batch: int, n: int) -> list[dict]:
        out = []
        for i in range(n):
            day = rng.choice([3, 3, 10, 17, 30, 31]) if rng.random() < 0.9 else 2  # Nov too
            month = 10 if day != 2 else 11
            out.append(
                {
                    "code": rng.choice(["100", "100", "400", "400", "500", "600"]),
                    "date": f"2026-{month:02d}-{day:02d} {rng.choice(['09:00', '12:30', '23:59'])}",
                    "desc": f"b{batch}-{i}",
                    "quantity": rng.choice(["", "1", "3", "7.5", "0", "-2", "30"]),
                    "cost": rng.choice(["0.10", "1.25", "0", "-0.80", "3.333"]),
                    "item": rng.choice(["up", "up", "tr", "tr", ""]),
                    "duration": rng.choice(["", "0", "20", "61", "95", "600"]),
                    "destination": rng.choice(["07123", "0161", "999"]),
                }
            )
        return out

    first = rows(1, rng.randint(8, 25))
    # the second file repeats some of the first's times, codes and items (another
    # description: another row): at one start time, input file order decides
    twins = [{**r, "desc": r["desc"] + "x"} for r in rng.sample(first, 4)]
    return {
        "currency": currency,
        "places": CURRENCIES[currency],
        "rounding": rng.choice(["Per Line", "Per Charge"]),
        "products": products,
        "plans": plans,
        "plan_of": {"A1": "Desk", "A4": "Office"},
        "own": own,
        "batches": [
            [first, twins + rows(1, rng.randint(3, 10))],
            [rows(2, rng.randint(5, 20))],
            [rows(3, rng.randint(5, 20))],
        ],
    }


def write_workbooks(tmp: Path, sc: dict, with_600: bool = False) -> Path:
    data = base()
    data["Locations"][0] = row(
        "Locations",
        {"Location": "London", "Currency": sc["currency"], "Tax Rate %": 20,
         "Tax Rounding": sc["rounding"]},
    )  # fmt: skip
    data["Accounts"][0]["Plan"] = "Desk"
    data["Accounts"] += [
        row("Accounts", Account_ID="A4", Account_Name="Delta", Location="London",
            Status="Active", Plan="Office"),
        row("Accounts", Account_ID="A5", Account_Name="Echo", Location="London",
            Status="Active"),
    ]  # fmt: skip
    data["Account Codes"] += [
        row("Account Codes", Account_ID="A4", Application="PBX", Code="400"),
        row("Account Codes", Account_ID="A5", Application="PBX", Code="500"),
    ]
    if with_600:
        data["Account Codes"].append(
            row("Account Codes", Account_ID="A4", Application="PBX", Code="600")
        )
    data["Products"] = [
        row(
            "Products",
            {
                "Product": name,
                "Description": name,
                "Pricing": p["pricing"],
                "Unit Price": p["unit"],
                "Markup %": p["markup"],
                "Minimum Charge": p["minimum"],
                "Maximum Charge": p["maximum"],
                "Tariff": "Std" if p["pricing"] == "Tariff" else None,
                "Can Be Zero Price": "Yes" if p["zero_ok"] else "No",
            },
        )
        for name, p in sc["products"].items()
    ]
    tr = sc["products"]["TR"]
    data["Tariffs"] = [
        row("Tariffs", {"Tariff": "Std", "Prefix": "0", "Destination": "UK",
                        "Rate Per Minute": tr["rate"], "Connection Fee": tr["fee"],
                        "Minimum Seconds": tr["min_secs"], "Increment Seconds": tr["inc"]})
    ]  # fmt: skip
    data["Account Prices"] = [
        row("Account Prices", {"Account ID": a, "Product": p, "Discount %": own["discount"]})
        for (a, p), own in sc["own"].items()
    ]
    data["Plans"] = [
        row(
            "Plans",
            {
                "Plan": plan,
                "Product": name,
                # a Tariff product's quantity is written in minutes
                "Included Quantity": str(n / 60 if name == "TR" else n)
                if kind == "quantity"
                else None,
                "Included Amount": str(n) if kind == "amount" else None,
            },
        )
        for plan, given in sc["plans"].items()
        for name, (kind, n) in given.items()
    ]
    data["Applications"][0]["Product"] = "CP"
    data["Product Rules"] = [["PBX", "up", "UP"], ["PBX", "tr", "TR"]]
    return write_books(tmp / ("wb600" if with_600 else "wb"), data)


def write_export(path: Path, rows: list[dict]) -> Path:
    text = [HEADER] + [
        ",".join(
            [r["code"], r["date"], r["desc"], r["quantity"], r["cost"], r["item"],
             r["duration"], r["destination"]]
        )
        for r in rows
    ]  # fmt: skip
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


# --- the comparison -----------------------------------------------------------------------


def outcome(out: Path, files: list[str]) -> dict:
    """(file index, line) → (net, included quantity, waived), or the reason."""
    rank = {name: i for i, name in enumerate(files)}
    got = {}
    c = pd.read_parquet(out / "charges.parquet")
    for f, ln, net, q, a in zip(
        c["source_file"], c["line"], c["net"], c["included_quantity"], c["included_amount"],
        strict=True,
    ):  # fmt: skip
        got[(rank[f], int(ln))] = (D(str(net)), D(str(q)), D(str(a)))
    for name in ("unmatched", "skipped"):
        u = pd.read_parquet(out / f"{name}.parquet")
        for f, ln, reason in zip(u["source_file"], u["line"], u["reason"], strict=True):
            got[(rank[f], int(ln))] = reason
    return got


def norm(outcomes: dict) -> dict:
    return {k: tuple(x.normalize() for x in v) if isinstance(v, tuple) else v
            for k, v in outcomes.items()}  # fmt: skip


def check_batch(out: Path, want: dict, sc: dict, rows_by_key: dict) -> None:
    """Lines, Batch Sheet, Included sheet and manifest from the oracle's charges."""
    places = sc["places"]
    lines: dict[tuple, dict] = {}
    for k, v in want.items():
        if not isinstance(v, tuple):
            continue
        account, product = rows_by_key[k]
        line = lines.setdefault((account, product), {"net": D(0), "q": D(0), "a": D(0),
                                                       "tax": D(0)})  # fmt: skip
        line["net"] += v[0]
        line["q"] += v[1]
        line["a"] += v[2]
        if sc["rounding"] == "Per Charge":
            line["tax"] += half_away(v[0] * 20 / 100, places)
    for line in lines.values():
        if sc["rounding"] == "Per Line":
            line["tax"] = half_away(line["net"] * 20 / 100, places)
    got = pd.read_parquet(out / "lines.parquet")
    assert {
        (a, p): (D(str(n)).normalize(), D(str(q)).normalize(), D(str(w)).normalize())
        for a, p, n, q, w in zip(got["account_id"], got["product"], got["net"],
                                 got["included_quantity"], got["included_amount"], strict=True)
    } == {k: (v["net"].normalize(), v["q"].normalize(), v["a"].normalize())
          for k, v in lines.items()}  # fmt: skip
    book = load_workbook(out / "batch.xlsx")
    unit = D(10) ** -places
    sheet = {
        (r[0], r[2]): (D(str(r[5])).quantize(unit), D(str(r[7])).quantize(unit),
                       None if r[12] is None else D(str(r[12])).quantize(unit))
        for r in sheet_lines(out / "batch.xlsx")
    }  # fmt: skip
    assert sheet == {
        k: (v["net"], v["tax"], v["a"] or None) for k, v in lines.items() if v["net"] != 0
    }
    included = {
        (r[0], r[2]): D(str(r[4])).quantize(unit)
        for r in book["Included"].iter_rows(min_row=2, values_only=True)
        if r[2] is not None
    }
    assert included == {k: v["a"] for k, v in lines.items() if v["net"] == 0 and (v["a"] or v["q"])}
    m = json.loads((out / "manifest.json").read_text())
    charges = [v for v in want.values() if isinstance(v, tuple)]
    assert D(m["allowances"]["waived"]) == sum((v[2] for v in charges), D(0))
    assert m["allowances"]["charges"] == sum(1 for v in charges if v[1] or v[2])
    assert D(m["billed"]["net"]) == sum((v["net"] for v in lines.values()), D(0))


def owners(files: list[list[dict]], codes: dict[str, str]) -> dict:
    return {
        (f, line): (codes.get(r["code"]), {"up": "UP", "tr": "TR"}.get(r["item"], "CP"))
        for f, rows in enumerate(files)
        for line, r in enumerate(rows, start=2)
    }


@pytest.mark.parametrize("seed", range(12))
def test_allowances_over_batches_a_void_and_a_retry_are_as_the_readme_says(tmp_path, seed):
    sc = scenario(seed)
    wb = write_workbooks(tmp_path, sc)
    history = create_history(tmp_path / "history.sqlite")
    oracle = Oracle(sc)
    folders = {}
    for b, files in enumerate(sc["batches"], start=1):
        paths = [write_export(tmp_path / f"b{b}-{f}.csv", rows) for f, rows in enumerate(files)]
        out = tmp_path / f"batch{b}"
        run_import(wb, "London", "PBX", paths, out, dt.date(2026, 10, 31), history=history)
        want = oracle.batch(f"b{b}", files, CODES)
        assert norm(outcome(out, [p.name for p in paths])) == norm(want), f"batch {b}"
        check_batch(out, want, sc, owners(files, CODES))
        folders[b] = out
        if b == 2:  # the second batch is void: what it used is released
            void_batch(out, "wrong export", history=history)
            oracle.void("b2")
    # the first batch's rows of code 600 are billed by a retry once the code is added
    wb600 = write_workbooks(tmp_path, sc, with_600=True)
    out = tmp_path / "retry"
    first = sc["batches"][0]
    codes = CODES | {"600": "A4"}
    retried = [[r if r["code"] == "600" else {**r, "code": "none"} for r in rows] for rows in first]
    want = {k: v for k, v in oracle.batch("retry", retried, codes).items() if v != "unknown-code"}
    if not any(isinstance(v, tuple) for v in want.values()):  # a retry that bills nothing
        with pytest.raises(NothingBilled):
            run_retry(folders[1], out, workbooks=wb600, history=history)
        assert not out.exists()
        return
    run_retry(folders[1], out, workbooks=wb600, history=history)
    got = outcome(out, [f"b1-{f}.csv" for f in range(len(first))])
    assert norm({k: v for k, v in got.items() if k in want}) == norm(want)
    check_batch(out, want, sc, owners(retried, codes))


def test_the_scenarios_meet_every_allowance_rule():
    seen = set()
    for seed in range(12):
        sc = scenario(seed)
        oracle = Oracle(sc)
        for b, files in enumerate(sc["batches"], start=1):
            for k, v in oracle.batch(f"b{b}", files, CODES).items():
                if not isinstance(v, tuple):
                    continue
                rows = owners(files, CODES)
                account, product = rows[k]
                plan = sc["plans"].get(sc["plan_of"].get(account), {}).get(product)
                if plan and v[2]:
                    full_cover = v[0] == 0
                    seen.add((plan[0], "whole" if full_cover else "part", product == "TR"))
                if plan and not v[2] and v[0] > 0:
                    seen.add((plan[0], "spent"))
                if v[0] < 0:
                    seen.add(("credit",))
            if b == 2:
                oracle.void("b2")
        seen.add(("currency", sc["places"]))
    assert seen >= {
        ("quantity", "whole", False),
        ("quantity", "part", False),
        ("quantity", "whole", True),
        ("quantity", "part", True),
        ("amount", "whole", False),
        ("amount", "part", False),
        ("quantity", "spent"),
        ("amount", "spent"),
        ("credit",),
        ("currency", 0),
        ("currency", 2),
        ("currency", 3),
    }
