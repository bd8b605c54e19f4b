"""The poll journal: one self-checking block per poll, serialised appends, upgrades, damage.

Real files in ``tmp_path``; concurrent writers are real processes (forks).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from luxlog.sample import Sample
from luxlog.simulator import Model, Simulator
from luxlog.store import Attempt, Store, journal
from luxlog.store import buffer as buffer_mod

T0 = 1_764_144_000
JPATH = journal.journal_path


def row(slot: int, v: int = 0) -> Sample:
    return Sample(slot, 0, (1, 2, v), (454 + v, -40), (1,))


def test_a_record_is_one_block_and_a_large_one_starts_on_a_block_boundary(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    small = journal.sample_record(Model().raw_sample(T0), T0 * 1000, 1, 80)
    big = journal.Record(journal.ATTEMPT, 0, T0 * 1000, 2, 90, False, os.urandom(5000))
    assert len(small.encode()) == journal.BLOCK  # a real poll packs into one block
    journal.append(path, small)
    journal.append(path, big)
    journal.append(path, journal.attempt_record(T0 * 1000 + 5, False, 1, 10, "refused"))
    found = journal.read(path)
    assert [r.block for r in found.records] == [0, 1, 3]
    assert found.records[1].blob == big.blob and found.records[2].error == "refused"
    assert found.records[0].sample() == Model().raw_sample(T0)
    # preallocated ahead: the next polls need no allocation and no size change
    assert os.stat(path).st_size == journal.PREALLOC_BLOCKS * journal.BLOCK


def test_a_slot_already_journaled_keeps_its_first_sample_and_records_the_attempt(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.db"
    with Store(db) as s:
        assert s.add_row(row(T0, 1), (1, 0.1), now=T0 + 1) is True
        assert s.add_row(row(T0, 2), (3, 0.2), now=T0 + 2) is False
        assert list(s.iter_rows(0, 2**31)) == [row(T0, 1)]
        assert [(a.at, a.ok, a.attempts) for a in s.attempts_since(0)] == [
            (T0 + 1, True, 1),
            (T0 + 2, True, 3),
        ]
        s.flush()
        # the journal is reset but remembers the newest slot it moved: still a duplicate
        assert s.add_row(row(T0, 3), (1, 0.1), now=T0 + 3) is False
        assert journal.append(JPATH(db), journal.sample_record(row(T0, 4), T0, 1, 1)) is False
        assert s.flush().duplicates == 0
        assert list(s.iter_rows(0, 2**31)) == [row(T0, 1)]
        assert len(s.attempts_since(0)) == 4


def test_concurrent_polls_serialise_on_the_lock_and_every_record_is_intact(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "j")
    children = []
    for c in range(4):
        pid = os.fork()
        if pid == 0:
            try:
                for k in range(25):
                    slot = T0 + 30 * (c * 100 + k)
                    journal.append(path, journal.sample_record(row(slot, c), slot * 1000, 1, 1))
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    found = journal.read(path)
    assert not found.damage
    assert len(found.slots()) == 100 and [r.block for r in found.records] == list(range(100))


def test_a_damaged_record_in_the_middle_is_skipped_with_an_error_naming_its_position(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "x.db"
    rows = [row(T0 + 30 * k, k) for k in range(4)]
    for r in rows:
        journal.append(JPATH(db), journal.sample_record(r, r.slot * 1000, 1, 1))
    with open(JPATH(db), "r+b") as f:
        f.seek(journal.BLOCK + journal.HEADER_BYTES + 2)  # inside the payload (~30 bytes)
        f.write(b"\xff\xff")
    caplog.set_level(logging.ERROR, logger="luxlog")
    with Store(db) as s:
        assert list(s.iter_rows(0, 2**31)) == [rows[0], *rows[2:]]
        assert s.counts().buffered == 3
    assert (
        f"poll journal {JPATH(db)}: block 1 (byte 4096) is damaged (bad CRC); skipped"
        in caplog.text
    )


def test_a_flush_with_nothing_to_move_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Store(db) as s:
        s.add_row(row(T0), (1, 0.1), now=T0)
        s.flush()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.glob("x.db*")}
    with Store(db) as s:
        assert s.flush().moved == 0
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.glob("x.db*")}
    assert after == before


def test_a_failed_poll_reaches_the_attempt_log_without_any_sqlite_write(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store(db).close()
    files = {p: p.read_bytes() for p in tmp_path.glob("x.db*")}
    with Store(db) as s:
        s.record_failure(4, 7.0, "127.0.0.1:1: connection refused", now=T0 + 0.5)
    assert {p: p.read_bytes() for p in files} == files
    with Store(db) as s:
        expected = [Attempt(T0, False, 4, 7000, "127.0.0.1:1: connection refused")]
        assert s.attempts_since(0) == expected
        s.flush()
        assert s.attempts_since(0) == expected
        assert s.conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1


def test_a_database_made_by_the_previous_luxlog_keeps_its_buffer_through_the_upgrade(
    tmp_path: Path,
) -> None:
    """The previous luxlog buffered polls in the SQLite ``buffer`` table, as keyframes and
    deltas with their attempt in the row (``buffer.insert``, unchanged, is that code: used here
    the way its ``add_row`` used it, one transaction per poll), and failures in ``attempts``."""
    db = tmp_path / "old.db"
    model = Model()
    old = [model.raw_sample(T0 + 30 * k) for k in range(12)]
    with Store(db) as s:
        for r in old:
            with s.transaction() as conn:
                buffer_mod.insert(conn, r, (r.slot * 1000 + 100, 1, 80), delta=True)
        with s.transaction() as conn:
            conn.execute(
                "INSERT INTO attempts(ms, ok, attempts, duration_ms, error) "
                "VALUES (?, 0, 4, 7000, 'refused')",
                ((T0 + 400) * 1000,),
            )
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM buffer WHERE base IS NOT NULL").fetchone()[0] > 0
    conn.close()
    new = [model.raw_sample(T0 + 30 * k) for k in range(14, 17)]
    with Store(db) as s:  # this luxlog: polls go to the journal now
        for r in new:
            assert s.add_row(r, (1, 0.05), now=r.slot)
        assert list(s.iter_rows(0, 2**31)) == old + new  # nothing waits for a flush
        assert s.counts().buffered == 15
        result = s.flush()
        assert (result.moved, result.remaining, result.duplicates) == (15, 0, 0)
        assert list(s.iter_rows(0, 2**31)) == old + new
        assert s.conn.execute("SELECT count(*) FROM buffer").fetchone()[0] == 0
        attempts = s.attempts_since(0)
    assert len(attempts) == 16 and [a.ok for a in attempts].count(False) == 1


def test_a_poll_on_a_full_disk_still_lands_in_the_preallocated_journal(
    tmp_path: Path, sim: Simulator, write_config: Callable[..., Path]
) -> None:
    from support.fill import fill
    from support.loopfs import fill as fill_fs
    from support.loopfs import loop_fs

    with loop_fs(tmp_path) as mnt:
        db = mnt / "luxlog.db"
        config = write_config(host="127.0.0.1", port=sim.port, cache_path=str(db))
        with Store(db) as s:
            fill(s, T0, n=40)  # in the journal, preallocated beyond them
        filler = fill_fs(mnt, leave_kib=0)
        env = {**os.environ, "LUXLOG_CONFIG": str(config)}
        done = subprocess.run(
            [sys.executable, "-m", "luxlog", "poll", "--once"],
            capture_output=True, text=True, timeout=8, check=False, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("stored sample") and "Traceback" not in done.stderr
        filler.unlink()
        with Store(db) as s:
            assert s.flush().moved == 41


def test_doctor_before_the_first_flush_warns_and_sees_the_polls_in_the_journal(
    write_config: Callable[..., Path], sim: Simulator
) -> None:
    import time

    from luxlog.config import load_config
    from luxlog.doctor import FAIL, WARN, run_checks

    cfg = load_config(write_config(host="127.0.0.1", port=sim.port))
    now = time.time()
    row = Model().raw_sample(int(now) // 30 * 30)
    journal.append(JPATH(cfg.cache_path), journal.sample_record(row, int(now * 1000), 1, 50))
    checks = {c.name: c for c in run_checks(cfg, now, quick=True).checks}
    assert not cfg.cache_path.exists()  # doctor created nothing
    assert checks["database"].status == WARN
    assert "first 'luxlog flush' creates it" in checks["database"].detail
    assert checks["last poll"].status != FAIL and checks["buffer"].detail.startswith("1 sample")
