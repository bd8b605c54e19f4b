"""``luxlog export``: stored samples of a time range in the formats other tools read."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from luxlog.columns import Selection, select
from luxlog.config import Config, load_config
from luxlog.errors import ConfigError
from luxlog.export import (
    FORMATS,
    Context,
    export,
    export_partitioned,
    infer_format,
)
from luxlog.export.output import opened
from luxlog.export.timerange import time_range
from luxlog.options import ConfigOption
from luxlog.progress import progress
from luxlog.store import Store
from luxlog.text import format_utc

log = logging.getLogger("luxlog.export")


def choose_format(fmt: str | None, output: str, partition: bool = False) -> str:
    """``--format``, else the output's extension (parquet with ``--partition``), else CSV."""
    if fmt is None and partition:
        return "parquet"
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    if output == "-":
        return "csv"
    return infer_format(output) or "csv"


def column_spec(columns: list[str] | None) -> str | tuple[str, ...] | None:
    """``--columns a,b --columns c`` -> the config's ``columns`` form (None: not given)."""
    parts = tuple(p.strip() for c in columns or () for p in c.split(",") if p.strip())
    if len(parts) == 1 and parts[0] in ("default", "all"):
        return parts[0]
    return parts or None


@contextmanager
def progress_bar(lo: int, hi: int) -> Iterator[Callable[[int], None]]:
    """``progress.progress`` over the time range, fed with the slot reached."""
    reached = [lo]
    with progress("exporting", hi - lo) as advance:

        def update(slot: int) -> None:
            advance(slot - reached[0])
            reached[0] = slot

        yield update


def _partitioned(cfg: Config, fmt: str, selection: Selection, output: str, ctx: Context) -> int:
    if fmt != "parquet" or output == "-":
        raise ConfigError("--partition: needs --format parquet and --output DIR")
    with (
        Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store,
        progress_bar(ctx.start, ctx.end) as progress,
    ):
        return export_partitioned(store, selection, Path(output), ctx, progress)


FromOption = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE|DATETIME", help="Start (default: 24 h before --to)."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE|DATETIME", help="End, exclusive; a date: its end."),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help=f"One of {', '.join(FORMATS)} (default: from the output's extension, else csv).",
    ),
]
ColumnsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--columns",
        help="default, all, or names and globs (comma-separated or repeated; default: the "
        "configured columns).",
    ),
]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="File to write, or - for stdout.")
]
PartitionOption = Annotated[
    bool, typer.Option("--partition", help="Parquet: one file per UTC day under --output DIR.")
]
SiteOption = Annotated[
    str | None,
    typer.Option("--site", help="Influx: the site tag (default: the configured host)."),
]


def export_command(
    config: ConfigOption = None,
    start: FromOption = None,
    end: ToOption = None,
    fmt: FormatOption = None,
    columns: ColumnsOption = None,
    output: OutputOption = "-",
    partition: PartitionOption = False,
    site: SiteOption = None,
) -> None:
    """Export stored samples of a time range to CSV, NDJSON, Parquet, InfluxDB lines or raw."""
    cfg = load_config(config)
    chosen = choose_format(fmt, output, partition)
    selection = select(column_spec(columns) or cfg.columns)
    lo, hi = time_range(start, end, cfg.tz, dt.datetime.now(dt.UTC))
    ctx = Context(cfg.tz, cfg.csv_dialect, cfg.interval_sec, lo, hi, site or cfg.host or "luxlog")
    if partition:
        rows = _partitioned(cfg, chosen, selection, output, ctx)
    else:
        with (
            Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store,
            opened(output) as out,
            progress_bar(lo, hi) as progress,
        ):
            rows = export(store, chosen, selection, out, ctx, progress)
    if rows == 0:
        log.warning(
            "no samples in [%s, %s): wrote an empty %s export",
            format_utc(lo),
            format_utc(hi),
            chosen,
        )
    where = "stdout" if output == "-" else output
    summary = f"exported {rows} samples [{format_utc(lo)}, {format_utc(hi)}) as {chosen} to {where}"
    # the data owns stdout when it goes there: the summary goes to stderr then
    typer.echo(summary, err=output == "-")


__all__ = ["export_command"]
