"""``luxlog prune``: delete report CSVs and cached samples past retention."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from luxlog import disk
from luxlog.config import MAX_DAYS, load_config
from luxlog.errors import LuxlogError
from luxlog.options import ConfigOption, JsonOption
from luxlog.prune import PruneSummary
from luxlog.prune import prune as prune_all
from luxlog.text import format_bytes


def summary(result: PruneSummary) -> str:
    csv = result.csv
    verb = "would prune" if result.dry_run else "pruned"
    plural = "" if csv.files == 1 else "s"
    text = f"{verb} {csv.files} file{plural}, {format_bytes(csv.bytes_freed)} freed"
    if result.db is None:
        return text + "; no database yet"
    samples = result.db.samples
    if result.dry_run:
        return text + f"; {samples} cached samples would be deleted"
    return (
        text + f"; {samples} cached samples deleted, "
        f"{format_bytes(result.db.bytes_freed)} of database freed"
    )


def as_dict(result: PruneSummary) -> dict[str, Any]:
    """``prune --json``: what went (or would go), per directory and for the database."""
    csv = result.csv
    db = result.db
    return {
        "dry_run": result.dry_run,
        "files": csv.files,
        "bytes_freed": csv.bytes_freed,
        "cutoff": csv.cutoff.isoformat(),
        "directories": [
            {"path": str(d.path), "files": d.files, "bytes_freed": d.bytes_freed, "kept": d.kept}
            for d in csv.dirs
        ],
        "database": None
        if db is None
        else {"samples": db.samples, "attempts": db.attempts, "bytes_freed": db.bytes_freed},
        "errors": csv.errors,
    }


def check_days(value: int | None) -> int | None:
    """``--days``: 1..MAX_DAYS (beyond that the cut-off date overflows)."""
    if value is not None and not 1 <= value <= MAX_DAYS:
        raise typer.BadParameter(f"{value} is out of range (allowed 1..{MAX_DAYS})")
    return value


def prune(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            callback=check_days,
            help="Keep report CSVs dated within this many days (default: retention_days).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; change nothing.")
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete report CSVs and cached samples past retention; log the count and bytes freed."""
    cfg = load_config(config)
    disk.warn_if_full(cfg)
    result = prune_all(cfg, time.time(), days=days, dry_run=dry_run)
    typer.echo(json.dumps(as_dict(result)) if json_output else summary(result))
    if result.csv.errors:
        raise LuxlogError(
            f"{len(result.csv.errors)} file(s) could not be pruned: {result.csv.errors[0]}"
        )
