"""``luxlog poll``: read the controller and buffer the raw sample."""

from __future__ import annotations

from typing import Annotated

import typer

from luxlog.config import load_config
from luxlog.errors import ConfigError
from luxlog.fastpath import poll_json
from luxlog.options import ConfigOption, HostOption, JsonOption, PortOption
from luxlog.poller import poll_forever, poll_once, summary
from luxlog.signals import GracefulStop


def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll once and exit (for cron).")] = False,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    json_output: JsonOption = False,
) -> None:
    """Read the controller (read-only) and store the raw sample in the buffer."""
    if json_output and not once:
        raise ConfigError("--json: only with --once (the loop prints a line per round)")
    cfg = load_config(config, {"host": host, "port": port})
    cfg.require_host("poll")
    if once:
        report = poll_once(cfg)
        typer.echo(poll_json(report) if json_output else summary(report))
        return
    guard = GracefulStop()
    guard.install()
    typer.echo(
        f"polling {cfg.host}:{cfg.port} every {cfg.interval_sec} s into {cfg.cache_path}; "
        "Ctrl-C to stop"
    )
    try:
        poll_forever(cfg, guard.event, lambda r: typer.echo(summary(r)), guard=guard)
    finally:
        # The grace ran out inside a round, or the signal came between rounds: the store's
        # transaction rolled back or had committed; either way nothing half-written remains.
        guard.uninstall()
    guard.finish()
