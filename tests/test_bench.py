"""The engine benchmark's smoke run: 10,000 rows of each case, whole processes, as
`make bench` runs it (a check that the benchmark works, not a timing assertion)."""

import re

import pytest

from bench import bench_engine


@pytest.mark.skipif(not bench_engine.has_duckdb(), reason="duckdb (a dev dependency) is absent")
def test_bench_smoke_run_writes_its_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\n{bench_engine.BEGIN}\nold\n{bench_engine.END}\n\nafter\n", encoding="utf-8"
    )
    text = bench_engine.main(["--rows", "10000", "--runs", "1", "--readme", str(readme)])
    body = readme.read_text(encoding="utf-8")
    assert "old" not in body and body.endswith(f"{bench_engine.END}\n\nafter\n")
    assert text in body
    rows = re.findall(
        r"^\| (generic-csv|generic-csv, plans|asterisk-cdr-csv) \| 10,000 \| ([\d,]+) \|",
        text,
        re.M,
    )
    assert [r[0] for r in rows] == ["generic-csv", "generic-csv, plans", "asterisk-cdr-csv"]
    # the same rows are billed with plans in the workbooks, and the two are compared
    assert rows[0][1] == rows[1][1]
    assert re.search(r"^Plans, account prices and time bands .* [+-]\d+ % ", text, re.M)
    # one site's export: most rows carry a code held there, and are billed
    assert all(int(r[1].replace(",", "")) > 5_000 for r in rows)
    for step in ("start-up", "workbooks", "read", "ledger", "match", "price", "write", "finish"):
        assert f" {step} |" in text
