"""The PostgreSQL driver (psycopg 3, the ``push`` extra) and its errors as one line.

Only the ``push`` package imports psycopg, and only through ``driver()``: without the extra
installed every other command works, and ``push`` says which extra to install. A driver error
becomes one ``PushError`` line naming the (masked) server and the cause; the next cron run
retries, and a transaction that was in flight was rolled back by the server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from luxlog.errors import PushError

CONNECT_TIMEOUT_SEC = 10
MISSING_EXTRA = "luxlog push needs the push extra: pip install 'luxlog[push]'"


def driver() -> ModuleType:
    try:
        import psycopg
    except ImportError:
        raise PushError(MISSING_EXTRA) from None
    # psycopg warns ("error ignored in rollback …") when a transaction ends on a broken
    # connection: a second line beside the one PushError line that already says why
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    return psycopg


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "connection failed"


def describe(exc: BaseException, shown_url: str, secrets: Sequence[str] = ()) -> str:
    """One line for ``exc``: the server as shown (masked) and libpq's first line, every one of
    ``secrets`` (``masking.secrets_of``) masked: libpq echoes a URL token it cannot parse."""
    detail = _first_line(str(exc))
    for secret in secrets:
        detail = detail.replace(secret, "***")
    return f"push to {shown_url} failed: {detail} (the next run retries)"


def _interrupt_behind(exc: BaseException) -> BaseException | None:
    """The stop (SIGTERM/SIGINT) a driver error was raised while handling, if any: psycopg
    tries to roll back on the way out and fails on the busy connection."""
    seen = exc.__context__
    while seen is not None:
        if not isinstance(seen, Exception):
            return seen
        seen = seen.__context__
    return None


@contextlib.contextmanager
def mapped(shown_url: str, secrets: Sequence[str] = ()) -> Iterator[None]:
    """psycopg's errors inside the block -> ``PushError`` (one line, passwords masked); an
    error raised on the way out of a stop is that stop (exit 143/130), not a push failure."""
    psycopg = driver()
    try:
        yield
    except psycopg.Error as exc:
        stop = _interrupt_behind(exc)
        if stop is not None:
            raise stop from None
        raise PushError(describe(exc, shown_url, secrets)) from None


def cut(conn: Any) -> None:
    """Shut the connection's socket down (both ways) without waiting for the server.

    After a stop, psycopg's clean-up (finishing a COPY, rolling back) waits for the server's
    answer; a server or network that does not read would hold the push until SIGKILL. Cut,
    that clean-up fails at once and the stop ends the run (143/130). Shutting down a
    duplicate descriptor acts on the socket libpq holds; its own descriptor stays for it.
    """
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except (OSError, driver().Error):
        return  # already closed
    with sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def connect(url: str, shown_url: str, password: str | None, secrets: Sequence[str]) -> Any:
    """An autocommit connection (transactions are explicit, ``conn.transaction()``)."""
    psycopg = driver()
    extra: dict[str, Any] = {"password": password} if password is not None else {}
    with mapped(shown_url, secrets):
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SEC,
            application_name="luxlog push",
            # a server that vanishes mid-push (failover, a cut cable) is noticed, not waited on
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            **extra,
        )
