"""The attempt log: every poll attempt, ok or the error, so gaps are never silent.

Attempts are keyed by time in ms. A poll writes no SQLite at all: its attempt, ok or failed,
travels in the poll journal (inside its sample's record, or as a record of its own) and
``flush`` files it here (``file_attempt``: a record moved twice is filed once). Bulk loads'
attempts ride in their SQLite buffer rows, as in older versions.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from luxlog.errors import StoreError


@dataclass(frozen=True)
class Attempt:
    """One poll attempt: when (epoch s), whether it succeeded, tries, duration, the error."""

    at: int
    ok: bool
    attempts: int
    duration_ms: int
    error: str | None


def insert_attempt(
    conn: sqlite3.Connection,
    ms: int,
    ok: bool,
    attempts: int,
    duration_ms: int,
    error: str | None,
) -> None:
    """Record one attempt keyed by its time in ms (the next free ms on a collision)."""
    _file(conn, ms, (int(ok), attempts, duration_ms, error), same_is_filed=False)


def file_attempt(
    conn: sqlite3.Connection,
    ms: int,
    ok: bool,
    attempts: int,
    duration_ms: int,
    error: str | None,
) -> bool:
    """File an attempt moved from the journal unless it is filed already; True when new.

    Idempotent, so a flush killed between its commit and the journal's reset, and run again,
    doubles nothing: an identical attempt at the same (or a later colliding) ms is this one.
    """
    return _file(conn, ms, (int(ok), attempts, duration_ms, error), same_is_filed=True)


def _file(
    conn: sqlite3.Connection,
    ms: int,
    row: tuple[int, int, int, str | None],
    same_is_filed: bool,
) -> bool:
    for key in range(ms, ms + 1000):
        hit = conn.execute(
            "SELECT ok, attempts, duration_ms, error FROM attempts WHERE ms = ?", (key,)
        ).fetchone()
        if hit is None:
            conn.execute(
                "INSERT INTO attempts(ms, ok, attempts, duration_ms, error) VALUES (?, ?, ?, ?, ?)",
                (key, *row),
            )
            return True
        if same_is_filed and tuple(hit) == row:
            return False
    raise StoreError("more than 1000 poll attempts recorded within one second")


def last_success(conn: sqlite3.Connection) -> int | None:
    """Epoch seconds of the last successful poll (flushed or still buffered)."""
    logged = conn.execute(
        "SELECT ms FROM attempts WHERE ok = 1 ORDER BY ms DESC LIMIT 1"
    ).fetchone()
    (buffered,) = conn.execute("SELECT max(polled_ms) FROM buffer").fetchone()
    candidates = [v for v in (logged[0] if logged else None, buffered) if v is not None]
    return max(candidates) // 1000 if candidates else None


def attempts_since(conn: sqlite3.Connection, since: float) -> list[Attempt]:
    """Every poll attempt since ``since`` (epoch s), in time order, buffered ones included."""
    lo = int(since * 1000)
    logged = conn.execute(
        "SELECT ms, ok, attempts, duration_ms, error FROM attempts WHERE ms >= ?", (lo,)
    ).fetchall()
    buffered = conn.execute(
        "SELECT polled_ms, 1, attempts, duration_ms, NULL FROM buffer WHERE polled_ms >= ?",
        (lo,),
    ).fetchall()
    return [
        Attempt(ms // 1000, bool(ok), n, d, err) for ms, ok, n, d, err in sorted(logged + buffered)
    ]
