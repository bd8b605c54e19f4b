"""Options shared by several commands, defined once as Annotated aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (default: $LUXLOG_CONFIG, else ./config.yaml when it exists).",
        show_default=False,
    ),
]
HostOption = Annotated[
    str | None, typer.Option("--host", help="Controller address (overrides config).")
]
PortOption = Annotated[
    int | None, typer.Option("--port", help="Config-interface port (overrides config).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
