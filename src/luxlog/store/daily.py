"""The per-day summary table: one row per local day and time zone (``summary.day``'s figures).

Derived data. A row records what it was computed from: the number of cached samples in the
day's padded window and the newest of their slots (its *fingerprint*, read from the chunk
index without decoding anything) and the computation's version. A reader re-derives a day when
samples were added (a late flush, an import) or the computation changed, and keeps the row when
samples only went away (``prune``): that is how month and year figures outlive
``db_retention_days``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# `json` and `typing` stay off the poll path (which imports the store package): lazy here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Fingerprint:
    samples: int
    last_slot: int | None


@dataclass(frozen=True)
class DailyRow:
    day: str
    version: int
    fingerprint: Fingerprint
    figures: dict[str, Any]


def fingerprint(conn: sqlite3.Connection, lo: int, hi: int) -> Fingerprint:
    """Cached samples in the chunks overlapping ``[lo, hi)`` (whole hours: a change detector)."""
    n, last = conn.execute(
        "SELECT coalesce(sum(n), 0), max(last_slot) FROM chunk WHERE bucket >= ? AND bucket < ?",
        (lo - lo % 3600, hi),
    ).fetchone()
    return Fingerprint(int(n), last)


def get(conn: sqlite3.Connection, tz: str, day: str) -> DailyRow | None:
    try:
        row = conn.execute(
            "SELECT version, samples, last_slot, figures FROM daily WHERE tz = ? AND day = ?",
            (tz, day),
        ).fetchone()
    except sqlite3.OperationalError:  # a read-only open of a database not yet migrated
        return None
    if row is None:
        return None
    import json

    return DailyRow(day, row[0], Fingerprint(row[1], row[2]), json.loads(row[3]))


def put(
    conn: sqlite3.Connection,
    tz: str,
    day: str,
    span: tuple[int, int],
    version: int,
    fp: Fingerprint,
    figures: dict[str, Any],
) -> None:
    import json

    conn.execute(
        'INSERT OR REPLACE INTO daily(tz, day, start, "end", version, samples, last_slot, figures)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (tz, day, span[0], span[1], version, fp.samples, fp.last_slot,
         json.dumps(figures, separators=(",", ":"))),
    )  # fmt: skip


def days(conn: sqlite3.Connection, tz: str) -> list[str]:
    """The days stored for ``tz``, oldest first."""
    return [d for (d,) in conn.execute("SELECT day FROM daily WHERE tz = ? ORDER BY day", (tz,))]


def latest(conn: sqlite3.Connection, tz: str) -> str | None:
    row = conn.execute("SELECT max(day) FROM daily WHERE tz = ?", (tz,)).fetchone()
    return row[0] if row else None


def zones(conn: sqlite3.Connection) -> list[str]:
    """The time zones the table holds days for."""
    return [z for (z,) in conn.execute("SELECT DISTINCT tz FROM daily")]


def cached_span(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """(first, last) cached slot by primary-key order: two index probes, where ``counts()``
    scans every chunk (milliseconds on a year, on every flush)."""
    first = conn.execute("SELECT first_slot FROM chunk ORDER BY bucket LIMIT 1").fetchone()
    last = conn.execute("SELECT last_slot FROM chunk ORDER BY bucket DESC LIMIT 1").fetchone()
    return None if first is None or last is None else (first[0], last[0])
