"""The import history on PostgreSQL (issue 24): the same ledger on both stores, imports of
several processes at once, other locations side by side, faults, and what is never shown.

The server is the tests' own (``tests.pg_server``); each test has an empty database."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from processor import create_history, run_import
from processor.cli import main
from processor.errors import HistoryError
from processor.history import open_history
from processor.history.store import Scope
from tests.conftest import GENERIC_HEADER, base, row, write_books, write_csv

CODE = "import sys; from processor.cli import main; sys.exit(main(sys.argv[1:]))"


def export(path: Path, first: int, last: int, code: str = "100") -> Path:
    """Rows first..last of one account's calls: each row's description is its number."""
    lines = [GENERIC_HEADER] + [
        f"{code},2026-10-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d},call {i},1,0.{1 + i % 90:02d}"
        for i in range(first, last + 1)
    ]
    return write_csv(path, lines)


def two_sites(folder: Path) -> Path:
    """The base workbooks, with PBX's code 300 (A3) at Leeds; a second application at
    London (Printer, the same format and product); and A1 on plan Desk (5.00 of calls a
    month included), A2 (code 200) on none."""
    data = base()
    data["Accounts"] = [
        row("Accounts", Account_ID="A1", Account_Name="Acme", Location="London", Status="Active",
            Plan="Desk"),
        row("Accounts", Account_ID="A2", Account_Name="Bee", Location="London", Status="Active"),
        row("Accounts", Account_ID="A3", Account_Name="Leeds Co", Location="Leeds",
            Status="Active"),
    ]  # fmt: skip
    data["Applications"].append(
        row("Applications", Application="Printer", Format="generic-csv", Product="CALLS")
    )
    data["Account Codes"] = [
        row("Account Codes", Account_ID=account, Application=app, Code=code)
        for account, app, code in [
            ("A1", "PBX", "100"), ("A2", "PBX", "200"), ("A3", "PBX", "300"),
            ("A1", "Printer", "100"), ("A2", "Printer", "200"),
        ]
    ]  # fmt: skip
    data["Device Import Maps"] = []
    data["Plans"] = [row("Plans", {"Plan": "Desk", "Product": "CALLS", "Included Amount": 5})]
    return write_books(folder, data)


def import_args(
    books: Path, history, out: Path, file: Path, location: str = "London", app: str = "PBX"
) -> list:
    return [
        *("import", "--workbooks", str(books), "--location", location, "--application", app),
        *("--batch-date", "2026-10-31", "--history", str(history), "--reimport"),
        *("--out", str(out), str(file)),
    ]


def charges(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CODE, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def billed(history) -> tuple[dict[str, int], list[str]]:
    """Row key → how many committed batches bill it; and every billed description."""
    hist = open_history(history)
    try:
        assert hist.pending() == []
        folders = [b["folder"] for b in hist.batches() if b["status"] == "committed"]
    finally:
        hist.close()
    counts: dict[str, int] = {}
    described = []
    for folder in folders:
        frame = pd.read_parquet(Path(folder) / "charges.parquet")
        for k in frame["row_key"]:
            counts[k] = counts.get(k, 0) + 1
        described += list(frame["description"])
    return counts, described


def test_the_ledger_bills_once_voids_and_retries_alike_on_both_stores(tmp_path, new_history):
    books = two_sites(tmp_path / "wb")
    history = create_history(new_history)
    a = export(tmp_path / "a.csv", 1, 30)
    b = export(tmp_path / "b.csv", 21, 40)  # rows 21..30 are a.csv's too
    run_import(
        books, "London", "PBX", [a], tmp_path / "one", dt.date(2026, 10, 31), history=history
    )
    second = run_import(
        books, "London", "PBX", [b], tmp_path / "two", dt.date(2026, 10, 31), history=history
    )
    assert second.manifest["reasons"]["already-billed"]["rows"] == 10
    counts, described = billed(history)
    assert set(counts.values()) == {1} and len(described) == 40
    # a void releases its keys: the same export bills again
    assert main(["void", str(tmp_path / "one"), "--reason", "wrong month"]) == 0
    run_import(
        books, "London", "PBX", [a], tmp_path / "three", dt.date(2026, 10, 31), history=history,
        reimport=True,
    )  # fmt: skip
    counts, described = billed(history)
    assert set(counts.values()) == {1} and sorted(described) == sorted(
        f"call {i}" for i in range(1, 41)
    )
    hist = open_history(history)
    try:
        statuses = sorted(b["status"] for b in hist.batches())
        one = hist.batch(json.loads((tmp_path / "one" / "manifest.json").read_text())["batch_id"])
    finally:
        hist.close()
    assert statuses == ["committed", "committed", "void"]
    assert one["status"] == "void" and one["void_reason"] == "wrong month"
    assert one["inputs"][0]["rows"] == 30 and "rowid" not in one


def test_eight_imports_of_overlapping_exports_at_once_bill_every_row_once(tmp_path, pg_server):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    files = [export(tmp_path / f"e{i}.csv", 1 + 150 * i, 400 + 150 * i) for i in range(8)]
    runs = [
        charges(*import_args(books, history, tmp_path / f"out-{i}", f)) for i, f in enumerate(files)
    ]
    for run in runs:
        _out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    counts, described = billed(history)
    assert set(counts.values()) == {1}
    assert sorted(described) == sorted(f"call {i}" for i in range(1, 400 + 150 * 7 + 1))


def test_an_import_waits_for_its_own_application_and_location_only(tmp_path, pg_server):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    held = open_history(history)
    held.lock(scope=Scope("pbx", "london"))  # an import of PBX at London, as others see it
    try:
        for name, where, app, code in [("leeds", "Leeds", "PBX", "300"),
                                       ("printer", "London", "Printer", "200")]:  # fmt: skip
            run = charges(
                *import_args(
                    books, history, tmp_path / name, export(tmp_path / f"{name}.csv", 1, 5, code),
                    where, app,
                )
            )  # fmt: skip
            assert run.wait(timeout=120) == 0, run.stderr.read()  # not held up by PBX's
        london = charges(
            *import_args(
                books, history, tmp_path / "london", export(tmp_path / "n.csv", 1, 5, "200")
            )
        )
        _connected(pg_server, history, 2)  # ours and London's import: it is at the lock
        time.sleep(1)
        assert london.poll() is None  # waiting for PBX at London
    finally:
        held.close()
    _out, err = london.communicate(timeout=120)
    assert london.returncode == 0, err
    assert (
        "another import is using the history for this application at this location; waiting "
        "for it to finish" in err
    )
    # a command of the whole history (void) waits for every import
    held = open_history(history)
    held.lock(scope=Scope("pbx", "leeds"))
    try:
        void = charges("void", tmp_path / "london", "--reason", "test")
        _connected(pg_server, history, 2)  # ours and the void's: it is at the lock
        time.sleep(1)
        assert void.poll() is None
    finally:
        held.close()
    assert void.wait(timeout=120) == 0, void.stderr.read()


def test_charges_an_allowance_may_cover_wait_for_the_locations_other_imports(tmp_path, pg_server):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    held = open_history(history)
    held.lock(scope=Scope("printer", "london"))
    held.lock_allowances("london")  # a Printer import at London, pricing A1's allowance
    try:
        # A2 has no plan: its calls import at once
        free = charges(
            *import_args(books, history, tmp_path / "free", export(tmp_path / "f.csv", 1, 5, "200"))
        )
        assert free.wait(timeout=120) == 0, free.stderr.read()
        planned = charges(
            *import_args(books, history, tmp_path / "plan", export(tmp_path / "p.csv", 1, 5, "100"))
        )
        told = "another import at this location is using its plans' allowances; waiting for it"
        for line in planned.stderr:  # it reads and keys its rows, then waits for the allowance
            if told in line:
                break
        else:
            pytest.fail(f"the import did not wait: {planned.wait()}")
        time.sleep(0.5)
        assert planned.poll() is None
    finally:
        held.close()
    _out, err = planned.communicate(timeout=120)
    assert planned.returncode == 0, err
    manifest = json.loads((tmp_path / "plan" / "manifest.json").read_text())
    assert [u["account_id"] for u in manifest["allowances"]["used"]] == ["A1"]


def test_the_password_is_never_shown_or_written(tmp_path, pg_server):
    books = two_sites(tmp_path / "wb")
    url = pg_server.database().replace("postgres@", "postgres:s3cret-pw@")  # trust: any password
    history = create_history(url)
    assert "s3cret" not in history
    run = charges(*import_args(books, url, tmp_path / "b", export(tmp_path / "e.csv", 1, 3)))
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    manifest = (tmp_path / "b" / "manifest.json").read_text()
    assert "s3cret" not in out + err + manifest
    assert json.loads(manifest)["history"] == url.replace(":s3cret-pw", "")


def test_without_the_driver_a_url_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(HistoryError) as err:
        open_history("postgresql://billing@db.example/charges")
    assert str(err.value) == (
        "a PostgreSQL history needs the PostgreSQL driver, which is not installed; install it "
        'with pip install "device-charges[postgres]", then run this again'
    )


def test_a_server_that_is_not_there_is_refused_and_nothing_is_written(tmp_path, capsys):
    books = two_sites(tmp_path / "wb")
    url = f"postgresql://billing:pw@/charges?host={tmp_path}&port=5999"  # no server there
    code = main(import_args(books, url, tmp_path / "b", export(tmp_path / "e.csv", 1, 3)))
    err = capsys.readouterr().err
    assert code == 1 and not (tmp_path / "b").exists()
    assert err.startswith(
        f"charges: postgresql://billing@/charges?host={tmp_path}&port=5999: the PostgreSQL "
        "history cannot be used ("
    )
    assert err.rstrip().endswith(
        "check that the server is running and reachable and that the user may log in, then "
        "run this again. Nothing was written"
    )
    assert "pw" not in err.replace("postgresql", "")


def test_init_wants_an_empty_database_and_a_command_wants_a_history(tmp_path, pg_server, capsys):
    url = pg_server.database()
    assert main(["history", "--history", url]) == 2
    assert capsys.readouterr().err == (
        f"charges: {url}: no import history in this database; create one with charges init "
        f"--history {url}\n"
    )
    assert main(["init", "--history", url]) == 0
    assert capsys.readouterr().out == f"created the import history {url}\n"
    assert main(["init", "--history", url]) == 1
    assert capsys.readouterr().err == (
        f"charges: {url}: the database is not empty, so no history was created in it; create "
        "an empty database for the history (createdb), or name that one\n"
    )


def test_charges_history_names_the_ledger_when_set_in_the_environment(
    tmp_path, pg_server, monkeypatch, capsys
):
    books = two_sites(tmp_path / "wb")
    url = pg_server.database()
    monkeypatch.setenv("CHARGES_HISTORY", url)
    assert main(["init", "--history", url]) == 0
    args = import_args(books, url, tmp_path / "b", export(tmp_path / "e.csv", 1, 3))
    at = args.index("--history")
    del args[at : at + 2]  # the environment names it
    assert main(args) == 0
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["history"] == url
    capsys.readouterr()
    assert main(["history", "--format", "json"]) == 0
    assert [b["folder"] for b in json.loads(capsys.readouterr().out)] == [str(tmp_path / "b")]
    # a second clerk's templates use the team's history as it is
    assert main(["init", str(tmp_path / "wb2")]) == 0
    said = capsys.readouterr().out
    assert f"using the import history {url} (CHARGES_HISTORY), which is there\n" in said
    assert main(["init", "--history", url]) == 1  # named outright: never made again


def _connected(server, url: str, count: int) -> None:
    """Wait until ``count`` clients are connected to the history's database."""
    import psycopg

    database = url.split("/")[3].split("?")[0]
    deadline = time.monotonic() + 120
    with psycopg.connect(server.url(), autocommit=True) as conn:
        sql = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
        while conn.execute(sql, (database,)).fetchone()[0] < count:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def _pending(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM batches WHERE status = 'pending'").fetchone()[0]


def test_a_server_restarted_in_the_middle_of_an_import_leaves_nothing_and_the_next_recovers(
    tmp_path, pg_server
):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    big = export(tmp_path / "big.csv", 1, 300_000)
    run = charges(*import_args(books, history, tmp_path / "b", big))
    deadline = time.monotonic() + 120
    while not _pending(history):  # the batch is recorded pending: it is being written
        assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()
        time.sleep(0.05)
    pg_server.restart()
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1, out + err
    assert "Traceback" not in err
    assert err.startswith(f"charges: {history}: the PostgreSQL history cannot be used (")
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
    hist = open_history(history)
    try:
        assert [b for b in hist.batches() if b["status"] == "committed"] == []
    finally:
        hist.close()
    # the next import clears what was left, and bills every row once
    again = charges(*import_args(books, history, tmp_path / "c", big))
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    counts, _described = billed(history)
    assert len(counts) == 300_000 and set(counts.values()) == {1}


def test_history_copy_moves_a_sqlite_history_whole_and_leaves_it_as_it_was(
    tmp_path, pg_server, capsys, monkeypatch
):
    import hashlib

    from processor.history.copying import TABLES
    from processor.history.postgres import batch_runs

    monkeypatch.setattr(batch_runs, "PART", 3)  # a batch's run stored in parts

    books = two_sites(tmp_path / "wb")
    sqlite = create_history(tmp_path / "history.sqlite")
    lines = [GENERIC_HEADER] + [
        f"{c},2026-10-0{d} 10:00,call {c}-{d},1,0.50" for c in ("100", "555") for d in range(1, 6)
    ]
    mixed = write_csv(tmp_path / "mixed.csv", lines)
    for name, file in (("one", export(tmp_path / "a.csv", 1, 20)), ("two", mixed)):
        assert main(import_args(books, sqlite, tmp_path / name, file)) == 0
    assert main(["void", str(tmp_path / "one"), "--reason", "test"]) == 0
    data = base()
    data["Account Codes"].append(
        row("Account Codes", Account_ID="A1", Application="PBX", Code="555")
    )
    write_books(books, data)  # code 555 is A1's now: the retry bills its five rows
    assert main(["retry", str(tmp_path / "two"), "--out", str(tmp_path / "retry")]) == 0
    before = hashlib.sha256(Path(sqlite).read_bytes()).hexdigest()
    url = pg_server.database()
    capsys.readouterr()
    assert main(["history", "copy", "--to", url, "--history", str(sqlite)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"copied the history {sqlite} (id ")
    assert f"into {url}: 3 batches, 10 billed keys," in said
    assert hashlib.sha256(Path(sqlite).read_bytes()).hexdigest() == before
    # the copy answers as the file did
    src, dst = open_history(sqlite), open_history(url)
    try:
        assert dst.history_id == src.history_id
        assert dst.batches() == src.batches()
        for b in src.batches():
            assert dst.batch(b["id"]) == src.batch(b["id"])
        assert dst.allowances_used() == src.allowances_used()
        for table in TABLES:
            count = "SELECT COUNT(*) FROM " + table
            assert dst.db.execute(count).fetchone() == src.db.execute(count).fetchone()
    finally:
        src.close()
        dst.close()
    # and goes on from where the file was: what was billed is billed already
    assert main(import_args(books, url, tmp_path / "again", mixed)) == 0
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert again["reasons"]["already-billed"]["rows"] == 10
    # a database that is not empty is refused
    assert main(["history", "copy", "--to", url, "--history", str(sqlite)]) == 1
    assert "the database is not empty, so no history was created in it" in capsys.readouterr().err


# the README's grants ("For a team"), word for word
CLERK_GRANTS = [
    "GRANT CONNECT ON DATABASE {db} TO charges_clerk",
    "GRANT USAGE ON SCHEMA public TO charges_clerk",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO charges_clerk",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO charges_clerk",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES "
    "TO charges_clerk",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO charges_clerk",
]


def test_a_clerk_role_with_the_readmes_grants_imports_and_voids_and_cannot_drop(
    tmp_path, pg_server, capsys
):
    import psycopg

    from processor.history.postgres import keys

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for grant in CLERK_GRANTS:
        assert grant.format(db="charges") + ";" in readme
    db = f"c_{tmp_path.name[-8:].replace('-', '_').lower()}"
    pg_server.sql(
        "DO $$BEGIN CREATE ROLE charges_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"
    )
    pg_server.sql(
        "DO $$BEGIN CREATE ROLE charges_clerk LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"
    )
    pg_server.sql(f"CREATE DATABASE {db} OWNER charges_owner")
    owner = pg_server.url(db).replace("postgres@", "charges_owner@")
    clerk = pg_server.url(db).replace("postgres@", "charges_clerk@")
    assert main(["init", "--history", owner]) == 0
    with psycopg.connect(owner, autocommit=True) as conn:
        for grant in CLERK_GRANTS:
            conn.execute(grant.format(db=db))
    books = two_sites(tmp_path / "wb")
    assert main(import_args(books, clerk, tmp_path / "b", export(tmp_path / "e.csv", 1, 5))) == 0
    assert main(["void", str(tmp_path / "b"), "--reason", "test", "--history", clerk]) == 0
    with psycopg.connect(clerk, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE batch_runs")
    # an upgrade that changes the schema: the clerk is refused, the owner converts, and
    # the clerk may use the new table (the default privileges)
    with psycopg.connect(owner, autocommit=True) as conn:  # as a version 9 history is
        conn.execute("DROP TABLE batch_runs")
        for statement in keys.TABLE.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    capsys.readouterr()
    assert main(["history", "--history", clerk]) == 1
    assert capsys.readouterr().err.strip() == (
        f"charges: {clerk}: the history is at schema 9 and this version of device-charges "
        "needs schema 10; converting it is for the database's owner: run charges history "
        "--history with the owner's role once (README, Upgrading device-charges), then this "
        "again. Nothing was changed"
    )
    assert main(["history", "--history", owner]) == 0
    assert main(import_args(books, clerk, tmp_path / "c", export(tmp_path / "f.csv", 1, 5))) == 0


def test_a_dump_restored_into_a_new_database_is_the_same_history(tmp_path, pg_server, capsys):
    from tests.pg_server import _bin

    books = two_sites(tmp_path / "wb")
    url = create_history(pg_server.database())
    for i in range(2):
        assert (
            main(
                import_args(
                    books,
                    url,
                    tmp_path / f"b{i}",
                    export(tmp_path / f"e{i}.csv", 1 + 5 * i, 8 + 5 * i),
                )
            )
            == 0
        )
    dump = tmp_path / "charges.dump"
    subprocess.run([_bin("pg_dump"), "--format=custom", f"--file={dump}", url], check=True)
    drill = pg_server.database()
    subprocess.run([_bin("pg_restore"), "--no-owner", f"--dbname={drill}", str(dump)], check=True)
    capsys.readouterr()
    assert main(["history", "--history", url, "--format", "json"]) == 0
    live = json.loads(capsys.readouterr().out)
    assert main(["history", "--history", drill, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == live and len(live) == 2
    # and it knows what was billed: the same export again bills nothing new
    assert main(import_args(books, drill, tmp_path / "again", tmp_path / "e1.csv")) == 0
    manifest = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert manifest["reasons"]["already-billed"]["rows"] == 8


def test_a_connection_dropped_in_the_middle_of_an_import_leaves_nothing(tmp_path, pg_server):
    import psycopg

    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    big = export(tmp_path / "big.csv", 1, 200_000)
    run = charges(*import_args(books, history, tmp_path / "b", big))
    deadline = time.monotonic() + 120
    while not _pending(history):
        assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()
        time.sleep(0.05)
    database = history.split("/")[3].split("?")[0]
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:  # as the network would
        cut = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        ).fetchall()
    assert cut
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1 and "Traceback" not in err, out + err
    assert err.startswith(f"charges: {history}: the PostgreSQL history cannot be used (")
    again = charges(*import_args(books, history, tmp_path / "c", big))
    assert again.wait(timeout=600) == 0, again.stderr.read()
    counts, _ = billed(history)
    assert len(counts) == 200_000 and set(counts.values()) == {1}


@pytest.mark.parametrize("version", [8, 9])
def test_an_older_server_history_has_its_keys_made_a_run_a_batch_when_opened(
    tmp_path, pg_server, version
):
    # version 8 kept the billed keys as the SQLite history does (runs merged as batches
    # were committed), version 9 a row a key: made here from a version 10 history's runs,
    # then opened again
    import numpy as np
    import psycopg

    from processor.history import key_runs, runs
    from processor.history.postgres import keys
    from processor.history.postgres.connection import Connection
    from processor.history.sqlite.schema import RUNS

    books = two_sites(tmp_path / "wb")
    url = create_history(pg_server.database())
    for i in range(2):
        file = export(tmp_path / f"e{i}.csv", 1 + 10 * i, 10 + 10 * i)
        assert main(import_args(books, url, tmp_path / f"b{i}", file)) == 0
    listing = "SELECT scope, batch, part, size, sha256 FROM batch_runs ORDER BY batch, part"
    with psycopg.connect(url, autocommit=True) as raw:
        db = Connection(raw, url)
        with db.transaction():
            stored = db.execute(listing).fetchall()
            held = db.execute("SELECT scope, batch, size, data FROM batch_runs").fetchall()
            if version == 8:
                ddl = RUNS.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
                ddl = ddl.replace("BLOB", "BYTEA")
            else:
                ddl = keys.TABLE
            for statement in ddl.split(";"):
                if statement.strip():
                    db.execute(statement)
            for scope, batch, size, data in held:
                heads = np.frombuffer(data, "<u8", count=size)
                tails = np.frombuffer(data, "<u4", count=size, offset=8 * size)
                if version == 8:
                    run = key_runs.Run(heads, tails, np.array([batch], dtype=np.int64))
                    runs.store(db, scope, run)
                else:
                    columns = [np.full(size, scope, np.int64), heads.view(np.int64)]
                    columns += [tails.view(np.int32), np.full(size, batch, np.int64)]
                    keys.copy_in(db, columns)
            db.execute("DROP TABLE batch_runs")
            db.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    assert [size for *_, size, _ in stored] == [10, 10]
    hist = open_history(url)  # migrated: a run a batch again, the same bytes
    try:
        (now,) = hist.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert now == "10"
        assert hist.db.execute(listing).fetchall() == stored
        tables = hist.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name IN ('runs', 'keys')"
        ).fetchall()
        assert tables == []
    finally:
        hist.close()
    again = tmp_path / "again"
    assert main(import_args(books, url, again, export(tmp_path / "all.csv", 1, 25))) == 0
    manifest = json.loads((again / "manifest.json").read_text())
    assert manifest["reasons"]["already-billed"]["rows"] == 20
    assert manifest["rows"]["matched"] == 5


def _import(books: Path, history: str, out: Path, file: Path) -> dict:
    return run_import(
        books, "London", "PBX", [file], out, dt.date(2026, 10, 31), history=history, reimport=True
    ).manifest


def test_each_machine_fetches_the_runs_it_lacks_and_a_void_is_seen_by_all(
    tmp_path, pg_server, monkeypatch
):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    first = export(tmp_path / "first.csv", 1, 30)
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(a))
    _import(books, history, tmp_path / "one", first)
    kept = list(a.rglob("*.run"))
    assert len(kept) == 1  # the commit kept a copy of its own run
    # another machine, with no copies: it fetches the run, and finds rows 21..30 billed
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(b))
    second = _import(books, history, tmp_path / "two", export(tmp_path / "s.csv", 21, 40))
    assert second["reasons"]["already-billed"]["rows"] == 10
    copies = {p.name for p in b.rglob("*.run")}
    assert kept[0].name in copies and len(copies) == 2  # the run fetched, and its own
    # the first batch voided on machine b: machine a's copy of its run is not asked for
    assert main(["void", str(tmp_path / "one"), "--reason", "wrong month"]) == 0
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(a))
    third = _import(books, history, tmp_path / "three", first)
    assert third["rows"]["matched"] == 30  # all billed again (batch two billed 31..40 only)
    assert "already-billed" not in third["reasons"]
    counts, described = billed(history)
    assert set(counts.values()) == {1} and len(described) == 40


def test_a_damaged_copy_is_fetched_again_and_an_unwritable_folder_copies_nothing(
    tmp_path, pg_server, monkeypatch
):
    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    cache = tmp_path / "cache"
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(cache))
    _import(books, history, tmp_path / "one", export(tmp_path / "first.csv", 1, 30))
    (copy,) = cache.rglob("*.run")
    damaged = bytearray(copy.read_bytes())
    damaged[5] ^= 0xFF  # one byte of a head: that key would look new
    copy.write_bytes(bytes(damaged))
    again = _import(books, history, tmp_path / "two", export(tmp_path / "s.csv", 1, 30))
    assert again["reasons"]["already-billed"]["rows"] == 30 and again["rows"]["matched"] == 0
    assert copy.read_bytes() != bytes(damaged)  # fetched again, and copied again
    # a folder that cannot be written: nothing copied, the same answers
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder would be")
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(blocked))
    third = _import(books, history, tmp_path / "three", export(tmp_path / "t.csv", 25, 35))
    assert third["reasons"]["already-billed"]["rows"] == 6 and third["rows"]["matched"] == 5


def test_keys_damaged_on_the_server_are_refused_and_nothing_is_written(
    tmp_path, pg_server, monkeypatch, capsys
):
    import psycopg

    books = two_sites(tmp_path / "wb")
    history = create_history(pg_server.database())
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(tmp_path / "a"))
    _import(books, history, tmp_path / "one", export(tmp_path / "first.csv", 1, 30))
    with psycopg.connect(history, autocommit=True) as conn:
        conn.execute("UPDATE batch_runs SET data = overlay(data placing '\\xff' from 3)")
        (batch,) = conn.execute("SELECT batch FROM batch_runs").fetchone()
    monkeypatch.setenv("CHARGES_KEY_CACHE", str(tmp_path / "b"))  # no copy: it is fetched
    code = main(import_args(books, history, tmp_path / "two", export(tmp_path / "s.csv", 1, 5)))
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"charges: {history}: the billed keys of batch {batch}, part 0 are not what the "
        "history recorded of them: the database is damaged. Nothing was written; restore it "
        "from its last backup (README, For a team)"
    )
    assert not (tmp_path / "two").exists()
