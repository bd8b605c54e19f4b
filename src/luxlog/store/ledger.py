"""The ledger of reports written: kind, date, paths, rows, expected slots, sha256.

``report`` consults it to write each due window once (and to catch up missed ones).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReportRecord:
    """One report written (``paths`` one per line; no rows: the window had no data)."""

    kind: str
    date: str
    paths: str
    rows: int
    expected: int
    sha256: str
    written_at: int


def record_report(
    conn: sqlite3.Connection,
    kind: str,
    date: str,
    paths: Sequence[str],
    rows: int,
    expected: int,
    sha256: str,
) -> None:
    conn.execute(
        "INSERT INTO reports(kind, date, paths, rows, expected, sha256, written_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, date) DO UPDATE SET "
        "paths=excluded.paths, rows=excluded.rows, expected=excluded.expected, "
        "sha256=excluded.sha256, written_at=excluded.written_at",
        (kind, date, "\n".join(paths), rows, expected, sha256, int(time.time())),
    )


def reports(conn: sqlite3.Connection, kind: str | None = None) -> list[ReportRecord]:
    """The reports written (of one ``kind``, or all), by date."""
    sql = "SELECT kind, date, paths, rows, expected, sha256, written_at FROM reports"
    args: tuple[str, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        args = (kind,)
    return [ReportRecord(*r) for r in conn.execute(sql + " ORDER BY date", args)]
