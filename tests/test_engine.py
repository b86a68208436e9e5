"""The engine's bulk paths read every value and line exactly as the per-row rules do.

The bulk path (Arrow, a column at a time) takes the common case and hands the rest to
the per-row rules; these tests generate awkward text and compare both, value by value.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from processor import arrow
from processor.ingest import blocks, numbers
from processor.ingest.blocks import Block, iter_blocks
from processor.ingest.formats import registry
from processor.ingest.numbers import held_durations, held_numbers, parse_number
from processor.ingest.splitting import split_line, split_rows

ROOT = Path(__file__).resolve().parent.parent

NUMBER_BITS = [
    "0",
    "1",
    "7",
    "12",
    "999999999999",
    "9999999999999",
    ".",
    ",",
    "-",
    "+",
    "e3",
    "E-2",
    " ",
    "00",
    "5",
    "٣",
    "NaN",
    "x",
    "1,234",
    "0.0000005",
    "2.6749999",
]


def numbers_text() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(NUMBER_BITS), max_size=5).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(numbers_text(), min_size=1, max_size=40), st.sampled_from([".", ","]))
def test_bulk_numbers_equal_the_per_row_parser(texts, separator):
    stripped = [t.strip() for t in texts]
    held, errors = held_numbers(pa.array(stripped, pa.string()), "cost", Decimal(0), separator)
    for i, t in enumerate(stripped):
        expected = Decimal(0) if t == "" else parse_number(t, "cost", separator)
        if isinstance(expected, str):
            assert (held[i].as_py(), errors[i]) == (None, expected), t
        else:
            assert errors[i] is None and held[i].as_py() == expected, t


DURATION_BITS = ["0", "1", "59", "75", ".4", ":", "00", "1234567", "12345678", "-", "x", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(DURATION_BITS), max_size=5).map("".join), min_size=1))
def test_bulk_durations_equal_the_per_row_parser(texts):
    import pandas as pd

    stripped = [t.strip() for t in texts]
    got, errors = held_durations(pa.array(stripped, pa.string()))
    want, want_errors = numbers.parse_durations(
        pd.Series([t or None for t in stripped], dtype=object)
    )
    for i in range(len(stripped)):
        assert (None if pd.isna(got[i]) else int(got[i])) == want[i], stripped[i]
        assert errors[i] == want_errors[i], stripped[i]


LINE_BITS = [
    b"a",
    b"1,2",
    b'"x,y"',
    b'""',
    b'"q""r"',
    b'"open',
    b"\xe9",
    b"\xc3\xa9",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b",",
    b'a"b',
]


def _reference_lines(data: bytes, encoding: str | None) -> list[tuple[str, str]]:
    """Lines and notes as the per-line reader makes them (CR, LF and CRLF all break)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    parts = re.split(rb"\r\n|\r|\n", data)
    if parts and parts[-1] == b"":
        parts.pop()
    return [
        (ln.text, ln.note)
        for ln in (blocks.decode_line(i + 1, p, encoding) for i, p in enumerate(parts))
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINE_BITS), max_size=60).map(b"".join), st.sampled_from([7, 64]))
def test_bulk_lines_equal_the_per_line_reader(tmp_path_factory, data, piece):
    path = tmp_path_factory.mktemp("lines") / "export.csv"
    path.write_bytes(b"h\n" + data)
    got = []
    for block in iter_blocks(path, None, block=5, piece=piece):
        notes = block.notes or [""] * len(block)
        got += list(zip(block.texts.to_pylist(), notes, strict=True))
    assert got == _reference_lines(b"h\n" + data, None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "1", " ", '"', '""', ",", '"x,y"', "\t", "\x00", "é"]), max_size=8
        ).map("".join),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["generic-csv", "asterisk-cdr-csv", "papercut-ng-print-log"]),
)
def test_bulk_fields_equal_csv(texts, name):
    fmt = registry.get(name)
    block = Block(1, pa.array(texts, pa.string()), None)
    lists, counts = split_rows(fmt, block)
    assert lists.to_pylist() == [split_line(fmt, t) for t in texts]
    assert counts.tolist() == [len(split_line(fmt, t)) for t in texts]


def test_lines_all_quoted_are_read_as_columns_equal_to_csv():
    fmt = registry.get("asterisk-cdr-csv")
    same = ['"a","b,c",""', '"""Desk"" <1>","x",""""', '"","","é"']
    block = Block(1, pa.array(same, pa.string()), None)
    fields, counts = split_rows(fmt, block)
    assert isinstance(fields, arrow.Columns)  # one parse, no lists built
    assert fields.to_pylist() == [split_line(fmt, t) for t in same]
    assert arrow.take_field(fields, counts, 1).to_pylist() == ["b,c", "x", ""]
    assert arrow.take_field(fields, counts, 3).to_pylist() == [None, None, None]
    # another width, or quoting csv reads its own way: row by row, as before
    for odd in ['"a","b"', '"a"x,"b","c"']:
        texts = [*same, odd]
        fields, counts = split_rows(fmt, Block(1, pa.array(texts, pa.string()), None))
        assert not isinstance(fields, arrow.Columns)
        assert fields.to_pylist() == [split_line(fmt, t) for t in texts]
        assert counts.tolist() == [len(split_line(fmt, t)) for t in texts]


def test_plain_numbers_are_taken_in_bulk():
    # the bulk path is the common path: plain numbers never reach the per-row parser
    _, blank, slow = arrow.decimals(pa.array(["1.50", "-0.0049999", "", "1,234.50"]), ".")
    assert blank.tolist() == [False, False, True, False]
    assert slow.tolist() == [False, False, False, True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), max_size=12), max_size=8
    )
)
def test_keys_met_across_chunks_name_where_they_were_first_met(chunks):
    from processor import row_digests

    met, expected_first = row_digests.KeySet(), {}
    place = 0
    for chunk in chunks:
        keys = [f"row:{ord(k):024x}" for k in chunk]
        places = np.arange(place, place + len(keys), dtype=np.int64)
        got = met.meet(row_digests.digests(pa.array(keys, pa.string())), places)
        in_chunk = {}
        for i, k in enumerate(keys):
            # the per-row rule: a repeat in the chunk names its first row there, a key of
            # an earlier chunk names that chunk's row
            want = in_chunk.get(k, expected_first.get(k, -1))
            assert got[i] == want
            in_chunk.setdefault(k, places[i])
        for k, p in in_chunk.items():
            expected_first.setdefault(k, p)
        place += len(keys)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), max_size=12), max_size=8))
def test_digests_alike_in_their_first_8_bytes_are_still_told_apart(chunks):
    from processor import row_digests

    # digests built to share their first 8 bytes (the runs' sort key) and differ after
    def digest(head: int, tail: int) -> bytes:
        return bytes([head]) * 8 + bytes([0, 0, 0, tail])

    met, expected_first = row_digests.KeySet(), {}
    place = 0
    for chunk in chunks:
        keys = np.array([digest(*k) for k in chunk], dtype="S12")
        places = np.arange(place, place + len(keys), dtype=np.int64)
        got = met.meet(keys, places)
        in_chunk = {}
        for i, k in enumerate(chunk):
            assert got[i] == in_chunk.get(k, expected_first.get(k, -1))
            in_chunk.setdefault(k, places[i])
        for k, p in in_chunk.items():
            expected_first.setdefault(k, p)
        place += len(keys)


def test_digests_tell_tags_and_texts_apart():
    from processor import row_digests

    same = "0123456789abcdef01234567"
    d = row_digests.digests(pa.array([f"row:{same}", f"uniqueid:{same}", f"row:{same}", "call:7"]))
    assert len({d[0], d[1], d[3]}) == 3 and d[0] == d[2]


def test_only_a_tag_colon_and_24_hex_digits_read_as_a_row_key():
    import hashlib

    from processor import row_digests

    def blake(t: str) -> bytes:
        return hashlib.blake2b(t.encode(), digest_size=12).digest()

    def mixed(tag: str, hex_: str) -> bytes:
        return bytes(a ^ b for a, b in zip(bytes.fromhex(hex_), blake(tag), strict=True))

    h = "0123456789abcdef01234567"
    cases = {
        f"row:{h}": mixed("row", h),
        f"é:{h}": mixed("é", h),
        f":{h}": mixed("", h),
        f"a:b:{h}": blake(f"a:b:{h}"),  # two colons: text
        f"row:{h[:-1]}": blake(f"row:{h[:-1]}"),  # 23 digits
        f"row:{h.upper()}": blake(f"row:{h.upper()}"),  # upper case
        f"row:x{h}": blake(f"row:x{h}"),
        f"row:é{h}": blake(f"row:é{h}"),  # the last 25 bytes cut a character in two
        "call:7": blake("call:7"),
        "": blake(""),
    }
    got = row_digests.digests(pa.array(["pad", *cases]).slice(1))
    assert [bytes(g).ljust(12, b"\0") for g in got] == list(cases.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=40), st.integers(0, 5))
def test_text_digests_are_equal_exactly_when_the_texts_are(texts, cut):
    from processor import row_digests

    # a slice (an offset into Arrow's buffers) must not change a text's digest
    arr = pa.array(["pad"] * cut + texts).slice(cut)
    d = row_digests.text_digests(arr, "call")
    one_by_one = [row_digests.text_digests(pa.array([t]), "call")[0] for t in texts]
    assert list(d) == one_by_one
    assert len(set(d.tolist())) == len(set(texts))


def test_text_digests_tell_padding_length_and_tag_apart():
    from processor import row_digests

    texts = ["a", "a\x00", "a\x00" * 8, "", "x" * 64, "x" * 65, "x" * 200, "1730000000.11"]
    d = row_digests.text_digests(pa.array(texts), "call")
    assert len(set(d.tolist())) == len(texts)
    assert set(d.tolist()).isdisjoint(row_digests.text_digests(pa.array(texts), "other").tolist())


def _modules_after(args: list[str]) -> set[str]:
    import json
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        f"sys.argv = ['charges', *{args!r}]\n"
        "from processor.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    return {m.split(".")[0] for m in json.loads(done.stdout.strip().splitlines()[-1])}


def test_help_and_validate_do_not_pay_for_what_they_do_not_use():
    from pathlib import Path

    heavy = {"pandas", "pandera", "pyarrow", "matplotlib", "papermill", "nbconvert", "openpyxl"}
    assert not _modules_after(["--help"]) & heavy
    books = Path(__file__).resolve().parent.parent / "samples" / "workbooks"
    # validate reads with calamine and checks with pandera; it writes nothing and renders
    # nothing
    used = _modules_after(["validate", "--workbooks", str(books)])
    assert not used & {"matplotlib", "papermill", "nbconvert", "openpyxl", "xlsxwriter"}


def test_an_import_does_not_pay_for_reports_or_openpyxl():
    import json
    import subprocess
    import sys

    code = "import sys, json, processor.recipes.importing; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    used = {m.split(".")[0] for m in json.loads(done.stdout)}
    assert not used & {"matplotlib", "papermill", "nbconvert", "openpyxl"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=14, max_value=23), min_size=1, max_size=30))
def test_asterisk_layouts_move_whole_columns_as_the_row_rule_would(widths):
    from processor.ingest.splitting import normalised

    fmt = registry.get("asterisk-cdr-csv")
    texts = [",".join(f"f{w}_{i}" for i in range(w)) for w in widths]
    block = Block(1, pa.array(texts, pa.string()), None)
    lists, counts = split_rows(fmt, block)
    todo = (counts >= 16) & (counts <= 21)
    error = np.full(len(texts), None, dtype=object)
    got, _ = normalised(fmt, lists, counts, todo, error)
    for i, t in enumerate(texts):
        row = t.split(",")
        assert got[i].as_py() == (fmt.normalise(row) if todo[i] else row)


def test_space_is_what_str_strip_removes():
    import sys

    from schemas.checks import SPACE

    assert SPACE == "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def test_column_keys_equal_key_of_each_value():
    import datetime as dt

    import pandas as pd

    from schemas.checks import key, keys

    values = [
        " Leeds ",
        "STRASSE",
        "Straße",
        None,
        12,
        3.0,
        "ǅ",
        "\u00a0x\u3000",
        dt.date(2026, 1, 2),
    ]
    got = keys(pd.Series(values, dtype=object)).tolist()
    assert got == [None if v is None else key(v) for v in values]


def test_offsets_are_found_in_bulk_as_the_per_row_pattern_finds_them():
    import pandas as pd

    from processor.ingest.dates import parse_dates

    text = pd.Series(
        [
            "2026-10-01 10:00:00+02:00",
            "2026-10-01 10:00:00Z",
            "2026-10-01 10:00:00",
            None,
            "",
            "2026-10-01 10:00 +٠١:٠٠",  # Arabic-Indic digits: Python's \d takes them
            "x+0100",
            "2026-10-01 10:00:00-0530",
        ],
        dtype=object,
    )
    when, _, _ = parse_dates(text, ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), "Europe/London")
    shown = [None if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}" for v in when]
    assert shown == [
        "2026-10-01 09:00",
        "2026-10-01 11:00",
        "2026-10-01 10:00",
        None,
        None,
        "2026-10-01 10:00",
        None,
        "2026-10-01 16:30",
    ]
    _, notes, _ = parse_dates(text, ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), None)
    assert [n.split(" ignored")[0] if n else None for n in notes] == [
        "time zone +02:00",
        "time zone Z",
        None,
        None,
        None,
        "time zone +٠١:٠٠",
        None,
        "time zone -0530",
    ]


def test_xlsx_rows_written_beside_keep_order_and_pass_on_failures():
    import threading

    import pytest

    from processor.threads import consumed

    class Out:
        def __init__(self, fail_at: int | None = None) -> None:
            self.got: list[bytes] = []
            self.fail_at = fail_at

        def write(self, piece: bytes) -> None:
            if len(self.got) == self.fail_at:
                raise OSError(28, "No space left on device")
            self.got.append(piece)

    out = Out()
    consumed(out.write, (b"%d" % i for i in range(50)), name="xlsx-deflate")
    assert out.got == [b"%d" % i for i in range(50)]

    with pytest.raises(OSError, match="No space"):  # the disk fills: the builder stops
        consumed(Out(fail_at=3).write, (b"x" for _ in range(1000)), name="xlsx-deflate")

    def broken():
        yield b"a"
        raise ValueError("bad piece")

    out = Out()
    with pytest.raises(ValueError, match="bad piece"):  # the builder fails: the writer ends
        consumed(out.write, broken(), name="xlsx-deflate")
    assert out.got == [b"a"]
    assert not [t for t in threading.enumerate() if t.name == "xlsx-deflate"]


def test_read_ahead_keeps_order_raises_in_place_and_stops_its_reader():
    import threading

    import pytest

    from processor.threads import read_ahead

    made: list[int] = []
    closed: list[bool] = []

    def chunks(n: int, fail_at: int | None = None):
        try:
            for i in range(n):
                if i == fail_at:
                    raise ValueError(f"line {i}: broken")
                made.append(i)
                yield i
        finally:
            closed.append(True)

    assert list(read_ahead(chunks(20))) == list(range(20))

    got = []
    with pytest.raises(ValueError, match="line 5: broken"):  # after the chunks before it
        for i in read_ahead(chunks(10, fail_at=5)):
            got.append(i)
    assert got == [0, 1, 2, 3, 4]

    made.clear()
    closed.clear()
    for i in read_ahead(chunks(1000)):  # the caller stops: the reader stops, a chunk ahead
        if i == 3:
            break
    assert closed == [True] and max(made) <= 4
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        ),
        max_size=40,
    )
)
def test_a_row_keys_time_is_written_as_strftime_writes_it(moments):
    # row keys are hashes of this text: a faster writer must write exactly what strftime
    # did (the second a time falls in, before 1970 too; years of fewer than four digits)
    from processor.ledger.row_keys import seconds_text

    when = pd.Series(pd.to_datetime(moments), dtype="datetime64[us]")
    want = [None if pd.isna(v) else v for v in when.dt.strftime("%Y-%m-%d %H:%M:%S")]
    assert seconds_text(when).to_pylist() == want


def _xml_text(value: str) -> str:
    """What Excel expects of a cell's text, worked out one character at a time."""
    value = re.sub(r"_x([0-9A-Fa-f]{4})_", r"_x005F_x\1_", value)
    out = []
    for ch in value:
        if ch in "&<>":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[ch])
        elif (ord(ch) < 32 and ch not in "\t\n\r") or 0x7F <= ord(ch) <= 0x9F:
            out.append(f"_x{ord(ch):04X}_")
        else:
            out.append(ch)
    return "".join(out)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from(list("ab&<>_x0F1\x07\x1b\x85\t é"))),
            st.sampled_from(["_x0041_", "a_x00ff_b", "<100>", "plain"]),
        ),
        max_size=30,
    )
)
def test_cell_text_is_escaped_for_xml_and_excel(values):
    from processor.outputs.xlsx.sheet_xml import escape

    got = escape(pa.array(values, pa.string())).to_pylist()
    assert got == [None if v is None else _xml_text(v) for v in values]


def test_every_reader_makes_the_canonical_chunk_the_schema_declares():
    # the readers and retry share one shape: schemas.rows.CANONICAL types every column;
    # each sample export's chunks already have those types (the schema changes nothing)
    from processor import load_reference, read_export
    from schemas.rows import CANONICAL

    ref, _ = load_reference(ROOT / "samples" / "workbooks")
    lines = (ROOT / "samples" / "demo-imports.txt").read_text().splitlines()
    read = 0
    for app, _, file in (line.split("|") for line in lines if not line.startswith("#")):
        application = ref.applications[app.casefold()]
        fmt = ref.format_for(application.format)
        for chunk in read_export(ROOT / "samples" / "exports" / file, fmt, application.match_on):
            typed = CANONICAL.validate(chunk.copy())
            assert typed.dtypes.to_dict() == chunk.dtypes.to_dict(), file
            read += len(chunk)
    assert read > 300
