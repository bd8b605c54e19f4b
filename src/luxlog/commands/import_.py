"""``luxlog import``: samples from a raw export or from roelven/luxtronik-logger's cache.db."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from luxlog.config import Config, load_config
from luxlog.disk import warn_if_full
from luxlog.errors import ConfigError, SourceError
from luxlog.importer import Stored, count_new, luxtronik_logger, raw, store_samples
from luxlog.options import ConfigOption
from luxlog.progress import progress
from luxlog.sample import Sample
from luxlog.store import Store

log = logging.getLogger("luxlog.import")

FORMATS = ("raw", "luxtronik-logger")
SHOWN = 5  # keys named in the summary line; the rest are counted


@contextmanager
def progress_bar(total: int | None) -> Iterator[Callable[[int], None]]:
    """``progress.progress`` fed with the samples read so far (a count, not a step)."""
    done = [0]
    with progress("importing", total or 0) as advance:

        def update(read: int) -> None:
            advance(read - done[0])
            done[0] = read

        yield update


def _store(cfg: Config, samples: Iterable[Sample], dry_run: bool, total: int | None) -> Stored:
    if dry_run:
        if not cfg.cache_path.exists():
            return count_new(None, samples)
        with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
            return count_new(store, samples)
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store, progress_bar(total) as bar:
        stored = store_samples(store, samples, bar)
        if stored.imported:
            store.flush()  # into the compact cache now, as a poll's flush would
    return stored


def not_convertible_text(counts: Counter[str]) -> str:
    """``3 values not convertible (calculations.ID_WEB_X: 2, …)`` or ``""``."""
    if not counts:
        return ""
    named = ", ".join(f"{k}: {n}" for k, n in counts.most_common(SHOWN))
    more = f", {len(counts) - SHOWN} more names" if len(counts) > SHOWN else ""
    return f"; {sum(counts.values())} values not convertible ({named}{more})"


def import_command(
    path: Annotated[Path, typer.Argument(help="The file to import.", show_default=False)],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}.")
    ] = "raw",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and count everything, store nothing.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Import samples from a raw export or from luxtronik-logger's cache.db into the database."""
    cfg = load_config(config)
    if fmt not in FORMATS:
        raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if not dry_run:
        warn_if_full(cfg)
    unreadable: list[float] = []
    if fmt == "raw":
        try:
            with path.open("rb") as f:
                stored = _store(cfg, raw.read(f, str(path)), dry_run, None)
        except FileNotFoundError:
            raise SourceError(f"{path}: no such file") from None
        extra = ""
    else:
        assembler = luxtronik_logger.Assembler(cfg.tz)
        total = luxtronik_logger.count_rows(path)
        samples = luxtronik_logger.read(path, cfg.interval_sec, assembler, unreadable.append)
        stored = _store(cfg, samples, dry_run, total)
        extra = not_convertible_text(assembler.not_convertible)
    if unreadable:
        extra += f"; {len(unreadable)} rows skipped (data_json not a JSON object)"
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {stored.imported} of {stored.samples} samples from {path}, "
        f"{stored.duplicates} duplicates kept as stored{extra}"
    )
