"""``luxlog push``: ship the samples not yet delivered to the central PostgreSQL, exactly once."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from luxlog.config import load_config
from luxlog.options import ConfigOption, JsonOption
from luxlog.text import format_utc


def push(
    init_timescale: Annotated[
        bool,
        typer.Option(
            "--init-timescale",
            help="Make the central samples table a TimescaleDB hypertable with compression.",
        ),
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send every sample not yet acknowledged to the central PostgreSQL (push_url), exactly once."""
    from luxlog.push.run import push as run_push  # psycopg: only for this command

    cfg = load_config(config)
    if not cfg.push_url:
        # the shipped crontab runs push on every installation: without a central database
        # there is nothing to do, which is not a failure
        typer.echo(
            json.dumps({"configured": False})
            if json_output
            else "push is not configured (set push_url): nothing pushed"
        )
        return
    result = run_push(cfg, init_timescale=init_timescale)
    if json_output:
        typer.echo(json.dumps(result.as_dict()))
        return
    upto = f", up to {format_utc(result.high_water)}" if result.high_water is not None else ""
    skipped = f", {result.duplicates} already there" if result.duplicates else ""
    waiting = f"; {result.waiting} wait for the next flush" if result.waiting else ""
    typer.echo(
        f"pushed {result.inserted} samples of site {result.site} to {result.server} in "
        f"{result.batches} batches{upto}{skipped}, {result.days} days of figures{waiting} "
        f"({result.seconds:.1f} s)"
    )
