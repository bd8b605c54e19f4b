"""``luxlog poll``: one durable raw sample per slot, every attempt recorded, never a hang."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import load_config
from luxlog.errors import PollFailed
from luxlog.poller import PollReport, poll_forever, poll_once
from luxlog.sample import Sample
from luxlog.simulator import Simulator
from luxlog.store import Store
from support.resolver import BLACKHOLE_NAME, require_namespaces, run_with_blackhole_dns


def db_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_poll_once_stores_all_three_blocks_exactly_as_received(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path], isolated: Path
) -> None:
    served_at = 1_764_144_007.25  # the simulator's clock: its values are a function of it
    sim = make_sim(clock=lambda: served_at)
    write_config(host="127.0.0.1", port=sim.port)
    result = CliRunner().invoke(app, ["poll", "--once"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("stored sample ")
    assert "(232 calculations, 1 attempt," in result.stdout
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        rows = list(store.iter_rows(0, 2**31))
        attempts = store.attempts_since(0)
    assert len(rows) == 1
    row = rows[0]
    params, calcs, visis = sim.model.sample(served_at)
    assert (row.parameters, row.calculations, row.visibilities) == (
        tuple(params),
        tuple(calcs),
        tuple(visis),
    )
    assert row.slot % 10 == 0
    assert [(a.ok, a.attempts) for a in attempts] == [(True, 1)]


def test_a_poll_writes_only_its_journal_and_flush_makes_a_wal_full_sync_database(
    sim: Simulator, sim_config: Path, isolated: Path
) -> None:
    assert CliRunner().invoke(app, ["poll", "--once"]).exit_code == 0
    path = isolated / "data" / "luxlog.db"
    assert sorted(p.name for p in path.parent.iterdir()) == ["luxlog.db.journal"]
    assert CliRunner().invoke(app, ["flush"]).exit_code == 0
    assert db_rows(path, "PRAGMA journal_mode") == [("wal",)]
    with Store(path) as store:
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
        assert store.counts().cached == 1


def test_two_polls_in_one_slot_store_one_sample(sim_config: Path, isolated: Path) -> None:
    runner = CliRunner()
    cfg_text = Path("config.yaml").read_text().replace("interval_sec: 10", "interval_sec: 60")
    Path("config.yaml").write_text(cfg_text)
    # 20 s into a 60 s slot: both polls land in it, however slow the machine
    with time_machine.travel(1_764_144_020, tick=True):
        first = runner.invoke(app, ["poll", "--once"])
        second = runner.invoke(app, ["poll", "--once"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.split()[2] == second.stdout.split()[-7]
    assert "slot already stored, kept the first sample" in second.stdout
    with Store(isolated / "data" / "luxlog.db", interval=60) as store:
        assert len(list(store.iter_rows(0, 2**31))) == 1
        assert len(store.attempts_since(0)) == 2


@pytest.mark.parametrize(
    "fault",
    [
        "refuse",
        "hang",
        "stall",
        "close",
        "trickle",
        "wrong-echo",
        "absurd-length",
        "busy",
        "short-calculations",
    ],
)
def test_a_failed_poll_exits_1_stores_nothing_and_records_the_attempts(
    make_sim: Callable[..., Simulator],
    write_config: Callable[..., Path],
    isolated: Path,
    fault: str,
) -> None:
    sim = make_sim(faults={fault})
    write_config(host="127.0.0.1", port=sim.port, timeout_sec=0.3, retries=1)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["poll", "--once"])
    assert time.monotonic() - start < 8  # the poll deadline: interval 10 s minus a margin
    assert result.exit_code == 1
    assert result.stderr.count("\n") >= 1
    assert f"luxlog: 127.0.0.1:{sim.port}:" in result.stderr
    assert "Traceback" not in result.stderr
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        assert list(store.iter_rows(0, 2**31)) == []
        attempts = store.attempts_since(0)
    assert len(attempts) == 1
    a = attempts[0]
    ok, n, duration_ms, error = a.ok, a.attempts, a.duration_ms, a.error
    assert not ok and n >= 1 and error and str(sim.port) in error
    assert duration_ms >= 0


def test_a_short_calculations_block_is_a_recorded_failure_never_a_sample(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path], isolated: Path
) -> None:
    sim = make_sim(faults={"short-calculations"})
    write_config(host="127.0.0.1", port=sim.port)
    result = CliRunner().invoke(app, ["poll", "--once"])
    assert result.exit_code == 1
    reason = (
        "reading 3004 (calculations): calculations block has 5 values, fewer than any known "
        "firmware (200): controller still booting?"
    )
    assert reason in result.stderr
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        assert list(store.iter_rows(0, 2**31)) == []
        (a,) = store.attempts_since(0)
        ok, n, error = a.ok, a.attempts, a.error
    assert not ok and n == 1 and error and reason in error


@pytest.fixture
def namespaces() -> None:
    require_namespaces()


needs_namespaces = pytest.mark.usefixtures("namespaces")


@needs_namespaces
def test_a_resolver_that_never_answers_fails_the_poll_in_time_with_one_line_and_a_record(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    # glibc alone would wait ~34 s for this name; the attempt timeout must end it
    write_config(host=BLACKHOLE_NAME, port=8889, timeout_sec=0.5, retries=0)
    start = time.monotonic()
    result = run_with_blackhole_dns(
        "import sys; sys.argv = ['luxlog', 'poll', '--once']\nfrom luxlog.cli import main; main()",
        isolated,
    )
    # liveness only (glibc alone waits 10-34 s): the bound, start-ups and any load on top
    assert time.monotonic() - start < 0.5 + 5
    assert result.returncode == 1, result.stderr
    assert "queries swallowed" in result.stderr and "0 queries" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("luxlog: ")]
    assert len(lines) == 1 and re.fullmatch(
        rf"luxlog: {re.escape(BLACKHOLE_NAME)}:8889: controller not readable after 1 attempt "
        r"in \d+\.\d s: name resolution: no answer within the attempt timeout of 0\.5 s "
        rf"looking up {re.escape(BLACKHOLE_NAME)}",
        lines[0],
    ), lines
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        (a,) = store.attempts_since(0)
        ok, n, error = a.ok, a.attempts, a.error
    assert not ok and n == 1 and error and "name resolution" in error


@needs_namespaces
def test_name_resolution_counts_against_the_poll_deadline(isolated: Path) -> None:
    result = run_with_blackhole_dns(
        f"""
        from luxlog.client import HeatPumpClient, PollFailed
        client = HeatPumpClient({BLACKHOLE_NAME!r}, 8889, timeout=60, retries=3, deadline=0.8)
        try:
            client.read()
        except PollFailed as exc:
            print(exc, exc.attempts)
        """,
        isolated,
    )
    assert result.returncode == 0, result.stderr
    assert "name resolution: poll deadline of 0.8 s reached" in result.stdout
    assert f"{BLACKHOLE_NAME}:8889" in result.stdout


def test_a_poll_never_outlives_its_slot_even_with_a_long_timeout(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
) -> None:
    sim = make_sim(faults={"trickle"})
    # timeout_sec 60 would allow a minute per read; the 10 s interval caps the whole poll
    write_config(host="127.0.0.1", port=sim.port, timeout_sec=60, retries=3)
    cfg = load_config()
    assert cfg.poll_deadline <= 8
    # The same cap at a 3 s interval (below the configurable minimum only to keep the test
    # short): a 1 s budget for the whole poll, however long each read may take.
    short = cfg.replace(interval_sec=3)
    assert short.poll_deadline == 1
    start = time.monotonic()
    with pytest.raises(PollFailed):
        poll_once(short)
    assert time.monotonic() - start < short.poll_deadline + 5  # liveness: a minute per read


@pytest.mark.usefixtures("no_retry_waits")
def test_poll_without_once_keeps_going_after_a_bad_round(
    sim: Simulator, sim_config: Path, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load_config()
    stop = threading.Event()
    reports: list[PollReport] = []
    fake_now = [1_764_144_000.0]

    def clock() -> float:
        # each call jumps a slot and lands just before the next boundary: no real waiting
        fake_now[0] += 10
        return fake_now[0] - 0.01

    def on_report(report: PollReport) -> None:
        reports.append(report)
        if len(reports) == 1:
            raise RuntimeError("boom in round 1")
        if len(reports) == 3:
            stop.set()

    rounds = poll_forever(cfg, stop, on_report, clock=clock, error_pause=0.01)
    assert rounds == 3
    assert "boom in round 1" in caplog.text and "Traceback" in caplog.text
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        assert len(list(store.iter_rows(0, 2**31))) == 3


@pytest.mark.usefixtures("no_retry_waits")
def test_poll_loop_logs_a_failed_round_and_continues(
    make_sim: Callable[..., Simulator],
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim(faults={"refuse"})
    write_config(host="127.0.0.1", port=sim.port, retries=0)
    cfg = load_config()
    stop = threading.Event()
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        if calls[0] > 6:
            stop.set()
        return 1_764_144_000.0 + 10 * calls[0] - 0.01

    rounds = poll_forever(cfg, stop, lambda r: None, clock=clock)
    assert rounds >= 2
    assert caplog.text.count("poll failed:") >= 2


def test_poll_help_is_one_sentence() -> None:
    result = CliRunner().invoke(app, ["poll", "--help"])
    assert result.exit_code == 0
    assert "Read the controller (read-only)" in result.stdout


def test_a_corrupt_database_is_kept_byte_exact_by_flush_and_polling_goes_on(
    sim: Simulator, sim_config: Path, isolated: Path
) -> None:
    path = isolated / "data" / "luxlog.db"
    runner = CliRunner()
    with time_machine.travel(1_764_144_005, tick=True):  # slot 1_764_144_000
        assert runner.invoke(app, ["poll", "--once"]).exit_code == 0
    assert runner.invoke(app, ["flush"]).exit_code == 0
    conn = sqlite3.connect(path)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunk'").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()  # no connection of ours may stay open
    # A process killed after committing leaves its pages in the -wal, not yet in the file.
    script = (
        "import os, sys; from luxlog.store import Store; from luxlog.sample import Sample; "
        "s = Store(sys.argv[1]); s.add_rows([Sample(30, 0, (1,), (2,), (3,))]); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 0
    with path.open("r+b") as f:  # the header stays valid: only the cache's page is garbage
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    damaged, damaged_wal = path.read_bytes(), wal.read_bytes()
    with time_machine.travel(1_764_144_125, tick=True):  # another slot: 1_764_144_120
        result = runner.invoke(app, ["poll", "--once"], env={"LUXLOG_INTERVAL_SEC": "60"})
    assert result.exit_code == 0, result.output  # the poll never opens the database
    assert (path.read_bytes(), wal.read_bytes()) == (damaged, damaged_wal)
    result = runner.invoke(app, ["flush"], env={"LUXLOG_INTERVAL_SEC": "60"})
    assert result.exit_code == 0, result.output
    # found by the flush's own reads (the full check runs once a day), kept as it was
    assert "is corrupt" in result.stderr and "moved aside to" in result.stderr
    (kept,) = [p for p in path.parent.iterdir() if p.name.endswith("Z")]
    assert ".corrupt-" in kept.name
    # nothing checkpointed into the damaged file, nothing lost from its -wal
    assert kept.read_bytes() == damaged
    assert Path(f"{kept}-wal").read_bytes() == damaged_wal
    with Store(path, interval=60) as store:
        assert store.quick_check() == "ok"
        assert len(list(store.iter_rows(0, 2**31))) == 1  # the poll after the damage


def test_graceful_stop_restores_handlers_and_never_leaves_a_timer_armed() -> None:
    import signal

    from luxlog.errors import Interrupted
    from luxlog.signals import GracefulStop

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    guard = GracefulStop(grace=5)
    guard.install()
    try:
        guard.busy = True
        guard._on_signal(signal.SIGTERM, None)  # during a round: arm the grace timer
        assert guard.event.is_set() and signal.getitimer(signal.ITIMER_REAL)[0] > 0
        with pytest.raises(Interrupted):  # a second signal does not wait for the grace
            guard._on_signal(signal.SIGINT, None)
    finally:
        guard.uninstall()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    with pytest.raises(Interrupted) as info:
        guard.finish()
    assert info.value.exit_code == 143  # the first signal decides the exit code


def test_abandon_leaves_a_fresh_database_another_process_started_alone(isolated: Path) -> None:
    path = isolated / "data" / "luxlog.db"
    row = Sample(1_764_144_000, 0, (1,), (454,), (1,))
    stale = Store(path, interval=30)
    # meanwhile another process quarantined the file and started a fresh one with a sample
    Store(path, interval=30).quarantine("test")
    with Store(path, interval=30) as fresh:
        fresh.add_row(row)
    assert stale.abandon("found corrupt") is None
    with Store(path, interval=30) as store:
        assert list(store.iter_rows(0, 2**31)) == [row]


# The modules `luxlog poll --once` may import beyond the interpreter's own start-up. The poll
# path must not import SQLite or load the CLI framework, the decoder or the report code; a change
# that brings one of them back fails here, and so does one that brings back logging (imported
# only when a record is emitted), dataclasses, inspect, pathlib or urllib. Still on the path:
# yaml when there is a config file, and re through socket's encodings.idna (as in the reference).
POLL_LUXLOG_MODULES = {
    "luxlog",
    "luxlog.cli",
    "luxlog.client",
    "luxlog.codec",
    "luxlog.config",
    "luxlog.config_rules",
    "luxlog.disk",
    "luxlog.errors",
    "luxlog.fastpath",
    "luxlog.logs",
    "luxlog.poller",
    "luxlog.protocol",
    "luxlog.retry",
    "luxlog.sample",
    "luxlog.signals",
    "luxlog.store",
    "luxlog.store.journal",
    "luxlog.store.keys",
    "luxlog.text",
}
NEVER_ON_THE_POLL_PATH = {
    *("typer", "click", "rich", "luxtronik", "tenacity", "zoneinfo", "csv", "sqlite3", "_sqlite3"),
    *("logging", "dataclasses", "inspect", "ast", "dis", "traceback", "pathlib", "urllib"),
    *("starlette", "uvicorn", "anyio", "h11", "httpx"),  # luxlog serve's web extra
}


def test_a_poll_imports_exactly_the_pinned_modules_and_none_of_the_heavy_ones(
    sim: Simulator, isolated: Path
) -> None:
    env = {  # without pytest-cov's variables: coverage itself imports sqlite3 in children
        **{k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "COVERAGE"))},
        "LUXLOG_HOST": "127.0.0.1",
        "LUXLOG_PORT": str(sim.port),
        "LUXLOG_CACHE_PATH": str(isolated / "data" / "luxlog.db"),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "luxlog", "poll", "--once"],
        env=env, capture_output=True, text=True, timeout=8, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stored sample")
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert {m for m in imported if m.split(".")[0] == "luxlog"} == POLL_LUXLOG_MODULES
    assert not {m.split(".")[0] for m in imported} & NEVER_ON_THE_POLL_PATH


def fast_poll(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``luxlog [args] poll --once`` in a child through the fast path, as cron runs it."""
    return subprocess.run(
        [sys.executable, "-m", "luxlog", *args, "poll", "--once"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=8, check=False,
    )  # fmt: skip


LOG_LINE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_a_fast_poll_logs_as_set_up_although_logging_is_imported_only_for_a_record(
    sim: Simulator, isolated: Path
) -> None:
    env = {
        "LUXLOG_HOST": "127.0.0.1",
        "LUXLOG_PORT": str(sim.port),
        "LUXLOG_CACHE_PATH": str(isolated / "data" / "luxlog.db"),
    }
    quiet = fast_poll(env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # INFO level: the read's DEBUG line is not emitted
    verbose = fast_poll(env, "-v")
    assert verbose.returncode == 0, verbose.stderr
    pattern = (
        rf"{LOG_LINE} DEBUG luxlog.client: 127.0.0.1:{sim.port} read in [0-9.]+ s \(1 attempts\)"
    )
    assert re.fullmatch(pattern, verbose.stderr.strip()), verbose.stderr


def test_a_failing_fast_poll_logs_its_errors_in_the_set_up_format(isolated: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "LUXLOG_HOST": "127.0.0.1",
        "LUXLOG_PORT": str(port),
        "LUXLOG_RETRIES": "0",
        "LUXLOG_CACHE_PATH": str(isolated / "data" / "luxlog.db"),
    }
    done = fast_poll(env, "-q")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert re.fullmatch(
        rf"{LOG_LINE} ERROR luxlog.client: 127.0.0.1:{port} attempt 1/1 .*", lines[0]
    )
    assert len(lines) == 2, lines
    assert lines[1].startswith(f"luxlog: 127.0.0.1:{port}: controller not readable"), lines
