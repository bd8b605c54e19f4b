"""Smoke test of bench/run.py: every figure's code path on a few samples (no timing asserts)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.requires import skip_or_fail

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("luxlog_bench_run", BENCH)
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


def check_figures(bench: ModuleType, figures: list[Any], count: int) -> None:
    assert len(figures) == count
    assert all(f.value and f.target for f in figures)
    table = bench.markdown(figures)
    assert table.count("\n") == len(figures) + 1 and "| figure | value | target | pass |" in table
    json.dumps([f.data for f in figures])  # JSON-serialisable as written to results.json


# The ten figures (3 + 2 + 4 + 1) in four parts, so that none of the tests takes long.


def test_bench_poll_figures_on_one_poll(bench: ModuleType, tmp_path: Path) -> None:
    check_figures(bench, bench.bench_poll(1, tmp_path), 3)


def test_bench_flush_and_cycle_figures_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    figures = [
        *bench.bench_flush(tmp_path, 1, 60),
        *bench.bench_cycle(tmp_path, 2, flush_every=2, warmup=0),  # one poll, one flush
    ]
    check_figures(bench, figures, 2)


def test_bench_storage_and_report_figures_on_a_few_samples(
    bench: ModuleType, tmp_path: Path
) -> None:
    figures = [  # the report reads the week database the storage step writes
        *bench.bench_storage(tmp_path, 240, json_stride=48),
        *bench.bench_report(tmp_path, 1),
    ]
    check_figures(bench, figures, 4)


def test_bench_year_query_figure_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    bench.bench_storage(tmp_path, 240, json_stride=48)  # the week database it compares with
    check_figures(bench, bench.bench_year_query(tmp_path, 1, 480, cache=tmp_path / "cache"), 1)


def test_bench_block_device_figures_on_one_poll(bench: ModuleType) -> None:
    figures = bench.blockdev_figures(bench.Figure, 1, flush_every=1, baseline=None)
    if figures[0].value.startswith("not measured"):
        skip_or_fail(figures[0].value)  # root and a loop device: CI has both
    check_figures(bench, figures, 3)
    if shutil.which("strace"):
        assert figures[2].value == "1"  # one fsync per poll, counted by strace
    assert "today:" not in figures[0].value


def test_bench_block_device_measures_the_code_before_the_journal_too(bench: ModuleType) -> None:
    import blockdev

    found = blockdev.bench_blockdev(1, 1, new=False)
    if isinstance(found, str):
        skip_or_fail(found)
    assert set(found) == {"today"}  # the baseline tree ran (the table puts it beside "new")
    assert found["today"]["poll_median"] > 0
    if shutil.which("strace"):
        assert found["today"]["fsyncs"] > 1  # the SQLite poll: 5


def test_child_measurement_without_spawner(bench: ModuleType) -> None:
    saved, bench._spawner = bench._spawner, None
    try:
        child = bench.run_child([sys.executable, "-c", "print('hi')"])
    finally:
        bench._spawner = saved
    assert child.rc == 0 and child.stdout == "hi\n" and child.maxrss_kib > 0


def test_bench_export_figures_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    check_figures(bench, bench.bench_export(tmp_path, 1, 240, cache=tmp_path / "cache"), 2)


def test_bench_import_figure_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    check_figures(bench, bench.bench_import(tmp_path, 1, 240, cache=tmp_path / "cache"), 1)


def test_bench_logger_rows_are_what_python_luxtronik_decodes(bench: ModuleType) -> None:
    from luxlog.simulator import Model
    from support.luxtronik_logger import decoded_model

    row = Model().raw_sample(1_795_132_800)
    assert json.loads(bench.logger_json(bench._logger_plan(), row)) == json.loads(
        json.dumps(decoded_model(row), default=str)
    )


# The summary figures (issue 13): a year's summary by month, the per-day table's flush share.


def test_bench_year_summary_figures_on_a_few_samples(bench: ModuleType, tmp_path: Path) -> None:
    figures = bench.bench_summary_year(tmp_path, 1, 480, cache=tmp_path / "cache")
    check_figures(bench, figures, 2)
    assert figures[0].data["rss_mib"] > 0 and figures[1].target == "(informational)"


def test_bench_daily_update_figure_on_two_hours(bench: ModuleType, tmp_path: Path) -> None:
    (figure,) = bench.bench_daily_update(tmp_path, 1, hours=2, seed=120)
    check_figures(bench, [figure], 1)
    assert figure.data["ms_per_hour"] > 0


# counts() by index look-ups (issue 12 item 3): a year's chunks vs the scan it replaced.


def test_bench_counts_figure_on_two_days_of_chunks(bench: ModuleType, tmp_path: Path) -> None:
    (figure,) = bench.counts_figures(bench.Figure, tmp_path, 3, hours=48)
    check_figures(bench, [figure], 1)
    assert figure.data["chunks"] == 48 and figure.data["scan_ms"] > 0


def test_bench_report_runs_the_code_before_alternately(bench: ModuleType, tmp_path: Path) -> None:
    bench.bench_storage(tmp_path, 240, json_stride=48)  # the week database the report reads
    before = bench.source_tree(tmp_path, bench.REPORT_BASELINE)
    figures = bench.bench_report(tmp_path, 1, before=before)
    check_figures(bench, figures, 2)
    assert all(len(f.data["before_runs"]) == 1 for f in figures) and "before:" in figures[0].value


def test_bench_fleet_figures_on_two_tiny_sites(bench: ModuleType, pg_server: Any) -> None:
    """On the tests' server (a fresh database), not one started for the run: the bench's own
    server start is what ``python bench/fleet.py`` runs."""
    import fleet

    figures = fleet.fleet_figures(
        bench.Figure, 2, queries=1, workers=2, per_site=20, week=30, server=pg_server
    )
    check_figures(bench, figures, 5)
    data = figures[0].data
    assert data["inserted"] == data["expected"] == 40 and data["rows_in_samples"] == 70
    assert data["query_rows"] == 30
    assert data["server_only_samples"] == 40 and data["server_only_samples_per_sec"] > 0


# luxlog serve (issue 17): /api/series for a week over HTTP, the server's RSS.


def test_bench_web_api_figures_on_a_few_hours(bench: ModuleType, tmp_path: Path) -> None:
    figures = bench.web_api_figures(bench.Figure, tmp_path, 240, 1)
    check_figures(bench, figures, 2)
    data = figures[0].data
    assert data["series"] == 8 and data["rows"] == 120 and data["rss_mib"] > 0  # 60 s buckets
    assert data["day_rows"] == 240 and len(data["walls"]) == 2  # the first, cold, and one
