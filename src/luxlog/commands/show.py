"""``luxlog show``: the current values, decoded (live read-only poll, or the stored sample)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from luxlog import show as core
from luxlog.config import load_config
from luxlog.options import ConfigOption, HostOption, JsonOption, PortOption


def _table(reading: core.Reading, everything: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from luxlog.text import format_utc

    title = f"{reading.firmware or 'controller'}, {reading.source}, {format_utc(reading.slot)}"
    table = Table(title=title)
    table.add_column("value")
    table.add_column("", justify="right")
    if not everything:  # --all headers are the luxtronik names already
        table.add_column("luxtronik name", style="dim")
    for v in reading.values:
        names = () if everything else (v.name,)
        table.add_row(v.header, v.text if v.text else "—", *names)
    Console().print(table)


def show(
    stored: Annotated[
        bool,
        typer.Option("--stored", help="The newest stored sample; do not ask the controller."),
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Every numeric value, not just the curated set.")
    ] = False,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Show the current values, decoded: one live read-only poll, or --stored."""
    cfg = load_config(config, {"host": host, "port": port})
    if stored:
        reading = core.stored(cfg, everything)
    else:
        cfg.require_host("show")
        reading = core.live(cfg, everything)
    if json_output:
        typer.echo(json.dumps(core.as_dict(reading), ensure_ascii=False, indent=2))
    else:
        _table(reading, everything)
