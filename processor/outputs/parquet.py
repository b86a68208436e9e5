"""Parquet output: priced rows as the typed, validated frames of ``schemas.charges``, and
a sink that appends them to one file while the next chunk is worked on (I/O edge)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processor import arrow, reasons, threads
from schemas import charges as sc
from schemas.money import QUANTUM


def _dec(values) -> pd.Series:
    if isinstance(values.dtype, pd.ArrowDtype):  # held already: only the type is set
        arr = pa.array(values).cast(sc.DECIMAL.pyarrow_dtype)
        return pd.Series(arr, dtype=sc.DECIMAL)
    # values are held at 6 places already; quantize only fixes the scale (exactly), once
    # per distinct value (a tax rate repeats on every row)
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 80, ROUND_HALF_UP
        held = pa.array([Decimal(v).quantize(QUANTUM) for v in distinct], sc.DECIMAL.pyarrow_dtype)
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


def _bools(values: pd.Series) -> pd.Series:
    if values.dtype == sc.BOOL:
        return values.reset_index(drop=True)
    plain = values.astype(object).where(values.notna(), None)
    return pd.Series(pa.array(list(plain), type=pa.bool_()), dtype=sc.BOOL)


_CONVERT = {
    sc.TEXT: _text,
    sc.DECIMAL: _dec,
    sc.INT: _ints,
    sc.TIMESTAMP: _timestamps,
    sc.BOOL: _bools,
}


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
    given = {"message": message, "match_values": _text(joined)}
    if not skipped and "at_stake" not in rows:  # no workbooks to estimate by
        given["at_stake"] = pd.Series([None] * len(rows), dtype=object)
    return _typed(rows, sc.SKIPPED if skipped else sc.UNMATCHED, **given)


_REPEATING = {"source_file", "account_id", "account_name", "code", "product", "item"}
_REPEATING |= {"paper_size", "duplex"}
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
        # one per page and drop it, at a large share of the writing time
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
