"""The Typer app: registers the commands and maps errors to exit codes (DESIGN.md §3).

Commands live one per module under ``luxlog.commands``; they are imported lazily so that
``luxlog poll --once`` loads neither the decoder nor rich, and ``main`` hands a plain
``poll --once`` to ``luxlog.fastpath`` without building the app at all. Every error, from a
command or the fast path, goes through the one map, ``errors.exit_code_of``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from luxlog import fastpath, signals
from luxlog.errors import (
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    Interrupted,
    LuxlogError,
    exit_code_of,
    run_mapped,
)
from luxlog.logs import guard_closed_pipes

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import typer

    app: typer.Typer  # built on first access, see __getattr__


# typer/click/rich cost ~50 ms and several MiB per process, and cron starts `luxlog poll
# --once` every 30 s: this module imports typer only when the Typer app is needed (see
# ``luxlog.fastpath``). ``app`` and ``_ClickException`` are built on first access.
_app: typer.Typer | None = None


def _click_exception() -> type[Exception]:
    import typer

    # Typer >= 0.26 vendors click; find its ClickException base through a public class.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _build_app() -> typer.Typer:
    import typer

    from luxlog.commands.root import root

    app = typer.Typer(
        name="luxlog",
        help="Resilient, read-only data logger for Luxtronik 2.x heat-pump controllers.",
        # Typer's own --install-completion/--show-completion; the cron poll never builds
        # this app (fastpath), so completion costs it nothing
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback(invoke_without_command=True)(root)
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
    """Map expected errors (``exit_code_of``) inside the command itself, so ``CliRunner``
    and the console script end the same way; a bug stays an exception for ``run``."""

    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (LuxlogError, Interrupted) as exc:
            import typer

            raise typer.Exit(exit_code_of(exc)) from exc

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
    "summary": ("summary", "summary"),
    "prune": ("prune", "prune"),
    "doctor": ("doctor", "doctor"),
    "export": ("export", "export_command"),
    "import": ("import_", "import_command"),
    "show": ("show", "show"),
    "backup": ("backup", "backup"),
    "push": ("push", "push"),
    "serve": ("serve", "serve"),
    "simulate": ("simulate", "simulate"),
    "demo": ("demo", "demo"),
}


def _register(app: typer.Typer) -> None:
    import importlib.util

    for name, (module, func) in COMMANDS.items():
        if importlib.util.find_spec(f"luxlog.commands.{module}") is None:
            continue  # pragma: no cover - only while a command is being built
        app.command(name)(_lazy(module, func))


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

    return run_mapped(body)


def main() -> None:
    signals.install()
    # `luxlog … | head`: a reader that goes away costs its output, never the work or a traceback
    guard_closed_pipes()
    args = sys.argv[1:]
    fast = fastpath.parse_args(args)
    code = fastpath.poll_once(fast) if fast is not None else run(args)
    sys.exit(code)


__all__ = ["EXIT_SIGTERM", "app", "main", "run"]
