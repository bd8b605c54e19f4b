"""``--format parquet``: typed columns for pandas, polars, DuckDB and Spark (needs pyarrow).

``time`` is a UTC timestamp (seconds); every value a column of one type (``values.kind_of``:
float for scaled values, int, bool, string for states), named by luxtronik name, with its unit
and luxtronik index in the field metadata (``unit``, ``luxtronik_index``). Rows are written in
row groups of ``GROUP`` samples, so a year streams through in bounded memory.

``--partition`` writes one file per UTC day, ``DIR/date=YYYY-MM-DD/part-0.parquet`` (Hive
layout, read as one dataset by DuckDB ``read_parquet('DIR/*/*.parquet', hive_partitioning=1)``,
Spark and Trino); each file appears atomically.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from luxlog.columns import Column, base_field
from luxlog.decode import ABSENT, SENTINEL_ABSENT_SENSOR
from luxlog.errors import ExportError
from luxlog.export.context import Context
from luxlog.export.values import BOOL, FLOAT, INT, STRING, kind_of
from luxlog.sample import Sample

GROUP = 8_192  # samples per row group: a few MiB of Python objects at the default columns
EXTRA = "luxlog[parquet]"


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ExportError(f"--format parquet needs pyarrow: pip install '{EXTRA}'") from None
    return pyarrow


def schema(pa: Any, columns: Sequence[Column]) -> Any:
    types = {STRING: pa.string(), BOOL: pa.bool_(), FLOAT: pa.float64(), INT: pa.int64()}
    fields = [pa.field("time", pa.timestamp("s", tz="UTC"), nullable=False)]
    for c in columns:
        meta = {"unit": base_field(c.index).unit, "luxtronik_index": str(c.index)}
        fields.append(pa.field(c.name, types[kind_of(c)], metadata=meta))
    return pa.schema(fields, metadata={"source": "luxlog export"})


def _column(pa: Any, column: Column, kind: str, raws: Sequence[int]) -> Any:
    """One column of a record batch, computed in Arrow: the same values as ``values.typed``
    (missing -> null, scaled by IEEE division, switches as bools, states as labels)."""
    pc = pa.compute
    arr = pa.array(raws, pa.int64())
    missing = pc.equal(arr, ABSENT)
    if column.temperature:
        missing = pc.or_(missing, pc.equal(arr, SENTINEL_ABSENT_SENSOR))
    if kind == STRING:  # a few columns (states): label lookups in Python
        labels = column.labels
        values = pa.array([labels.get(r, str(r)) for r in raws], pa.string())
    elif kind == BOOL:
        values = pc.not_equal(arr, 0)
    elif kind == FLOAT:
        values = pc.divide(pc.cast(arr, pa.float64()), float(column.divisor))
    else:
        values = arr
    return pc.if_else(missing, pa.scalar(None, values.type), values)


def _batch(pa: Any, sch: Any, columns: Sequence[Column], group: list[tuple[int, ...]]) -> Any:
    """One record batch from ``(slot, raw, raw, …)`` tuples (see ``_groups``)."""
    transposed = list(zip(*group, strict=True))
    data = [pa.array(transposed[0], pa.int64()).cast(sch.field("time").type)]
    for k, column in enumerate(columns, 1):
        data.append(_column(pa, column, kind_of(column), transposed[k]))
    return pa.record_batch(data, schema=sch)


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    pa = _pyarrow()
    sch = schema(pa, columns)
    n = 0
    writer = pa.parquet.ParquetWriter(out, sch, compression="zstd")
    try:
        for group in _groups(rows, [c.index for c in columns]):
            writer.write_batch(_batch(pa, sch, columns, group))
            n += len(group)
    finally:
        writer.close()
    return n


def _groups(rows: Iterable[Sample], indices: list[int]) -> Iterator[list[tuple[int, ...]]]:
    """``GROUP`` rows at a time, each cut down at once to its slot and the selected raw
    values: a whole sample is ~1,700 integers, and a group of them would be a gigabyte."""
    need = max(indices, default=-1) + 1
    pad = (ABSENT,) * need
    pick = itemgetter(*indices) if indices else None  # one C call per row
    group: list[tuple[int, ...]] = []
    for row in rows:
        calcs = row.calculations
        if len(calcs) < need:
            calcs = calcs + pad[: need - len(calcs)]
        if pick is None:
            group.append((row.slot,))
        elif len(indices) == 1:
            group.append((row.slot, pick(calcs)))
        else:
            group.append((row.slot, *pick(calcs)))
        if len(group) == GROUP:
            yield group
            group = []
    if group:
        yield group


def utc_day(row: Sample) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(row.slot))


def write_partitioned(
    rows: Iterable[Sample], columns: Sequence[Column], directory: Path, ctx: Context
) -> int:
    """One file per UTC day under ``directory/date=YYYY-MM-DD/`` (see above)."""
    from luxlog.export.output import opened

    _pyarrow()
    n = 0
    for day, day_rows in groupby(rows, key=utc_day):
        target = directory / f"date={day}"
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc.strerror}") from None
        with opened(str(target / "part-0.parquet")) as out:
            n += write(day_rows, columns, out, ctx)
    return n
