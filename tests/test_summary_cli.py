"""``luxlog summary`` through the CLI: the JSON contract, periods, CSV, errors."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.simulator import Model
from luxlog.store import Store
from luxlog.summary.periods import day_window
from support.fill import fill
from support.insight import DHW, HEATING, Script, store_samples

TZ = ZoneInfo("Europe/Berlin")
D1, D2 = dt.date(2026, 1, 15), dt.date(2026, 1, 16)
H = 3600
CONTRACT = [
    "period", "start", "end", "coverage_pct", "heat_heating_kwh", "heat_dhw_kwh",
    "heat_total_kwh", "elec_heating_kwh", "elec_dhw_kwh", "elec_total_kwh", "cop_heating",
    "cop_dhw", "cop_total", "compressor_starts", "compressor_hours", "mean_run_min", "defrosts",
    "hours_by_mode", "outdoor_min_c", "outdoor_mean_c", "outdoor_max_c", "errors", "flags",
]  # fmt: skip


def at(day: dt.date, hours: float) -> int:
    return day_window(day, TZ)[0] + round(hours * H)


@pytest.fixture
def config(write_config: Callable[..., Path], isolated: Path) -> Path:
    return write_config()


def two_days(config: Path) -> None:
    """Day 1: 2 h heating (COP 3.0); day 2: 1 h heating (COP 3.0) + 1 h hot water (COP 1.25)."""
    script = Script(
        runs=[
            (at(D1, 6), at(D1, 8), HEATING),
            (at(D2, 6), at(D2, 7), HEATING),
            (at(D2, 17), at(D2, 18), DHW),
        ]
    )
    # day 2's hot water draws more: 0.01 kWh every 9 s (4 kW) instead of 18 s
    real_e_dhw = script.e_dhw
    script.e_dhw = lambda t: 2 * real_e_dhw(t)  # type: ignore[method-assign]
    lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D2, TZ)[1] + 6 * H
    (config.parent / "data").mkdir(exist_ok=True)
    with Store(config.parent / "data" / "luxlog.db", interval=10) as store:
        store_samples(store, script.sample, lo, hi, 300)


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["summary", *args])


def test_json_has_the_contract_keys_for_each_day(config: Path) -> None:
    two_days(config)
    result = run("--from", "2026-01-15", "--to", "2026-01-16", "--json")
    assert result.exit_code == 0, result.output
    days = json.loads(result.stdout)
    assert [d["period"] for d in days] == ["2026-01-15", "2026-01-16"]
    for d in days:
        assert list(d)[: len(CONTRACT)] == CONTRACT
    d1, d2 = days
    assert (d1["heat_heating_kwh"], d1["elec_heating_kwh"], d1["cop_heating"]) == (12.0, 4.0, 3.0)
    assert d1["heat_dhw_kwh"] == 0.0 and d1["cop_dhw"] is None
    assert "cop_dhw: electricity 0.00 kWh is under 1 kWh" in d1["flags"]
    assert (d2["heat_total_kwh"], d2["elec_total_kwh"], d2["cop_total"]) == (11.0, 6.0, 1.83)
    assert d2["end"] == "2026-01-17T00:00:00+01:00"


def test_a_month_cop_is_total_heat_over_total_electricity_not_a_mean_of_days(
    config: Path,
) -> None:
    two_days(config)
    result = run("--from", "2026-01-15", "--to", "2026-01-16", "--by", "month", "--json")
    (month,) = json.loads(result.stdout)
    assert month["period"] == "2026-01"
    assert (month["heat_total_kwh"], month["elec_total_kwh"]) == (23.0, 10.0)
    assert month["cop_total"] == 2.3  # 23 / 10; the mean of the daily COPs would be 2.42
    assert month["compressor_starts"] == 3 and month["hours_by_mode"]["heating"] == 3.0
    assert month["start"] == "2026-01-15T00:00:00+01:00"


@pytest.mark.parametrize(
    ("by", "period"), [("week", "2026-W03"), ("year", "2026"), ("season", "2025/26")]
)
def test_periods_are_named_as_the_contract_says(config: Path, by: str, period: str) -> None:
    two_days(config)
    result = run("--from", "2026-01-15", "--to", "2026-01-16", "--by", by, "--json")
    assert [p["period"] for p in json.loads(result.stdout)] == [period]


def test_a_week_missing_days_is_partial_or_withheld(config: Path) -> None:
    two_days(config)  # 2 of the 7 days of ISO week 3 have samples
    result = run("--from", "2026-01-12", "--to", "2026-01-18", "--by", "week", "--json")
    (week,) = json.loads(result.stdout)
    assert week["heat_total_kwh"] is None
    assert "heat_heating: incomplete (2 of 7 days)" in week["flags"]


def test_table_marks_n_a_and_withheld_figures(config: Path) -> None:
    lo, hi = day_window(D1, TZ)
    fill(config.parent / "data" / "luxlog.db", lo - 6 * H, hi + 6 * H, step=120, profile="v3.78")
    result = run("--from", "2026-01-14", "--to", "2026-01-15")
    assert result.exit_code == 0, result.output
    header, day0, day1 = result.stdout.splitlines()[:3]
    assert header.split()[:3] == ["period", "cov%", "heat"]
    assert day0.split()[:3] == ["2026-01-14", "25.0", "-"]  # 6 h of 24: counters withheld
    cells = day1.split()
    assert cells[1] == "100.0" and cells[5] == cells[6] == cells[7] == "n/a"  # no el. energy


def test_v3_78_has_heat_but_no_electricity_and_matches_the_model(config: Path) -> None:
    lo, hi = day_window(D1, TZ)
    fill(config.parent / "data" / "luxlog.db", lo - 6 * H, hi + 6 * H, step=120, profile="v3.78")
    (d,) = json.loads(run("--from", "2026-01-15", "--to", "2026-01-15", "--json").stdout)
    model = Model("v3.78")
    (_, c0, _), (_, c1, _) = model.sample(lo), model.sample(hi)
    assert d["heat_heating_kwh"] == round((c1[151] - c0[151]) * 0.1, 3)
    assert d["heat_dhw_kwh"] == round((c1[152] - c0[152]) * 0.1, 3)
    assert d["compressor_starts"] == c1[57] - c0[57]
    assert d["compressor_hours"] == round((c1[56] - c0[56]) / 3600, 3)
    assert d["elec_total_kwh"] is None and d["cop_total"] is None
    assert d["quality"]["elec_total_kwh"] == d["quality"]["cop_total"] == "n/a"


def test_v1_80_without_a_heat_meter_has_no_heat_but_counts_cycles(config: Path) -> None:
    lo, hi = day_window(D1, TZ)
    fill(config.parent / "data" / "luxlog.db", lo - 6 * H, hi + 6 * H, step=120, profile="v1.80")
    (d,) = json.loads(run("--from", "2026-01-15", "--to", "2026-01-15", "--json").stdout)
    (_, c0, _), (_, c1, _) = Model("v1.80").sample(lo), Model("v1.80").sample(hi)
    assert d["heat_total_kwh"] is None and d["quality"]["heat_total_kwh"] == "n/a"
    assert d["compressor_starts"] == c1[57] - c0[57] > 0
    assert d["defrosts"] > 0 and d["hours_by_mode"]["defrost"] > 0


def test_csv_writes_one_row_per_period(config: Path, isolated: Path) -> None:
    two_days(config)
    out = isolated / "out" / "summary.csv"
    out.parent.mkdir()
    result = run("--from", "2026-01-15", "--to", "2026-01-16", "--csv", str(out), "--rebuild")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(newline="")))
    assert [r["period"] for r in rows] == ["2026-01-15", "2026-01-16"]
    assert rows[0]["cop_heating"] == "3.0" and rows[0]["cop_dhw"] == ""
    assert rows[1]["hours_hot_water"] == "1.0"


def test_without_a_database_exits_1_naming_cache_path(config: Path) -> None:
    result = run()
    assert result.exit_code == 1
    assert "cache_path" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [["--by", "fortnight"], ["--from", "2026-02-01", "--to", "2026-01-01"], ["--from", "15.1."]],
)
def test_bad_options_exit_2_naming_the_option(config: Path, args: list[str]) -> None:
    two_days(config)
    result = run(*args)
    assert result.exit_code == 2
    assert args[0] in result.output


def test_doctor_shows_yesterdays_summary_line(config: Path) -> None:
    two_days(config)
    from luxlog.config import load_config
    from luxlog.doctor import run_checks

    now = dt.datetime(2026, 1, 17, 9, tzinfo=TZ)
    diagnosis = run_checks(load_config(config, environ={}), now.timestamp(), quick=True)
    checks = {c.name: c for c in diagnosis.checks}
    assert checks["yesterday"].detail == (
        "2026-01-16: coverage 100.0 %, heat 11.0 kWh, electricity 6.00 kWh, COP 1.83, 2 starts, "
        "2.0 h compressor, 0 defrosts"
    )


def test_the_demo_shows_the_summary_of_its_simulated_days(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time_machine

    monkeypatch.setenv("LUXLOG_TIMEZONE", "UTC")
    with time_machine.travel(dt.datetime(2026, 11, 25, 7, 0, 30, tzinfo=dt.UTC), tick=False):
        result = CliRunner().invoke(app, ["demo", "--days", "1"])
    assert result.exit_code == 0, result.output
    tail = result.stdout.split("luxlog summary of the simulated days (UTC):\n")[1]
    header, row = tail.splitlines()[:2]
    assert header.split()[:3] == ["period", "cov%", "heat"]
    (_, c0, _), (_, c1, _) = (Model().sample(t) for t in (1_763_942_400, 1_764_028_800))
    # 2026-11-24 from 07:00: 70.8 % covered, its counters withheld, hours per mode partial
    assert row.split()[:4] == ["2026-11-24", "70.8", "-", "-"]
    assert c1[151] > c0[151]  # the model did heat that day: "-" is withheld, not zero


def test_a_period_cut_by_the_range_says_so(config: Path) -> None:
    two_days(config)
    result = run("--from", "2026-01-15", "--to", "2026-01-16", "--by", "month", "--json")
    (month,) = json.loads(result.stdout)
    assert month["days"] == 2 and "range covers 2 of the period's 31 days" in month["flags"]
