"""End to end: every crontab job, run exactly as written, the way the container runs it.

Each job's command (the rest of its crontab line, ``timeout`` wrapper included) goes through
``sh -c`` like supercronic runs it, with the container's set-up: ``TZ=UTC``, an empty working
directory, no config file, settings only from ``LUXLOG_*`` variables, and ``luxlog`` found on
``PATH`` (the test venv's bin directory, as /opt/luxlog/bin in the image). The controller is
the real simulator on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from luxlog.protocol import READ_COMMANDS
from luxlog.simulator import Simulator
from luxlog.store import Counts, Store
from support.fill import model_rows

ROOT = Path(__file__).resolve().parents[1]
CRONTAB = ROOT / "crontab"
BIN = Path(sys.executable).parent  # holds the `luxlog` console script of this install
INTERVAL = 30
TIMEZONE = "Europe/Berlin"
CSV_TIME = (7, 0)
# Each job is covered by a test below; a new crontab line needs one too.
TESTED = {"poll", "flush", "report", "prune", "doctor", "push"}


def crontab_commands() -> dict[str, str]:
    """luxlog subcommand -> the command of its crontab line, exactly as written.

    The schedule is the first seven fields (tests/test_deploy.py checks them with
    supercronic's rules); the command is the rest of the line, spacing and all.
    """
    out = {}
    for line in CRONTAB.read_text().splitlines():
        line = line.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        tokens = list(re.finditer(r"\S+", line))
        assert len(tokens) > 7, f"not a seven-field job line: {line!r}"
        command = line[tokens[7].start() :]
        words = command.split()
        name = next(w for w in words[words.index("luxlog") + 1 :] if not w.startswith("-"))
        out[name] = command
    return out


@pytest.fixture
def dirs(isolated: Path) -> dict[str, Path]:
    # The container's layout: data and logs volumes, an empty working directory.
    base = isolated.parent
    out = {"data": base / "data", "logs": base / "logs", "cwd": isolated}
    out["logs"].mkdir()
    return out


@pytest.fixture
def container_env(sim: Simulator, dirs: dict[str, Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXLOG_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        TZ="UTC",
        LUXLOG_HOST="127.0.0.1",
        LUXLOG_PORT=str(sim.port),
        LUXLOG_CACHE_PATH=str(dirs["data"] / "luxlog.db"),
        LUXLOG_OUTPUT_DIRS=str(dirs["logs"]),
        LUXLOG_TIMEZONE=TIMEZONE,
        LUXLOG_CSV_TIME=f"{CSV_TIME[0]:02d}:{CSV_TIME[1]:02d}",
        LUXLOG_INTERVAL_SEC=str(INTERVAL),
        LUXLOG_TIMEOUT_SEC="2",
        LUXLOG_RETRIES="1",
    )
    return env


Run = Callable[[str], subprocess.CompletedProcess[str]]


@pytest.fixture
def run_job(container_env: dict[str, str], dirs: dict[str, Path]) -> Run:
    commands = crontab_commands()

    def run(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", commands[name]],
            env=container_env,
            cwd=dirs["cwd"],
            capture_output=True,
            text=True,
            timeout=8,
        )

    return run


def counts(dirs: dict[str, Path]) -> Counts:
    with Store(dirs["data"] / "luxlog.db", interval=INTERVAL, readonly=True) as store:
        return store.counts()


def test_luxlog_resolves_on_path_like_in_the_image(container_env: dict[str, str]) -> None:
    result = subprocess.run(
        ["sh", "-c", "command -v luxlog && command -v timeout"],
        env=container_env,
        capture_output=True,
        text=True,
        timeout=5,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(BIN / "luxlog")


def test_every_crontab_job_has_an_end_to_end_test() -> None:
    assert set(crontab_commands()) == TESTED


def test_the_poll_job_reads_the_controller_and_buffers_one_sample(
    run_job: Run, sim: Simulator, dirs: dict[str, Path]
) -> None:
    result = run_job("poll")
    assert result.returncode == 0, result.stderr
    assert "stored sample" in result.stdout
    assert counts(dirs).buffered == 1
    assert {r[0] for r in sim.requests} == set(READ_COMMANDS)


def test_the_flush_job_moves_polled_samples_into_the_cache(
    run_job: Run, dirs: dict[str, Path]
) -> None:
    assert run_job("poll").returncode == 0
    result = run_job("flush")
    assert result.returncode == 0, result.stderr
    assert "flushed 1 samples" in result.stdout
    c = counts(dirs)
    assert (c.buffered, c.cached) == (0, 1)
    again = run_job("flush")  # idempotent: nothing left to move
    assert again.returncode == 0 and "flushed 0 samples" in again.stdout


def test_the_push_job_does_nothing_unconfigured_and_ships_the_cache_when_it_is(
    run_job: Run, container_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    assert run_job("poll").returncode == 0 and run_job("flush").returncode == 0
    idle = run_job("push")  # the image runs this job everywhere: without push_url, a no-op
    assert idle.returncode == 0, idle.stderr
    assert idle.stdout == "push is not configured (set push_url): nothing pushed\n"
    url = request.getfixturevalue("pg_url")  # a real PostgreSQL (skip_or_fail without one)
    container_env["LUXLOG_PUSH_URL"] = url
    result = run_job("push")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pushed 1 samples of site 127.0.0.1-luxlog to ")


def last_closed_day(now: dt.datetime) -> tuple[dt.date, float, float]:
    """The date, start and end (epoch) of the newest daily window that has closed."""
    tz = ZoneInfo(TIMEZONE)
    local = now.astimezone(tz)
    day = local.date()
    if (local.hour, local.minute) < CSV_TIME:
        day -= dt.timedelta(days=1)

    def at(d: dt.date) -> float:
        return dt.datetime(d.year, d.month, d.day, *CSV_TIME, tzinfo=tz).timestamp()

    return day, at(day - dt.timedelta(days=1)), at(day)


def test_the_report_job_writes_the_due_daily_report_from_a_filled_store(
    run_job: Run, dirs: dict[str, Path]
) -> None:
    day, start, end = last_closed_day(dt.datetime.now(dt.UTC))
    # a sample every 10 minutes of the 23, 24 or 25 hours: the job's work, at a fraction of it
    rows = model_rows(start, end, step=600, interval=INTERVAL)
    # polling goes on: without a recent sample, a window more than a day behind the newest
    # one waits for data (the clock may have jumped ahead), which is not this test's point
    recent = model_rows(time.time() - 60, n=1, interval=INTERVAL)
    with Store(dirs["data"] / "luxlog.db", interval=INTERVAL) as store:
        assert store.add_rows(rows + recent) == len(rows) + 1

    result = run_job("report")
    assert result.returncode == 0, result.stderr + result.stdout
    daily = dirs["logs"] / f"{day.isoformat()}_daily.csv"
    assert daily.is_file(), (result.stdout, sorted(dirs["logs"].iterdir()))
    lines = daily.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= len(rows)  # a header and one row per sample
    # A Monday's window also closes the week (partial coverage is stated, not hidden).
    month = day - dt.timedelta(days=1)  # the month of the newest closed day
    allowed = {daily.name, f"{day.isoformat()}_weekly.csv", f"{month:%Y-%m}_monthly-summary.csv"}
    assert {p.name for p in dirs["logs"].iterdir()} <= allowed
    before = daily.read_bytes()

    again = run_job("report")  # every 15 minutes: nothing new is due, nothing changes
    assert again.returncode == 0, again.stderr
    assert daily.read_bytes() == before
    assert {p.name for p in dirs["logs"].iterdir()} <= allowed


def test_the_prune_job_deletes_csvs_past_retention_and_keeps_recent_ones(
    run_job: Run, dirs: dict[str, Path]
) -> None:
    old = dirs["logs"] / "2001-01-01_daily.csv"
    old.write_text("time\n")
    today = dt.datetime.now(ZoneInfo(TIMEZONE)).date()
    recent = dirs["logs"] / f"{(today - dt.timedelta(days=2)).isoformat()}_daily.csv"
    recent.write_text("time\n")
    assert run_job("poll").returncode == 0  # a database exists, as in a running container
    result = run_job("prune")
    assert result.returncode == 0, result.stderr
    assert "pruned 1 file" in result.stdout
    assert not old.exists()
    assert recent.exists()


def test_the_doctor_job_passes_on_a_healthy_installation(
    run_job: Run, dirs: dict[str, Path]
) -> None:
    for name in ("poll", "flush", "report"):
        assert run_job(name).returncode == 0, name
    result = run_job("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout.splitlines()[-1]


def test_the_doctor_job_fails_when_nothing_has_been_polled(
    run_job: Run, dirs: dict[str, Path]
) -> None:
    result = run_job("doctor")  # the HEALTHCHECK's start period exists for this
    assert result.returncode == 1
    assert "FAIL" in result.stdout
