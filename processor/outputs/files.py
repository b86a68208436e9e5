"""Turn priced chunks into output frames, and write the batch folder (I/O edge).

The batch folder is written into a hidden temporary sibling and renamed into
place at the end, so a failed or killed run never leaves a half-written batch.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor import arrow, reasons, threads
from processor.errors import OutputError
from processor.outputs.xlsx.workbook import Col, TableBook
from schemas import charges as sc

XLSX_ROW_LIMIT = 1_000_000
SIX = Decimal("0.000001")


def _dec(values) -> pd.Series:
    if isinstance(values.dtype, pd.ArrowDtype):  # held already: only the type is set
        arr = pa.array(values).cast(sc.DECIMAL.pyarrow_dtype)
        return pd.Series(arr, dtype=sc.DECIMAL)
    # values are held at 6 places already; quantize only fixes the scale (exactly), once
    # per distinct value (a tax rate repeats on every row)
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 80, ROUND_HALF_UP
        held = pa.array([Decimal(v).quantize(SIX) for v in distinct], sc.DECIMAL.pyarrow_dtype)
    taken = pc.take(held, pa.array(codes, mask=codes < 0))
    return pd.Series(taken, dtype=sc.DECIMAL)


def _text(values) -> pd.Series:
    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    if values.dtype == sc.TEXT:
        return values.reset_index(drop=True)
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pd.Series(arrow.text(values), dtype=sc.TEXT)  # Arrow already: no copy
    try:  # text already: converted in C (None and NaN are empty)
        arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        arr = pa.array(
            [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values],
            type=pa.string(),
        )
    return pd.Series(arr, dtype=sc.TEXT)


def _timestamps(values: pd.Series) -> pd.Series:
    arr = pa.array(
        values.to_numpy(dtype="datetime64[us]"), type=pa.timestamp("us"), from_pandas=True
    )
    return pd.Series(arr, dtype=sc.TIMESTAMP)


def _ints(values: pd.Series) -> pd.Series:
    if values.dtype == "Int64" or pd.api.types.is_integer_dtype(values.dtype):
        arr = pa.array(values.to_numpy(dtype="int64", na_value=0), type=pa.int64())
        if values.isna().any():
            arr = pc.if_else(pa.array(values.isna().to_numpy()), pa.scalar(None, pa.int64()), arr)
        return pd.Series(arr, dtype=sc.INT)
    plain = values.astype(object).where(values.notna(), None)
    return pd.Series(pa.array(list(plain), type=pa.int64()), dtype=sc.INT)


_CONVERT = {sc.TEXT: _text, sc.DECIMAL: _dec, sc.INT: _ints, sc.TIMESTAMP: _timestamps}


def _typed(rows: pd.DataFrame, schema, **given: pd.Series) -> pd.DataFrame:
    """The schema's columns, in its order and types, from a priced chunk (validated)."""
    frame = pd.DataFrame(
        {
            name: (
                given[name] if name in given else _CONVERT[col.dtype.type](rows[name])
            ).reset_index(drop=True)
            for name, col in schema.columns.items()
        }
    )
    return schema.validate(frame, inplace=True)  # built here: no copy needed


def lines_frame(lines: list[dict]) -> pd.DataFrame:
    """The Batch Sheet lines in the shape of ``schemas.charges.LINES``, validated."""
    rows = pd.DataFrame(lines, columns=list(sc.LINES.columns), dtype=object)
    return _typed(rows, sc.LINES)


def write_lines(path: Path, lines: list[dict]) -> None:
    """lines.parquet: the Batch Sheet as data, for reports and other programs."""
    sink = ParquetSink(path, sc.LINES)
    sink.write(lines_frame(lines))
    sink.close()


def billed_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Billed rows in the shape of ``schemas.charges.CHARGES``, validated."""
    return _typed(rows, sc.CHARGES)


def unbilled_frame(
    rows: pd.DataFrame, application: str, location: str, skipped: bool
) -> pd.DataFrame:
    """Unmatched or skipped rows with their reason and message, validated."""
    message = pd.Series(reasons.render(rows, application, location), dtype=sc.TEXT)
    fields = [c for c in rows.columns if c.startswith("match_")]
    if fields and len(rows):
        texts = [arrow.plain(rows[f]) for f in fields]
        joined = pd.Series(
            pc.binary_join_element_wise(*texts, "\x1f") if len(texts) > 1 else texts[0],
            dtype=sc.TEXT,
        )
    else:
        joined = pd.Series([None] * len(rows), dtype=object)
    return _typed(
        rows,
        sc.SKIPPED if skipped else sc.UNMATCHED,
        message=message,
        match_values=_text(joined),
    )


_REPEATING = {"source_file", "account_id", "account_name", "code", "product", "item"}
_REPEATING |= {"description", "tax_rate", "reason", "note", "gl_code"}


class ParquetSink:
    """Appends validated chunks to one parquet file; an empty file still gets the schema."""

    def __init__(self, path: Path, schema) -> None:
        empty = pd.DataFrame(
            {n: pd.Series([], dtype=c.dtype.type) for n, c in schema.columns.items()}
        )
        self.path = path
        self.schema = pa.Schema.from_pandas(empty, preserve_index=False)
        # dictionaries only where values repeat: on keys and raw lines Arrow would build
        # one per page and drop it, which took a third of the writing
        repeats = [n for n in self.schema.names if n in _REPEATING]
        self.writer = pq.ParquetWriter(path, self.schema, use_dictionary=repeats)
        # a table is encoded and compressed in a thread of its own (Arrow lets go of the
        # GIL) while the next chunk is worked on; in order, and an error (a full disk) is
        # raised by a later write or by close
        self._beside = threads.Beside(self.writer.write_table, depth=1, name="parquet")

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._beside.put(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))

    def close(self) -> None:
        """Finish the file (what was handed over first). Also called after a failure:
        no thread is left writing into a folder that is about to be removed."""
        try:
            self._beside.close()
        finally:
            self.writer.close()


def read_parquet_chunks(path: Path, limit: int) -> Iterator[pd.DataFrame]:
    """Batches of a parquet file as frames, at most ``limit`` rows in all."""
    left = limit
    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
        if left <= 0:
            return
        frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
        yield frame.iloc[:left]
        left -= len(frame)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


_OS_WORDS = {
    errno.EACCES: "is not writable (permission denied)",
    errno.EPERM: "is not writable (permission denied)",
    errno.EROFS: "is on a read-only disk",
    errno.ENOSPC: "is on a disk that is full",
    errno.EDQUOT: "is on a disk whose quota is used up",
}


def output_problem(folder: Path, exc: OSError) -> OutputError:
    """An OSError met while writing, as a message naming the folder and what to do."""
    words = _OS_WORDS.get(exc.errno, f"cannot be written ({exc.strerror or _one_line(exc)})")
    return OutputError(
        f"{folder}: {words}; nothing was written. Choose another --out folder, or free or "
        "unlock the disk, and run again"
    )


def partial_path(target: Path) -> Path:
    """The hidden folder a batch is written into before it is renamed into place."""
    target = Path(os.path.abspath(target))
    return target.parent / f".{target.name}.partial-{os.getpid()}"


@contextlib.contextmanager
def atomic_dir(
    target: Path, removed: list[Path] | None = None, marker: str | None = None
) -> Iterator[Path]:
    """A temporary sibling folder renamed to ``target`` only when the block succeeds.

    Args:
        target: the folder to create (absent, or empty).
        removed: receives the leftover partial folders of killed runs that were cleared.
        marker: written into ``.batch-id`` first, so what a killed run leaves can be told
            apart and removed by the next one.

    Raises:
        OutputError: the folder cannot be written (the partial folder is removed).
    """
    target = Path(os.path.abspath(target))
    tmp = partial_path(target)
    for above in target.parents:
        if above.exists():
            if not above.is_dir():
                raise OutputError(
                    f"{above}: is a file, not a folder; nothing was written. Choose another "
                    "--out folder, or free or unlock the disk, and run again"
                )
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gone = remove_stale(target.parent)
        if removed is not None:
            removed.extend(gone)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        if marker:
            (tmp / ".batch-id").write_text(marker + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_problem(target.parent, exc) from None
    try:
        yield tmp
        if target.exists():
            target.rmdir()  # checked empty before the run started
        tmp.rename(target)
    except OSError as exc:  # the disk, not the data: say which folder and what to do
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_problem(target.parent, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale(parent: Path) -> list[Path]:
    """Remove what killed runs (SIGKILL, power cut) left in ``parent``: hidden partial
    folders of processes that are gone. Returns the folders removed."""
    gone = []
    for old in parent.glob(".*.partial-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not old.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
            gone.append(old)
        except PermissionError:
            pass  # alive, someone else's
    return gone


def write_manifest(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


BATCH_COLS = [
    Col("Account ID", width=12),
    Col("Account Name", width=30),
    Col("Product", width=14),
    Col("Description", width=26),
    Col("Quantity", "decimal", 10),
    Col("Net", "money", 12),
    Col("Tax Rate %", "percent", 12),
    Col("Tax", "money", 11),
    Col("Gross", "money", 13),
    Col("GL Code", width=11),
    Col("Batch Date", "date", 12),
]
SUMMARY_COLS = [
    Col("Item", width=52),
    Col("Rows", "int", 10),
    Col("Cost", "cost", 14),
    Col("Net", "money", 14),
    Col("Tax", "money", 14),
    Col("Gross", "money", 14),
]
UNBILLED_COLS = [
    Col("Source File", width=22),
    Col("Line", "int", 8),
    Col("Code", width=14),
    Col("Reason Code", width=20),
    Col("Reason", width=70, wrap=True),
    Col("Date", "datetime", 19),
    Col("Description", width=26),
    Col("Cost", "cost", 10),
    Col("Raw Row", width=60),
]


CELL_LIMIT = 32_767  # characters an Excel cell holds


def fit_cell(text: object, where: str) -> object:
    """Text longer than a cell can hold, cut, saying so and where the whole of it is."""
    if not isinstance(text, str) or len(text) <= CELL_LIMIT:
        return text
    tail = f" … [cut: {len(text):,} characters in all; the whole is {where}]"
    return text[: CELL_LIMIT - len(tail)] + tail


_UNBILLED_FIELDS = (
    "source_file",
    "line",
    "code",
    "reason",
    "message",
    "occurred_at",
    "description",
    "cost",
    "raw",
)


def _unbilled_columns(path: Path) -> Iterator[list[pa.Array]]:
    """The Unmatched or Skipped sheet's columns, a batch at a time (at most
    XLSX_ROW_LIMIT rows); text longer than a cell is cut and says where the whole is."""
    left = XLSX_ROW_LIMIT
    for batch in pq.ParquetFile(path).iter_batches(batch_size=20_000, columns=_UNBILLED_FIELDS):
        if left <= 0:
            return
        batch = batch.slice(0, left)
        left -= batch.num_rows
        cols = [batch.column(f) for f in _UNBILLED_FIELDS]
        for i in (2, 4, 6, 8):  # code, message, description, raw
            cols[i] = _fit_column(cols[i], batch, path)
        yield cols


def _fit_column(values: pa.Array, batch: pa.RecordBatch, path: Path) -> pa.Array:
    long = pc.fill_null(pc.greater(pc.utf8_length(values), CELL_LIMIT), False)
    idx = np.flatnonzero(arrow.flags(long))
    if not len(idx):
        return values
    lines, files = batch.column("line"), batch.column("source_file")
    fixed = [
        fit_cell(
            values[int(i)].as_py(), f"line {lines[int(i)]} of {files[int(i)]}, and in {path.name}"
        )
        for i in idx
    ]
    mask = np.zeros(len(values), dtype=bool)
    mask[idx] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(fixed, pa.string()))


def write_batch_xlsx(
    path: Path,
    batch_lines: list[list],
    summary: list[list],
    unmatched: Path,
    skipped: Path,
    places: int,
) -> None:
    """batch.xlsx: Batch Sheet, Unmatched, Skipped, Summary."""
    book = TableBook(path, places)
    book.table("Batch Sheet", BATCH_COLS, batch_lines)
    book.arrow_table(
        "Unmatched",
        UNBILLED_COLS,
        lambda: _unbilled_columns(unmatched),
        empty="No unmatched rows: every row was billed or skipped.",
    )
    book.arrow_table(
        "Skipped", UNBILLED_COLS, lambda: _unbilled_columns(skipped), empty="No skipped rows."
    )
    book.table("Summary", SUMMARY_COLS, summary)
    book.close()
