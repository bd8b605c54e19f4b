"""``luxlog serve``: the read-only web dashboard and JSON API (needs the ``web`` extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from luxlog.config import load_config
from luxlog.options import ConfigOption


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; not loopback needs serve_token.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")
    ] = 8080,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Serve without a token, also beyond loopback (warns)."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the read-only web dashboard and JSON API over the database."""
    from luxlog.web.server import serve as run

    cfg = load_config(config)
    run(
        cfg,
        host,
        port,
        no_auth=no_auth,
        on_ready=lambda url: typer.echo(f"serving {url} (read-only; Ctrl-C stops)"),
    )
