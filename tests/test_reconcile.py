"""Nothing is lost: every row lands in exactly one place, and counts and money reconcile."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from processor import create_history, run_import
from tests.conftest import GENERIC_HEADER, base, put, sheet_lines, write_books

codes = st.sampled_from(["100", "200", "300", "EXT1", "ext1", "999", "1-0", "", " 100 "])
amounts = st.decimals(min_value=-50, max_value=500, places=7, allow_nan=False, allow_infinity=False)
good_row = st.builds(
    lambda c, day, q, cost: f"{c},2026-10-{day:02d},desc,{q},{cost}",
    codes,
    st.integers(1, 31),
    st.integers(0, 20),
    amounts,
)
bad_row = st.sampled_from(
    [
        "",
        "100,not a date,x,1,1",
        "100,2026-10-01",
        "100,2026-10-01,x,z,1",
        '"unbalanced,2026-10-01,x,1,1',
    ]
)
rows = st.lists(st.one_of(good_row, good_row, good_row, bad_row), min_size=0, max_size=40)
products = st.sampled_from(
    [
        ["P", "Calls", "Cost Plus", None, 12.5, 0.01, None, None, None, None, "No"],
        ["P", "Print", "Unit Price", 0.055, None, None, 0.2, 5, None, None, "Yes"],
        ["P", "Print", "Unit Price", 0.035, None, None, None, None, None, None, "No"],
    ]
)


def money_sum(values) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None and not pd.isna(v)), Decimal(0))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows,
    product=products,
    a2_active=st.booleans(),
    start=st.one_of(st.none(), st.dates(dt.date(2026, 9, 1), dt.date(2026, 11, 1))),
    rounding=st.sampled_from(["Per Line", "Per Charge", None]),
)
def test_rows_and_money_reconcile(rows, product, a2_active, start, rounding):
    data = base()
    data["Products"] = [product]
    put(data, "Applications", 0, {"Product": "P"})
    put(data, "Accounts", 1, {"Status": "Active" if a2_active else "Inactive"})
    put(data, "Accounts", 0, {"Start Date": start})
    put(data, "Locations", 0, {"Tax Rounding": rounding})
    with TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_books(tmp / "wb", data)
        export = tmp / "e.csv"
        export.write_text("\n".join([GENERIC_HEADER, *rows]) + "\n", encoding="utf-8")
        result = run_import(
            folder, "London", "PBX", [export], tmp / "out", chunk_rows=7, any_location=True
        )
        m = result.manifest
        r, c = m["rows"], m["cost"]
        out = tmp / "out"
        charges = pd.read_parquet(out / "charges.parquet")
        unmatched = pd.read_parquet(out / "unmatched.parquet")
        skipped = pd.read_parquet(out / "skipped.parquet")

        # every line after the header, exactly once
        lines = sorted([*charges["line"], *unmatched["line"], *skipped["line"]])
        assert lines == list(range(2, len(rows) + 2))
        assert r["read"] == len(rows) == r["matched"] + r["unmatched"] + r["skipped"]
        assert (len(charges), len(unmatched), len(skipped)) == (
            r["matched"],
            r["unmatched"],
            r["skipped"],
        )

        # money: exact decimals, totals are sums of rounded lines
        def total(frame, col):
            return sum((Decimal(str(v)) for v in frame[col]), Decimal(0))

        assert Decimal(c["read"]) == Decimal(c["matched"]) + Decimal(c["unmatched"]) + Decimal(
            c["skipped"]
        )
        assert Decimal(c["matched"]) == total(charges, "cost")
        assert Decimal(c["unmatched"]) == total(unmatched, "cost")
        assert Decimal(m["billed"]["net"]) == total(charges, "net")
        assert all(
            Decimal(str(v)) == Decimal(str(v)).quantize(Decimal("0.01")) for v in charges["net"]
        )
        # tax and gross as the location rounds them; every total is a sum of the lines
        lines_ = pd.read_parquet(out / "lines.parquet")
        for col in ("net", "tax", "gross"):
            assert Decimal(m["billed"][col]) == money_sum(lines_[col])
        if rounding == "Per Charge":
            assert money_sum(charges["tax"]) == Decimal(m["billed"]["tax"])
        else:
            assert charges["tax"].isna().all() and charges["gross"].isna().all()
        assert Decimal(m["billed"]["gross"]) == Decimal(m["billed"]["net"]) + Decimal(
            m["billed"]["tax"]
        )
        credits = charges[pd.Series([Decimal(str(v)) < 0 for v in charges["net"]], dtype=bool)]
        assert m["credits"]["rows"] == len(credits)
        assert Decimal(m["credits"]["net"]) == money_sum(credits["net"])

        shown = sheet_lines(out / "batch.xlsx")
        for i, col in ((5, "net"), (7, "tax"), (8, "gross")):
            assert money_sum(row[i] for row in shown).quantize(Decimal("0.01")) == Decimal(
                m["billed"][col]
            )
        assert sum(v["rows"] for v in m["reasons"].values()) == r["unmatched"] + r["skipped"]


def _import(tmp: Path, folder: Path, rows: list[str], name: str) -> Path:
    export = tmp / f"in-{name}" / "export.csv"  # one file name: source_file is the same
    export.parent.mkdir()
    export.write_text("\n".join([GENERIC_HEADER, *rows]) + "\n", encoding="utf-8")
    out = tmp / name
    run_import(
        folder,
        "London",
        "PBX",
        [export],
        out,
        dt.date(2026, 10, 31),
        chunk_rows=5,
        history=create_history(tmp / f"history-{name}.sqlite"),  # each run a first import
    )
    return out


# three imports an example: 10 examples keep the suite's time (the money itself is
# reconciled over 30, above)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows,
    product=products,
    rounding=st.sampled_from(["Per Line", "Per Charge"]),
    shuffle=st.randoms(use_true_random=False),
)
def test_same_inputs_same_batch_and_shuffled_rows_same_batch_sheet(
    rows, product, rounding, shuffle
):
    import pyarrow.parquet as pq

    data = base()
    data["Products"] = [product]
    put(data, "Applications", 0, {"Product": "P"})
    put(data, "Locations", 0, {"Tax Rounding": rounding})
    with TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_books(tmp / "wb", data)
        a = _import(tmp, folder, rows, "a")
        b = _import(tmp, folder, rows, "b")
        for name in ("charges", "unmatched", "skipped", "lines"):
            assert pq.read_table(a / f"{name}.parquet").equals(pq.read_table(b / f"{name}.parquet"))
        ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
        for key in ("rows", "cost", "billed", "credits", "reasons", "lines"):
            assert ma[key] == mb[key]

        mixed = list(rows)
        shuffle.shuffle(mixed)
        c = _import(tmp, folder, mixed, "c")
        assert pq.read_table(c / "lines.parquet").equals(pq.read_table(a / "lines.parquet"))
        sheets = [
            list(load_workbook(p / "batch.xlsx")["Batch Sheet"].iter_rows(values_only=True))
            for p in (a, c)
        ]
        assert sheets[0] == sheets[1]
        mc = json.loads((c / "manifest.json").read_text())
        for key in ("rows", "cost", "billed", "credits", "reasons"):
            assert mc[key] == ma[key]
