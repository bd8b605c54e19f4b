"""The store: lossless round trips, input errors, indexed reads, pruning and migrations.

Everything runs against real SQLite files; hypothesis generates the sample streams.
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luxlog import store as store_mod
from luxlog.codec import chunk_slots, decode_chunk, encode_chunk, pack_row
from luxlog.decode import fields_by_name
from luxlog.disk import disk_full_error
from luxlog.errors import DiskFullError, MissingDatabaseError, StoreError
from luxlog.sample import Sample
from luxlog.simulator import Model
from luxlog.store import BUCKET_SEC, SCHEMA_VERSION, Attempt, Store, journal
from luxlog.store import buffer as buffer_mod
from support.fill import fill
from support.helpers import stored_slot_counts
from support.requires import skip_or_fail

UTC = dt.UTC
BASE = 1_700_000_000 // BUCKET_SEC * BUCKET_SEC  # an hour boundary, 2023-11-14T22:00Z
INT32 = st.integers(-(2**31), 2**31 - 1)
HYPO = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@contextmanager
def fresh_store(**kwargs: object) -> Iterator[Store]:
    """A store in its own temporary directory (hypothesis runs many examples per test)."""
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "t.db", **kwargs) as s:  # type: ignore[arg-type]
        s.conn.execute("PRAGMA synchronous=OFF")  # examples check logic, not durability: no fsyncs
        s.journal_sync = False
        yield s


def legacy_buffer(
    store: Store, rows: list[Sample], attempt: tuple[int, float] | None = None
) -> None:
    """Buffer ``rows`` as luxlog did before the journal: today's ``buffer.insert`` (keyframes
    and deltas, the attempt in the row), one transaction per poll, as its ``add_row`` did."""
    for row in rows:
        polled = (row.slot * 1000, attempt[0], round(attempt[1] * 1000)) if attempt else None
        with store.transaction() as conn:
            buffer_mod.insert(conn, row, polled or (None, None, None), delta=True)


# ----------------------------------------------------------------------------- strategies


def _values(draw: st.DrawFn, n: int, prev: tuple[int, ...] | None, bits: int) -> tuple[int, ...]:
    """A block of n values: unchanged, a few changed (small steps, counter resets) or fresh."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    elements = st.integers(lo, hi)
    if prev is None or len(prev) != n:
        return tuple(draw(st.lists(elements, min_size=n, max_size=n)))
    mode = draw(st.sampled_from(["same", "steps", "fresh"]))
    if mode == "same":
        return prev
    if mode == "fresh":
        return tuple(draw(st.lists(elements, min_size=n, max_size=n)))
    out = list(prev)
    for i in draw(st.lists(st.integers(0, n - 1), max_size=n)) if n else []:
        kind = draw(st.sampled_from(["step", "reset", "any"]))
        if kind == "reset":
            out[i] = 0  # a counter that wrapped or was reset
        elif kind == "step":
            out[i] = max(lo, min(hi, out[i] + draw(st.integers(-20, 20))))
        else:
            out[i] = draw(elements)
    return tuple(out)


@st.composite
def row_streams(draw: st.DrawFn, max_rows: int = 30, spread: int = 400) -> list[Sample]:
    """Samples in arrival order: out of order, duplicate slots, block lengths changing."""
    rows: list[Sample] = []
    lengths = (draw(st.integers(0, 6)), draw(st.integers(0, 8)), draw(st.integers(0, 4)))
    prev: Sample | None = None
    for _ in range(draw(st.integers(0, max_rows))):
        if draw(st.integers(0, 9)) == 0:  # a firmware update changes the block lengths
            lengths = (draw(st.integers(0, 6)), draw(st.integers(0, 8)), draw(st.integers(0, 4)))
        slot = BASE + 30 * draw(st.integers(0, spread))
        row = Sample(
            slot,
            draw(INT32),
            _values(draw, lengths[0], prev.parameters if prev else None, 32),
            _values(draw, lengths[1], prev.calculations if prev else None, 32),
            _values(draw, lengths[2], prev.visibilities if prev else None, 8),
        )
        rows.append(row)
        prev = row
    return rows


def first_wins(rows: list[Sample]) -> list[Sample]:
    kept: dict[int, Sample] = {}
    for row in rows:
        kept.setdefault(row.slot, row)
    return [kept[s] for s in sorted(kept)]


# ------------------------------------------------------------------------------ round trip


@HYPO
@given(rows=row_streams(spread=200))
def test_codec_decodes_exactly_what_it_encoded(rows: list[Sample]) -> None:
    unique = first_wins(rows)
    for bucket in sorted({r.slot // BUCKET_SEC * BUCKET_SEC for r in unique}):
        in_bucket = [r for r in unique if r.slot // BUCKET_SEC * BUCKET_SEC == bucket]
        blob = encode_chunk(bucket, in_bucket)
        assert list(decode_chunk(bucket, blob)) == in_bucket
        assert chunk_slots(bucket, blob) == [r.slot for r in in_bucket]


def test_codec_round_trips_extreme_values_and_a_firmware_change() -> None:
    lo, hi = -(2**31), 2**31 - 1
    rows = [
        Sample(BASE, 0, (lo, hi), (hi, lo, 0), (-128, 127)),
        Sample(BASE + 30, -1, (hi, lo), (lo, hi, 0), (127, -128)),  # deltas of ±(2**32 - 1)
        Sample(BASE + 60, 7, (1,), (1, 2, 3, 4), ()),  # new block lengths
        Sample(BASE + 3570, 7, (1,), (1, 2, 3, 4), ()),  # unchanged, last slot of the hour
    ]
    assert list(decode_chunk(BASE, encode_chunk(BASE, rows))) == rows


@HYPO
@given(
    rows=row_streams(),
    flush_after=st.sets(st.integers(0, 30), max_size=5),
    batch=st.sampled_from([1, 3, 720]),
)
def test_samples_come_back_exactly_before_and_after_flushes_in_small_batches(
    rows: list[Sample], flush_after: set[int], batch: int
) -> None:
    """Out of order, duplicates (also of flushed slots): the first sample of a slot wins."""
    with fresh_store() as s:
        for i, row in enumerate(rows):
            s.add_row(row)
            if i in flush_after:
                s.flush(batch=batch)
        expected = first_wins(rows)
        assert list(s.iter_rows(BASE, BASE + 10 * BUCKET_SEC)) == expected
        result = s.flush(batch=3)
        assert result.remaining == 0
        assert list(s.iter_rows(BASE, BASE + 10 * BUCKET_SEC)) == expected
        assert all(n == 1 for n in stored_slot_counts(s.path).values())
        # A sub-range starting and ending mid-chunk returns exactly its slots.
        lo, hi = BASE + 1800, BASE + 2 * BUCKET_SEC + 900
        assert list(s.iter_rows(lo, hi)) == [r for r in expected if lo <= r.slot < hi]


NUMERIC = sorted(fields_by_name().values(), key=lambda f: f.index)


@st.composite
def named_samples(draw: st.DrawFn) -> list[tuple[int, dict[str, float]]]:
    out = []
    for _ in range(draw(st.integers(1, 12))):
        slot = BASE + 30 * draw(st.integers(0, 250))
        chosen = draw(
            st.lists(st.sampled_from(NUMERIC), min_size=1, max_size=8, unique_by=lambda f: f.index)
        )
        # Values built from raw integers, so they are exactly on each sensor's grid.
        values = {f.name: f.value(draw(st.integers(-30_000, 2**31 - 1))) for f in chosen}
        out.append((slot, values))
    return out


@HYPO
@given(samples=named_samples(), flush_first=st.integers(0, 12))
def test_named_values_come_back_exactly_through_add_and_query(
    samples: list[tuple[int, dict[str, float]]], flush_first: int
) -> None:
    with fresh_store() as s:
        for i, (slot, values) in enumerate(samples):
            offset = (i * 7) % 30  # any instant inside the slot keys the same slot
            s.add(dt.datetime.fromtimestamp(slot + offset, UTC), values)
            if i == flush_first:
                s.flush(batch=3)
        expected: dict[int, dict[str, float]] = {}
        for slot, values in samples:
            expected.setdefault(slot, values)
        want = [(dt.datetime.fromtimestamp(t, UTC), expected[t]) for t in sorted(expected)]
        start, end = (
            dt.datetime.fromtimestamp(BASE, UTC),
            dt.datetime.fromtimestamp(BASE + 5 * BUCKET_SEC, UTC),
        )
        assert s.query(start, end) == want
        s.flush(batch=3)
        assert s.query(start, end) == want


def test_add_accepts_epoch_seconds_and_keys_the_sample_by_its_slot(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db", interval=30) as s:
        assert s.add(BASE + 29.9, {"ID_WEB_Temperatur_TVL": 45.4}) is True
        assert s.add(BASE + 5, {"ID_WEB_Temperatur_TVL": 50.0}) is False  # same slot
        got = s.query(BASE, BASE + 30)
    assert got == [(dt.datetime.fromtimestamp(BASE, UTC), {"ID_WEB_Temperatur_TVL": 45.4})]


# ----------------------------------------------------------------------------------- errors


def test_add_with_an_unknown_sensor_name_raises_store_error_naming_it(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s, pytest.raises(StoreError, match="ID_WEB_NoSuchSensor"):
        s.add(dt.datetime(2024, 1, 1, tzinfo=UTC), {"ID_WEB_NoSuchSensor": 1.0})


def test_add_with_a_value_off_the_sensor_grid_raises_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        with pytest.raises(StoreError, match=r"ID_WEB_Temperatur_TVL.*45\.43"):
            s.add(dt.datetime(2024, 1, 1, tzinfo=UTC), {"ID_WEB_Temperatur_TVL": 45.43})
        assert s.counts().buffered == 0  # nothing half-stored


def test_add_with_a_naive_datetime_raises_value_error(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s, pytest.raises(ValueError, match="naive"):
        s.add(dt.datetime(2024, 1, 1), {"ID_WEB_Temperatur_TVL": 45.4})


@pytest.mark.parametrize("which", ["start", "end"])
def test_query_with_a_naive_datetime_is_rejected(tmp_path: Path, which: str) -> None:
    aware = dt.datetime(2024, 1, 1, tzinfo=UTC)
    naive = dt.datetime(2024, 1, 2)
    args = (naive, aware) if which == "start" else (aware, naive)
    with Store(tmp_path / "t.db") as s, pytest.raises(ValueError, match=which):
        s.query(*args)


# ------------------------------------------------------------------------- indexed reads


def test_a_query_for_one_day_reads_only_that_days_chunks_by_primary_key(tmp_path: Path) -> None:
    days = 10
    with Store(tmp_path / "t.db") as s:
        s.conn.execute("PRAGMA synchronous=OFF")  # test set-up speed only
        s.journal_sync = False
        model = Model("v3.78")
        for day in range(days):
            for hour in range(24):
                t = BASE + day * 86400 + hour * 3600
                sample = model.raw_sample(t)
                s.add_row(sample)
                s.add_row(sample.with_slot(t + 30))
        s.flush()
        day_start, day_end = BASE + 4 * 86400, BASE + 5 * 86400
        # Poison every other day's chunk: decoding any of them would raise.
        s.conn.execute(
            "UPDATE chunk SET data = x'ff' WHERE bucket < ? OR bucket >= ?", (day_start, day_end)
        )
        statements: list[str] = []
        s.conn.set_trace_callback(statements.append)
        got = s.query(
            dt.datetime.fromtimestamp(day_start, UTC), dt.datetime.fromtimestamp(day_end, UTC)
        )
        s.conn.set_trace_callback(None)
        assert len(got) == 48
        selects = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
        assert selects, statements
        for sql in selects:
            plan = " | ".join(r[3] for r in s.conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SEARCH" in plan and "PRIMARY KEY" in plan, (sql, plan)
            assert "SCAN" not in plan, (sql, plan)


# ------------------------------------------------------------------------------- pruning


def test_prune_deletes_old_cache_data_including_a_partial_hour_but_never_the_buffer(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "t.db") as s:
        fill(s, BASE, BASE + 6 * 3600, flush=True)  # six hour-chunks
        # Unflushed samples older than the cut-off are not safe yet: prune leaves them.
        old = Sample(BASE - 86400, 0, (1,), (2,), (0,))
        s.add_row(old)
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_before = os.path.getsize(s.path)
        cut = BASE + 4 * 3600 + 1234  # mid-hour: the chunk at the boundary is split
        expected_deleted = len([t for t in range(BASE, cut, 30)])
        result = s.prune(dt.datetime.fromtimestamp(cut, UTC))
        assert result.samples == expected_deleted
        assert result.bytes_freed > 0
        assert os.path.getsize(s.path) < size_before
        remaining = s.slots(0, BASE + 7 * 3600)
        assert remaining[0] == old.slot
        assert remaining[1] == (cut // 30 + 1) * 30
        assert remaining[1:] == list(range((cut // 30 + 1) * 30, BASE + 6 * 3600, 30))
        assert list(s.iter_rows(old.slot, old.slot + 1)) == [old]
        again = s.prune(cut)
        assert again.samples == 0
        assert again.bytes_freed == 0
        assert s.quick_check() == "ok"


def test_prune_removes_whole_hours_before_the_boundary(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        fill(s, BASE, BASE + 3 * 3600, step=900, flush=True)
        result = s.prune(BASE + 3600)  # exactly an hour boundary: the first chunk goes
        assert result.samples == 4
        assert s.slots(0, BASE + 10 * 3600)[0] == BASE + 3600


# ---------------------------------------------------------------------------- migrations


def test_a_new_database_at_user_version_0_is_upgraded_to_the_current_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # an existing, empty file: user_version 0, no tables
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master")}
        assert {"buffer", "chunk", "attempts", "reports"} <= tables
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.add_row(Sample(BASE, 0, (), (1,), ())) is True
    with Store(path) as s:  # re-opening an up-to-date database runs nothing
        assert s.counts().buffered == 1


def test_a_database_from_a_newer_luxlog_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=r"schema version .*newer"):
        Store(path)
    with pytest.raises(StoreError, match=r"schema version .*newer"):
        Store(path, readonly=True)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1  # untouched
    conn.close()


def test_every_connection_uses_wal_full_sync_and_a_long_busy_timeout(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert s.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert len(store_mod.MIGRATIONS) == store_mod.SCHEMA_VERSION


def test_a_version_1_database_with_data_is_upgraded_without_losing_anything(
    tmp_path: Path,
) -> None:
    """Schema 1 kept successful attempts in ``attempts(ts)``; schema 2 keys them by ms and
    lets a successful attempt ride in its buffer row."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    store_mod.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version=1")
    conn.execute("COMMIT")

    row = Sample(1_764_144_000, 0, (1, 2), (454, -40), (1,))
    conn.execute("INSERT INTO buffer(slot, data) VALUES (?, ?)", (row.slot, pack_row(row)))
    conn.executemany(
        "INSERT INTO attempts(id, ts, ok, attempts, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?)",
        [(1, 1_764_144_001, 1, 1, 80, None), (2, 1_764_144_001, 0, 4, 7000, "refused")],
    )
    conn.close()
    with Store(path, interval=30) as store:
        assert store.counts().schema_version == SCHEMA_VERSION
        assert list(store.iter_rows(0, 2**31)) == [row]
        assert store.attempts_since(0) == [
            Attempt(1_764_144_001, True, 1, 80, None),
            Attempt(1_764_144_001, False, 4, 7000, "refused"),
        ]
        store.flush()
        assert list(store.iter_rows(0, 2**31)) == [row]


def test_a_poll_writes_one_journal_block_no_sqlite_and_flush_files_its_attempt(
    tmp_path: Path,
) -> None:
    model = Model()
    path = tmp_path / "x.db"
    t0 = 1_764_144_000
    with Store(path, interval=30) as store:
        store.add_rows([model.raw_sample(t0 + 30 * k)
                        for k in range(50)])  # fmt: skip
    files = {p: p.read_bytes() for p in tmp_path.glob("x.db*")}
    for k in range(50, 56):
        with Store(path, interval=30) as store:
            row = model.raw_sample(t0 + 30 * k)
            assert store.add_row(row, (2, 0.25), now=t0 + 30 * k + 0.1)
    assert {p: p.read_bytes() for p in files} == files  # no byte of SQLite's files changed
    found = journal.read(journal.journal_path(path))
    assert [r.block for r in found.records] == list(range(6))  # one block per poll
    assert found.end == 6 and not found.damage
    with Store(path, interval=30) as store:
        assert store.last_success() == t0 + 30 * 55
        assert [
            (a.at, a.ok, a.attempts, a.duration_ms) for a in store.attempts_since(t0 + 30 * 55)
        ] == [(t0 + 30 * 55, True, 2, 250)]
        assert store.flush().moved == 56
        assert store.counts().buffered == 0
        assert len(store.attempts_since(0)) == 6
        assert store.last_success() == t0 + 30 * 55
        assert list(store.iter_rows(t0, t0 + 30 * 56)) == [
            model.raw_sample(t0 + 30 * k) for k in range(56)
        ]


def test_polls_an_older_luxlog_buffered_against_keyframes_come_back_exactly(
    tmp_path: Path,
) -> None:
    model = Model()
    t0 = 1_764_144_000
    rows = [model.raw_sample(t0 + 30 * k) for k in range(80)]
    with Store(tmp_path / "x.db", interval=30) as store:
        legacy_buffer(store, rows, (1, 0.1))
        stored = store.conn.execute("SELECT slot, base, length(data) FROM buffer").fetchall()
        full = [r for r in stored if r[1] is None]
        deltas = [r for r in stored if r[1] is not None]
        # a keyframe at least every KEYFRAME_SPAN_SEC, everything else a small difference
        assert 80 * 30 // store_mod.KEYFRAME_SPAN_SEC <= len(full) <= 6
        assert all(0 <= slot - base <= store_mod.KEYFRAME_SPAN_SEC for slot, base, _ in deltas)
        assert max(size for _, _, size in deltas) * 3 < min(size for _, _, size in full)
        assert list(store.iter_rows(t0, t0 + 30 * 80)) == rows
        # flushing in batches that cut between a keyframe and its samples
        store.flush(batch=7)
        assert list(store.iter_rows(t0, t0 + 30 * 80)) == rows


def test_a_sample_whose_keyframe_is_flushed_stays_exact_in_the_buffer(tmp_path: Path) -> None:
    model = Model()
    t0 = 1_764_144_000
    rows = [model.raw_sample(t0 + 30 * k) for k in range(4)]
    with Store(tmp_path / "x.db", interval=30) as store:
        legacy_buffer(store, rows)
        assert (
            store.conn.execute("SELECT count(*) FROM buffer WHERE base = ?", (t0,)).fetchone()[0]
            == 3
        )
        batches = itertools.chain([False], itertools.repeat(True))
        store.flush(batch=1, should_stop=lambda: next(batches))  # moves only the keyframe
        assert (
            store.conn.execute("SELECT count(*) FROM buffer WHERE base IS NULL").fetchone()[0] == 3
        )  # its samples became full rows in the same transaction
        assert list(store.iter_rows(t0, t0 + 120)) == rows


def test_a_full_disk_reads_the_same_for_the_database_as_for_a_csv(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Store(db) as store:
        for cause in (
            sqlite3.OperationalError("database or disk is full"),
            OSError(errno.ENOSPC, "No space left on device"),
            OSError(errno.EDQUOT, "Disk quota exceeded"),  # a quota is a full disk too
        ):
            error = store.db.wrap(cause)
            assert isinstance(error, DiskFullError)
            # one message, whoever hits it (only the usage figures may move in between)
            expected = str(disk_full_error(db))
            assert str(error).split(" (")[0] == expected.split(" (")[0]
            assert str(error).endswith("has no space left; free some space and run again")


def test_a_missing_database_opened_read_only_is_a_domain_error_naming_no_command(
    tmp_path: Path,
) -> None:
    with pytest.raises(MissingDatabaseError) as info:
        Store(tmp_path / "none.db", readonly=True)
    assert str(info.value) == f"database {tmp_path / 'none.db'} does not exist yet"
    assert not (tmp_path / "none.db").exists()


def test_a_sample_without_its_keyframe_is_reported_as_corruption(tmp_path: Path) -> None:
    model = Model()
    t0 = 1_764_144_000
    with Store(tmp_path / "x.db", interval=30) as store:
        legacy_buffer(store, [model.raw_sample(t0 + 30 * k) for k in range(2)])
        store.conn.execute("DELETE FROM buffer WHERE slot = ?", (t0,))
        with pytest.raises(store_mod.CorruptError, match="missing keyframe"):
            list(store.iter_rows(t0, t0 + 60))


def test_add_rows_keeps_the_first_sample_of_an_already_flushed_slot(tmp_path: Path) -> None:
    first = Sample(1_764_144_000, 0, (1,), (454,), (1,))
    other = Sample(1_764_144_000, 0, (2,), (999,), (0,))
    with Store(tmp_path / "x.db", interval=30) as store:
        store.add_row(first)
        store.flush()
        assert store.add_rows([other]) == 0
        store.prune(1_764_144_000 + 3600)  # the cache copy goes; nothing may resurface
        assert list(store.iter_rows(0, 2**31)) == []


def test_a_query_inside_a_write_transaction_reads_in_it(tmp_path: Path) -> None:
    row = Sample(1_764_144_000, 0, (1,), (454,), (1,))
    with Store(tmp_path / "x.db", interval=30) as store, store.transaction():
        store.conn.execute(
            "INSERT INTO buffer(slot, data) VALUES (?, ?)", (row.slot, pack_row(row))
        )
        assert list(store.iter_rows(0, 2**31)) == [row]


# ------------------------------------------------------------ the -shm on a nearly full disk


def test_on_a_nearly_full_1k_block_filesystem_the_open_shm_has_no_holes(tmp_path: Path) -> None:
    # SQLite leaves the -shm sparse (a byte per 4 KiB page): on 1 KiB blocks a later write
    # through its mapping into a hole needs a free block, and with none left that is SIGBUS.
    from support.loopfs import fill as fill_fs
    from support.loopfs import free_kib, loop_fs

    with loop_fs(tmp_path) as mnt:
        db = mnt / "luxlog.db"
        with Store(db) as s:  # an existing database: a reopen rebuilds the -shm sparse
            s.add(BASE, {"ID_WEB_Temperatur_TVL": 35.4})
        with Store(db):  # plenty of space: the file other processes map is left to SQLite
            st = os.stat(f"{db}-shm")
            assert st.st_blocks * 512 < st.st_size
        fill_fs(mnt, leave_kib=256)  # low (< 1 MiB) but enough for the open's preflight
        assert free_kib(mnt) < 1024
        with Store(db) as s:
            st = os.stat(f"{db}-shm")
            block = os.statvfs(mnt).f_frsize
            assert st.st_size > 0
            assert st.st_blocks * 512 >= -(-st.st_size // block) * block


# ------------------------------------------------ "unable to open database file", explained


def test_a_read_only_mount_is_named_instead_of_unable_to_open_database_file(
    tmp_path: Path,
) -> None:
    import subprocess

    from support.loopfs import loop_fs

    with loop_fs(tmp_path) as mnt:
        db = mnt / "data" / "luxlog.db"
        with Store(db) as s:
            s.add(BASE, {"ID_WEB_Temperatur_TVL": 35.4})
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, timeout=10)
        try:
            for readonly in (False, True):  # poll/flush, and doctor's read-only connection
                with pytest.raises(StoreError) as info:
                    Store(db, readonly=readonly)
                assert str(info.value) == (
                    f"cannot open database {db}: the filesystem mounted at {mnt} is read-only "
                    "(remount it read-write, or point cache_path at a writable volume)"
                )
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=False, timeout=10)


def test_a_directory_without_write_permission_is_named_with_its_owner_and_mode(
    tmp_path: Path,
) -> None:
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip_or_fail("needs root and setpriv(1) to run luxlog without CAP_DAC_OVERRIDE")
    locked = tmp_path / "locked"
    locked.mkdir()
    db = locked / "luxlog.db"
    with Store(db) as s:  # an existing database in a directory that later loses write access
        s.add(BASE, {"ID_WEB_Temperatur_TVL": 35.4})
    locked.chmod(0o555)
    # root without the capabilities that bypass file permissions: permissions count again
    drop = "-dac_override,-dac_read_search"
    done = subprocess.run(
        ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", sys.executable, "-m",
         "luxlog", "flush"],
        env={**os.environ, "LUXLOG_CACHE_PATH": str(db), "LUXLOG_RETRIES": "0"},
        capture_output=True, text=True, timeout=8, check=False,
    )  # fmt: skip
    if "Operation not permitted" in done.stderr and "setpriv" in done.stderr:
        skip_or_fail(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"luxlog: cannot open database {db}: the directory {locked} is not writable by uid 0 "
        "(owner uid 0, mode 0555): SQLite creates luxlog.db-wal and luxlog.db-shm there; give "
        "uid 0 write access, or check cache_path"
    )


# ------------------------------------------------------------------ damaged -wal detection


def test_a_restarted_wal_with_stale_frames_of_the_last_generation_is_not_damage(
    tmp_path: Path,
) -> None:
    from luxlog.store import wal_damage

    db = tmp_path / "luxlog.db"
    with Store(db):
        pass
    holder = sqlite3.connect(db)  # keeps the -wal from being deleted when a store closes
    holder.execute("SELECT count(*) FROM buffer").fetchone()
    for i in range(6):  # one SQLite commit each (bulk loads: polls write the journal)
        with Store(db) as s:
            s.add_rows([Sample(BASE + 30 * i, 0, (), (354,), ())])
    holder.execute("PRAGMA wal_checkpoint(PASSIVE)")
    size = os.stat(f"{db}-wal").st_size
    with Store(db) as s:  # restarts the log: new salts, one frame, stale frames behind it
        s.add_rows([Sample(BASE + 600, 0, (), (354,), ())])
    assert os.stat(f"{db}-wal").st_size == size  # the old frames are still in the file
    assert wal_damage(db) is None
    # …while a flipped byte in the new generation's only frame, followed by nothing, is a torn
    # write and not damage either; one in an old frame is never read by SQLite at all.
    data = bytearray(Path(f"{db}-wal").read_bytes())
    data[32 + 3 * (4096 + 24) + 500] ^= 1
    Path(f"{db}-wal").write_bytes(bytes(data))
    assert wal_damage(db) is None
    holder.close()
