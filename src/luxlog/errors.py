"""The one error family, the exit codes and the one map between them (DESIGN.md §3).

Core code and commands raise these and never call ``sys.exit`` or ``typer.Exit``;
``exit_code_of`` prints one line and picks the exit code, for the Typer app, its
``CliRunner`` path and the ``poll --once`` fast path alike, so a cron log shows the cause,
not a traceback. This module stays import-light: it is on the poll path.
"""

from __future__ import annotations

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILURE = 1  # operational: controller unreachable, report not written, doctor found a problem
EXIT_USAGE = 2  # usage or configuration error
EXIT_INTERNAL = 3  # a bug: logged once with its traceback
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class LuxlogError(Exception):
    """Base of every expected error; ``exit_code`` tells the CLI how to end."""

    exit_code = EXIT_FAILURE


class ConfigError(LuxlogError):
    """Invalid configuration; the message lists every bad field."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class DeviceError(LuxlogError):
    """The controller could not be read (network error, timeout, busy)."""


class ProtocolError(DeviceError):
    """The controller answered something that is not a valid reply: never retried."""


class ControllerBusy(DeviceError):
    """stat != 0: the controller is applying a change; retry after a short wait."""


class PollFailed(DeviceError):
    """All attempts failed; carries the count and the time spent for the attempt log."""

    def __init__(self, message: str, attempts: int, duration: float) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.duration = duration


class StoreError(LuxlogError):
    """The database could not be opened, read or written."""


class CorruptError(StoreError):
    """The database file is damaged; ``Store.quarantine`` moves it aside."""


class MissingDatabaseError(StoreError):
    """A read-only store was asked for a database that no run has created yet."""


class DiskFullError(StoreError):
    """A write failed because the filesystem holding ``path`` is full."""


class ReportError(LuxlogError):
    """A report could not be written to at least one output directory."""


class WindowNotClosed(LuxlogError):
    """A window asked for by date that has not closed yet (a usage error: the command names
    its option)."""

    exit_code = EXIT_USAGE


class AttemptError(OSError):
    """An attempt's network failure, named by the phase it happened in (retried)."""

    def __init__(self, phase: str, cause: OSError, detail: str) -> None:
        super().__init__(f"{phase}: {detail}")
        self.phase = phase
        self.cause = cause


class OutputDirError(OSError):
    """An output directory that is not a directory: the message says which path and why."""

    def __str__(self) -> str:
        return str(self.args[0])


class ExportError(LuxlogError):
    """An export could not be written (the output's path, a missing optional package)."""


class SourceError(LuxlogError):
    """An import's input could not be read (not the expected format, a malformed line)."""


class PushError(LuxlogError):
    """``luxlog push`` could not finish: the central server unreachable or refusing, its schema
    newer than this luxlog, the push extra missing. The next run retries."""


class QueryError(LuxlogError):
    """A bad web API query (a date, a name, ``by``, ``points``): ``luxlog serve`` answers 400
    with the message."""

    exit_code = EXIT_USAGE


class WebError(LuxlogError):
    """``luxlog serve`` cannot start: the web extra is missing, the bind is refused (a
    non-loopback address without a token), the port is taken."""

    exit_code = EXIT_USAGE


class ChecksFailed(LuxlogError):
    """The command already printed what failed (doctor's table): exit without another line."""

    def __init__(self, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__("")
        self.exit_code = exit_code


class Interrupted(BaseException):
    """SIGTERM/SIGINT arrived; the transaction in hand was finished or rolled back.

    A ``BaseException`` like ``KeyboardInterrupt``: no ``except LuxlogError`` or ``except
    Exception`` meant for failures (doctor's per-check guard, the poll loop) can swallow a
    request to stop. Only the CLI's error mapping turns it into exit 130/143.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.exit_code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def exit_code_of(exc: BaseException) -> int:
    """The one exit-code map: print the one line ``exc`` deserves and return its code.

    Expected errors print ``luxlog: <message>``; anything else is a bug, printed once with
    its traceback (exit 3).
    """
    import sys

    if isinstance(exc, (LuxlogError, Interrupted)):
        if str(exc):
            print(f"luxlog: {exc}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print("luxlog: interrupted by SIGINT", file=sys.stderr)
        return EXIT_SIGINT
    print("luxlog: internal error (please report it with the traceback below)", file=sys.stderr)
    import traceback

    traceback.print_exception(exc)
    return EXIT_INTERNAL


def run_mapped(body: Callable[[], int]) -> int:
    """Run ``body`` and return its exit code, or the one ``exit_code_of`` what it raised."""
    try:
        return body()
    except (Exception, Interrupted, KeyboardInterrupt) as exc:
        return exit_code_of(exc)
