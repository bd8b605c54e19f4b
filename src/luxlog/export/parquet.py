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
from pathlib import Path
from typing import Any, BinaryIO

from luxlog.columns import Column, base_field
from luxlog.decode import ABSENT
from luxlog.export import Context, ExportError
from luxlog.export.values import BOOL, FLOAT, INT, STRING, kind_of, typed
from luxlog.sample import Sample

GROUP = 16_384  # samples per row group: ~20 MiB of Python objects at the default columns
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


def _batch(pa: Any, sch: Any, columns: Sequence[Column], group: list[tuple[int, ...]]) -> Any:
    """One record batch from ``(slot, raw, raw, …)`` tuples (see ``_groups``)."""
    kinds = [kind_of(c) for c in columns]
    data: list[list[Any]] = [[g[0] for g in group]]
    for k, (c, kind) in enumerate(zip(columns, kinds, strict=True), 1):
        data.append([typed(c, kind, g[k]) for g in group])
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
    group: list[tuple[int, ...]] = []
    for row in rows:
        calcs = row.calculations
        if len(calcs) < need:
            calcs = calcs + pad[: need - len(calcs)]
        group.append((row.slot, *(calcs[i] for i in indices)))
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
