"""Independent readers of the accounting files `charges export` writes: each parses a file
as its vendor documents it and works out every invoice's net, tax and gross the way that
system will (nothing here comes from the program's own code).

- Xero (sales invoice import): lines share an InvoiceNumber; a line's amount is Quantity ×
  UnitAmount rounded to 2 places; its tax is TaxAmount when given (else the rate's); at
  most 500 invoices a file; dates DD/MM/YYYY.
- QuickBooks Online (invoice import): lines share an InvoiceNo; ItemAmount must be
  ItemQuantity × ItemRate; tax is ItemTaxAmount; at most 100 invoices and 1,000 rows.
- Sage 50 (audit trail transactions): SI rows add and SC rows take away, Net Amount and Tax
  Amount as written, grouped by Account Reference and Reference; A/C references of at most
  8 characters, Details at most 60.
- lines: one row per line, Gross = Net + Tax.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

D = Decimal
CENT = D("0.01")


def _rows(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _date(text: str, month_first: bool = False) -> dt.date:
    fmt = "%m/%d/%Y" if month_first else "%d/%m/%Y"
    return dt.datetime.strptime(text, fmt).date()


def _add(out: dict, number: str, customer: str, net: D, tax: D, extra: dict) -> None:
    inv = out.setdefault(
        number, {"customer": customer, "net": D(0), "tax": D(0), "lines": 0, **extra}
    )
    assert inv["customer"] == customer, f"invoice {number} names two customers"
    for k, v in extra.items():
        assert inv[k] == v, f"invoice {number} has two {k}s: {inv[k]} and {v}"
    inv["net"] += net
    inv["tax"] += tax
    inv["lines"] += 1


def _finish(out: dict) -> dict:
    for inv in out.values():
        inv["gross"] = inv["net"] + inv["tax"]
    return out


def read_xero(path: Path, month_first: bool = False) -> dict:
    rows = _rows(path)
    out: dict = {}
    for r in rows:
        r = {k.lstrip("*"): v for k, v in r.items()}
        for need in ("ContactName", "InvoiceNumber", "InvoiceDate", "DueDate", "Description",
                     "Quantity", "UnitAmount", "AccountCode", "TaxType"):  # fmt: skip
            assert r[need], f"Xero needs {need}: {r}"
        amount = (D(r["Quantity"]) * D(r["UnitAmount"])).quantize(CENT, ROUND_HALF_UP)
        tax = D(r["TaxAmount"])
        extra = {
            "date": _date(r["InvoiceDate"], month_first),
            "due": _date(r["DueDate"], month_first),
            "currency": r["Currency"],
        }
        _add(out, r["InvoiceNumber"], r["ContactName"], amount, tax, extra)
    assert len(out) <= 500, f"{path}: {len(out)} invoices; Xero imports 500 a file"
    return _finish(out)


def read_quickbooks(path: Path, month_first: bool = False) -> dict:
    rows = _rows(path)
    assert len(rows) <= 1000, f"{path}: {len(rows)} rows; QuickBooks imports 1,000 a file"
    out: dict = {}
    for r in rows:
        amount = D(r["ItemAmount"])
        assert amount == D(r["ItemQuantity"]) * D(r["ItemRate"]), r
        assert r["Item(Product/Service)"] and r["Customer"] and r["InvoiceNo"], r
        extra = {
            "date": _date(r["InvoiceDate"], month_first),
            "due": _date(r["DueDate"], month_first),
        }
        _add(out, r["InvoiceNo"], r["Customer"], amount, D(r["ItemTaxAmount"]), extra)
    assert len(out) <= 100, f"{path}: {len(out)} invoices; QuickBooks imports 100 a file"
    assert len(max(out, key=len)) <= 21
    return _finish(out)


def read_sage50(path: Path) -> dict:
    out: dict = {}
    for r in _rows(path):
        assert r["Type"] in ("SI", "SC"), r
        assert len(r["Account Reference"]) <= 8 and len(r["Details"]) <= 60, r
        assert r["Nominal A/C Ref"], r
        net, tax = D(r["Net Amount"]), D(r["Tax Amount"])
        assert net >= 0 and tax >= 0, f"Sage 50 amounts are positive: {r}"
        sign = 1 if r["Type"] == "SI" else -1
        extra = {"date": _date(r["Date"])}
        _add(out, r["Reference"], r["Account Reference"], sign * net, sign * tax, extra)
    return _finish(out)


def read_lines(path: Path) -> dict:
    out: dict = {}
    for r in _rows(path):
        assert D(r["Gross"]) == D(r["Net"]) + D(r["Tax"]), r
        extra = {"date": _date(r["Invoice Date"]), "account": r["Account ID"]}
        _add(out, r["Invoice Number"], r["Customer"], D(r["Net"]), D(r["Tax"]), extra)
    return _finish(out)


READERS = {
    "xero": read_xero,
    "quickbooks": read_quickbooks,
    "sage50": read_sage50,
    "lines": read_lines,
}
