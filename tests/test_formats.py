"""Built-in device formats: each layout, each quirk, each sample, and the real exports."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from processor import create_history, run_import, sniff
from processor.cli import main
from processor.ingest.formats import registry
from tests.conftest import base, write_books

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples"
REAL = ROOT.parent / "shared" / "real-exports"
D = Decimal


def demo_imports() -> list[tuple[str, str, str]]:
    rows = (SAMPLES / "demo-imports.txt").read_text().splitlines()
    return [tuple(r.split("|")) for r in rows if r and not r.startswith("#")]


def app_formats() -> dict[str, str]:
    from openpyxl import load_workbook

    ws = load_workbook(SAMPLES / "workbooks" / "devices.xlsx")["Applications"]
    return {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def device(
    tmp_path: Path,
    fmt: str,
    lines: list[str] | bytes,
    maps=(),
    codes=(),
    product=None,
    match_on=None,
    rules=(),
    tariffs=None,
    **kw,
):
    """Import ``lines`` as application Dev of format ``fmt`` at London."""
    data = base()
    data["Applications"] = [["Dev", fmt, "P", match_on]]
    data["Device Import Maps"] = [["Dev", "London", c, a] for c, a in maps]
    data["Account Codes"] = [[a, "Dev", c] for c, a in codes]
    data["Products"] = [
        product or ["P", "Per call", "Unit Price", 0.10, None, None, None, None, None, None, "No"]
    ]
    data["Product Rules"] = [["Dev", item, prod] for item, prod in rules]
    if tariffs:
        data["Tariffs"] = tariffs
    for _item, prod in rules:
        if prod != "P":
            data["Products"].append(
                [prod, prod, "Unit Price", 0.25, None, None, None, None, None, None, "No"]
            )
    folder = write_books(tmp_path / "wb", data)
    export = tmp_path / "export"
    export.write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())
    out = tmp_path / "out"
    result = run_import(folder, "London", "Dev", [export], out, dt.date(2026, 10, 31), **kw)
    frames = {n: pd.read_parquet(out / f"{n}.parquet") for n in ("charges", "unmatched", "skipped")}
    return result.manifest, frames


def outcome(frames) -> list[tuple[int, str]]:
    """(line, billed account or reason) for every row, in line order."""
    rows = [(int(r.line), r.account_id) for r in frames["charges"].itertuples()]
    for name in ("unmatched", "skipped"):
        rows += [(int(r.line), r.reason) for r in frames[name].itertuples()]
    return sorted(rows)


# --- the samples -------------------------------------------------------------------------


@pytest.mark.parametrize(("app", "location", "file"), demo_imports())
def test_each_sample_imports_and_reconciles(tmp_path, app, location, file):
    result = run_import(
        SAMPLES / "workbooks",
        location,
        app,
        [SAMPLES / "exports" / file],
        tmp_path / "out",
        dt.date(2026, 10, 31),
        history=create_history(
            tmp_path / "history.sqlite"
        ),  # the samples folder is never written to
    )
    m = result.manifest
    assert m["rows"]["matched"] > 0
    assert m["rows"]["read"] == m["rows"]["matched"] + m["rows"]["unmatched"] + m["rows"]["skipped"]
    assert D(m["cost"]["read"]) == sum(D(m["cost"][k]) for k in ("matched", "unmatched", "skipped"))
    assert m["format"] == app_formats()[app]


@pytest.mark.parametrize(("app", "location", "file"), demo_imports())
def test_sniff_names_the_sample_format_first(app, location, file):
    expected = app_formats()[app]
    if registry.get(expected) is None:
        pytest.skip(f"{expected} is defined on the Formats sheet, not built in")
    guesses = sniff(SAMPLES / "exports" / file)
    assert guesses[0].format.name == expected
    assert guesses[0].parsed >= guesses[0].rows - 1  # samples may carry one broken line


def test_every_built_in_format_has_a_sample():
    used = set(app_formats().values())
    assert {f.name for f in registry.all_formats()} <= used


def test_formats_command_lists_fields(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert "3cx-cdr: 3CX v16-v18 CDR log" in out
    assert "  Match On default: bill-code, from-dn" in out


def test_sniff_command(capsys):
    assert main(["sniff", str(SAMPLES / "exports" / "3cx-cdr.log")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "3cx-cdr.log could be, best first:"
    assert out[1] == '  3cx-cdr: reads 50 of 50 rows, and the file says "Chain:"'
    assert out[2] == "  (9 other formats read less than half of its rows)"
    assert "First rows as 3cx-cdr reads them:" in out
    header = out[out.index("First rows as 3cx-cdr reads them:") + 1].split()
    assert header[:4] == ["line", "time-start", "bill-code", "from-dn"]
    text = "\n".join(out)
    assert "NaN" not in text and "<NA>" not in text and "None" not in text


def test_sniff_tries_the_formats_sheet_layouts(capsys):
    file = str(SAMPLES / "exports" / "london-pbx.csv")
    assert main(["sniff", file]) == 1
    assert capsys.readouterr().out.startswith(
        "london-pbx.csv: none of the built-in formats reads it; describe it on the Formats sheet"
    )
    assert main(["sniff", file, "--workbooks", str(SAMPLES / "workbooks")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  TIM Call Log: reads 50 of 50 rows (a layout on your Formats sheet)"


# --- Asterisk ----------------------------------------------------------------------------


_IDS = itertools.count(1)  # every generated record has its own id, as in a real export


def cdr(
    n_fields: int,
    src="201",
    billsec=30,
    disposition="ANSWERED",
    linkedid="",
    acct="",
    dst="01632960123",
) -> str:
    base16 = [
        f'"{acct}"',
        f'"{src}"',
        f'"{dst}"',
        '"from-internal"',
        '"""Ann"" <201>"',
        '"SIP/201-1"',
        '"SIP/t-1"',
        '"Dial"',
        '"SIP/t/x,60"',
        '"2026-10-01 10:00:00"',
        '"2026-10-01 10:00:05"' if billsec else "",
        '"2026-10-01 10:01:00"',
        str(billsec + 5),
        str(billsec),
        f'"{disposition}"',
        '"DOCUMENTATION"',
    ]
    n = next(_IDS)
    u = f'"u{n}"'
    extra = {
        16: [],
        17: [u],
        18: [u, '""'],
        19: ['""', f'"{linkedid}"', str(n)],
        20: [u, '""', f'"{linkedid}"', str(n)],
        21: [u, '""', '""', f'"{linkedid}"', str(n)],
    }[n_fields]
    return ",".join(base16 + extra)


@pytest.mark.parametrize("n", [16, 17, 18, 19, 20, 21])
def test_asterisk_cdr_csv_column_count_variants(tmp_path, n):
    lines = [cdr(n, billsec=61), cdr(n, src="999"), cdr(n, acct="ACC7", src="999")]
    _m, frames = device(
        tmp_path, "asterisk-cdr-csv", lines, maps=[("201", "A1")], codes=[("ACC7", "A1")]
    )
    assert outcome(frames) == [(1, "A1"), (2, "unknown-code"), (3, "A1")]
    assert frames["charges"]["duration"].tolist() == [61, 30]  # billed by billsec
    assert frames["charges"]["code"].tolist() == ["201", "ACC7"]  # accountcode first


def test_asterisk_unanswered_busy_and_zero_billsec_are_skipped(tmp_path):
    lines = [
        cdr(18, disposition="NO ANSWER", billsec=0),
        cdr(18, disposition="BUSY", billsec=0),
        cdr(18, billsec=0),
        cdr(18),
    ]
    _m, frames = device(tmp_path, "asterisk-cdr-csv", lines, maps=[("201", "A1")])
    assert outcome(frames) == [
        (1, "unanswered-call"),
        (2, "unanswered-call"),
        (3, "unanswered-call"),
        (4, "A1"),
    ]
    assert frames["skipped"]["message"].tolist() == [
        "the call was not answered (NO ANSWER)",
        "the call was not answered (BUSY)",
        "the call was not answered (answered, 0 seconds billed)",
    ]


def test_asterisk_forked_legs_are_billed_once(tmp_path):
    lines = [
        cdr(21, linkedid="L1", disposition="NO ANSWER", billsec=0),
        cdr(21, linkedid="L1"),
        cdr(21, linkedid="L1"),
        cdr(21, linkedid="L2"),
    ]
    _m, frames = device(
        tmp_path, "asterisk-cdr-csv", lines, maps=[("201", "A1")], chunk_rows=2
    )  # the legs straddle a chunk boundary
    assert outcome(frames) == [(1, "unanswered-call"), (2, "A1"), (3, "duplicate-leg"), (4, "A1")]
    dup = frames["skipped"].set_index("line").loc[3, "message"]
    assert dup == "another row of call L1, which is billed once"


def test_asterisk_too_many_fields_is_unparseable(tmp_path):
    _m, frames = device(tmp_path, "asterisk-cdr-csv", [cdr(21) + ',"x"'], maps=[("201", "A1")])
    assert frames["unmatched"]["message"][0] == (
        "the line cannot be read: has 22 fields, more than the 21 of format asterisk-cdr-csv "
        "(extra fields); "
        "check this line of the file"
    )


def test_asterisk_cdr_custom_accountcode_in_column_16(tmp_path):
    row = (
        '"""Ann"" <201>","201","01632960123","from-internal","PJSIP/201","PJSIP/t","Dial",'
        '"x","2026-10-01 10:00:00","2026-10-01 10:00:04","2026-10-01 10:02:04","124","120",'
        '"ANSWERED","DOCUMENTATION","ACC7","u1","",3'
    )
    _m, frames = device(tmp_path, "asterisk-cdr-custom", [row], codes=[("ACC7", "A1")])
    assert frames["charges"][["code", "duration"]].values.tolist() == [["ACC7", 120]]


def test_freepbx_after_a_spreadsheet_round_trip(tmp_path):
    header = (
        "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,"
        "billsec,disposition,amaflags,accountcode,uniqueid,userfield"
    )
    rows = [
        "2020/2/10 22:41,Ann <201>,201,01632960123,from-internal,c,d,Dial,x,65,60,ANSWERED,3,,u1,",
        "10/02/20 22:41,Ann <201>,201,01632960123,from-internal,c,d,Dial,x,5,0,NO ANSWER,3,,u2,",
    ]
    raw = ("\r".join([header, *rows]) + "\r").encode()
    _, frames = device(tmp_path, "freepbx-cdr-report", raw, maps=[("201", "A1")])
    assert frames["charges"]["occurred_at"].tolist() == [pd.Timestamp("2020-02-10 22:41")]
    assert frames["skipped"]["occurred_at"].tolist() == [pd.Timestamp("2020-02-10 22:41")]
    _m, frames = device(
        tmp_path / "m", "freepbx-cdr-report", raw, maps=[("201", "A1")], day_first=False
    )
    assert frames["skipped"]["occurred_at"].tolist() == [pd.Timestamp("2020-10-02 22:41")]


def test_freeswitch_inbound_and_unanswered(tmp_path):
    def row(context, answer, billsec, acct):
        return ",".join(
            f'"{v}"'
            for v in [
                "Ann",
                "201",
                "01632960123",
                context,
                "2026-10-01 10:00:00",
                answer,
                "2026-10-01 10:01:00",
                billsec + 3,
                billsec,
                "NORMAL_CLEARING",
                f"uuid-{next(_IDS)}",
                "",
                acct,
                "PCMA",
                "PCMA",
            ]
        )

    lines = [
        row("default", "2026-10-01 10:00:03", 57, "ACC7"),
        row("public", "2026-10-01 10:00:03", 57, ""),
        row("default", "", 0, ""),
    ]
    _m, frames = device(tmp_path, "freeswitch-cdr-csv", lines, codes=[("ACC7", "A1")])
    assert outcome(frames) == [(1, "A1"), (2, "inbound-call"), (3, "unanswered-call")]


# --- 3CX ---------------------------------------------------------------------------------


def cx(
    duration="00:01:05", code="", cost="0.12", from_type="Internal", to_type="External", ext="201"
) -> str:
    n = next(_IDS)
    return ",".join(
        [
            f"Call {n}",
            f"0001_{n}",
            duration,
            "2026/10/01 10:00:00",
            "2026/10/01 10:00:02",
            "2026/10/01 10:01:07",
            "TerminatedBySrc",
            f"Ext.{ext}",
            "01632960123",
            ext,
            "10001",
            "01632960123",
            "",
            "",
            "",
            code,
            "1",
            cost,
            "default",
            f'"Chain: Ext.{ext},01632960123,"',
            from_type,
            to_type,
            to_type,
            "Ann",
            "",
            "",
            "",
        ]
    )


def test_3cx_bill_code_cost_plus_and_call_types(tmp_path):
    lines = [
        cx(code="**ACC7", cost="0.12"),
        cx(cost="1.005"),
        cx(duration="", cost=""),
        cx(from_type="External", to_type="Internal"),
        cx(from_type="Internal", to_type="Internal"),
    ]
    raw = b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()
    product = ["P", "Calls", "Cost Plus", None, 10, 0, None, None, None, None, "No"]
    _m, frames = device(
        tmp_path, "3cx-cdr", raw, maps=[("201", "A2")], codes=[("ACC7", "A1")], product=product
    )
    assert outcome(frames) == [
        (1, "A1"),
        (2, "inactive-account"),
        (3, "unanswered-call"),
        (4, "inbound-call"),
        (5, "internal-call"),
    ]
    c = frames["charges"]
    # 0.12 × 1.10 = 0.132 → 0.13
    assert [D(str(v)).normalize() for v in c["net"]] == [D("0.13")]
    assert c["duration"].tolist() == [65]
    assert c["code"].tolist() == ["ACC7"]


# --- Avaya IP Office ---------------------------------------------------------------------


def smdr(
    call_id="7",
    cont="0",
    direction="O",
    internal="0",
    connected="00:02:00",
    account="",
    caller="201",
    n=30,
    party="E201",
) -> str:
    f = [
        "2026/10/01 10:00:00",
        connected,
        "5",
        caller,
        direction,
        "01632960123",
        "01632960123",
        account,
        internal,
        call_id,
        cont,
        party,
        "Ann",
        "T9001",
        "Line 1",
        "0",
        "0",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    return ",".join(f + ["192.0.2.1", "1", "", "", ""][: n - 30])


@pytest.mark.parametrize("n", [30, 34, 35])
def test_avaya_segments_of_one_call_billed_once(tmp_path, n):
    lines = [
        smdr(cont="1", n=n),
        smdr(cont="0", connected="00:00:40", n=n),
        smdr(call_id="8", direction="I", n=n),
        smdr(call_id="9", internal="1", n=n),
        smdr(call_id="10", connected="00:00:00", n=n),
        smdr(call_id="11", account="ACC7", caller="999", n=n),
    ]
    _m, frames = device(
        tmp_path, "avaya-ipo-smdr", lines, maps=[("201", "A1")], codes=[("ACC7", "A1")]
    )
    assert outcome(frames) == [
        (1, "A1"),
        (2, "duplicate-leg"),
        (3, "inbound-call"),
        (4, "internal-call"),
        (5, "unanswered-call"),
        (6, "A1"),
    ]
    assert frames["charges"]["duration"].tolist() == [120, 120]


def test_avaya_party_device_e_prefix_is_dropped(tmp_path):
    _m, frames = device(
        tmp_path,
        "avaya-ipo-smdr",
        [smdr(caller="")],
        maps=[("201", "A1")],
        match_on="account, party1_device",
    )
    assert frames["charges"]["code"].tolist() == ["201"]


# --- printing ----------------------------------------------------------------------------


def test_papercut_print_logger_title_trailing_comma_pages_copies_colour(tmp_path):
    lines = [
        b"PaperCut Print Logger - http://www.papercut.com/",
        b"Time,User,Pages,Copies,Printer,Document Name,Client,Paper Size,Language,Height,"
        b"Width,Duplex,Grayscale,Size",
        b'2026-10-14 09:00:00,ann,3,2,HP,"R\xe9sum\xe9.docx",WK1,A4,PCL6,,,NOT DUPLEX,'
        b"GRAYSCALE,19kb,",
        b'2026-10-14 09:05:00,ann,2,1,HP,"Plan.pdf",WK1,A4,PCL6,,,DUPLEX,NOT GRAYSCALE,52kb,',
    ]
    _m, frames = device(
        tmp_path,
        "papercut-print-logger",
        b"\r\n".join(lines) + b"\r\n",
        maps=[("ann", "A1")],
        rules=[("colour", "COL")],
    )
    c = frames["charges"]
    assert c["line"].tolist() == [3, 4]
    assert [D(str(v)).normalize() for v in c["quantity"]] == [D(6), D(2)]
    assert c["product"].tolist() == ["P", "COL"]
    assert [D(str(v)).normalize() for v in c["net"]] == [D("0.6"), D("0.5")]
    assert c["description"][0] == "Résumé.docx"
    assert c["note"][0] == "not valid UTF-8; read as Windows-1252"


def test_papercut_print_logger_without_title_line(tmp_path):
    lines = [
        "Time,User,Pages,Copies,Printer,Document Name,Client,Paper Size,Language,Height,"
        "Width,Duplex,Grayscale,Size",
        "2026-10-14 09:00:00,ann,1,1,HP,x,WK1,A4,PCL6,,,NOT DUPLEX,GRAYSCALE,19kb,",
    ]
    _m, frames = device(tmp_path, "papercut-print-logger", lines, maps=[("ann", "A1")])
    assert frames["charges"]["line"].tolist() == [2]


def test_papercut_ng_tab_split_12_hour_time_and_shared_account(tmp_path):
    lines = [
        "2026-10-14\t1:05:12 p\tSRV\tLaser\tann\tACC7\tWK1\tDoc\t4\t0\t1\t0.20",
        "2026-10-14\t9:00:00 a\tSRV\tLaser\tann\t\tWK1\tDoc\t2\t2",
    ]
    _m, frames = device(
        tmp_path,
        "papercut-ng-print-log",
        lines,
        maps=[("ann", "A1")],
        codes=[("ACC7", "A1")],
        rules=[("colour", "COL")],
    )
    c = frames["charges"]
    assert c["occurred_at"].tolist() == [
        pd.Timestamp("2026-10-14 13:05:12"),
        pd.Timestamp("2026-10-14 09:00:00"),
    ]
    assert c["code"].tolist() == ["ACC7", "ANN"]
    assert c["product"].tolist() == ["P", "COL"]


def test_cups_page_log_job_billing_then_user(tmp_path):
    lines = [
        "Laser ann 101 [14/Oct/2026:09:00:00 +0100] total 5 ACC7 wk1 my report.pdf A4 one-sided",
        "Laser ann 102 [14/Oct/2026:09:10:00 +0100] total 2 - wk1 x A4 one-sided",
        "Laser ann 103 [14/Oct/2026:09:20:00 +0100] 1 1 -",
    ]
    _m, frames = device(
        tmp_path, "cups-page-log", lines, maps=[("ann", "A2")], codes=[("ACC7", "A1")]
    )
    assert outcome(frames) == [(1, "A1"), (2, "inactive-account"), (3, "inactive-account")]
    c = frames["charges"]
    assert c["occurred_at"].tolist() == [pd.Timestamp("2026-10-14 09:00:00")]
    assert c["description"].tolist() == ["my report.pdf"]


# --- real exports (read from ../shared/real-exports; skipped when absent) -----------------

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-exports is absent")


@needs_real
def test_real_asterisk_cdr_csv(tmp_path):
    # 105 records, 18 columns. 11 not ANSWERED + 7 answered with billsec 0 = 18 skipped.
    # Of the 87 billable: src 100 (58) and accountcode 100 (3) → A1 = 61 billed at 0.10;
    # src 101 (11) → A2, inactive; src 102 (9), 103 (5), 104 (1) → 15 unknown.
    m, _frames = device(
        tmp_path,
        "asterisk-cdr-csv",
        (REAL / "asterisk-cdr_csv" / "Master.csv").read_bytes(),
        maps=[("100", "A1"), ("101", "A2")],
    )
    assert m["rows"] == {"read": 105, "matched": 61, "unmatched": 26, "skipped": 18}
    assert {k: v["rows"] for k, v in m["reasons"].items()} == {
        "inactive-account": 11,
        "unanswered-call": 18,
        "unknown-code": 15,
    }
    assert m["billed"] == {"net": "6.10", "tax": "1.22", "gross": "7.32"}


@needs_real
def test_real_3cx(tmp_path):
    # 250 calls: 27 never answered, 74 from outside, 58 between extensions, 91 outbound.
    # Outbound from ext 114: 19 calls, bill-cost 116.09 → + 0.05 each = 117.04 (tax 0%);
    # ext 318: 11 calls, 86.95, account inactive; 61 from other extensions unknown.
    product = ["P", "Calls", "Cost Plus", None, 0, 0.05, None, 0, None, None, "No"]
    m, _frames = device(
        tmp_path,
        "3cx-cdr",
        (REAL / "3cx-cdr" / "ClasseurPrepaCDR.csv").read_bytes(),
        maps=[("114", "A1"), ("318", "A2")],
        product=product,
    )
    assert m["rows"] == {"read": 250, "matched": 19, "unmatched": 72, "skipped": 159}
    assert {k: v["rows"] for k, v in m["reasons"].items()} == {
        "inactive-account": 11,
        "inbound-call": 74,
        "internal-call": 58,
        "unanswered-call": 27,
        "unknown-code": 61,
    }
    assert m["cost"] == {
        "read": "529.280000",
        "matched": "116.090000",
        "unmatched": "413.190000",
        "skipped": "0",
    }
    assert m["billed"] == {"net": "117.04", "tax": "0.00", "gross": "117.04"}


@needs_real
def test_real_papercut_print_logger(tmp_path):
    # 5 one-page mono jobs: sthompson 3 (A1, 0.05 each, 20% tax 0.01 each), tlavel 1
    # (A2, inactive), pmerton 1 (unknown).
    m, frames = device(
        tmp_path,
        "papercut-print-logger",
        (REAL / "papercut-print-logger" / "htb-fuse_block1.csv").read_bytes(),
        maps=[("sthompson", "A1"), ("tlavel", "A2")],
        product=["P", "Print", "Unit Price", 0.05, None, None, None, None, None, None, "No"],
    )
    assert m["rows"] == {"read": 5, "matched": 3, "unmatched": 2, "skipped": 0}
    assert m["billed"] == {"net": "0.15", "tax": "0.03", "gross": "0.18"}
    assert frames["charges"]["line"].tolist() == [5, 6, 7]


@needs_real
@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("asterisk-cdr_csv", "asterisk-cdr-csv"),
        ("3cx-cdr", "3cx-cdr"),
        ("papercut-print-logger", "papercut-print-logger"),
    ],
)
def test_sniff_real_exports(folder, expected):
    path = next((REAL / folder).iterdir())
    assert sniff(path)[0].format.name == expected
