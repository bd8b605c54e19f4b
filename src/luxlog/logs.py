"""Logging to stderr, one event per line with a UTC timestamp and level (docker logs, cron).

Also the guard that lets every command outlive a closed stdout or stderr (``guard_closed_pipes``).
"""

from __future__ import annotations

import logging
import os
import sys
import time

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        t = time.gmtime(record.created)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners swap it between commands)."""

    _luxlog = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Configure the root 'luxlog' logger once per process (idempotent for tests)."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("luxlog")
    for handler in list(logger.handlers):
        if getattr(handler, "_luxlog", False):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_UTCFormatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = True


class _ClosedPipeSafe:
    """A text stream whose reader may go away (``luxlog poll --once | head -0``).

    The first write or flush that meets a closed pipe (EPIPE) points the stream's descriptor at
    /dev/null (the Python docs' recipe for SIGPIPE) and the command carries on: the sample is
    stored, the transaction commits, the exit code is the one the work earned. Only what was
    meant for the departed reader is lost, as with ``head``. Everything else is delegated.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _silence(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()
            self._stream.flush()  # the buffered bytes now go to /dev/null

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_closed_pipes() -> None:
    """Make stdout and stderr survive a reader that closed its end (once per process)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or isinstance(stream, _ClosedPipeSafe):
            continue
        try:
            stream.fileno()
        except (AttributeError, OSError, ValueError):
            continue  # not backed by a descriptor (a test runner's buffer): nothing to guard
        setattr(sys, name, _ClosedPipeSafe(stream))
