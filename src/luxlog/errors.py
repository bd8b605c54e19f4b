"""The one error family and the exit codes of the command-line contract (DESIGN.md §3).

Core code raises these and never calls ``sys.exit``; ``cli.main`` maps them to exit codes
and prints one line, so a cron log shows the cause, not a traceback.
"""

from __future__ import annotations

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
