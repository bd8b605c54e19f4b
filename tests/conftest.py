"""Shared fixtures: an isolated working directory, the real simulator, configs.

The autouse ``isolated`` fixture moves every test into its own empty directory and clears
``LUXLOG_*`` variables, so the default paths (``./config.yaml``, ``data/``, ``logs/``) can never
point at a user's data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from luxlog import retry, simulator
from luxlog.simulator import CMD_WRITE_PARAMETER, Simulator

pytest_plugins = ["support.postgres"]  # pg_server (session), pg_db, pg_url: luxlog push tests


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("LUXLOG_"):
            monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return work


@pytest.fixture(autouse=True)
def no_parameter_writes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Read-only toward the heat pump: no simulator, however started, may see a 3002 write.

    Covers simulators made by tests, by ``luxlog demo`` and by the CLI in-process. Only a
    test marked ``sends_writes`` (the simulator's own test of how it answers one) may.
    """
    simulator.WRITES_RECEIVED.clear()
    yield
    if request.node.get_closest_marker("sends_writes") is None:
        assert simulator.WRITES_RECEIVED == [], "a parameter write (3002) reached a simulator"
    simulator.WRITES_RECEIVED.clear()


@pytest.fixture
def no_retry_waits() -> Iterator[None]:
    """Retries run without waiting (the retry policy's test switch, as stamina's)."""
    retry.set_testing(True)
    yield
    retry.set_testing(False)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulators on 127.0.0.1 port 0; afterwards prove none received a 3002 write."""
    started: list[Simulator] = []

    def factory(**kwargs: Any) -> Simulator:
        sim = Simulator(**kwargs).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
    for sim in started:
        writes = [r for r in sim.requests if r[0] == CMD_WRITE_PARAMETER]
        assert writes == [], f"a client sent a parameter write (3002): {writes}"


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def write_config(isolated: Path) -> Callable[..., Path]:
    """Write a config.yaml with fast, test-friendly settings; keyword args override."""

    def write(path: Path | None = None, **values: Any) -> Path:
        data: dict[str, Any] = {
            "interval_sec": 10,
            "timeout_sec": 2,
            "retries": 1,
            "timezone": "Europe/Berlin",
            "cache_path": str(isolated / "data" / "luxlog.db"),
            "output_dirs": [str(isolated / "logs")],
        }
        data.update(values)
        target = path or isolated / "config.yaml"
        target.write_text(yaml.safe_dump(data))
        return target

    return write


@pytest.fixture
def sim_config(sim: Simulator, write_config: Callable[..., Path]) -> Path:
    return write_config(host="127.0.0.1", port=sim.port)
