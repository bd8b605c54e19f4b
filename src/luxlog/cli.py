"""The Typer app: registers the commands and maps errors to exit codes (DESIGN.md §3).

Commands live one per module under ``luxlog.commands``; they are imported lazily so that
``luxlog poll --once`` loads neither the decoder nor rich.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
from collections.abc import Callable
from types import FrameType

from luxlog.errors import (
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    Interrupted,
    LuxlogError,
)
from luxlog.logs import guard_closed_pipes, setup_logging

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import typer

    app: typer.Typer  # built on first access, see __getattr__

log = logging.getLogger("luxlog")

# typer/click/rich cost ~50 ms and several MiB per process, and cron starts `luxlog poll
# --once` every 30 s: this module imports typer only when the Typer app is needed (see
# ``main``'s fast path). ``app`` and ``_ClickException`` are built on first access.
_app: typer.Typer | None = None


def _click_exception() -> type[Exception]:
    import typer

    # Typer >= 0.26 vendors click; find its ClickException base through a public class.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _build_app() -> typer.Typer:
    import typer

    app = typer.Typer(
        name="luxlog",
        help="Resilient, read-only data logger for Luxtronik 2.x heat-pump controllers.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    # Old-style defaults: the annotations stay resolvable without typer in this module's globals.
    @app.callback()
    def _root(
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only."),
    ) -> None:
        setup_logging(verbose=verbose, quiet=quiet)

    _register(app)
    return app


def get_app() -> typer.Typer:
    """The Typer app (built once, on first use)."""
    global _app
    if _app is None:
        _app = _build_app()
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return get_app()
    if name == "_ClickException":
        return _click_exception()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _handled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Map expected errors to one line and their exit code inside the command itself,
    so ``CliRunner`` and the console script end the same way."""

    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (LuxlogError, Interrupted) as exc:
            import typer

            print(f"luxlog: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from exc

    return wrapper


def _lazy(module: str, func: str) -> Callable[..., Any]:
    import importlib

    command = getattr(importlib.import_module(f"luxlog.commands.{module}"), func)
    return _handled(command)


COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, function), in the order --help lists them: the data's path, then tools
    "poll": ("poll", "poll"),
    "flush": ("flush", "flush"),
    "report": ("report", "report"),
    "prune": ("prune", "prune"),
    "doctor": ("doctor", "doctor"),
    "simulate": ("simulate", "simulate"),
    "demo": ("demo", "demo"),
}


def _register(app: typer.Typer) -> None:
    import importlib.util

    for name, (module, func) in COMMANDS.items():
        if importlib.util.find_spec(f"luxlog.commands.{module}") is None:
            continue  # pragma: no cover - only while a command is being built
        app.command(name)(_lazy(module, func))


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT become ``Interrupted`` so the transaction in hand rolls back cleanly."""
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)


def _exit_code(body: Callable[[], int]) -> int:
    """Run ``body`` and map what it raises to one line and an exit code (DESIGN.md §3)."""
    try:
        return body()
    except (LuxlogError, Interrupted) as exc:
        print(f"luxlog: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("luxlog: interrupted by SIGINT", file=sys.stderr)
        return EXIT_SIGINT
    except Exception:  # a bug: one traceback, then exit 3
        print("luxlog: internal error (please report it with the traceback below)", file=sys.stderr)
        import traceback

        traceback.print_exc()
        return EXIT_INTERNAL


def run(args: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (the testable core of ``main``)."""
    import typer

    click_exception = _click_exception()

    def body() -> int:
        try:
            result = get_app()(args=args, standalone_mode=False, prog_name="luxlog")
            return int(result) if isinstance(result, int) else 0
        except typer.Exit as exc:
            return int(exc.exit_code)
        except click_exception as exc:
            exc.show()  # type: ignore[attr-defined]
            return EXIT_USAGE
        except typer.Abort:
            print("luxlog: interrupted", file=sys.stderr)
            return EXIT_SIGINT

    return _exit_code(body)


# --------------------------------------------------------------------------- fast path
#
# Cron runs `luxlog poll --once` every 30 s on small boards, and the Typer app (typer, its
# vendored click, rich's helpers, every command module) costs more CPU and memory than the poll
# itself (bench/README.md). ``main`` therefore recognises exactly the poll-once command line,
#   luxlog [-v|--verbose] [-q|--quiet] poll --once [--config/-c PATH] [--host H] [--port N]
# and runs it without importing typer, with the same behaviour as the Typer command: logging set
# up as by the root callback, the same config precedence, the same summary line on stdout, the
# same one-line errors and exit codes (``run``'s mapping). Anything else, including --help,
# repeated or unknown options, values that start with "-", a port that is not digits, or
# `poll` without --once, goes to the Typer app unchanged, so usage errors read the same.

_PORT = re.compile(r"[0-9]+")


def _fast_poll_args(args: list[str]) -> dict[str, Any] | None:
    """Options of a plain ``poll --once`` command line, or None (use the Typer app)."""
    opts: dict[str, Any] = {"verbose": False, "quiet": False}
    i = 0
    while i < len(args) and args[i] in ("-v", "--verbose", "-q", "--quiet"):
        key = "verbose" if args[i] in ("-v", "--verbose") else "quiet"
        if opts[key]:
            return None
        opts[key] = True
        i += 1
    if args[i : i + 1] != ["poll"]:
        return None
    i += 1
    seen: set[str] = set()
    names = {
        "--once": "once",
        "--config": "config",
        "-c": "config",
        "--host": "host",
        "--port": "port",
    }
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if not arg.startswith("--"):
            flag, eq, inline = arg, "", ""
        name = names.get(flag)
        if name is None or name in seen:
            return None
        seen.add(name)
        if name == "once":
            if eq:
                return None
            opts["once"] = True
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        elif i + 1 < len(args):
            value = args[i + 1]
            i += 2
        else:
            return None
        if not value or value.startswith("-"):
            return None
        if name == "port":
            if not _PORT.fullmatch(value):
                return None
            opts["port"] = int(value)
        elif name == "config":
            from pathlib import Path

            opts["config"] = Path(value)
        else:
            opts[name] = value
    return opts if opts.get("once") else None


def _fast_poll(opts: dict[str, Any]) -> int:
    """``poll --once`` without Typer; the same exit codes and messages as ``run``."""

    def body() -> int:
        setup_logging(verbose=opts["verbose"], quiet=opts["quiet"])
        from luxlog.config import load_config
        from luxlog.poller import poll_once, summary

        cfg = load_config(opts.get("config"), {"host": opts.get("host"), "port": opts.get("port")})
        cfg.require_host("poll")
        print(summary(poll_once(cfg)), flush=True)
        return 0

    return _exit_code(body)


def main() -> None:
    install_signal_handlers()
    # `luxlog … | head`: a reader that goes away costs its output, never the work or a traceback
    guard_closed_pipes()
    args = sys.argv[1:]
    fast = _fast_poll_args(args)
    code = _fast_poll(fast) if fast is not None else run(args)
    sys.exit(code)


__all__ = ["EXIT_SIGTERM", "app", "main", "run"]
