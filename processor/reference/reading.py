"""Read the reference workbooks into raw sheet frames (I/O edge).

Cells are read with python-calamine as the values Excel shows (a formula gives
its cached value). Each frame is indexed by the spreadsheet row number and
holds the schema's columns in schema order, whatever order or extra columns the
sheet has. Nothing is converted here: the schemas' checks judge the raw values.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd
from defusedxml import ElementTree
from python_calamine import CalamineWorkbook

from processor import threads
from processor.findings import column_letter, finding
from processor.ingest.binary import OLE_MAGIC
from schemas import checks
from schemas.checks import CellError
from schemas.workbooks import WORKBOOKS

# A workbook that unpacks out of proportion (a "zip bomb", or a cell far beyond the data
# that makes every reader build a huge grid) is refused before it is read.
MAX_UNPACKED = 512 << 20  # bytes, all members together
MAX_RATIO = 100  # unpacked / packed, for members over RATIO_FROM bytes
RATIO_FROM = 16 << 20
MAX_CELLS = 8_000_000  # rows × columns a sheet may span (about 450 MB once read)
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PREFIX = re.compile(rb"<(\w+:)?sheetData\b")


def _extent(
    text: bytes, pat: dict, max_row: int, max_col: int, exact: bool
) -> tuple[int, int] | None:
    """The last row and column (1-based) holding a cell so far, with this block of a sheet;
    None when only an exact scan can tell whether the sheet is within ``MAX_CELLS``.

    Rows come in order, so the last row is the block's last cell that holds something.
    Columns need not be exact while the sheet is small: the widest column letters (A to Z,
    AA to ZZ, AAA...) bound them. ``exact`` looks at every cell.
    """
    if exact:
        cells = pat["cell"].findall(text)
        if cells:
            max_row = max(max_row, int(cells[-1][1]))
        for letters in {c[0] for c in cells}:
            max_col = max(max_col, _column_index(letters.decode()) + 1)
        return max_row, max_col
    last = _last_cell(text, pat)
    if last is None:
        return max_row, max_col
    max_row = max(max_row, int(last[1]))
    width = next((w for w in (3, 2) if pat[f"letters{w}"].search(text)), 1)
    max_col = max(max_col, {1: 26, 2: 702, 3: 16_384}[width])
    return (max_row, max_col) if max_row * max_col <= MAX_CELLS else None


def _last_cell(text: bytes, pat: dict) -> tuple[bytes, bytes] | None:
    """The (column letters, row) of the block's last cell that holds something."""
    opening = pat["opening"]
    end = len(text)
    for _ in range(1000):  # empty styled cells (<c r="B9" s="1"/>) are passed over
        at = text.rfind(opening, 0, end)
        if at < 0:
            return None
        m = pat["cell"].match(text, at)
        if m:
            return m.group(1), m.group(2)
        end = at
    cells = pat["cell"].findall(text[:end])  # a long run of empty cells: all looked at
    return cells[-1] if cells else None


def _patterns(prefix: bytes, percent_styles: set[int]) -> dict[str, re.Pattern | None]:
    """The scan's patterns for a sheet whose elements carry ``prefix`` (usually none):
    a literal prefix keeps them fast, where an optional one would be tried at every <."""
    p = re.escape(prefix)
    styles = b"|".join(str(i).encode() for i in sorted(percent_styles))
    return {
        # a cell that holds something (<c .../> is a styled empty cell, which no reader keeps)
        "cell": re.compile(rb'<%sc r="([A-Z]+)(\d+)"[^>/]*>' % p),
        "opening": b'<%sc r="' % prefix,
        "letters2": re.compile(rb'<%sc r="[A-Z]{2}\d+"[^>/]*>' % p),
        "letters3": re.compile(rb'<%sc r="[A-Z]{3}\d+"[^>/]*>' % p),
        "error": re.compile(rb'<%sc [^>]*t="e"[^>]*>' % p),
        "percent": re.compile(rb'<%sc [^>]*s="(?:%s)"[^>]*[^/]>' % (p, styles)) if styles else None,
    }


_REF = re.compile(r'\br="([A-Z]+)(\d+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
_PERCENT_IDS = {9, 10}  # Excel's built-in 0% and 0.00%


@dataclass
class CellFacts:
    """What calamine does not say about a sheet's cells, by (row, 0-based column)."""

    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # #REF!, #N/A ...
    percent: set[tuple[int, int]] = field(default_factory=set)  # shown as a percentage


@dataclass
class Sheet:
    """One sheet's raw cells, indexed by spreadsheet row number."""

    workbook: str
    name: str
    frame: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)  # column header → letter
    _columns: dict = field(default_factory=dict, repr=False, compare=False)

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """(row number, {column: value}) with blanks as None (iterrows would make them NaN)."""
        return rows(self.frame)

    # a column's keys, texts and dates are asked for by several rules and by the build:
    # worked out once (the frame is not changed after it is read)
    def keys(self, column: str) -> pd.Series:
        """``schemas.checks.key`` of each cell of a column (None for blanks)."""
        return self._once("keys", column, checks.keys)

    def texts(self, column: str) -> pd.Series:
        """Each cell of a column as trimmed text (None for blanks)."""
        return self._once("texts", column, checks.texts)

    def dates(self, column: str) -> list:
        """Each cell of a column as a date (None when it is not one)."""
        return self._once("dates", column, checks.to_dates)

    def _once(self, what: str, column: str, fn):
        if (what, column) not in self._columns:
            self._columns[what, column] = fn(self.frame[column])
        return self._columns[what, column]

    def cell(self, column: str, row: int) -> str:
        return f"{self.letters.get(column, '?')}{row}"


def rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows of a raw frame as dicts, keeping None for blanks."""
    cols = list(frame.columns)
    columns = zip(*(frame[c].tolist() for c in cols), strict=True)
    for index, values in zip(frame.index, columns, strict=True):
        yield index, dict(zip(cols, values, strict=True))


def _norm_header(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _cleaned(cells: list[object]) -> list[object]:
    """A column's cells: blanks become None; text is trimmed; a bare time (timedelta) is
    text; whole-day datetimes stay datetimes. One comprehension a column: a function call
    a cell was a large share of reading the workbooks."""
    return [
        (v.strip() or None) if type(v) is str else (str(v) if type(v) is _TIME else v)
        for v in cells
    ]


_TIME = dt.timedelta


_PERCENT_TEXT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$", re.ASCII)


def _apply_facts(values: list[object], pos: int, facts: CellFacts, percent: bool) -> None:
    """Error cells become CellError; a percentage cell (shows 20 %, holds 0.2) reads as 20,
    and so does the text "20%" in a percentage column."""
    if percent:
        for i, v in enumerate(values):
            if isinstance(v, str) and (m := _PERCENT_TEXT.match(v)):
                values[i] = Decimal(m.group(1))
    if not facts.errors and not facts.percent:
        return
    for i in range(len(values)):
        at = (i + 2, pos)  # body rows start at spreadsheet row 2
        if at in facts.errors:
            values[i] = CellError(facts.errors[at])
        elif percent and at in facts.percent and isinstance(values[i], (int, float)):
            values[i] = Decimal(repr(values[i])) * 100


def check_file(path: Path) -> str | None:
    """Why a workbook file cannot be read, or None when it looks like an .xlsx."""
    if not path.exists():
        for other in (".xls", ".xlsm", ".xlsb", ".ods", ".csv"):
            if path.with_suffix(other).exists():
                return (
                    f"found {path.with_suffix(other).name} but not {path.name}; open it in "
                    "Excel and save it as Excel Workbook (.xlsx)"
                )
        return f"file not found in {path.parent}; run `charges init {path.parent}` to create it"
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        return (
            "is password-protected or an old .xls file; remove the password (File › Info › "
            "Protect Workbook) and save it as Excel Workbook (.xlsx)"
        )
    if not zipfile.is_zipfile(path):
        return (
            "is not a valid .xlsx file (it may be corrupt or another format); "
            "save it again from Excel"
        )
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "xl/vbaProject.bin" in names:
            return "contains macros (.xlsm); save it as Excel Workbook (.xlsx) without macros"
        if "xl/workbook.xml" not in names:
            return "is not an Excel workbook; save it as Excel Workbook (.xlsx)"
    return None


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _percent_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a percentage."""
    try:
        root = ElementTree.fromstring(zf.read("xl/styles.xml"))
    except KeyError:
        return set()
    custom = {
        int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in root.iter(f"{_NS}numFmt")
    }
    percent_ids = set(_PERCENT_IDS)
    for fid, code in custom.items():
        # a % outside quoted text and [colour] sections
        if "%" in re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code):
            percent_ids.add(fid)
    xfs = root.find(f"{_NS}cellXfs")
    if xfs is None:
        return set()
    return {
        i
        for i, xf in enumerate(xfs.findall(f"{_NS}xf"))
        if int(xf.get("numFmtId", "0")) in percent_ids
    }


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the member holding its cells."""
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sh in book.iter(f"{_NS}sheet"):
        target = targets.get(sh.get(f"{_REL_NS}id"), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        out[sh.get("name", "")] = posixpath.normpath(path)
    return out


def _cell_ref(tag: bytes) -> tuple[int, int] | None:
    ref = _REF.search(tag.decode("ascii", "replace"))
    return (int(ref.group(2)), _column_index(ref.group(1))) if ref else None


def _scan_sheet(
    zf: zipfile.ZipFile, member: str, percent_styles: set[int], exact: bool = False
) -> tuple[CellFacts, int]:
    """Error cells, percentage cells and how many cells the data spans, in one streamed pass.

    The regular expressions do the work in C: only the rare error and percentage cells
    are looked at one by one.
    """
    facts = CellFacts()
    pat: dict[str, re.Pattern | None] = {}
    max_row = max_col = 0
    carry = b""
    with zf.open(member) as fh:
        while True:
            block = fh.read(1 << 20)
            data = carry + block
            # keep an unfinished tag for the next block
            cut = data.rfind(b"<") if block else len(data)
            cut = len(data) if cut < 0 else cut
            text, carry = data[:cut], data[cut:]
            if not pat:
                found = _PREFIX.search(text)
                if found is None and block and len(data) < (16 << 20):
                    carry = data  # the sheet's data has not started yet
                    continue
                pat = _patterns((found.group(1) or b"") if found else b"", percent_styles)
            extent = _extent(text, pat, max_row, max_col, exact)
            if extent is None:  # over the bound: every cell of the sheet looked at after all
                return _scan_sheet(zf, member, percent_styles, exact=True)
            max_row, max_col = extent
            for m in pat["error"].finditer(text):
                at = _cell_ref(m.group(0))
                v = _VALUE.search(text, m.end())
                if at:
                    facts.errors[at] = v.group(1).decode("utf-8", "replace") if v else "#ERROR"
            if pat["percent"] is not None:
                for m in pat["percent"].finditer(text):
                    at = _cell_ref(m.group(0))
                    if at and at not in facts.errors:
                        facts.percent.add(at)
            if not block:
                break
    return facts, max_row * max_col


def inspect_xlsx(path: Path, wanted: list[str]) -> tuple[str | None, dict[str, CellFacts]]:
    """Refuse a workbook that unpacks out of proportion; find its error and percent cells.

    Args:
        path: an .xlsx file that ``check_file`` accepted.
        wanted: the sheet names to scan (compared without case).

    Returns:
        Why the file cannot be read (or None), and the facts of each wanted sheet by its
        name in the file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            big = [
                i
                for i in infos
                if i.file_size > RATIO_FROM and i.file_size > MAX_RATIO * max(i.compress_size, 1)
            ]
            if total > MAX_UNPACKED or big:
                return (
                    f"unpacks to {_size(total)} from {_size(path.stat().st_size)}, out of "
                    "proportion for a "
                    "workbook; it was not read. Save it again from Excel, or copy the sheets "
                    "into a new workbook"
                ), {}
            styles = _percent_styles(zf)
            keys = {" ".join(w.split()).casefold() for w in wanted}
            facts = {}
            for name, member in _sheet_paths(zf).items():
                if " ".join(name.split()).casefold() not in keys:
                    continue
                found, cells = _scan_sheet(zf, member, styles)
                if cells > MAX_CELLS:
                    return (
                        f'sheet "{name}" holds data far beyond its rows (a cell at the far edge '
                        "of the sheet, spanning more than 8 million cells); delete the rows and "
                        "columns after your data, save, and run again"
                    ), {}
                facts[name] = found
            return None, facts
    except Exception as exc:  # zip, zlib and XML errors of a corrupt member
        return _damaged(exc), {}


def _damaged(exc: BaseException) -> str:
    # the library's own words (zlib, XML parser) mean nothing to a clerk, and change
    # between versions: say what to do
    del exc
    return (
        "is damaged and cannot be read; open it in Excel, save it as Excel Workbook (.xlsx), "
        "and run again"
    )


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:,.0f} {unit}"
        n /= 1024
    return f"{n:,.0f} MiB"


def read_workbooks(folder: Path) -> tuple[dict[str, Sheet], list[dict[str, str]]]:
    """Read every sheet of the contract from the workbooks in ``folder``.

    Args:
        folder: the folder holding accounts.xlsx and devices.xlsx.

    Returns:
        The sheets read, by sheet name, and the findings about files, sheets and
        columns (a sheet with a missing required column is not returned), both in the
        contract's order.
    """
    sheets: dict[str, Sheet] = {}
    found: list[dict[str, str]] = []
    for _, sheet, problems in sorted(iter_sheets(folder), key=lambda r: r[0]):
        found.extend(problems)
        if sheet is not None:
            sheets[sheet.name] = sheet
    return sheets, found


def iter_sheets(folder: Path) -> Iterator[tuple[tuple[int, int], Sheet | None, list[dict]]]:
    """Each sheet of the contract as soon as it is read, with the findings about it (or about
    its workbook) and its place in the contract's order (sort by it to list them in order).

    Each workbook is unpacked and parsed in a thread of its own (calamine lets go of the
    GIL), so the two cores read both while the caller checks the sheets read so far.
    """
    books = [_raw_book(folder, book) for book in WORKBOOKS]
    count = [0] * len(books)  # sheets of each workbook handed out so far
    for b, (workbook, schema, rows, facts, problems) in threads.produced(books, None, "read"):
        place = (b, count[b])
        count[b] += 1
        if rows is None:
            yield place, None, problems
            continue
        sheet, more = _frame(workbook, schema, rows, facts)
        yield place, sheet, problems + more


def _raw_book(folder: Path, book):
    """(workbook, schema, cells or None, cell facts, findings) for each sheet of a
    workbook, in order (one item only when the workbook cannot be read)."""
    path = folder / book.filename
    problem = check_file(path)
    facts: dict[str, CellFacts] = {}
    if problem is None:
        problem, facts = inspect_xlsx(path, [s.name for s in book.sheets])
    if problem is None:
        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own types for broken files
            problem = _damaged(exc)
    if problem:
        failed = finding("error", "unreadable-workbook", problem, book.filename)
        yield book.filename, None, None, None, [failed]
        return
    present = {_norm_header(n): n for n in wb.sheet_names}
    for schema in book.sheets:
        real = present.get(_norm_header(schema.name))
        if real is None and schema.metadata.get("optional"):
            # a sheet added after the workbook was made: read as one with no rows
            yield book.filename, schema, [list(schema.columns)], CellFacts(), []
            continue
        if real is None:
            missing = finding(
                "error",
                "missing-sheet",
                f'has no sheet "{schema.name}"; add it (charges init writes a template)',
                book.filename,
            )
            yield book.filename, schema, None, None, [missing]
            continue
        try:
            rows = wb.get_sheet_by_name(real).to_python(skip_empty_area=False)
        except Exception:  # a corrupt member: calamine's own error types
            damaged = finding(
                "error",
                "unreadable-workbook",
                f'sheet "{real}" is damaged and cannot be read; open the workbook in '
                "Excel, save it as Excel Workbook (.xlsx), and run again",
                book.filename,
            )
            yield book.filename, schema, None, None, [damaged]
            continue
        yield book.filename, schema, rows, facts.get(real, CellFacts()), []


def _frame(
    workbook: str, schema, rows: list[list[object]], facts: CellFacts
) -> tuple[Sheet | None, list[dict]]:
    found: list[dict[str, str]] = []
    header = rows[0] if rows else []
    positions: dict[str, int] = {}
    known_headers = {_norm_header(c) for c in schema.columns}
    for i, h in enumerate(header):
        key = _norm_header(h)
        if key and key in positions and key in known_headers:
            first = positions[key]
            found.append(
                finding(
                    "error",
                    "duplicate-column",
                    f"columns {column_letter(first)} and {column_letter(i)} are both headed "
                    f'"{str(h).strip()}"; delete or rename one, so it is clear which to read',
                    workbook,
                    schema.name,
                    f"{column_letter(first)}1",
                )
            )
        elif key and key not in positions:
            positions[key] = i
    wanted = list(schema.columns)
    known = {_norm_header(c) for c in wanted}
    unknown = [str(h).strip() for h in header if _norm_header(h) and _norm_header(h) not in known]
    missing_required = False
    for name, column in schema.columns.items():
        if _norm_header(name) in positions:
            continue
        hint = (
            f"; found unknown columns {', '.join(repr(u) for u in unknown)}: rename the one "
            f'that holds it back to "{name}"'
            if unknown
            else f'; add a column headed "{name}" in row 1'
        )
        if column.metadata["required"]:
            missing_required = True
            found.append(
                finding(
                    "error",
                    "missing-column",
                    f'missing column "{name}"{hint}',
                    workbook,
                    schema.name,
                )
            )
        else:
            found.append(
                finding(
                    "warning",
                    "missing-column",
                    f'missing optional column "{name}" (read as blank){hint}',
                    workbook,
                    schema.name,
                )
            )
    if missing_required:
        return None, found

    letters = {}
    data: dict[str, list[object]] = {}
    body = rows[1:]
    for name in wanted:
        pos = positions.get(_norm_header(name))
        if pos is None:
            data[name] = [None] * len(body)
            letters[name] = "?"
        else:
            data[name] = _cleaned([r[pos] if pos < len(r) else None for r in body])
            letters[name] = column_letter(pos)
            _apply_facts(data[name], pos, facts, schema.columns[name].metadata["percent_cells"])
    frame = pd.DataFrame(data, index=pd.RangeIndex(2, len(body) + 2), dtype=object)
    # blank rows (all of the contract's cells empty) are not data: Excel users leave them
    frame = frame[frame.notna().any(axis=1)]
    return Sheet(workbook, schema.name, frame, letters), found
