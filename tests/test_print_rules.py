"""Print by size, colour and duplex: the Product Rule naming the most of a job's item,
paper size and duplex bills it, as print logs record them (long names read as common
ones), and a retried row keeps what picks its product."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from processor import create_history, run_import, run_retry
from tests.conftest import base, row, write_books

PAPERCUT = (
    "PaperCut Print Logger - http://www.papercut.com/\n"
    "Time,User,Pages,Copies,Printer,Document Name,Client,Paper Size,Language,Height,Width,"
    "Duplex,Grayscale,Size\n"
)


# one criterion, two, three: a rule naming more wins; two naming as many never overlap
LOGGER_RULES = [
    {"Item": "colour", "Product": "COLOUR"},
    {"Item": "mono", "Paper Size": "A3", "Product": "A3"},
    {"Item": "MONO", "Paper Size": "a3", "Duplex": "Yes", "Product": "A3-DUPLEX"},
    {"Item": "colour", "Paper Size": "A3", "Product": "COLOUR-A3"},
    {"Item": "mono", "Paper Size": "letter", "Product": "LETTER"},
]
CUPS_RULES = [  # CUPS records no item
    {"Paper Size": "A3", "Product": "A3"},
    {"Paper Size": "A3", "Duplex": "Yes", "Product": "A3-DUPLEX"},
    {"Paper Size": "Letter", "Product": "LETTER"},
]


def books(folder: Path, app: str, fmt: str, extra_codes=(), rules=None) -> Path:
    data = base()
    data["Applications"] = [row("Applications", Application=app, Format=fmt, Product="MONO")]
    data["Account Codes"] = []
    data["Device Import Maps"] = [
        row("Device Import Maps", Application=app, Location="London", Code=c, Account_ID="A1")
        for c in ("jsmith", *extra_codes)
    ]
    data["Products"] = [
        row("Products", Product=p, Description=p, Pricing="Unit Price", Unit_Price=price)
        for p, price in [("MONO", 0.05), ("COLOUR", 0.25), ("A3", 0.10), ("A3-DUPLEX", 0.08),
                         ("COLOUR-A3", 0.50), ("LETTER", 0.06)]
    ]  # fmt: skip
    data["Product Rules"] = [
        row("Product Rules", {**rule, "Application": app}) for rule in (rules or LOGGER_RULES)
    ]
    return write_books(folder, data)


def products(out: Path) -> dict[str, str]:
    c = pd.read_parquet(out / "charges.parquet")
    return dict(zip(c["description"], c["product"], strict=True))


def test_papercut_jobs_are_billed_by_the_rule_naming_the_most(tmp_path):
    folder = books(tmp_path / "wb", "Logger", "papercut-print-logger")
    export = tmp_path / "papercut.csv"
    jobs = [
        ("a4 mono", "A4", "NOT DUPLEX", "GRAYSCALE"),
        ("a4 colour", "A4", "DUPLEX", "NOT GRAYSCALE"),
        ("a3 mono", "A3", "NOT DUPLEX", "GRAYSCALE"),
        ("a3 duplex", "A3", "DUPLEX", "GRAYSCALE"),
        ("a3 colour duplex", "A3", "DUPLEX", "NOT GRAYSCALE"),  # 2 criteria each: colour+A3
        ("letter", "LETTER", "NOT DUPLEX", "GRAYSCALE"),
    ]
    export.write_text(
        PAPERCUT
        + "".join(
            f"2026-10-14 08:0{i}:00,jsmith,2,1,KX-1,{doc},PC1,{size},PCL6,,,{duplex},{grey},5kb,\n"
            for i, (doc, size, duplex, grey) in enumerate(jobs)
        ),
        encoding="utf-8",
    )
    run_import(folder, "London", "Logger", [export], tmp_path / "b", dt.date(2026, 10, 31))
    assert products(tmp_path / "b") == {
        "a4 mono": "MONO",
        "a4 colour": "COLOUR",
        "a3 mono": "A3",
        "a3 duplex": "A3-DUPLEX",
        "a3 colour duplex": "COLOUR-A3",
        "letter": "LETTER",
    }


def test_cups_media_and_sides_are_read_by_their_common_names(tmp_path):
    folder = books(tmp_path / "wb", "CUPS", "cups-page-log", rules=CUPS_RULES)
    lines = [
        ("1", "iso_a4_210x297mm", "one-sided"),
        ("2", "iso_a3_297x420mm", "one-sided"),
        ("3", "iso_a3_297x420mm", "two-sided-long-edge"),
        ("4", "na_letter_8.5x11in", "two-sided-short-edge"),
    ]
    export = tmp_path / "page_log"
    export.write_text(
        "".join(
            f"P1 jsmith {job} [20/Oct/2026:09:0{job}:00 +0100] total 1 - host job{job}.pdf "
            f"{media} {sides}\n"
            for job, media, sides in lines
        ),
        encoding="utf-8",
    )
    run_import(folder, "London", "CUPS", [export], tmp_path / "b", dt.date(2026, 10, 31))
    assert products(tmp_path / "b") == {
        "job1.pdf": "MONO",
        "job2.pdf": "A3",
        "job3.pdf": "A3-DUPLEX",
        "job4.pdf": "LETTER",
    }


def test_a_retried_job_keeps_its_paper_size_and_duplex(tmp_path):
    export = tmp_path / "papercut.csv"
    export.write_text(
        PAPERCUT + "2026-10-14 08:00:00,newuser,2,1,KX-1,plans,PC1,A3,PCL6,,,DUPLEX,GRAYSCALE,"
        "5kb,\n",
        encoding="utf-8",
    )
    history = create_history(tmp_path / "history.sqlite")
    first = books(tmp_path / "wb", "Logger", "papercut-print-logger")
    run_import(first, "London", "Logger", [export], tmp_path / "b1", history=history)
    u = pd.read_parquet(tmp_path / "b1" / "unmatched.parquet")
    assert list(zip(u["paper_size"], u["duplex"], strict=True)) == [("A3", "Yes")]
    later = books(tmp_path / "wb2", "Logger", "papercut-print-logger", extra_codes=["newuser"])
    run_retry(tmp_path / "b1", tmp_path / "b2", workbooks=later, history=history)
    assert products(tmp_path / "b2") == {"plans": "A3-DUPLEX"}
