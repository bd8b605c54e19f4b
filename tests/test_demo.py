"""``luxlog demo``: the pipeline end to end on the built-in simulator, and the live mode."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.simulator import Simulator
from luxlog.store import Store


def test_demo_polls_the_simulator_stores_and_writes_reports(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = isolated / "demo"
    monkeypatch.setenv("LUXLOG_TIMEZONE", "UTC")
    # Just after 07:00, the daily window has closed: one simulated day fills all of it.
    with time_machine.travel(dt.datetime(2026, 11, 25, 7, 0, 30, tzinfo=dt.UTC), tick=True):
        result = CliRunner().invoke(app, ["demo", "--days", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 polls, as stored" in result.stdout
    assert result.stdout.count("polled ") == 4
    assert "flushed " in result.stdout
    dailies = sorted((out / "logs").glob("*_daily.csv"))
    assert dailies, result.stdout
    with dailies[-1].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["local time", "timestamp"]
    assert len(rows) > 2000  # a full day at 30 s has 2,880 rows
    assert str(dailies[-1]) in result.stdout
    with Store(out / "data" / "luxlog.db") as store:
        assert store.counts().buffered == 0


def test_demo_runs_in_a_throwaway_directory_by_default(isolated: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "removed now; keep it with --output DIR" in result.stdout
    assert not (isolated / "data").exists() and not (isolated / "logs").exists()


def test_demo_with_host_reads_a_real_controller_read_only(
    make_sim: Callable[..., Simulator], isolated: Path
) -> None:
    sim = make_sim()
    out = isolated / "live"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(sim.port),
            "--duration",
            "0",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"reading 127.0.0.1:{sim.port} (read-only)" in result.stdout
    assert "poll 1: 232 calculations" in result.stdout
    assert {r[0] for r in sim.requests} == {3003, 3004, 3005}
    assert (out / "data" / "luxlog.db").exists()


def test_demo_against_an_unreachable_controller_exits_1(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(faults={"refuse"})
    result = CliRunner().invoke(
        app,
        ["demo", "--host", "127.0.0.1", "--port", str(sim.port), "--duration", "0"],
        env={"LUXLOG_RETRIES": "0"},
    )
    assert result.exit_code == 1
    assert "connection refused" in result.stderr
