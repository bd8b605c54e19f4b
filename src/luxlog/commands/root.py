"""The root of the command line: ``--verbose``/``--quiet``, ``--version``, bare ``luxlog``.

Its own module (not cli.py) because cli.py keeps typer out of its globals for the cron poll's
fast path, and Typer resolves the callback's annotations (``typer.Context``) from them.
"""

from __future__ import annotations

from importlib.metadata import version as dist_version

import typer

from luxlog.logs import setup_logging


def _version(value: bool) -> None:
    """``--version``/``-V``: the installed distribution's version, from its metadata."""
    if value:
        typer.echo(f"luxlog {dist_version('luxlog')}")
        raise typer.Exit(0)


def root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only."),
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    if ctx.invoked_subcommand is None:
        # `luxlog` alone: a person asked for help, so it is not a usage error (exit 0, as
        # `--help`); click's no_args_is_help exits 2 since click 8.2
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    setup_logging(verbose=verbose, quiet=quiet)
