"""Measure rendering both reports for a generated 1,000,000-row batch.

Run with `make bench` (or `python bench/bench_reports.py ROWS`). The batch is
written straight to parquet (an import of that size is measured separately).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_workbooks import generate
from processor.reports import render
from processor.reports.batch import load_batch
from processor.reports.statement_files import write_statements
from schemas import charges as sc

ACCOUNTS = 2_000


def decimals(cents: np.ndarray) -> pa.Array:
    """Whole pennies → exact decimal128(38, 6) amounts."""
    hundredths = pa.array(cents, pa.int64()).cast(pa.decimal128(20, 0))
    return pa.compute.multiply(hundredths, pa.scalar(Decimal("0.01"))).cast(pa.decimal128(38, 6))


def conform(schema, columns: dict[str, pa.Array], rows: int) -> pa.Table:
    """The columns in the schema's order; the ones not given empty, of the schema's type."""
    return pa.table(
        {
            name: columns.get(name, pa.nulls(rows, col.dtype.type.pyarrow_dtype))
            for name, col in schema.columns.items()
        }
    )


def write_batch(folder: Path, rows: int, workbooks: Path, accounts: int = ACCOUNTS) -> None:
    rng = np.random.default_rng(1)
    acc = rng.integers(0, accounts, rows)
    cost = rng.integers(1, 500, rows)
    net = cost + cost // 10
    tax = net // 5
    start = np.datetime64("2026-10-01T00:00:00", "us")
    when = start + rng.integers(0, 30 * 24 * 3600, rows).astype("timedelta64[s]")
    n_un = rows // 20
    table = conform(
        sc.CHARGES,
        {
            "source_file": pa.array(["export.csv"] * rows),
            "line": pa.array(np.arange(2, rows + 2), pa.int64()),
            "occurred_at": pa.array(when, pa.timestamp("us")),
            "account_id": pa.array([f"A{a}" for a in acc]),
            "account_name": pa.array([f"Customer {a}" for a in acc]),
            "code": pa.array([f"{100000 + a}" for a in acc]),
            "product": pa.array(np.where(acc % 3 == 0, "PRINT", "CALLS")),
            "description": pa.array(["call"] * rows),
            "item": pa.array([None] * rows, pa.string()),
            "destination": pa.array(["01632960123"] * rows),
            "quantity": decimals(np.full(rows, 100)),
            "duration": pa.array(rng.integers(1, 600, rows), pa.int64()),
            "cost": decimals(cost),
            "net": decimals(net),
            "tax_rate": decimals(np.full(rows, 2000)),
            "tax": decimals(tax),
            "gross": decimals(net + tax),
            "note": pa.array([None] * rows, pa.string()),
            "destination_name": pa.array(["UK landline"] * rows),
            "premium": pa.array(np.zeros(rows, dtype=bool)),
            "out_of_hours": pa.array(np.zeros(rows, dtype=bool)),
            "included_quantity": decimals(np.zeros(rows, dtype=np.int64)),
            "included_amount": decimals(np.zeros(rows, dtype=np.int64)),
        },
        rows,
    )
    pq.write_table(table, folder / "charges.parquet")
    un = conform(
        sc.UNMATCHED,
        {
            "source_file": pa.array(["export.csv"] * n_un),
            "line": pa.array(np.arange(rows + 2, rows + 2 + n_un), pa.int64()),
            "occurred_at": pa.array(when[:n_un], pa.timestamp("us")),
            "code": pa.array([f"9{i % 5000:05d}" for i in range(n_un)]),
            "reason": pa.array(["unknown-code"] * n_un),
            "message": pa.array(["code is not held by any account"] * n_un),
            "account_id": pa.array([None] * n_un, pa.string()),
            "product": pa.array([None] * n_un, pa.string()),
            "description": pa.array(["call"] * n_un),
            "destination": pa.array(["01632960123"] * n_un),
            "quantity": decimals(np.full(n_un, 100)),
            "duration": pa.array(np.full(n_un, 60), pa.int64()),
            "cost": decimals(cost[:n_un]),
            "raw": pa.array(["raw line"] * n_un),
            "note": pa.array([None] * n_un, pa.string()),
        },
        n_un,
    )
    pq.write_table(un, folder / "unmatched.parquet")
    pq.write_table(un.slice(0, 0), folder / "skipped.parquet")
    c_b, c_u = int(cost.sum()), int(cost[:n_un].sum())
    money = lambda cents: f"{cents // 100}.{cents % 100:02d}"  # noqa: E731
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "batch_date": "2026-10-31",
                "location": "London",
                "application": "PBX",
                "format": "generic-csv",
                "currency": "GBP",
                "inputs": [{"path": "export.csv", "sha256": "-", "rows": rows + n_un}],
                "rows": {"read": rows + n_un, "matched": rows, "unmatched": n_un, "skipped": 0},
                "cost": {
                    "read": money(c_b + c_u),
                    "matched": money(c_b),
                    "unmatched": money(c_u),
                    "skipped": "0",
                },
                "billed": {
                    "net": money(int(net.sum())),
                    "tax": money(int(tax.sum())),
                    "gross": money(int((net + tax).sum())),
                },
                "reasons": {},
                "workbooks": str(workbooks),
                "created_at": "",
                "version": "bench",
            }
        )
    )


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "wb").mkdir()
        generate(tmp / "wb")
        batch = tmp / "batch"
        batch.mkdir()
        write_batch(batch, rows, tmp / "wb")
        start = time.perf_counter()
        render.render_batch(batch)  # the reports and the statements, side by side
        took = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (batch / "reports").glob("*.html")) / 1e6
        # the statements alone, with and without their PDFs, in this run
        loaded = load_batch(batch)
        began = time.perf_counter()
        write_statements(loaded, tmp / "pdf")
        statements = time.perf_counter() - began
        began = time.perf_counter()
        write_statements(loaded, tmp / "no-pdf", pdf=False)
        plain = time.perf_counter() - began
        print(
            f"render billing + unmatched reports and {ACCOUNTS:,} client statements for "
            f"{rows:,} billed rows: {took:.1f} s, HTML {size:.1f} MB; the statements alone "
            f"(csv + xlsx + pdf): {statements:.1f} s (csv + xlsx alone: {plain:.1f} s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
