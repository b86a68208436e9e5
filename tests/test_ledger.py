"""The ledger: a row is billed once, ever, across imports, re-runs, retries and voids."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from processor import create_history, open_history, reports, run_import
from processor.cli import main
from tests.conftest import GENERIC_HEADER, base, write_books, write_csv

D = Decimal
ROOT = Path(__file__).resolve().parent.parent


def rows_for(days: range, code: str = "100") -> list[str]:
    return [f"{code},2026-10-{d:02d} 10:00,call,1,{d}.00" for d in days]


def parquet(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def imp(folder: Path, export: Path, out: Path, *extra: str) -> int:
    args = ["import", "--workbooks", str(folder), "--location", "London", "--application"]
    return main(
        [*args, "PBX", "--batch-date", "2026-10-31", "--out", str(out), *extra, str(export)]
    )


def test_overlapping_exports_bill_the_overlap_once(tmp_path, backend, capsys):
    folder = write_books(tmp_path / "wb")
    first = write_csv(tmp_path / "sep.csv", [GENERIC_HEADER, *rows_for(range(1, 11))])
    second = write_csv(tmp_path / "oct.csv", [GENERIC_HEADER, *rows_for(range(6, 16))])
    assert imp(folder, first, tmp_path / "b1") == 0
    assert imp(folder, second, tmp_path / "b2") == 0
    m1 = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert m1["rows"]["matched"] == 10
    assert (m2["rows"]["matched"], m2["rows"]["skipped"]) == (5, 5)
    skipped = parquet(tmp_path / "b2", "skipped")
    assert skipped["reason"].tolist() == ["already-billed"] * 5
    assert skipped["message"][0] == (
        f"already billed in batch {m1['batch_id']} ({tmp_path / 'b1'}); a row is billed once, ever"
    )
    # 6..15 billed once in all: the second batch bills 11..15 (cost 11..15 × 1.10)
    assert D(m2["billed"]["net"]) == sum(D(d) * D("1.1") for d in range(11, 16))
    assert "already-billed: 5 rows" in capsys.readouterr().out


def test_the_same_file_again_is_refused_and_reimport_bills_nothing_new(tmp_path, backend, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 4))])
    assert imp(folder, export, tmp_path / "b1") == 0
    batch_id = json.loads((tmp_path / "b1" / "manifest.json").read_text())["batch_id"]
    capsys.readouterr()
    assert imp(folder, export, tmp_path / "b2") == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: {export}: was imported already for PBX at London, in batch {batch_id} "
        f"({tmp_path / 'b1'}); its rows are billed. Use --reimport to import it again (rows "
        "billed before are skipped as already-billed)"
    )
    assert not (tmp_path / "b2").exists()
    assert imp(folder, export, tmp_path / "b2", "--reimport") == 0
    m = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert (m["rows"]["matched"], m["billed"]["net"]) == (0, "0")
    assert m["reasons"] == {"already-billed": {"rows": 3, "cost": "6.000000"}}


def test_identical_rows_in_one_file_are_distinct_charges_and_an_overlap_finds_each(
    tmp_path, new_history
):
    # no record id in a generic CSV: two identical rows in one file are two charges (a
    # date-only tally, two jobs in one second); the first keeps the key it always had
    folder = write_books(tmp_path / "wb")
    row, other = "100,2026-10-01 10:00,call,1,1.00", "100,2026-10-02,x,1,1"
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, row, row, other, row])
    single = write_csv(tmp_path / "single.csv", [GENERIC_HEADER, row])
    run_import(
        folder, "London", "PBX", [single], tmp_path / "probe",
        history=create_history(tmp_path / "scratch.sqlite"),
    )  # fmt: skip
    first_key = parquet(tmp_path / "probe", "charges")["row_key"][0]
    # with a second file that repeats two of them: those two are the same charges
    twice = write_csv(tmp_path / "f.csv", [GENERIC_HEADER, row, row])
    history = create_history(new_history)
    result = run_import(
        folder, "London", "PBX", [export, twice], tmp_path / "b", chunk_rows=2, history=history
    )
    assert result.manifest["rows"]["matched"] == 4
    charges = parquet(tmp_path / "b", "charges")
    assert charges["line"].tolist() == [2, 3, 4, 5]
    keys = charges["row_key"].tolist()
    assert keys[0] == first_key and len(set(keys)) == 4
    skipped = parquet(tmp_path / "b", "skipped")
    assert skipped[["source_file", "line", "reason"]].values.tolist() == [
        ["f.csv", 2, "duplicate-row"],
        ["f.csv", 3, "duplicate-row"],
    ]
    assert skipped["message"].tolist() == [
        "the same row as line 2 of e.csv (the same record id, or the same content), counted once",
        "the same row as line 3 of e.csv (the same record id, or the same content), counted once",
    ]
    # a later export that overlaps: the three it shares are billed already, the fourth
    # identical row and the new one are billed
    later = write_csv(
        tmp_path / "later.csv",
        [GENERIC_HEADER, row, other, row, row, row, "100,2026-10-03,y,1,1"],
    )
    result = run_import(folder, "London", "PBX", [later], tmp_path / "b2", history=history)
    assert parquet(tmp_path / "b2", "charges")["line"].tolist() == [6, 7]
    assert parquet(tmp_path / "b2", "skipped")["reason"].tolist() == ["already-billed"] * 4
    assert result.manifest["rows"]["matched"] == 2


def test_a_freeswitch_call_logged_three_times_under_one_uuid_is_billed_once(tmp_path, backend):
    data = base()
    data["Applications"] = [["PBX", "freeswitch-cdr-csv", "CALLS", None]]
    data["Products"][0] = ["CALLS", "Calls", "Unit Price", 0.1, None, None, None, None]
    data["Products"][0] += [None, None, "No"]
    data["Account Codes"].append(["A1", "PBX", "ACC7"])
    folder = write_books(tmp_path / "wb", data)
    fields = [
        "Ann", "201", "01632960123", "default", "2026-10-01 10:00:00", "2026-10-01 10:00:03",
        "2026-10-01 10:01:00", "60", "57", "NORMAL_CLEARING", "a1b2-uuid", "", "ACC7", "PCMA",
        "PCMA",
    ]  # fmt: skip
    row = ",".join(f'"{v}"' for v in fields)
    export = write_csv(tmp_path / "Master.csv", [row, row, row])
    result = run_import(folder, "London", "PBX", [export], tmp_path / "b")
    assert (result.manifest["rows"]["matched"], result.manifest["rows"]["skipped"]) == (1, 2)
    assert parquet(tmp_path / "b", "skipped")["reason"].tolist() == ["duplicate-row"] * 2
    key = parquet(tmp_path / "b", "charges")["row_key"][0]
    assert key.startswith("uuid:")


def test_retry_bills_exactly_the_rows_the_new_code_blocked(tmp_path, backend, capsys):
    data = base()
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(
        tmp_path / "e.csv",
        [
            GENERIC_HEADER,
            *rows_for(range(1, 3)),
            *rows_for(range(3, 6), "777"),
            "888,2026-10-09,x,1,2",
        ],
    )
    assert imp(folder, export, tmp_path / "b1") == 0
    first = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    assert first["reasons"]["unknown-code"]["rows"] == 4
    # the clerk adds code 777 to A1 (not 888), then retries
    data["Account Codes"].append(["A1", "PBX", "777"])
    write_books(folder, data)
    capsys.readouterr()
    assert main(["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r1")]) == 0
    m = json.loads((tmp_path / "r1" / "manifest.json").read_text())
    assert m["retry_of"] == first["batch_id"]
    assert (m["rows"]["read"], m["rows"]["matched"], m["rows"]["unmatched"]) == (4, 3, 1)
    assert D(m["billed"]["net"]) == D("3.30") + D("4.40") + D("5.50")
    assert parquet(tmp_path / "r1", "charges")["line"].tolist() == [4, 5, 6]
    assert parquet(tmp_path / "r1", "unmatched")["code"].tolist() == ["888"]
    # a second retry bills nothing: the 777 rows are retried already, 888 still unknown;
    # it writes no batch and says so
    capsys.readouterr()
    assert main(["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r2")]) == 0
    assert not (tmp_path / "r2").exists()
    assert (
        "its 1 unmatched row still does not bill (1 unknown-code); 3 rows were billed by "
        "an earlier retry; no batch was written or recorded" in capsys.readouterr().out
    )


def test_void_then_reimport_bills_again(tmp_path, backend, capsys):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 4))])
    assert imp(folder, export, tmp_path / "b1") == 0
    assert main(["report", str(tmp_path / "b1")]) == 0
    capsys.readouterr()
    assert main(["void", str(tmp_path / "b1"), "--reason", "wrong export"]) == 0
    said = capsys.readouterr().out
    assert "is void" in said and "3 rows may be billed again" in said
    assert (tmp_path / "b1" / "VOID.txt").read_text().startswith("VOID: batch ")
    assert "void-banner" in (tmp_path / "b1" / "reports" / "billing.html").read_text()
    # voiding twice is a clear error
    assert main(["void", str(tmp_path / "b1"), "--reason", "again"]) == 1
    assert "was voided already" in capsys.readouterr().err
    # the same file may be imported again now, and bills every row
    assert imp(folder, export, tmp_path / "b2") == 0
    m = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert (m["rows"]["matched"], m["billed"]["net"]) == (3, "6.60")


def test_history_lists_batches_newest_first(tmp_path, backend, capsys):
    folder = write_books(tmp_path / "wb")
    a = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, *rows_for(range(1, 3))])
    b = write_csv(tmp_path / "b.csv", [GENERIC_HEADER, *rows_for(range(3, 4))])
    assert imp(folder, a, tmp_path / "b1") == 0
    assert imp(folder, b, tmp_path / "b2") == 0
    assert main(["void", str(tmp_path / "b1"), "--reason", "test"]) == 0
    capsys.readouterr()
    assert main(["history", "--workbooks", str(folder), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(b["folder"], b["status"]) for b in listed] == [
        (str(tmp_path / "b2"), "committed"),
        (str(tmp_path / "b1"), "void"),
    ]
    assert (listed[0]["rows_billed"], listed[0]["net"]) == (1, "3.30")
    assert listed[0]["period_from"].startswith("2026-10-03")
    assert main(["history", listed[1]["id"], "--workbooks", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "VOID" in text and str(a) in text and "Void: " in text


def test_period_summary_counts_each_batch_once_and_leaves_void_out(tmp_path, backend, capsys):
    folder = write_books(tmp_path / "wb")
    a = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, *rows_for(range(1, 5))])
    b = write_csv(tmp_path / "b.csv", [GENERIC_HEADER, *rows_for(range(3, 7))])
    c = write_csv(tmp_path / "c.csv", [GENERIC_HEADER, *rows_for(range(20, 22))])
    for f, out in ((a, "b1"), (b, "b2"), (c, "b3")):
        assert imp(folder, f, tmp_path / out) == 0
    assert main(["void", str(tmp_path / "b3"), "--reason", "test"]) == 0
    batches = [reports.load_batch(tmp_path / n) for n in ("b1", "b2", "b2", "b3")]
    summary = reports.period_summary(batches)
    # days 1..6 billed once: 1+2+...+6 = 21 × 1.10; the void batch is left out
    assert summary["Net"].tolist() == [D("23.10")]
    assert summary["Batches"].tolist() == [2]
    assert [b.path.name for b in reports.void_batches(batches)] == ["b3"]


def test_two_committed_batches_billing_one_row_are_refused_in_a_summary(
    tmp_path, capsys, two_new_histories
):
    folder = write_books(tmp_path / "wb")
    a = write_csv(tmp_path / "a.csv", [GENERIC_HEADER, *rows_for(range(1, 3))])
    ours, theirs = (create_history(h) for h in two_new_histories)
    assert imp(folder, a, tmp_path / "b1", "--history", str(ours)) == 0
    # a second history: the same row billed twice (what the ledger prevents in one history)
    assert imp(folder, a, tmp_path / "b2", "--history", str(theirs)) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "b1"), str(tmp_path / "b2")]) == 1
    err = capsys.readouterr().err
    assert "bill the same 2 rows" in err and str(tmp_path / "b1") in err
    assert str(tmp_path / "b2") in err


def _spawn(folder: Path, export: Path, out: Path) -> subprocess.Popen:
    code = (
        "import sys; from processor.cli import main; "
        f"sys.exit(main(['import', '--workbooks', {str(folder)!r}, '--location', 'London', "
        f"'--application', 'PBX', '--reimport', '--out', {str(out)!r}, {str(export)!r}]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_imports_bill_each_row_once(tmp_path, backend):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 29))])
    procs = [_spawn(folder, export, tmp_path / f"b{i}") for i in (1, 2)]
    for p in procs:
        p.wait(timeout=120)
        assert p.returncode == 0, p.stderr.read()
    billed = [
        json.loads((tmp_path / f"b{i}" / "manifest.json").read_text())["rows"]["matched"]
        for i in (1, 2)
    ]
    assert sorted(billed) == [0, 28]


def test_a_killed_import_leaves_no_batch_and_no_record_and_the_next_succeeds(tmp_path):
    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv",
        [
            GENERIC_HEADER,
            *[
                f"100,2026-10-01 10:{i // 60 % 60:02d}:{i % 60:02d},c{i},1,1"
                for i in range(150_000)
            ],
        ],
    )
    proc = _spawn(folder, export, tmp_path / "b1")
    history = folder / "history.sqlite"
    deadline = time.monotonic() + 60
    # kill it while it writes: once its pending record exists
    while time.monotonic() < deadline:
        if history.exists():
            with sqlite3.connect(history) as db:
                try:
                    if db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]:
                        break
                except sqlite3.OperationalError:
                    pass
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT COUNT(*) FROM batches WHERE status = 'committed'").fetchone() == (
            0,
        )
        pending = [r[0] for r in db.execute("SELECT folder FROM batches WHERE status = 'pending'")]
    # killed while writing, it left at most a folder its pending record names
    assert not (tmp_path / "b1").exists() or pending == [str(tmp_path / "b1")]
    # the next import clears what was left and bills every row
    result = run_import(folder, "London", "PBX", [export], tmp_path / "b2")
    assert result.manifest["rows"]["matched"] == 150_000
    assert any("unfinished record" in n for n in result.notes)
    assert not list(tmp_path.glob(".b1.partial-*")) and not (tmp_path / "b1").exists()


@pytest.mark.parametrize("bad", ["not a database", ""])
def test_a_damaged_history_is_a_clear_error(tmp_path, capsys, bad):
    folder = write_books(tmp_path / "wb")
    (folder / "history.sqlite").write_text(bad * 100 or "x" * 5000)
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 2))])
    assert imp(folder, export, tmp_path / "b1") == 1
    err = capsys.readouterr().err
    assert "is not an import history this program can read" in err
    assert not (tmp_path / "b1").exists()


def test_row_keys_are_in_every_output(tmp_path, backend):
    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv", [GENERIC_HEADER, "100,2026-10-01,a,1,1", "999,2026-10-01,b,1,1", ""]
    )
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    c, u, s = (parquet(tmp_path / "b", n) for n in ("charges", "unmatched", "skipped"))
    assert c["row_key"][0].startswith("row:") and u["row_key"][0].startswith("row:")
    assert c["row_key"][0] != u["row_key"][0]
    assert s["row_key"].isna().all()  # a blank line has no key


def _commit(h, app: str, loc: str, digests: list[bytes], folder: str) -> str:
    """A committed batch of these digests, through the history's own API."""
    record = {
        "location": loc.title(),
        "location_key": loc,
        "application": app.upper(),
        "application_key": app,
        "format": "generic-csv",
        "batch_date": "2026-10-31",
        "folder": folder,
        "partial": None,
    }
    batch_id = h.begin(record, [])
    rows = {"read": len(digests), "matched": len(digests), "unmatched": 0, "skipped": 0}
    money = {"net": "0.00", "tax": "0.00", "gross": "0.00"}
    manifest = {"rows": rows, "billed": money, "inputs": [], "currency": "GBP", "reasons": {}}
    h.commit(batch_id, manifest, np.array(digests, dtype="S12"), {})
    return batch_id


def test_the_key_check_names_the_batch_that_billed_each_key_in_its_scope_only(new_history):
    # how fast the check is against a large history is measured (bench/bench_history.py);
    # what it answers is pinned here, through the public API
    from processor.history import Billed, open_history

    rnd = random.Random(5)

    def digest() -> bytes:
        return rnd.randbytes(12)

    twin = digest()
    like = twin[:8] + bytes(b ^ 0xFF for b in twin[8:])  # the same first 8 bytes
    zeros = digest()[:6] + b"\0" * 6  # trailing NUL bytes are part of a digest
    first = [digest() for _ in range(3000)] + [twin, zeros]
    second = [digest() for _ in range(2000)] + [like]
    elsewhere = [digest() for _ in range(500)]
    never = [digest() for _ in range(1000)] + [twin[:8] + b"\0" * 4]

    h = open_history(create_history(new_history))
    one = _commit(h, "pbx", "london", first, "/b/one")
    two = _commit(h, "pbx", "london", second, "/b/two")
    other = _commit(h, "pbx", "leeds", elsewhere, "/b/other")
    pending = h.begin({**json.loads(json.dumps(h.batch(one))), "id": None, "partial": None}, [])
    asked = [*first, *second, *elsewhere, *never]
    rnd.shuffle(asked)
    want = {d: Billed(one, "/b/one") for d in first} | {d: Billed(two, "/b/two") for d in second}
    assert billed_by(h, "pbx", "london", np.array(asked, dtype="S12")) == want
    assert billed_by(h, "pbx", "leeds", np.array(asked, dtype="S12")) == {
        d: Billed(other, "/b/other") for d in elsewhere
    }
    assert billed_by(h, "fax", "london", np.array(asked, dtype="S12")) == {}
    assert pending not in {b.batch_id for b in want.values()}
    h.close()

    # a void releases exactly its batch's keys, and a history opened anew answers the same
    h = open_history(new_history)
    assert h.void(one, "test")["released"] == len(first)
    assert billed_by(h, "pbx", "london", np.array(asked, dtype="S12")) == {
        d: Billed(two, "/b/two") for d in second
    }
    h.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_history_is_migrated_and_its_billed_rows_stay_billed(tmp_path, version):
    from processor import open_history, row_digests
    from processor.history.sqlite.schema import V1, V2

    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 4))])
    # the rows' keys, as any import makes them
    run_import(
        folder,
        "London",
        "PBX",
        [export],
        tmp_path / "probe",
        dt.date(2026, 10, 31),
        history=create_history(tmp_path / "scratch.sqlite"),
    )
    keys = parquet(tmp_path / "probe", "charges")["row_key"].tolist()
    old = tmp_path / f"v{version}.sqlite"
    db = sqlite3.connect(old, isolation_level=None)
    db.executescript(f"BEGIN; {V1}; PRAGMA user_version = 1; COMMIT;")
    for batch, loc in (("old-1", "london"), ("leeds-1", "leeds")):
        db.execute(
            "INSERT INTO batches (id, status, location, location_key, application, "
            "application_key, format, batch_date, folder, created_at) VALUES (?, 'committed', "
            "'London', ?, 'PBX', 'pbx', 'generic-csv', '2026-09-30', '/batches/sep', "
            "'2026-09-30')",
            (batch, loc),
        )
    # old-1 billed the first two rows at London; leeds-1 all three at Leeds
    held = [("london", k, "old-1") for k in keys[:2]] + [("leeds", k, "leeds-1") for k in keys]
    if version == 1:
        db.executemany("INSERT INTO keys VALUES ('pbx', ?, ?, ?)", held)
    else:
        db.executescript(f"BEGIN; {V2}; DROP TABLE keys; PRAGMA user_version = 2; COMMIT;")
        db.execute("INSERT INTO scopes VALUES (7, 'pbx', 'london'), (9, 'pbx', 'leeds')")
        digests = row_digests.as_bytes(row_digests.digests(pa.array([k for _, k, _ in held])))
        db.executemany(
            "INSERT INTO billed VALUES (?, ?, (SELECT rowid FROM batches WHERE id = ?))",
            [
                (7 if loc == "london" else 9, d, b)
                for (loc, _, b), d in zip(held, digests, strict=True)
            ],
        )
    db.close()

    run_import(
        folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31), history=old
    )
    skipped = parquet(tmp_path / "b", "skipped")
    assert skipped["reason"].tolist() == ["already-billed"] * 2
    assert skipped["line"].tolist() == [2, 3]
    assert skipped["message"][0].startswith("already billed in batch old-1 (/batches/sep)")
    assert parquet(tmp_path / "b", "charges")["row_key"].tolist() == keys[2:]
    # the history now holds all three keys: a third import bills nothing
    run_import(
        folder, "London", "PBX", [export], tmp_path / "b2", dt.date(2026, 10, 31), history=old,
        reimport=True,
    )  # fmt: skip
    assert parquet(tmp_path / "b2", "skipped")["reason"].tolist() == ["already-billed"] * 3
    # voiding the old batch releases its two keys, and the new batch's one stays billed
    h = open_history(old)
    assert h.void("old-1", "test")["released"] == 2
    assert h.void("leeds-1", "test")["released"] == 3
    h.close()
    run_import(
        folder, "London", "PBX", [export], tmp_path / "b3", dt.date(2026, 10, 31), history=old,
        reimport=True,
    )  # fmt: skip
    assert parquet(tmp_path / "b3", "charges")["row_key"].tolist() == keys[:2]
    assert parquet(tmp_path / "b3", "skipped")["row_key"].tolist() == keys[2:]


def test_row_keys_stay_the_keys_the_history_holds(tmp_path):
    # keys live on in every history: an engine change that re-keys rows would bill them
    # twice. The key is blake2b (12 bytes) of the normalised row, worked out here by hand.
    import hashlib

    folder = write_books(tmp_path / "wb")
    export = write_csv(
        tmp_path / "e.csv", [GENERIC_HEADER, " 100 ,2026-10-01 09:05:07,Call x,2,1.5"]
    )
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    text = "\x1f".join(["pbx", "100", "2026-10-01 09:05:07", "|Call x", "", "2.000000", "1.500000"])
    want = "row:" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    assert parquet(tmp_path / "b", "charges")["row_key"].tolist() == [want]


@pytest.mark.parametrize("kept", [True, False])
def test_the_history_holds_exactly_the_keys_charges_parquet_bills(tmp_path, monkeypatch, kept):
    # the import hands the commit the digests it wrote; without them (kept=False) the
    # commit reads them back from charges.parquet: both ways, the same keys
    from processor import open_history, row_digests
    from processor.batch import life, writer

    if not kept:
        monkeypatch.setattr(writer.BatchWriter, "billed_digests", lambda self: None)
    folder = write_books(tmp_path / "wb")
    rows = [*rows_for(range(1, 29)), *rows_for(range(1, 5), code="999"), ""]
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows])
    run_import(folder, "London", "PBX", [export], tmp_path / "b", dt.date(2026, 10, 31))
    billed = life.billed_digests(tmp_path / "b")
    unbilled = np.concatenate(
        [row_digests.digests(pa.array(parquet(tmp_path / "b", n)["row_key"].dropna())) for n in
         ("unmatched", "skipped")]
    )  # fmt: skip
    h = open_history(folder / "history.sqlite")
    held = billed_by(h, "pbx", "london", np.concatenate([billed, unbilled]))
    assert len(billed) == 28 and sorted(held) == sorted(row_digests.as_bytes(billed))
    batch_id = json.loads((tmp_path / "b" / "manifest.json").read_text())["batch_id"]
    assert {b.batch_id for b in held.values()} == {batch_id}
    h.close()
    again = write_csv(tmp_path / "again.csv", [GENERIC_HEADER, *rows_for(range(20, 31))])
    run_import(folder, "London", "PBX", [again], tmp_path / "b2", dt.date(2026, 10, 31))
    assert parquet(tmp_path / "b2", "skipped")["reason"].tolist() == ["already-billed"] * 9


def test_a_history_being_migrated_by_another_command_is_waited_for(tmp_path):
    # a history from before batch files were recorded (schema 5), held by another
    # command's write: opening it waits, then migrates it once
    import threading

    from processor import open_history

    path = create_history(tmp_path / "h.sqlite")
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("DROP TABLE batch_files")
    for later in ("allowance_use", "exports", "export_batches", "export_invoices", "account_nets"):
        db.execute(f"DROP TABLE {later}")
    db.execute("PRAGMA user_version = 5")
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TABLE early (x)")
    threading.Timer(0.5, lambda: db.execute("COMMIT")).start()
    h = open_history(path)
    assert h.batches() == [] and h.files("any") == {}
    h.close()
    db.close()


@pytest.mark.parametrize("voids", [1, 6])
def test_the_key_check_names_the_right_batch_among_many_small_ones(tmp_path, monkeypatch, voids):
    # a year of daily batches: their runs are merged as they are committed, and the small
    # ones again in memory (the sizes are scaled down so that single, merged, settled and
    # cut runs are all asked, and voids take batches out of merged runs)
    from processor.history import Billed, key_runs, open_history, sql_store

    monkeypatch.setattr(sql_store, "_SMALL_RUN", 60)
    monkeypatch.setattr(key_runs, "SETTLED", 200)
    monkeypatch.setattr(key_runs, "RUN", 300)
    rnd = random.Random(9)
    h = open_history(create_history(tmp_path / "h.sqlite"))
    held = {}
    for day in range(40):
        digests = [rnd.randbytes(12) for _ in range(rnd.choice([1, 20, 59, 60, 150, 450]))]
        batch_id = _commit(h, "pbx", "london", digests, f"/b/{day}")
        held |= {d: Billed(batch_id, f"/b/{day}") for d in digests}
        _commit(h, "pbx", "leeds", [rnd.randbytes(12)], f"/l/{day}")
    ids = sorted({b.batch_id for b in held.values()})
    for voided in rnd.sample(ids, voids):
        count = sum(b.batch_id == voided for b in held.values())
        assert h.void(voided, "test")["released"] == count
        held = {d: b for d, b in held.items() if b.batch_id != voided}
    asked = [*held, *(rnd.randbytes(12) for _ in range(500))]
    rnd.shuffle(asked)
    assert billed_by(h, "pbx", "london", np.array(asked, dtype="S12")) == held
    # the runs were merged as they were committed: fewer than three unsettled runs of a
    # size class (powers of 4) in a scope, and far fewer runs than batches
    classes = collections.Counter(
        (scope, (size.bit_length() - 1) // 2)
        for scope, size in h.db.execute("SELECT scope, size FROM runs WHERE size < 200")
    )
    assert classes and max(classes.values()) < 4, classes
    assert h.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] < 40
    assert billed_by(h, "pbx", "leeds", np.array(list(held), dtype="S12")) == {}
    h.close()


def billed_by(h, application_key: str, location_key: str, digests: np.ndarray) -> dict:
    """Which row keys (given as their digests) a committed batch billed, as the history's
    key check names them: digest (12 bytes) -> Billed."""
    from processor import row_digests

    which, places = h.billed_where(application_key, location_key, digests)
    hit = np.flatnonzero(which >= 0)
    return dict(
        zip(row_digests.as_bytes(digests[hit]), [places[i] for i in which[hit]], strict=True)
    )


@pytest.mark.parametrize("moment", ["pending", "written", "renamed"])
def test_an_import_stopped_at_each_moment_of_its_batch_is_recovered_by_the_next(
    tmp_path, moment, backend
):
    # the import ends at once (as a SIGKILL ends it) at one moment of its batch's life; the
    # next command recovers first: an unfinished batch is removed, a whole one committed;
    # then every row is billed exactly once, and the same --out can be used again
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 29))])
    out = tmp_path / "b"
    args = ["import", "--workbooks", str(folder), "--location", "London", "--application", "PBX"]
    code = f"import sys; from processor.cli import main; sys.exit(main({[*args, '--out', str(out), str(export)]!r}))"
    stopped = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "CHARGES_STOP_AT": moment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 137, stopped.stderr
    again = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    hist = open_history(os.environ.get("CHARGES_HISTORY") or folder / "history.sqlite")
    try:
        batches = [(b["id"], b["status"], b["rows_billed"]) for b in hist.batches()]
    finally:
        hist.close()
    assert [(status, billed) for _, status, billed in batches] == [("committed", 28)]
    (batch_id,) = [b for b, _, _ in batches]
    notes = again.stderr.strip().splitlines()
    if moment == "renamed":  # the folder was whole: committed, and --out is that batch
        assert again.returncode == 2
        assert notes[0] == (
            f"charges: committed batch {batch_id} ({out}): an import was stopped after writing "
            "it and before recording it; its folder is whole"
        )
        assert (
            notes[-1]
            == f"charges: {out}: already exists and is not empty; choose a new batch folder"
        )
    else:  # nothing whole was left: removed, and this import bills every row
        assert again.returncode == 0, again.stderr
        assert any("unfinished record" in n for n in notes)
    assert json.loads((out / "manifest.json").read_text())["batch_id"] == batch_id
    assert len(parquet(out, "charges")) == 28
    assert not list(tmp_path.glob(".b.partial-*"))


def imported_then_retried(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """b1: 2 rows billed, 2 of code 777 unknown; then 777 is added to A1 and r1 retries
    them. Returns the workbooks, the export and the two batch ids."""
    data = base()
    folder = write_books(tmp_path / "wb", data)
    export = write_csv(
        tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 3)), *rows_for(range(3, 5), "777")]
    )
    assert imp(folder, export, tmp_path / "b1") == 0
    data["Account Codes"].append(["A1", "PBX", "777"])
    write_books(folder, data)
    assert main(["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r1")]) == 0
    first, retry = (
        json.loads((tmp_path / b / "manifest.json").read_text())["batch_id"] for b in ("b1", "r1")
    )
    return folder, export, first, retry


def test_a_batch_with_retries_is_voided_only_with_them(tmp_path, backend, capsys):
    folder, export, first, retry = imported_then_retried(tmp_path)
    capsys.readouterr()
    # without --with-retries: refused, naming the retry batch; nothing is voided
    assert main(["void", str(tmp_path / "b1"), "--reason", "wrong export"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"charges: batch {first} has retry batches that bill its rows: {retry} "
        f"({tmp_path / 'r1'}); give --with-retries to void them with it, or void them first"
    )
    assert not (tmp_path / "b1" / "VOID.txt").exists()
    # with it: both void, every row released, each folder says so
    assert main(["void", str(tmp_path / "b1"), "--reason", "wrong export", "--with-retries"]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert said[0] == (
        f"retry batch {retry} is void with it; 2 rows may be billed again. "
        f"{tmp_path / 'r1'}/VOID.txt says so."
    )
    assert "2 rows may be billed again" in said[1]
    assert f"a retry of batch {first}, voided with it" in (tmp_path / "r1" / "VOID.txt").read_text()
    assert (tmp_path / "b1" / "VOID.txt").is_file()
    # the export bills all four rows again
    assert imp(folder, export, tmp_path / "b2") == 0
    m = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert m["rows"]["matched"] == 4


def test_a_void_batch_is_not_retried_and_a_void_retry_releases_its_rows_to_retry(
    tmp_path, backend, capsys
):
    folder, _, first, retry = imported_then_retried(tmp_path)
    # the retry batch was wrong: voided, its two rows may be retried again, and are
    assert main(["void", str(tmp_path / "r1"), "--reason", "wrong code"]) == 0
    assert main(["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r2")]) == 0
    m = json.loads((tmp_path / "r2" / "manifest.json").read_text())
    assert (m["rows"]["read"], m["rows"]["matched"]) == (2, 2)
    assert parquet(tmp_path / "r2", "charges")["line"].tolist() == [4, 5]
    # a void batch is never retried
    assert main(["void", str(tmp_path / "b1"), "--reason", "wrong", "--with-retries"]) == 0
    capsys.readouterr()
    assert main(["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r3")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"charges: batch {first} ({tmp_path / 'b1'}) is void in the history "
        f"{os.environ.get('CHARGES_HISTORY') or folder / 'history.sqlite'}; only a committed "
        "batch can be retried"
    )
    assert not (tmp_path / "r3").exists() and retry != first


def test_a_batch_is_retried_and_voided_only_through_the_history_it_was_recorded_in(
    tmp_path, capsys, two_new_histories
):
    folder = write_books(tmp_path / "wb")
    export = write_csv(tmp_path / "e.csv", [GENERIC_HEADER, *rows_for(range(1, 4))])
    other = write_csv(tmp_path / "o.csv", [GENERIC_HEADER, *rows_for(range(5, 7))])
    args = ["import", "--workbooks", str(folder), "--location", "London", "--application", "PBX"]
    ours, theirs = (create_history(h) for h in two_new_histories)
    assert main([*args, "--history", str(ours), "--out", str(tmp_path / "b1"), str(export)]) == 0
    assert main([*args, "--history", str(theirs), "--out", str(tmp_path / "b2"), str(other)]) == 0
    manifest = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    held = [open_history(ours), open_history(theirs)]
    ours_id, theirs_id = (h.history_id for h in held)
    for h in held:
        h.close()
    assert manifest["history_id"] == ours_id != theirs_id
    capsys.readouterr()
    refusal = (
        f"charges: batch {manifest['batch_id']} ({tmp_path / 'b1'}) was recorded in another "
        f"history (id {ours_id}, at {ours}), not in {theirs} (id {theirs_id}); name the history "
        "it was recorded in with --history"
    )
    void = ["void", str(tmp_path / "b1"), "--reason", "x", "--history", str(theirs)]
    assert main(void) == 2
    assert capsys.readouterr().err.strip() == refusal
    retry = ["retry", str(tmp_path / "b1"), "--out", str(tmp_path / "r"), "--history", str(theirs)]
    assert main(retry) == 2
    assert capsys.readouterr().err.strip() == refusal
    assert not (tmp_path / "b1" / "VOID.txt").exists() and not (tmp_path / "r").exists()
