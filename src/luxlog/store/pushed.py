"""What ``luxlog push`` has delivered: one mark per cache chunk and push target.

``push_marks(target, bucket, n, upto)``: the chunk ``bucket``'s samples up to slot ``upto``,
``n`` of them, are committed centrally. A mark is written only after the central commit
(``push.run``), so a kill in between re-sends a batch the server deduplicates.

A chunk is pending when it has no mark, when it holds slots after ``upto`` (flush appended the
newest polls: only those are sent), or when its count differs from ``n`` with nothing after
``upto`` (an ``import`` added older slots). Chunks only ever gain samples by merging (the first
sample of a slot wins; prune ``forget``s the marks of the chunks it cuts), so when the chunk
still holds exactly ``n`` slots up to ``upto``, those are the ones sent; otherwise older
samples arrived and the whole chunk is sent again, the server skipping what it holds.

The table is created by the first push (``ensure``), not by a numbered migration: a database
that never pushes has no trace of it, and readers (``prune``, ``doctor``) treat a missing table
as "nothing pushed yet". ``target`` names the site and the central database (never the
password), so pointing ``push_url`` at a new server sends everything there again.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from luxlog.codec import chunk_slots

_CREATE = (
    "CREATE TABLE IF NOT EXISTS push_marks (target TEXT NOT NULL, bucket INTEGER NOT NULL, "
    "n INTEGER NOT NULL, upto INTEGER NOT NULL, PRIMARY KEY (target, bucket)) WITHOUT ROWID",
    # when a push to the target last completed (epoch s), for doctor
    "CREATE TABLE IF NOT EXISTS push_runs (target TEXT PRIMARY KEY, at INTEGER NOT NULL)",
)


@dataclass(frozen=True)
class Pending:
    """A chunk with samples to send, and its mark (``None``, ``None``: never pushed)."""

    bucket: int
    marked: int | None
    upto: int | None

    def start(self, slots: list[int]) -> int:
        """The index in the chunk's sorted ``slots`` from which samples are unsent."""
        if self.upto is None:
            return 0
        k = bisect.bisect_right(slots, self.upto)
        return k if k == self.marked else 0  # older slots arrived: all of it again


@dataclass(frozen=True)
class Backlog:
    samples: int
    oldest: int | None  # the oldest unpushed sample's slot


def ensure(conn: sqlite3.Connection) -> None:
    for statement in _CREATE:
        conn.execute(statement)


def record_run(conn: sqlite3.Connection, target: str, at: float) -> None:
    ensure(conn)
    conn.execute(
        "INSERT INTO push_runs(target, at) VALUES (?, ?) "
        "ON CONFLICT(target) DO UPDATE SET at = excluded.at",
        (target, int(at)),
    )


def last_run(conn: sqlite3.Connection, target: str) -> int | None:
    if not _exists(conn):
        return None
    row = conn.execute("SELECT at FROM push_runs WHERE target = ?", (target,)).fetchone()
    return None if row is None else int(row[0])


def _exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'push_marks'"
    ).fetchone()
    return row is not None


def pending(conn: sqlite3.Connection, target: str, limit: int | None = None) -> list[Pending]:
    """Chunks not (fully) pushed to ``target``, oldest first (at most ``limit``)."""
    suffix = "" if limit is None else f" LIMIT {int(limit)}"
    if not _exists(conn):
        rows = conn.execute(f"SELECT bucket, NULL, NULL FROM chunk ORDER BY bucket{suffix}")
    else:
        rows = conn.execute(
            "SELECT c.bucket, p.n, p.upto FROM chunk c LEFT JOIN push_marks p "
            "ON p.target = ? AND p.bucket = c.bucket "
            f"WHERE p.n IS NULL OR p.n != c.n OR p.upto < c.last_slot ORDER BY c.bucket{suffix}",
            (target,),
        )
    return [Pending(b, marked, upto) for b, marked, upto in rows]


def mark(conn: sqlite3.Connection, target: str, marks: Iterable[tuple[int, int, int]]) -> None:
    """Record (bucket, n, upto): the chunk's ``n`` samples up to ``upto`` are committed
    centrally (call only after the central commit)."""
    ensure(conn)
    conn.executemany(
        "INSERT INTO push_marks(target, bucket, n, upto) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(target, bucket) DO UPDATE SET n = excluded.n, upto = excluded.upto",
        [(target, b, n, upto) for b, n, upto in marks],
    )


def forget(conn: sqlite3.Connection, buckets: Iterable[int]) -> None:
    """Drop every target's marks of chunks prune deleted or cut (their count changes)."""
    if _exists(conn):
        conn.executemany("DELETE FROM push_marks WHERE bucket = ?", [(b,) for b in buckets])


def first_unpushed(conn: sqlite3.Connection, target: str) -> int | None:
    """The start of the oldest chunk holding samples not pushed to ``target`` (None: all
    pushed): prune keeps everything from there on."""
    first = pending(conn, target, limit=1)
    return first[0].bucket if first else None


def backlog(conn: sqlite3.Connection, target: str) -> Backlog:
    """Cached samples not yet pushed to ``target`` and the oldest of them (for ``doctor``)."""
    total, oldest = 0, None
    for p in pending(conn, target):
        (blob,) = conn.execute("SELECT data FROM chunk WHERE bucket = ?", (p.bucket,)).fetchone()
        slots = chunk_slots(p.bucket, blob)
        unsent = slots[p.start(slots) :]
        total += len(unsent)
        if oldest is None and unsent:
            oldest = unsent[0]
    return Backlog(total, oldest)
