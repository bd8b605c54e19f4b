"""The PostgreSQL driver (psycopg 3, the ``push`` extra) and its errors as one line.

Only the ``push`` package imports psycopg, and only through ``driver()``: without the extra
installed every other command works, and ``push`` says which extra to install. A driver error
becomes one ``PushError`` line naming the (masked) server and the cause; the next cron run
retries, and a transaction that was in flight was rolled back by the server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    return psycopg


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "connection failed"


def describe(exc: BaseException, shown_url: str, secret: str | None) -> str:
    """One line for ``exc``: the server as shown (masked) and libpq's first line."""
    detail = _first_line(str(exc))
    if secret:
        detail = detail.replace(secret, "***")  # libpq never echoes it; be sure anyway
    return f"push to {shown_url} failed: {detail} (the next run retries)"


@contextlib.contextmanager
def mapped(shown_url: str, secret: str | None = None) -> Iterator[None]:
    """psycopg's errors inside the block -> ``PushError`` (one line, password masked)."""
    psycopg = driver()
    try:
        yield
    except psycopg.Error as exc:
        raise PushError(describe(exc, shown_url, secret)) from None


def connect(url: str, shown_url: str, password: str | None) -> Any:
    """An autocommit connection (transactions are explicit, ``conn.transaction()``)."""
    psycopg = driver()
    extra: dict[str, Any] = {"password": password} if password is not None else {}
    with mapped(shown_url, password):
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
