"""History out: stream the stored samples of a time range into a format other tools read.

One module per format (``csv``, ``ndjson``, ``raw``, …), each a ``write(rows, columns, out,
ctx) -> int`` over a binary stream. Rows come from ``Store.iter_rows`` one chunk at a time, so
a year never sits in memory. Formats that name values (all but ``raw``) first make one pass over
the range to fix the columns, exactly as a report window does (``report_csv.window_layout``:
columns the firmware never sent are left out, names listed explicitly stay); the file's layout
then never changes midway.

Heavy dependencies (pyarrow) are imported only by their format's module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePath
from typing import BinaryIO

from luxlog.columns import MAX_INDEX, Column, Selection
from luxlog.export.context import Context as Context
from luxlog.export.context import Writer
from luxlog.report_csv import window_layout
from luxlog.sample import Sample
from luxlog.store import Store

# name -> (module, needs named columns)
FORMATS: dict[str, tuple[str, bool]] = {
    "csv": ("luxlog.export.csv", True),
    "ndjson": ("luxlog.export.ndjson", True),
    "raw": ("luxlog.export.raw", False),
    "parquet": ("luxlog.export.parquet", True),
    "influx": ("luxlog.export.influx", True),
    "sqlite": ("luxlog.export.sqlite", True),
    "dump": ("luxlog.export.dump", False),
}

# Longest suffix first: "x.raw.jsonl" is raw, "x.jsonl" is ndjson.
EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".raw.jsonl", "raw"),
    (".raw", "raw"),
    (".csv", "csv"),
    (".ndjson", "ndjson"),
    (".jsonl", "ndjson"),
    (".parquet", "parquet"),
    (".lp", "influx"),
    (".influx", "influx"),
    (".sqlite", "sqlite"),
    (".sqlite3", "sqlite"),
    (".db", "sqlite"),
    (".dump.bz2", "dump"),
    (".dump", "dump"),
    (".bz2", "dump"),
)

PROGRESS_EVERY = 1000  # rows between progress callbacks


def infer_format(path: str) -> str | None:
    """The format an output file name implies (``None``: no known extension)."""
    name = PurePath(path).name.lower()
    for suffix, fmt in EXTENSIONS:
        if name.endswith(suffix):
            return fmt
    return None


def writer_for(fmt: str) -> Writer:
    module, _ = FORMATS[fmt]
    write: Writer = importlib.import_module(module).write
    return write


def columns_for(
    store: Store, selection: Selection, start: int, end: int, native: bool
) -> list[Column]:
    """The columns of an export of ``[start, end)``: one pass over the range (see above).

    ``native``: values in luxtronik's own unit under luxtronik's names (the default set shows
    operating hours in hours with plain-word headers; that is for spreadsheets only).
    """
    layout = window_layout(store.iter_rows(start, end))
    if layout is None:
        # An empty range still gets the header a range with data would have: the newest
        # sample's layout (or, before the first poll, every column asked for).
        newest = store.newest_slot()
        if newest is not None:
            layout = window_layout(store.iter_rows(newest, newest + 1))
    columns = selection.resolve(layout if layout is not None else (0,) * MAX_INDEX)
    if native:
        return [Column.for_index(c.index) for c in columns]
    return columns


def with_progress(
    rows: Iterable[Sample], progress: Callable[[int], None] | None
) -> Iterator[Sample]:
    """``rows``, calling ``progress(slot)`` every ``PROGRESS_EVERY`` rows."""
    if progress is None:
        yield from rows
        return
    for n, row in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            progress(row.slot)
        yield row


def export(
    store: Store,
    fmt: str,
    selection: Selection,
    out: BinaryIO,
    ctx: Context,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the samples of ``[ctx.start, ctx.end)`` to ``out`` as ``fmt``; returns the rows."""
    write = writer_for(fmt)
    _, named = FORMATS[fmt]
    columns: list[Column] = []
    if named:
        columns = columns_for(store, selection, ctx.start, ctx.end, native=fmt != "csv")
    rows = with_progress(store.iter_rows(ctx.start, ctx.end), progress)
    return write(rows, columns, out, ctx)


def export_partitioned(
    store: Store,
    selection: Selection,
    directory: Path,
    ctx: Context,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Parquet, one file per UTC day under ``directory`` (see ``export.parquet``)."""
    from luxlog.export.parquet import write_partitioned

    columns = columns_for(store, selection, ctx.start, ctx.end, native=True)
    rows = with_progress(store.iter_rows(ctx.start, ctx.end), progress)
    return write_partitioned(rows, columns, directory, ctx)
