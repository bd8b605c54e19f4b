"""Smoke test of the summary figures of bench/run.py on a few samples (no timing asserts)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("luxlog_bench_run_summary", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    module._spawner = module.Spawner()
    try:
        yield module
    finally:
        module._spawner.close()
        module._spawner = None
        del sys.modules[spec.name]


def test_bench_year_summary_figures_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    figures = bench.bench_summary_year(tmp_path, 1, 480, cache=tmp_path / "cache")
    assert [f.target for f in figures] == ["≤ 1 s, ≤ 60 MiB RSS", "(informational)"]
    assert figures[0].data["rss_mib"] > 0 and "MiB RSS" in figures[0].value


def test_bench_daily_update_figure_on_two_hours(bench: ModuleType, tmp_path: Path) -> None:
    (figure,) = bench.bench_daily_update(tmp_path, 1, hours=2, seed=120)
    assert figure.target == "≤ 5 ms per flushed hour" and figure.data["ms_per_hour"] > 0
