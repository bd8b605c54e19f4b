"""``counts()`` by index look-ups: the cached total kept by schema 5's ``chunk_total`` triggers.

Real SQLite files, the simulator's samples; the kept total is compared with a scan of the chunk
table after every kind of write to it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from luxlog import store as store_mod
from luxlog.codec import encode_chunk
from luxlog.store import BUCKET_SEC, SCHEMA_VERSION, Store
from luxlog.store.cache import scanned_total
from support.fill import fill, model_rows

BASE = 1_700_000_000 // BUCKET_SEC * BUCKET_SEC  # an hour boundary


def kept_total(s: Store) -> int:
    return int(s.conn.execute("SELECT n FROM chunk_total WHERE id = 0").fetchone()[0])


def assert_consistent(s: Store, expected: int) -> None:
    assert kept_total(s) == scanned_total(s.conn) == expected
    c = s.counts()
    assert c.cached == expected
    bounds = s.conn.execute("SELECT min(first_slot), max(last_slot) FROM chunk").fetchone()
    assert (c.first_slot, c.last_cached_slot) == bounds


def test_the_kept_total_equals_the_scanned_one_after_flushes_merges_and_prunes(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "t.db", interval=30) as s:
        assert_consistent(s, 0)
        fill(s, BASE, n=90)  # journal records: 45 min of the first hour
        s.flush()
        assert_consistent(s, 90)
        # A re-flush into the existing hour (journal), then a bulk load into it and the next.
        fill(s, BASE + 90 * 30, n=20)
        s.flush()
        assert_consistent(s, 110)
        fill(s, BASE + 110 * 30, n=100, flush=True)
        assert_consistent(s, 210)
        # Samples the cache already holds: neither counted twice nor lost.
        s.add_rows(model_rows(BASE, n=50))
        s.flush()
        assert_consistent(s, 210)
        # A prune splitting the first hour, then one taking whole hours.
        assert s.prune(BASE + 10 * 30).samples == 10
        assert_consistent(s, 200)
        assert s.prune(BASE + BUCKET_SEC).samples == 110
        assert_consistent(s, 90)
        assert s.prune(BASE + 10 * BUCKET_SEC).samples == 90
        assert_consistent(s, 0)
        assert s.counts().first_slot is None


def schema_4_database(path: Path, hours: int) -> int:
    """A database as luxlog at schema 4 left it: its migrations, chunks, no ``chunk_total``."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for migration in store_mod.MIGRATIONS[:4]:
        migration(conn)
    conn.execute("PRAGMA user_version=4")
    total = 0
    for h in range(hours):
        bucket = BASE + h * BUCKET_SEC
        rows = model_rows(bucket, n=10 + h, step=60)
        conn.execute(
            "INSERT INTO chunk(bucket, n, first_slot, last_slot, data) VALUES (?, ?, ?, ?, ?)",
            (bucket, len(rows), rows[0].slot, rows[-1].slot, encode_chunk(bucket, rows)),
        )
        total += len(rows)
    conn.execute("COMMIT")
    conn.close()
    return total


def test_an_upgrade_from_schema_4_fills_the_total_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    total = schema_4_database(path, hours=5)
    # Read-only before the upgrade (nothing may be written): counted the old way.
    with Store(path, readonly=True) as ro:
        assert ro.counts().schema_version == 4
        assert ro.counts().cached == total
    with Store(path, interval=60) as s:
        assert s.counts().schema_version == SCHEMA_VERSION == 5
        assert_consistent(s, total)
        fill(s, BASE + 5 * BUCKET_SEC, n=7, flush=True)
        assert_consistent(s, total + 7)


def vm_steps(s: Store) -> int:
    """SQLite virtual-machine steps ``counts()`` takes: a deterministic measure of its work."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    s.conn.set_progress_handler(tick, 1)
    try:
        s.counts()
    finally:
        s.conn.set_progress_handler(None, 1)
    return steps


def test_counts_does_the_same_work_on_3_chunks_as_on_400(tmp_path: Path) -> None:
    with Store(tmp_path / "small.db") as small, Store(tmp_path / "large.db") as large:
        for s, hours in ((small, 3), (large, 400)):
            row = model_rows(BASE, n=1)[0]
            with s.transaction() as conn:
                conn.executemany(
                    "INSERT INTO chunk(bucket, n, first_slot, last_slot, data) "
                    "VALUES (?, 1, ?, ?, ?)",
                    [
                        (b, b, b, encode_chunk(b, [row.with_slot(b)]))
                        for b in range(BASE, BASE + hours * BUCKET_SEC, BUCKET_SEC)
                    ],
                )
            assert_consistent(s, hours)
        assert vm_steps(small) == vm_steps(large) > 0
