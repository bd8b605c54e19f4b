"""Kill-safety: ``kill -9`` at random instants, concurrent processes, SIGTERM/SIGINT.

Children are real processes (``python -c`` scripts using the store, or ``python -m luxlog``),
so the SQLite locking, WAL recovery and signal handling under test are the real ones.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from luxlog.sample import Sample
from luxlog.simulator import Simulator
from luxlog.store import FLUSH_BATCH, Store, journal
from support.helpers import stored_slot_counts
from support.network import filtered_port

BASE = 1_700_000_000 // 3600 * 3600
SRC = str(Path(__file__).resolve().parents[1] / "src")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def luxlog(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "luxlog", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def poll_in_a_round(sim: Simulator) -> subprocess.Popen[str]:
    """Start the long-running poll and return once its first round talks to ``sim``."""
    proc = luxlog("poll")
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("polling 127.0.0.1:")
    deadline = time.monotonic() + 3
    while not sim.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.requests, "the poll never reached the controller"
    return proc


def stop(proc: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    """Send ``signum``; the process must end within 2 s and without a traceback."""
    proc.send_signal(signum)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=5)
    assert time.monotonic() - sent < 2.0
    assert "Traceback" not in err
    return out, err


def check_db(path: Path) -> dict[int, int]:
    """The database is intact; how often each slot is stored (cache, buffer table, journal)."""
    conn = sqlite3.connect(path, timeout=10)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    return stored_slot_counts(path)


def synthetic_row(slot: int, n_params: int = 200, n_calcs: int = 260) -> Sample:
    k = slot // 30
    return Sample(
        slot,
        0,
        tuple(range(n_params)),
        tuple((i * 7 + (k if i % 9 == 0 else 0)) % 5000 - 100 for i in range(n_calcs)),
        tuple(i % 2 for i in range(40)),
    )


# -------------------------------------------------------------------------------- kill -9


def journal_row(slot: int) -> Sample:
    return Sample(
        slot, 0, tuple(range(300)), tuple((slot // 30 + i) % 97 for i in range(120)), (1,)
    )


def killed_at_random(rng: random.Random, work: Callable[[int], None]) -> list[int]:
    """Fork a child running ``work(ack_fd)``, ``kill -9`` it at a random instant; its acks.

    A fork, not a fresh interpreter: 30 kills of a real process in well under a second each.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(r)
        try:
            work(w)
        finally:
            os._exit(0)
    os.close(w)
    time.sleep(rng.uniform(0.0, 0.03))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0
    with os.fdopen(r) as acks:
        return [int(x) for x in acks.read().split()]


def assert_each_once(path: Path, acked: set[int]) -> None:
    """Every acknowledged sample reads back exactly once; its attempt is filed at most once."""
    with Store(path) as s:
        slots = [r.slot for r in s.iter_rows(0, 2**31)]
        assert acked <= set(slots), sorted(acked - set(slots))[:5]
        assert len(slots) == len(set(slots))
        attempts = [a.at for a in s.attempts_since(0)]
        assert len(attempts) == len(set(attempts))
        assert s.quick_check() == "ok"


def test_every_acknowledged_poll_survives_kill_9_at_random_instants_exactly_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kill.db"
    Store(path).close()
    rng = random.Random(1234)
    acked: set[int] = set()
    slot = BASE

    def poll(ack: int) -> None:  # the poll path: one journal record, then the acknowledgement
        for k in range(1000):
            row = journal_row(slot + 30 * k)
            journal.append(
                journal.journal_path(path), journal.sample_record(row, row.slot * 1000, 1, 50)
            )
            os.write(ack, f"{row.slot}\n".encode())

    for _ in range(30):
        lines = killed_at_random(rng, poll)
        acked.update(lines)
        found = journal.read(journal.journal_path(path))
        assert not found.damage  # a kill never tears a block: the kernel has the write
        # the record in flight may have landed: only ever the next slot
        assert found.slots() - acked <= {slot + 30 * len(lines)}
        acked |= found.slots()
        slot = max(acked) + 30
        assert_each_once(path, acked)
    assert len(acked) > 30
    with Store(path) as s:
        assert s.flush().remaining == 0
    assert set(check_db(path)) == acked
    assert all(n == 1 for n in check_db(path).values())


def test_every_acknowledged_poll_survives_flush_killed_at_random_instants_exactly_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kill.db"
    Store(path).close()
    rng = random.Random(4321)
    acked: set[int] = set()
    slot = BASE

    def flush(ack: int) -> None:
        with Store(path) as s:
            while True:
                s.flush(batch=2)

    for _ in range(30):
        rows = [journal_row(slot + 30 * k) for k in range(rng.randint(1, 8))]
        for row in rows:  # polls between the flushes, each acknowledged once durable
            journal.append(
                journal.journal_path(path), journal.sample_record(row, row.slot * 1000, 1, 50)
            )
        acked.update(r.slot for r in rows)
        slot += 30 * len(rows)
        killed_at_random(rng, flush)
        assert_each_once(path, acked)
        with Store(path) as s:
            assert len(s.attempts_since(0)) == len(acked)
    with Store(path) as s:
        assert s.flush().remaining == 0
        assert len(s.attempts_since(0)) == len(acked)
    counts = check_db(path)
    assert set(counts) == acked and all(n == 1 for n in counts.values())


def test_a_torn_or_corrupt_last_record_is_reported_and_the_earlier_ones_survive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.db"
    jpath = journal.journal_path(path)
    rows = [journal_row(BASE + 30 * k) for k in range(5)]
    for row in rows:
        journal.append(jpath, journal.sample_record(row, row.slot * 1000, 1, 50))
    intact = Path(jpath).read_bytes()
    last = 4 * journal.BLOCK
    for damage in ("truncated", "flipped", "zeroed-head"):
        data = bytearray(intact)
        if damage == "truncated":
            data = data[: last + 100]  # the power went mid-write: the block's tail is missing
        elif damage == "flipped":
            data[last + 300] ^= 0x40  # a bit flipped in the payload: the CRC says so
        else:
            data[last + 20 : last + 24] = bytes(4)  # the head's CRC field is gone
        Path(jpath).write_bytes(bytes(data))
        caplog.clear()
        with Store(path) as s:
            assert list(s.iter_rows(0, 2**31)) == rows[:4], damage
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and f"block 4 (byte {last}) is damaged" in errors[0], damage
    # a poll appends after the damage, never over it; flush keeps a copy, then resets
    journal.append(jpath, journal.sample_record(journal_row(BASE + 300), BASE * 1000, 1, 50))
    with Store(path) as s:
        assert s.flush().moved == 5
        assert [r.slot for r in s.iter_rows(0, 2**31)] == [r.slot for r in rows[:4]] + [BASE + 300]
    (kept,) = tmp_path.glob("t.db.journal.damaged-*")
    assert kept.read_bytes()[: 4 * journal.BLOCK] == intact[: 4 * journal.BLOCK]
    assert not journal.read(jpath).damage


# ---------------------------------------------------------------------------- concurrency

CONCURRENT = """
    import sys, time, datetime as dt
    from luxlog.store import FLUSH_BATCH, Store, journal
    from luxlog.sample import Sample
    role, path, config = sys.argv[1], sys.argv[2], sys.argv[3]
    base, old = int(sys.argv[4]), int(sys.argv[5])
    if role in ("cli-poll", "flush"):
        from luxlog.cli import run
    print("ready", flush=True)
    until = float(sys.stdin.readline())  # one common window, whenever each child got going
    n = 0
    if role == "poll":
        s = Store(path)
        slot = base
        while time.time() < until:
            calcs = tuple(range(slot % 50, slot % 50 + 100))
            s.add_row(Sample(slot, 0, tuple(range(200)), calcs, (1,)))
            print(slot, flush=True)
            slot += 30
            n += 1
    elif role == "cli-poll":
        while time.time() < until:
            assert run(["poll", "--once", "--config", config]) == 0
            n += 1
            time.sleep(0.05)
    elif role == "flush":
        while time.time() < until:
            assert run(["flush", "--config", config]) == 0
            n += 1
    elif role == "query":
        s = Store(path)
        while time.time() < until:
            lo = dt.datetime.fromtimestamp(old, dt.UTC)
            rows = s.query(lo, dt.datetime.fromtimestamp(base + 10**6, dt.UTC))
            slots = [t for t, _ in rows]
            assert slots == sorted(set(slots)), "query returned duplicates or disorder"
            n += 1
    elif role == "prune":
        s = Store(path)
        cut = old
        while time.time() < until:
            s.prune(cut)
            print(cut, flush=True)  # everything before this is gone for good
            cut = min(cut + 600, base)
            n += 1
    print("rounds", n, file=sys.stderr)
"""


def test_poll_flush_query_and_prune_at_once_never_lock_out_and_lose_no_slot(
    tmp_path: Path, sim: Simulator, write_config: Callable[..., Path]
) -> None:
    path = tmp_path / "conc.db"
    config = write_config(host="127.0.0.1", port=sim.port, cache_path=str(path))
    old = BASE - 6 * 3600
    with Store(path) as s:  # six hours of old data for prune to eat through
        s.conn.execute("PRAGMA synchronous=OFF")
        for t in range(old, BASE, 60):
            s.add_row(Sample(t, 0, (1, 2, 3), (t % 1000,), (0,)))
        s.flush()
    roles = ["poll", "cli-poll", "flush", "query", "prune"]
    procs = {
        role: spawn(CONCURRENT, role, str(path), str(config), str(BASE), str(old)) for role in roles
    }
    for proc in procs.values():
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    until = time.time() + 1.5  # all five at work at once from now on
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.write(f"{until}\n")
        proc.stdin.flush()
    results = {role: p.communicate(timeout=9) for role, p in procs.items()}
    for role, (_out, err) in results.items():
        assert "database is locked" not in err, (role, err)
        assert procs[role].returncode == 0, (role, err)
        assert "rounds" in err and "rounds 0" not in err, (role, err)
    acked = {int(x) for x in results["poll"][0].split()}
    assert len(acked) > 20
    counts = check_db(path)
    assert acked <= counts.keys(), sorted(acked - counts.keys())[:5]
    assert all(n == 1 for n in counts.values())
    # prune removed everything before the last cut it reported (how far it got in 1.5 s
    # depends on the machine's load; what it did must hold exactly)
    last_cut = int(results["prune"][0].split()[-1])
    assert last_cut >= old and min(counts) >= last_cut


# -------------------------------------------------------------------------------- signals


# Seven flush batches: once the first is in, a signal has six batches' time to land mid-way.
BIG_SLOTS = list(range(BASE, BASE + (6 * FLUSH_BATCH + 300) * 30, 30))


@pytest.fixture(scope="module")
def big_buffer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with BIG_SLOTS buffered, built once and copied by each test."""
    path = tmp_path_factory.mktemp("big") / "big.db"
    with Store(path) as s:
        s.conn.execute("PRAGMA synchronous=OFF")  # test set-up speed only
        s.add_rows([synthetic_row(slot) for slot in BIG_SLOTS])
    assert not Path(f"{path}-wal").exists()  # closed cleanly: the file alone is the database
    return path


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_flush_of_a_large_buffer_stops_on_a_signal_within_2_s_losing_and_doubling_nothing(
    tmp_path: Path, write_config: Callable[..., Path], big_buffer: Path, signum: int, code: int
) -> None:
    path = tmp_path / "big.db"
    write_config(cache_path=str(path))
    slots = BIG_SLOTS
    shutil.copyfile(big_buffer, path)
    watcher = sqlite3.connect(path, timeout=10)
    proc = luxlog("flush")
    deadline = time.monotonic() + 8
    while watcher.execute("SELECT count(*) FROM buffer").fetchone()[0] == len(slots):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    _out, err = stop(proc, signum)
    assert proc.returncode == code, err
    watcher.close()
    counts = check_db(path)
    assert sorted(counts) == slots
    assert set(counts.values()) == {1}
    with Store(path) as s:
        c = s.counts()
        assert 0 < c.buffered < len(slots)  # it really stopped mid-way
        assert c.buffered + c.cached == len(slots)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_long_running_poll_exits_on_a_signal_within_2_s(
    sim_config: Path, sim: Simulator, signum: int, code: int
) -> None:
    proc = luxlog("poll")
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("polling 127.0.0.1:"), proc.communicate()
    assert proc.stdout.readline().startswith("stored sample")  # first round done, now waiting
    _out, err = stop(proc, signum)
    assert proc.returncode == code, err
    with Store(Path("data/luxlog.db")) as s:
        assert s.counts().buffered == 1


def test_a_signal_during_a_poll_lets_the_sample_in_hand_be_stored(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
) -> None:
    sim = make_sim(delay=0.25)  # three blocks: the round takes ~0.75 s
    write_config(host="127.0.0.1", port=sim.port)
    proc = poll_in_a_round(sim)
    out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert "stored sample" in out
    with Store(Path("data/luxlog.db")) as s:
        assert s.counts().buffered == 1


def test_a_signal_during_a_hung_poll_still_stops_within_2_s_and_stores_nothing(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
) -> None:
    sim = make_sim(faults={"hang"})
    write_config(host="127.0.0.1", port=sim.port, timeout_sec=5)
    proc = poll_in_a_round(sim)
    _out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    with Store(Path("data/luxlog.db")) as s:
        assert s.counts().buffered == 0
        (a,) = s.attempts_since(0)
        ok, error = a.ok, a.error
    assert not ok and error and "interrupted by SIGTERM during reading 3003 (parameters)" in error


def has_a_socket(pid: int) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd).startswith("socket:") for fd in fds.iterdir())
    except FileNotFoundError:  # the process, or one of its fds, just went
        return False


@pytest.mark.parametrize("where", ["connect", "reading 3003 (parameters)"])
def test_poll_once_cut_short_by_sigterm_records_the_attempt_and_its_phase(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path], where: str
) -> None:
    # the cron wrapper's SIGTERM arriving before the poll deadline (interval 10 s: deadline 8 s)
    with filtered_port() as filtered:
        sim = None if where == "connect" else make_sim(faults={"hang"})
        port = filtered if sim is None else sim.port
        write_config(host="127.0.0.1", port=port, timeout_sec=5)
        proc = luxlog("poll", "--once")
        deadline = time.monotonic() + 3
        # in the phase: connecting (a socket is open, nothing answers) or the request was read
        while not (has_a_socket(proc.pid) if sim is None else sim.requests):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the poll never reached the controller"
            time.sleep(0.005)
        _out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert err.strip().endswith("luxlog: interrupted by SIGTERM")
    assert f"interrupted by SIGTERM during {where} (attempt 1," in err
    with Store(Path("data/luxlog.db")) as s:
        assert s.counts().buffered == 0
        (a,) = s.attempts_since(0)
        ok, n, error = a.ok, a.attempts, a.error
    assert not ok and n == 1
    assert error and error.startswith(f"127.0.0.1:{port}: interrupted by SIGTERM during {where}")


def test_an_interrupted_poll_never_waits_long_to_record_on_a_locked_journal(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
) -> None:
    import fcntl

    sim = make_sim(faults={"hang"})
    write_config(host="127.0.0.1", port=sim.port, timeout_sec=5)
    Path("data").mkdir()
    holder = os.open(journal.journal_path("data/luxlog.db"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process (a flush's last batch) holds the lock
    try:
        proc = luxlog("poll", "--once")
        deadline = time.monotonic() + 3
        while not sim.requests:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        _out, err = stop(proc, signal.SIGTERM)  # within 2 s despite the 10 s busy timeout
    finally:
        os.close(holder)
    assert proc.returncode == 143, err
    assert "the attempt could not be recorded: " in err and "locked" in err


def has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (its fds in /proc)."""
    target = str(path.resolve())
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except FileNotFoundError:  # the process, or one of its fds, just went
        return False


def test_a_sigterm_while_the_sample_is_being_stored_keeps_the_sample(
    sim: Simulator, write_config: Callable[..., Path]
) -> None:
    import fcntl

    write_config(host="127.0.0.1", port=sim.port, timeout_sec=5)
    Path("data").mkdir()
    path = Path(journal.journal_path("data/luxlog.db"))
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a flush's last batch holds the journal for a moment
    try:
        proc = luxlog("poll", "--once")
        deadline = time.monotonic() + 5
        # the controller has answered and the poll is in its one durable write
        while not has_open(proc.pid, path):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the poll never reached its write"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
    finally:
        os.close(holder)  # the write goes on, then the stop
    _out, err = proc.communicate(timeout=8)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert len(journal.read(str(path)).slots()) == 1  # the sample in hand was kept
