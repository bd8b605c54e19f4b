"""``luxlog backup DEST``: a consistent, verified copy of the live database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from luxlog.backup import backup as take_backup
from luxlog.config import load_config
from luxlog.options import ConfigOption, JsonOption
from luxlog.text import format_bytes


def backup(
    dest: Annotated[
        Path,
        typer.Argument(
            help="File to write, or a directory to write luxlog-<UTC time>.db into.",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite DEST when it is an existing file.")
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Copy the live database consistently (SQLite's online backup), verified by quick_check."""
    cfg = load_config(config)
    result = take_backup(cfg.cache_path, dest, force=force)
    if json_output:
        doc = {
            "source": str(result.source),
            "dest": str(result.dest),
            "bytes": result.size,
            "pages": result.pages,
            "quick_check": "ok",
            "duration_sec": round(result.duration, 3),
        }
        typer.echo(json.dumps(doc))
        return
    typer.echo(
        f"backed up {result.source} to {result.dest} ({format_bytes(result.size)}, "
        f"quick_check ok, {result.duration:.2f} s)"
    )
