"""Logging to stderr, one event per line with a UTC timestamp and level (docker logs, cron).

Also the guard that lets every command outlive a closed stdout or stderr (``guard_closed_pipes``).
"""

from __future__ import annotations

import os
import sys
import time

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40  # logging's numbers, without importing it

# ``logging`` (with the re, traceback, threading, string it imports) costs a cron-fired poll
# ~11 ms, and a successful poll logs nothing at the default level. ``setup_logging(lazy=True)``
# (the poll fast path) therefore only notes the level here, and ``Logger`` imports logging and
# applies the set-up when the first record at or above that level arrives: the same lines on
# stderr, only no import when there is nothing to say. [threshold, verbose, quiet] or empty.
_pending: list[Any] = []


def _threshold(verbose: bool, quiet: bool) -> int:
    return DEBUG if verbose else WARNING if quiet else INFO


def setup_logging(verbose: bool = False, quiet: bool = False, lazy: bool = False) -> None:
    """Configure the root 'luxlog' logger once per process (idempotent for tests).

    ``lazy``: when ``logging`` is not imported yet, defer the set-up (and the import) until a
    ``Logger`` has a record to emit; see ``_pending``.
    """
    if lazy and "logging" not in sys.modules:
        _pending[:] = [_threshold(verbose, quiet), verbose, quiet]
        return
    _pending.clear()
    import logging

    logger = logging.getLogger("luxlog")
    for handler in list(logger.handlers):
        if getattr(handler, "_luxlog", False):
            logger.removeHandler(handler)
    handler = _handler_class()()
    handler.setFormatter(_formatter_class()(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(_threshold(verbose, quiet))
    logger.propagate = True


def _formatter_class() -> type[logging.Formatter]:
    import logging

    class _UTCFormatter(logging.Formatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
            t = time.gmtime(record.created)
            return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"

    return _UTCFormatter


def _handler_class() -> type[logging.StreamHandler]:  # type: ignore[type-arg]
    import logging

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

    return _StderrHandler


class Logger:
    """``logging.getLogger(name)`` for the poll path: imports logging only for a record it emits.

    Before anything imported ``logging``, no configuration exists but the deferred one
    (``_pending``) or logging's default (WARNING); a record below that level would be dropped
    by logging too, so it is dropped here without the import. Otherwise the record goes to the
    real logger, after applying a deferred set-up, so handlers, levels and caplog see it as usual.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _log(self, level: int, msg: str, args: tuple[object, ...], kwargs: Any) -> None:
        if _pending:
            if level < _pending[0]:
                return
            setup_logging(verbose=_pending[1], quiet=_pending[2])
        elif "logging" not in sys.modules and level < WARNING:
            return
        import logging

        kwargs.setdefault("stacklevel", 3)  # the caller of debug()/error(), as logging would
        logging.getLogger(self.name).log(level, msg, *args, **kwargs)

    def debug(self, msg: str, *args: object, **kwargs: Any) -> None:
        self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: object, **kwargs: Any) -> None:
        self._log(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: object, **kwargs: Any) -> None:
        self._log(WARNING, msg, args, kwargs)

    def error(self, msg: str, *args: object, **kwargs: Any) -> None:
        self._log(ERROR, msg, args, kwargs)

    def exception(self, msg: str, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._log(ERROR, msg, args, kwargs)


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
