"""Numbered schema migrations, run on open (as simonw/llm's ``migrations.py``).

``MIGRATIONS[i]`` upgrades ``PRAGMA user_version`` i to i + 1. Append, never edit: any command
can start on any database version, and a database newer than this luxlog is refused.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from luxlog.errors import StoreError

log = logging.getLogger("luxlog.store")


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration transaction.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _m1_initial(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE buffer (
            slot INTEGER PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE chunk (
            bucket INTEGER PRIMARY KEY,
            n INTEGER NOT NULL,
            first_slot INTEGER NOT NULL,
            last_slot INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            error TEXT
        );
        CREATE INDEX attempts_ts ON attempts(ts);
        CREATE TABLE reports (
            kind TEXT NOT NULL,
            date TEXT NOT NULL,
            paths TEXT NOT NULL,
            rows INTEGER NOT NULL,
            expected INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            written_at INTEGER NOT NULL,
            PRIMARY KEY (kind, date)
        ) WITHOUT ROWID;
        """,
    )


def _m2_one_page_polls(conn: sqlite3.Connection) -> None:
    # A poll should touch one page: its successful attempt now rides in its buffer row (flush
    # files it in the attempts table), and attempts are keyed by time in milliseconds so no
    # separate time index has to be updated. Measured: 3 WAL frames per poll -> 1.
    _script(
        conn,
        """
        ALTER TABLE buffer ADD COLUMN polled_ms INTEGER;
        ALTER TABLE buffer ADD COLUMN attempts INTEGER;
        ALTER TABLE buffer ADD COLUMN duration_ms INTEGER;
        CREATE TABLE attempts_by_time (
            ms INTEGER PRIMARY KEY,
            ok INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            error TEXT
        );
        INSERT INTO attempts_by_time(ms, ok, attempts, duration_ms, error)
            SELECT ts * 1000 + id % 1000, ok, attempts, duration_ms, error FROM attempts;
        DROP TABLE attempts;
        ALTER TABLE attempts_by_time RENAME TO attempts
        """,
    )


def _m3_buffer_keyframes(conn: sqlite3.Connection) -> None:
    # A buffered sample may be stored as the difference to an earlier full sample of the
    # buffer (its keyframe, ``base``): ~100 bytes instead of ~800, so the buffer grows by a
    # page (three extra WAL frames) every ~30 polls instead of every 5. Rows without ``base``
    # are full samples, as before.
    conn.execute("ALTER TABLE buffer ADD COLUMN base INTEGER")


def _m4_daily(conn: sqlite3.Connection) -> None:
    # The per-day summary table (store/daily.py): derived data, re-derived from the samples
    # when they change, kept when the samples are pruned (month and year figures outlive
    # db_retention_days). Keyed by time zone too: a "day" is a local day.
    _script(
        conn,
        """
        CREATE TABLE daily (
            tz TEXT NOT NULL,
            day TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            version INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            last_slot INTEGER,
            figures TEXT NOT NULL,
            PRIMARY KEY (tz, day)
        ) WITHOUT ROWID
        """,
    )


# Numbered migrations: index i upgrades user_version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m1_initial,
    _m2_one_page_polls,
    _m3_buffer_keyframes,
    _m4_daily,
]
SCHEMA_VERSION = len(MIGRATIONS)


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"database {path} has schema version {version}, newer than this luxlog "
            f"supports ({SCHEMA_VERSION}); upgrade luxlog or point cache_path elsewhere"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = check_version(conn, path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, SCHEMA_VERSION):
            MIGRATIONS[number](conn)
            if str(path) != ":memory:":  # the empty stand-in for readers before a first flush
                log.info("database %s migrated to schema version %d", path, number + 1)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        # SQLite has already rolled back after some errors (SQLITE_FULL): a second
        # ROLLBACK would fail and hide the cause ("cannot rollback - no transaction").
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
