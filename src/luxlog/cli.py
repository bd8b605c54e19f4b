"""The Typer app: registers the commands and maps errors to exit codes (DESIGN.md §3).

Commands live one per module under ``luxlog.commands``; they are imported lazily so that
``luxlog poll --once`` loads neither the decoder nor rich.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from luxlog.errors import (
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    Interrupted,
    LuxlogError,
)
from luxlog.logs import setup_logging

log = logging.getLogger("luxlog")

# Typer >= 0.26 vendors click; find its ClickException base through a public class.
_ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)

app = typer.Typer(
    name="luxlog",
    help="Resilient, read-only data logger for Luxtronik 2.x heat-pump controllers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Log warnings and errors only.")
    ] = False,
) -> None:
    setup_logging(verbose=verbose, quiet=quiet)


def _handled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Map expected errors to one line and their exit code inside the command itself,
    so ``CliRunner`` and the console script end the same way."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LuxlogError as exc:
            print(f"luxlog: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from exc

    return wrapper


def _lazy(module: str, func: str) -> Callable[..., Any]:
    import importlib

    command = getattr(importlib.import_module(f"luxlog.commands.{module}"), func)
    return _handled(command)


COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, function)
    "poll": ("poll", "poll"),
    "flush": ("flush", "flush"),
    "simulate": ("simulate", "simulate"),
    "report": ("report", "report"),
    "demo": ("demo", "demo"),
    "report": ("report", "report"),
    "prune": ("prune", "prune"),
    "doctor": ("doctor", "doctor"),
}


def _register() -> None:
    import importlib.util

    for name, (module, func) in COMMANDS.items():
        if importlib.util.find_spec(f"luxlog.commands.{module}") is None:
            continue  # pragma: no cover - only while a command is being built
        app.command(name)(_lazy(module, func))


_register()


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT become ``Interrupted`` so the transaction in hand rolls back cleanly."""
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)


def run(args: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (the testable core of ``main``)."""
    try:
        result = app(args=args, standalone_mode=False, prog_name="luxlog")
        return int(result) if isinstance(result, int) else 0
    except LuxlogError as exc:
        print(f"luxlog: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except _ClickException as exc:
        exc.show()  # type: ignore[attr-defined]
        return EXIT_USAGE
    except typer.Abort:
        print("luxlog: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except KeyboardInterrupt:
        print("luxlog: interrupted by SIGINT", file=sys.stderr)
        return EXIT_SIGINT
    except Exception:  # a bug: one traceback, then exit 3
        print("luxlog: internal error (please report it with the traceback below)", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


def main() -> None:
    install_signal_handlers()
    code = run(sys.argv[1:])
    sys.exit(code)


__all__ = ["EXIT_SIGTERM", "app", "main", "run"]
