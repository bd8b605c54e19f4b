"""``luxlog flush``: move buffered samples into the compact cache."""

from __future__ import annotations

import json
import logging
import os
import sys

import typer

from luxlog.config import load_config
from luxlog.disk import warn_if_full
from luxlog.options import ConfigOption, JsonOption
from luxlog.store import FLUSH_BATCH, Store
from luxlog.store.journal import journal_path

log = logging.getLogger("luxlog.flush")


def _json(moved: int, remaining: int, duplicates: int, database: bool) -> str:
    return json.dumps(
        {"moved": moved, "remaining": remaining, "duplicates": duplicates, "database": database}
    )


def flush(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Move buffered samples into the long-term cache (idempotent, kill-safe)."""
    cfg = load_config(config)
    warn_if_full(cfg)
    if not cfg.cache_path.exists() and not os.path.exists(journal_path(cfg.cache_path)):
        # Creating an empty database here would hide a mistyped cache_path.
        log.warning(
            "no database at %s yet: has 'luxlog poll' run? (check cache_path)", cfg.cache_path
        )
        typer.echo(_json(0, 0, 0, False) if json_output else "nothing to flush (no database yet)")
        return
    with Store(cfg.cache_path, interval=cfg.interval_sec, check=True) as store:
        backlog = store.buffered()
        if backlog > 2 * FLUSH_BATCH and sys.stderr.isatty():
            # a person is watching a backlog of hours or days: show how far it has got
            from rich.console import Console
            from rich.progress import Progress

            # on stderr: stdout carries only the summary line, for scripts
            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("flushing", total=backlog)
                result = store.flush(progress=lambda moved: bar.update(task, completed=moved))
        else:
            result = store.flush()
    if json_output:
        typer.echo(_json(result.moved, result.remaining, result.duplicates, True))
        return
    extra = f", {result.duplicates} duplicate slots dropped" if result.duplicates else ""
    typer.echo(
        f"flushed {result.moved} samples into the cache, {result.remaining} remain in the "
        f"buffer{extra}"
    )
