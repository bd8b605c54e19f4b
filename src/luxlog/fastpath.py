"""``luxlog poll --once`` without Typer: the command cron runs every 30 s.

On small boards the Typer app (typer, its vendored click, rich's helpers, every command
module) costs more CPU and memory than the poll itself, ~50 ms per process (bench/README.md).
``cli.main`` therefore hands this module the command line first; it recognises exactly the
poll-once command line,
  luxlog [-v|--verbose] [-q|--quiet] poll --once [--config/-c PATH] [--host H] [--port N]
         [--json]
and runs it with the same behaviour as the Typer command: logging set up as by the root
callback, the same config precedence, the same summary line on stdout, the same one-line
errors and exit codes (``errors.exit_code_of``). Anything else, including --help, repeated or
unknown options, values that start with "-", a port that is not digits, or `poll` without
--once, goes to the Typer app unchanged, so usage errors read the same. ``ROOT_OPTIONS`` and
``POLL_OPTIONS`` name the click parameters they stand for; a test checks them against the
Typer command so the two cannot drift.

No typer, no ``typing``: this is the light poll path.
"""

from __future__ import annotations

from luxlog.errors import run_mapped
from luxlog.logs import setup_logging

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# option -> click parameter name; FLAGS take no value
ROOT_OPTIONS = {"-v": "verbose", "--verbose": "verbose", "-q": "quiet", "--quiet": "quiet"}
POLL_OPTIONS = {
    "--once": "once",
    "--config": "config",
    "-c": "config",
    "--host": "host",
    "--port": "port",
    "--json": "json_output",
}
FLAGS = {"verbose", "quiet", "once", "json_output"}
# Root options of the Typer app that end the run without polling: never on this path
TYPER_ONLY_ROOT_OPTIONS = ("--version", "-V", "--install-completion", "--show-completion")


def parse_args(args: list[str]) -> dict[str, Any] | None:
    """Options of a plain ``poll --once`` command line, or None (use the Typer app)."""
    opts: dict[str, Any] = {"verbose": False, "quiet": False}
    i = 0
    while i < len(args) and args[i] in ROOT_OPTIONS:
        key = ROOT_OPTIONS[args[i]]
        if opts[key]:
            return None
        opts[key] = True
        i += 1
    if args[i : i + 1] != ["poll"]:
        return None
    i += 1
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = POLL_OPTIONS.get(flag)
        if name is None or name in opts:
            return None
        if name in FLAGS:
            if eq:
                return None
            opts[name] = True
            i += 1
            continue
        if eq:
            value, i = inline, i + 1
        elif i + 1 < len(args):
            value, i = args[i + 1], i + 2
        else:
            return None
        if not _accept(opts, name, value):
            return None
    return opts if opts.get("once") else None


def _accept(opts: dict[str, Any], name: str, value: str) -> bool:
    """Store one option's value as the Typer command would convert it; False: let Typer say."""
    if not value or value.startswith("-"):
        return False
    if name == "port":
        if not (value.isascii() and value.isdigit()):  # [0-9]+ without importing re
            return False
        opts["port"] = int(value)
    elif name == "config":
        from pathlib import Path

        opts["config"] = Path(value)
    else:
        opts[name] = value
    return True


def poll_once(opts: dict[str, Any]) -> int:
    """``poll --once`` without Typer; the same exit codes and messages as ``cli.run``."""

    def body() -> int:
        setup_logging(verbose=opts["verbose"], quiet=opts["quiet"], lazy=True)
        from luxlog.config import load_config
        from luxlog.poller import poll_once, summary

        cfg = load_config(opts.get("config"), {"host": opts.get("host"), "port": opts.get("port")})
        cfg.require_host("poll")
        report = poll_once(cfg)
        print(poll_json(report) if opts.get("json_output") else summary(report), flush=True)
        return 0

    return run_mapped(body)


def poll_json(report: Any) -> str:
    """``poll --once --json``: one object for scripts (json is imported only then)."""
    import json

    from luxlog.text import format_utc

    return json.dumps(
        {
            "slot": format_utc(report.slot),
            "slot_epoch": report.slot,
            "stored": report.stored,
            "calculations": report.calculations,
            "attempts": report.attempts,
            "duration_sec": round(report.duration, 3),
        }
    )
