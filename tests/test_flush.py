"""``luxlog flush`` and the poll/flush write paths: duplicates, corruption, disk full, versions."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from luxlog.cli import app, run
from luxlog.sample import Sample
from luxlog.simulator import Model, Simulator
from luxlog.store import FLUSH_BATCH, SCHEMA_VERSION, Store, journal
from support.fill import fill, model_rows
from support.fullfs import fill_up, small_tmpfs
from support.helpers import stored_slot_counts

BASE = 1_700_000_000 // 3600 * 3600
CORRUPT_NAME = re.compile(r"^luxlog\.db\.corrupt-\d{8}T\d{6}Z(-\d+)?$")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return result
    finally:
        conn.close()


@pytest.fixture
def db(isolated: Path) -> Path:
    return isolated / "data" / "luxlog.db"


# ---------------------------------------------------------------------------- the summary


def test_flush_prints_one_line_with_how_many_moved_and_how_many_remain(
    capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path], db: Path
) -> None:
    write_config()
    fill(db, BASE, n=5)
    code, out, err = cli(capsys, "flush")
    assert code == 0, err
    assert out.splitlines() == ["flushed 5 samples into the cache, 0 remain in the buffer"]
    with Store(db) as s:
        assert s.counts().cached == 5 and s.counts().buffered == 0
    code, out, _ = cli(capsys, "flush")  # idempotent
    assert (code, out.strip()) == (0, "flushed 0 samples into the cache, 0 remain in the buffer")


def test_flush_of_a_missing_buffer_slot_duplicate_reports_it_and_keeps_the_first(
    capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path], db: Path
) -> None:
    write_config()
    first, second = Sample(BASE, 0, (1,), (10,), (0,)), Sample(BASE, 0, (2,), (20,), (1,))
    with Store(db) as s:
        s.add_row(first)
        s.flush()
        # Bypass add_row's check, as an older luxlog (or a race) could have left it buffered.
        s.conn.execute("INSERT INTO buffer(slot, data) SELECT ?, data FROM buffer", (BASE,))
        from luxlog.codec import pack_row

        s.conn.execute("INSERT INTO buffer(slot, data) VALUES (?, ?)", (BASE, pack_row(second)))
    code, out, _ = cli(capsys, "flush")
    assert code == 0
    assert out.strip() == (
        "flushed 0 samples into the cache, 0 remain in the buffer, 1 duplicate slots dropped"
    )
    with Store(db) as s:
        assert list(s.iter_rows(BASE, BASE + 30)) == [first]


# ---------------------------------------------------------------------------- duplicates


def test_two_polls_within_one_slot_store_one_sample(
    capsys: pytest.CaptureFixture[str],
    sim: Simulator,
    write_config: Callable[..., Path],
    db: Path,
) -> None:
    write_config(host="127.0.0.1", port=sim.port, interval_sec=3600)
    # Ten minutes into an hour slot: the polls below cannot straddle its end.
    with time_machine.travel(BASE + 600, tick=True):
        code, out, err = cli(capsys, "poll", "--once")
        assert code == 0, err
        assert out.startswith("stored sample")
        code, out, err = cli(capsys, "poll", "--once")
        assert code == 0, err
        assert out.startswith("slot already stored, kept the first sample")
        assert list(stored_slot_counts(db).values()) == [1]
        # A poll of the same slot after a flush is still a duplicate, and stays one sample.
        assert cli(capsys, "flush")[0] == 0
        code, out, err = cli(capsys, "poll", "--once")
        assert code == 0, err
        assert out.startswith("slot already stored, kept the first sample")
        assert cli(capsys, "flush")[0] == 0
        assert list(stored_slot_counts(db).values()) == [1]


def test_a_duplicate_of_a_flushed_slot_is_refused_and_the_first_sample_kept(
    tmp_path: Path,
) -> None:
    first, again = Sample(BASE + 60, 0, (1,), (10,), (0,)), Sample(BASE + 60, 0, (2,), (20,), (1,))
    with Store(tmp_path / "t.db") as s:
        assert s.add_row(first) is True
        assert s.add_row(again) is False
        s.flush()
        assert s.add_row(again) is False
        assert s.add_row(Sample(BASE + 90, 0, (3,), (30,), (0,))) is True  # same chunk, new slot
        assert s.flush().moved == 1
        assert next(iter(s.iter_rows(BASE, BASE + 3600))) == first
    assert stored_slot_counts(tmp_path / "t.db") == {BASE + 60: 1, BASE + 90: 1}


# ------------------------------------------------------------------- bounded batches, speed


def test_a_backlog_of_simulator_samples_flushes_in_bounded_batches_and_round_trips(
    tmp_path: Path,
) -> None:
    # Two full batches and a partial one prove the bound as well as a day of them would.
    total = 2 * FLUSH_BATCH + FLUSH_BATCH // 4
    path = tmp_path / "t.db"
    rows = fill(path, BASE, n=total)  # the poll journal's records
    watcher = sqlite3.connect(path)
    seen: list[int] = []

    def before_batch() -> bool:
        seen.append(total - watcher.execute("SELECT coalesce(sum(n), 0) FROM chunk").fetchone()[0])
        return False

    with Store(path) as s:
        started = time.perf_counter()
        result = s.flush(should_stop=before_batch)
        elapsed = time.perf_counter() - started
        print(f"flushed {result.moved} samples in {elapsed:.2f} s")
        assert (result.moved, result.remaining) == (total, 0)
        # Each transaction moved at most FLUSH_BATCH rows.
        steps = [a - b for a, b in itertools.pairwise(seen)]
        assert seen[0] == total
        assert steps and max(steps) <= FLUSH_BATCH
        assert len(seen) >= total // FLUSH_BATCH
        assert list(s.iter_rows(BASE, BASE + 3 * 86400)) == rows
    watcher.close()


# ------------------------------------------------------------------------------ corruption


def _corrupt_middle(path: Path, size: int = 4 * 4096) -> bytes:
    data = bytearray(path.read_bytes())
    middle = (len(data) // 2) // 4096 * 4096
    data[middle : middle + size] = os.urandom(size)
    path.write_bytes(bytes(data))
    return bytes(data)


def test_flush_quarantines_a_corrupt_database_with_its_wal_and_starts_a_fresh_file(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    write_config: Callable[..., Path],
    db: Path,
) -> None:
    write_config()
    with Store(db) as s:  # bulk-loaded, unflushed: the middle of the file is live b-tree pages
        s.add_rows(model_rows(BASE, n=600))
    # A crashed writer leaves a -wal behind: snapshot one while a connection holds it open.
    holder = Store(db)
    holder.conn.execute("PRAGMA wal_autocheckpoint=0")
    holder.add_rows([Sample(BASE - 30, 0, (1,), (2,), (0,))])
    wal = Path(f"{db}-wal").read_bytes()
    holder.close()
    Path(f"{db}-wal").write_bytes(wal)
    corrupt = _corrupt_middle(db)
    caplog.set_level(logging.ERROR, logger="luxlog")

    code, _out, err = cli(capsys, "flush")

    assert code == 0, err
    moved = [p for p in db.parent.iterdir() if CORRUPT_NAME.match(p.name)]
    assert len(moved) == 1, list(db.parent.iterdir())
    assert moved[0].read_bytes() == corrupt  # nothing silently overwritten
    assert Path(f"{moved[0]}-wal").read_bytes() == wal
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and str(moved[0]) in errors[0].getMessage()
    assert "\n" not in errors[0].getMessage()  # quick_check's report, summed up: one line
    assert integrity(db) == "ok"
    with Store(db) as s:
        assert s.counts().buffered == 0 and s.counts().cached == 0


def test_poll_beside_a_garbage_database_journals_the_sample_and_flush_quarantines_it(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    sim_config: Path,
    db: Path,
) -> None:
    db.parent.mkdir(parents=True)
    garbage = os.urandom(3 * 4096)
    db.write_bytes(garbage)
    caplog.set_level(logging.ERROR, logger="luxlog")

    code, out, err = cli(capsys, "poll", "--once")
    assert code == 0, err
    assert out.startswith("stored sample")
    assert db.read_bytes() == garbage  # a poll never opens SQLite: recording goes on regardless

    code, out, err = cli(capsys, "flush")
    assert code == 0, err
    assert out.startswith("flushed 1 samples into the cache")
    moved = [p for p in db.parent.iterdir() if CORRUPT_NAME.match(p.name)]
    assert len(moved) == 1 and moved[0].read_bytes() == garbage
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert sum(stored_slot_counts(db).values()) == 1
    assert integrity(db) == "ok"


# ------------------------------------------------------------------------------- disk full


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "small", size="2m") as mnt:
        yield mnt


@pytest.mark.parametrize("command", [["flush"]])
def test_a_full_disk_fails_with_a_clear_message_keeps_the_data_and_the_next_run_succeeds(
    capsys: pytest.CaptureFixture[str],
    sim: Simulator,
    write_config: Callable[..., Path],
    small_fs: Path,
    command: list[str],
) -> None:
    db = small_fs / "luxlog.db"
    write_config(host="127.0.0.1", port=sim.port, cache_path=str(db))
    with Store(db) as s:
        earlier = fill(s, BASE, n=40)
        s.flush(batch=10)
        fill(s, BASE + 3600, n=40)  # buffered, for flush to move
    filler = small_fs / "filler"
    fill_up(filler)

    code, out, err = cli(capsys, *command)

    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("luxlog: disk full") and str(small_fs) in lines[-1], err
    assert "Traceback" not in err

    filler.unlink()  # (even opening read-only needs a few bytes for the -shm file)
    assert integrity(db) == "ok"
    with Store(db, readonly=True) as s:
        assert list(s.iter_rows(BASE, BASE + 3600)) == earlier
        assert s.counts().buffered == 40
    code, _out, err = cli(capsys, *command)
    assert code == 0, err
    assert integrity(db) == "ok"
    counts = stored_slot_counts(db)
    assert all(n == 1 for n in counts.values())
    assert len(counts) == 80 + (command[0] == "poll")


# ---------------------------------------------------------------------------- versions


def test_flush_on_a_database_from_a_newer_luxlog_exits_with_one_line_and_no_traceback(
    write_config: Callable[..., Path], db: Path
) -> None:
    write_config()
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "luxlog", "flush"],
        capture_output=True,
        text=True,
        timeout=8,
        check=False,
    )
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "newer than this luxlog supports" in lines[0], done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("command", "line"),
    [(["flush"], "nothing to flush (no database yet)"),
     (["report"], "no reports due (no database yet)")],
)  # fmt: skip
def test_flush_and_report_do_not_create_a_database_that_does_not_exist(
    write_config: Callable[..., Path], isolated: Path, command: list[str], line: str
) -> None:
    write_config(cache_path=str(isolated / "dta" / "luxlog.db"))  # a typo in cache_path
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == line
    assert "no database at" in result.stderr and "check cache_path" in result.stderr
    assert not (isolated / "dta").exists()


def test_flush_reports_progress_after_each_batch(tmp_path: Path) -> None:
    model = Model()
    t0 = 1_764_144_000
    rows = [model.raw_sample(t0 + 30 * k) for k in range(25)]
    seen: list[int] = []
    with Store(tmp_path / "x.db", interval=30) as store:
        store.add_rows(rows)
        assert store.buffered() == 25
        result = store.flush(batch=10, progress=seen.append)
    assert seen == [10, 20, 25] and result.moved == 25


def test_a_person_watching_a_large_flush_sees_a_progress_bar(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    import pty

    write_config(interval_sec=30)
    model = Model()
    t0 = 1_764_144_000
    with Store(isolated / "data" / "luxlog.db", interval=30) as store:
        store.add_rows([model.raw_sample(t0 + 30 * k) for k in range(1600)])
    primary, secondary = pty.openpty()  # stderr is a terminal, as for a person at a shell
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "luxlog", "flush"],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
        timeout=8,
    )
    os.close(secondary)
    seen = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(primary, 65536):
            seen += chunk
    os.close(primary)
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("flushed 1600 samples")
    assert b"flushing" in seen


def test_flushing_a_large_backlog_gives_the_buffer_pages_back(tmp_path: Path) -> None:
    model = Model()
    t0 = 1_764_144_000
    path = tmp_path / "x.db"
    with Store(path, interval=30) as store:
        assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        store.add_rows([model.raw_sample(t0 + 30 * k) for k in range(2000)])
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        backlog_size = path.stat().st_size
        store.flush()
        assert store.conn.execute("PRAGMA freelist_count").fetchone()[0] <= 256
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size < backlog_size / 4


# ------------------------------------------------- nearly full filesystem with 1 KiB blocks


@pytest.mark.parametrize("existing", [True, False], ids=["existing-db", "new-db"])
def test_a_nearly_full_1k_block_filesystem_fails_with_the_disk_full_line_not_sigbus(
    tmp_path: Path, sim: Simulator, write_config: Callable[..., Path], existing: bool
) -> None:
    # SQLite grows its -shm sparsely and writes through a mapping: on 1 KiB blocks with 10–32
    # KiB free that used to be SIGBUS (exit -7 / 135, nothing printed) for all three commands.
    from support.loopfs import fill as fill_fs
    from support.loopfs import loop_fs

    with loop_fs(tmp_path) as mnt:
        db = mnt / "luxlog.db"
        config = write_config(host="127.0.0.1", port=sim.port, cache_path=str(db))
        earlier = model_rows(BASE, n=20)
        if existing:
            assert fill(db, BASE, n=20) == earlier
            with Store(db) as s:
                s.flush(batch=10)
        filler = fill_fs(mnt, leave_kib=24)
        env = {**os.environ, "LUXLOG_CONFIG": str(config)}
        for command in (["poll", "--once"], ["flush"], ["doctor", "--quick"]):
            done = subprocess.run(
                [sys.executable, "-m", "luxlog", *command],
                capture_output=True,
                text=True,
                timeout=8,
                check=False,
                env=env,
            )
            text = done.stdout + done.stderr
            assert "Traceback" not in text, text
            if command == ["poll", "--once"]:
                # The journal's preallocated blocks (or, new, the one block it needs) suffice.
                assert done.returncode == 0 and "stored sample" in text, text
                continue
            if command == ["doctor", "--quick"] and not existing:
                assert done.returncode == 1 and f"{db} does not exist yet" in text, text
                continue
            assert done.returncode == 1, (command, done.returncode, text)
            assert f"disk full: cannot write {db}" in text, text
            if command != ["doctor", "--quick"]:
                assert done.stderr.strip().splitlines()[-1].startswith("luxlog: disk full")
        filler.unlink()
        if existing:
            assert integrity(db) == "ok"
            with Store(db, readonly=True) as s:
                assert list(s.iter_rows(BASE, BASE + 3600)) == earlier
        else:
            assert not db.exists() or integrity(db) == "ok"
        assert len(journal.read(journal.journal_path(db)).slots()) == 1  # the poll's sample


def test_flush_checks_the_database_once_a_day_and_a_due_check_still_quarantines_damage(
    capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path], db: Path
) -> None:
    write_config()
    fill(db, BASE, n=20, flush=True)
    assert cli(capsys, "flush")[0] == 0  # never checked: checks, and remembers when
    stamp = Path(f"{db}.checked")
    assert stamp.exists()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'reports'").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with db.open("r+b") as f:  # a page flush never reads: only quick_check sees it
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    damaged = db.read_bytes()

    assert cli(capsys, "flush")[0] == 0  # checked less than a day ago: not again
    assert db.read_bytes() == damaged and not list(db.parent.glob("*.corrupt-*"))

    day_ago = time.time() - 86_400 - 1
    os.utime(stamp, (day_ago, day_ago))
    code, _out, err = cli(capsys, "flush")
    assert code == 0, err
    (kept,) = [p for p in db.parent.glob("luxlog.db.corrupt-*") if p.name.endswith("Z")]
    assert kept.read_bytes() == damaged
    assert integrity(db) == "ok"
