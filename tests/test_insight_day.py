"""One local day from raw samples, every figure checked against a scripted known truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from luxlog.sample import Sample
from luxlog.store import Store
from luxlog.summary import Period, summarize
from luxlog.summary.periods import day_window, period_days, period_key
from support.insight import DEFROST, DHW, HEATING, Script, store_samples

TZ = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 1, 15)
START, END = day_window(DAY, TZ)
H = 3600


def at(hours: float, day: dt.date = DAY) -> int:
    """Epoch seconds of local time ``hours`` after midnight of ``day`` (no DST that day)."""
    return day_window(day, TZ)[0] + round(hours * H)


def summary_of(
    tmp_path: Path,
    script: Script | list[Sample],
    day: dt.date = DAY,
    *,
    step: int = 120,
    skip: object = None,
) -> Period:
    start, end = day_window(day, TZ)
    with Store(tmp_path / "t.db", interval=step) as store:
        if isinstance(script, Script):
            store_samples(store, script.sample, start - 6 * H, end + 6 * H, step,
                          **({"skip": skip} if skip else {}))  # fmt: skip
        else:
            store_samples(store, script)
        (period,) = summarize(store, day, day, "day", TZ)
    return period


def winter_day() -> Script:
    return Script(
        runs=[
            (at(5), at(7), HEATING),
            (at(7), at(7.1), DEFROST),  # the same compressor run, reversed
            (at(17), at(17.6), DHW),
            (at(20), at(21), HEATING),
        ],
        outdoor=lambda t: -80 + 5 * (((t - START) // H) % 24),
        errors=[(at(-30), 715), (at(12), 717)],
    )


def test_a_normal_winter_day_gives_every_figure_exactly(tmp_path: Path) -> None:
    p = summary_of(tmp_path, winter_day())
    assert p.period == "2026-01-15"
    assert (p.start, p.end) == ("2026-01-15T00:00:00+01:00", "2026-01-16T00:00:00+01:00")
    assert p.coverage_pct == 100.0
    assert (p.heat_heating_kwh, p.heat_dhw_kwh, p.heat_total_kwh) == (18.0, 3.0, 21.0)
    assert (p.elec_heating_kwh, p.elec_dhw_kwh, p.elec_total_kwh) == (6.0, 1.2, 7.2)
    assert (p.cop_heating, p.cop_dhw, p.cop_total) == (3.0, 2.5, 2.92)
    assert p.compressor_starts == 3
    assert p.compressor_hours == 3.7
    assert p.mean_run_min == 74.0  # (126 + 36 + 60) / 3: the defrost is part of its run
    assert p.defrosts == 1
    assert p.hours_by_mode == {"defrost": 0.1, "heating": 3.0, "hot water": 0.6,
                               "no request": 20.3}  # fmt: skip
    assert (p.outdoor_min_c, p.outdoor_mean_c, p.outdoor_max_c) == (-8.0, -2.25, 3.5)
    assert p.errors == [{"time": "2026-01-15T12:00:00+01:00", "code": 717}]
    assert p.flags == []
    assert p.quality == {}


def test_dst_days_are_23_and_25_hours_long(tmp_path: Path) -> None:
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    for day, hours in ((spring, 23), (autumn, 25)):
        start, end = day_window(day, TZ)
        assert end - start == hours * H
        script = Script(runs=[(start + H, start + 3 * H, HEATING)])
        p = summary_of(tmp_path / day.isoformat(), script, day, step=300)
        assert p.coverage_pct == 100.0
        assert p.hours_by_mode == {"heating": 2.0, "no request": hours - 2.0}
        assert p.heat_heating_kwh == 12.0 and p.elec_heating_kwh == 4.0
    assert p.start == "2026-10-25T00:00:00+02:00" and p.end == "2026-10-26T00:00:00+01:00"


def test_a_counter_reset_mid_day_counts_the_new_value_and_is_flagged(tmp_path: Path) -> None:
    script = Script(runs=[(at(2), at(4), HEATING), (at(14), at(16), HEATING)])
    rows = [script.sample(t) for t in range(START - 6 * H, END + 6 * H, 300)]
    reset = at(12)  # installer reset of the heat meter: c151 restarts from 0 at noon
    before = script.base + script.heat(reset)
    rows = [_with(r, c={151: r.calculations[151] - before}) if r.slot >= reset else r
            for r in rows]  # fmt: skip
    p = summary_of(tmp_path, rows)
    assert p.heat_heating_kwh == 24.0  # 2 h + 2 h at 6 kW, nothing lost, nothing negative
    assert "heat_heating_kwh" not in p.quality
    assert p.flags == [
        "heat_heating: counter reset",
        "cop_dhw: electricity 0.00 kWh is under 1 kWh",
    ]


def test_a_rollback_after_a_reboot_counts_zero_and_keeps_counting(tmp_path: Path) -> None:
    script = Script(runs=[(at(2), at(4), HEATING), (at(14), at(16), HEATING)])
    rows = [script.sample(t) for t in range(START - 6 * H, END + 6 * H, 300)]
    reboot = at(15)  # the counter is set back by 3 kWh (30 units) from 15:00 on
    rows = [_with(r, c={151: r.calculations[151] - 30}) if r.slot >= reboot else r
            for r in rows]  # fmt: skip
    p = summary_of(tmp_path, rows)
    # the 3 kWh set back are not counted twice; the step seen at the rollback (0.5 kWh) is lost
    assert p.heat_heating_kwh == 23.5
    assert "heat_heating: counter rollback" in p.flags


def test_the_151_sign_bug_and_a_spike_do_not_reach_the_figure(tmp_path: Path) -> None:
    script = Script(runs=[(at(2), at(4), HEATING)])
    rows = [script.sample(t) for t in range(START - 6 * H, END + 6 * H, 300)]
    bug, spike = at(3), at(10)
    rows = [
        _with(r, c={151: r.calculations[151] + 214_748_364}) if bug <= r.slot < bug + 600
        else _with(r, c={152: 90_000}) if r.slot == spike
        else r
        for r in rows
    ]  # fmt: skip
    p = summary_of(tmp_path, rows)
    assert p.heat_heating_kwh == 12.0
    assert p.heat_dhw_kwh == 0.0 and "heat_dhw_kwh" not in p.quality
    assert p.flags[0] == "heat_dhw: counter spike"  # and none on 151: the sign bug is fixed


def test_electricity_stepping_every_2_hours_is_interpolated_at_midnight(tmp_path: Path) -> None:
    # heating from 21:00 to 03:00; the electrical counter only updates at odd local hours
    day2 = DAY + dt.timedelta(days=1)
    script = Script(runs=[(at(21), at(27), HEATING)])

    def stepped(t: int) -> Sample:
        update = START + ((t - START - H) // (2 * H)) * 2 * H + H  # the last odd hour
        e = script.e_heat(update)
        return _with(script.sample(t), p={1136: script.base + e})

    end = day_window(day2, TZ)[1]
    rows = [stepped(t) for t in range(START - 6 * H, end + 6 * H, 300)]
    with Store(tmp_path / "t.db", interval=60) as store:
        store_samples(store, rows)
        p1, p2 = summarize(store, DAY, day2, "day", TZ)
    # 2 kW × 3 h each side of midnight; the 23:00->01:00 step is split half and half
    assert (p1.elec_heating_kwh, p2.elec_heating_kwh) == (6.0, 6.0)
    assert p1.quality["elec_heating_kwh"] == "estimated"
    assert "elec_heating: estimated (end interpolated)" in p1.flags
    assert p1.quality["cop_heating"] == "estimated" and p1.cop_heating == 3.0
    assert p1.heat_heating_kwh == 18.0 and "heat_heating_kwh" not in p1.quality


def test_a_3_hour_gap_inside_the_day_keeps_counters_exact_and_marks_samples_partial(
    tmp_path: Path,
) -> None:
    p = summary_of(tmp_path, winter_day(), skip=lambda t: at(10) <= t < at(13))
    assert p.heat_total_kwh == 21.0 and p.compressor_starts == 3
    assert p.coverage_pct == 87.5
    assert p.longest_gap_min == 180.0
    assert p.hours_by_mode is not None and p.hours_by_mode["no request"] == 17.3
    assert p.quality["hours_by_mode"] == "partial"
    assert "sample figures partial: coverage 87.5 %, longest gap 180 min" in p.flags


def test_a_3_hour_gap_across_midnight_estimates_both_days(tmp_path: Path) -> None:
    script = Script(runs=[(at(22), at(26), HEATING)])
    day2 = DAY + dt.timedelta(days=1)
    with Store(tmp_path / "t.db", interval=60) as store:
        store_samples(store, script.sample, START - 6 * H, day_window(day2, TZ)[1] + 6 * H, 300,
                      skip=lambda t: at(22.5) <= t < at(25.5))  # fmt: skip
        p1, p2 = summarize(store, DAY, day2, "day", TZ)
    assert (p1.heat_heating_kwh, p2.heat_heating_kwh) == (12.0, 12.0)  # 4 h split by time
    assert p1.quality["heat_heating_kwh"] == p2.quality["heat_heating_kwh"] == "estimated"


def test_a_compressor_run_across_midnight_is_one_start_of_the_day_it_began(
    tmp_path: Path,
) -> None:
    script = Script(runs=[(at(23), at(25), HEATING)])
    day2 = DAY + dt.timedelta(days=1)
    with Store(tmp_path / "t.db", interval=60) as store:
        store_samples(store, script.sample, START - 6 * H, day_window(day2, TZ)[1] + 6 * H, 300)
        p1, p2 = summarize(store, DAY, day2, "day", TZ)
    assert (p1.compressor_starts, p2.compressor_starts) == (1, 0)
    assert (p1.compressor_hours, p2.compressor_hours) == (1.0, 1.0)
    assert (p1.mean_run_min, p2.mean_run_min) == (120.0, None)
    assert (p1.heat_heating_kwh, p2.heat_heating_kwh) == (6.0, 6.0)


def test_a_day_without_samples_is_incomplete_not_zero(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store:
        (p,) = summarize(store, DAY, DAY, "day", TZ)
    assert p.coverage_pct == 0.0 and p.heat_total_kwh is None and p.compressor_starts is None
    assert p.quality["heat_total_kwh"] == "incomplete"
    assert p.hours_by_mode is None and p.flags[0] == "no samples"


def _with(s: Sample, *, c: dict[int, int] | None = None, p: dict[int, int] | None = None) -> Sample:
    calcs, params = list(s.calculations), list(s.parameters)
    for i, v in (c or {}).items():
        calcs[i] = v
    for i, v in (p or {}).items():
        params[i] = v
    return Sample(s.slot, s.stat, tuple(params), tuple(calcs), s.visibilities)


def test_a_firmware_change_mid_day_is_flagged(tmp_path: Path) -> None:
    script = winter_day()
    rows = [script.sample(t) for t in range(START - 6 * H, END + 6 * H, 120)]
    update = at(13)
    new_fw = {81 + i: ord(ch) for i, ch in enumerate("V3.92.5")}
    rows = [_with(r, c=new_fw) if r.slot >= update else r for r in rows]
    p = summary_of(tmp_path, rows)
    assert "firmware changed: V3.92.1 -> V3.92.5" in p.flags
    assert p.heat_total_kwh == 21.0


@pytest.mark.parametrize(
    ("day", "by", "key", "days"),
    [
        (dt.date(2024, 2, 10), "month", "2024-02", 29),
        (dt.date(2025, 12, 29), "week", "2026-W01", 7),
        (dt.date(2024, 8, 31), "season", "2023/24", 366),
        (dt.date(2025, 9, 1), "season", "2025/26", 365),
        (dt.date(2024, 7, 1), "year", "2024", 366),
    ],
)
def test_periods_are_local_calendar_periods(day: dt.date, by: str, key: str, days: int) -> None:
    assert (period_key(day, by), period_days(day, by)) == (key, days)


def test_a_jump_confirmed_by_the_next_reading_is_a_new_baseline_not_energy(
    tmp_path: Path,
) -> None:
    script = Script(runs=[(at(2), at(4), HEATING), (at(14), at(16), HEATING)])
    rows = [script.sample(t) for t in range(START - 6 * H, END + 6 * H, 300)]
    swap = at(10)  # a replaced controller whose meter reads 50,000 kWh more from 10:00 on
    rows = [_with(r, c={151: r.calculations[151] + 500_000}) if r.slot >= swap else r
            for r in rows]  # fmt: skip
    p = summary_of(tmp_path, rows)
    assert p.heat_heating_kwh == 24.0
    assert p.flags[:2] == ["heat_heating: counter spike", "heat_heating: counter jump"]
