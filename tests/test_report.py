"""Report windows, catch-up, rendering, atomic writes: real SQLite, real files, a fixed clock."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import io
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from luxlog import report, report_csv, report_files
from luxlog.columns import Column, format_fixed, known_names, neutralise, select
from luxlog.config import Config, load_config
from luxlog.decode import ABSENT, field_for
from luxlog.errors import ConfigError, WindowNotClosed
from luxlog.sample import Sample
from luxlog.simulator import Model
from luxlog.store import Store, slot_of
from luxlog.text import format_duration
from support.fill import fill

BERLIN = ZoneInfo("Europe/Berlin")


def make_cfg(base: Path, **values: Any) -> Config:
    raw: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "interval_sec": 600,
        "cache_path": str(base / "data" / "luxlog.db"),
        "output_dirs": [str(base / "logs")],
    }
    raw.update(values)
    return load_config(None, raw, environ={})


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def read_csv(path: Path, dialect: str = "excel") -> list[list[str]]:
    data = path.read_bytes()
    # excel and excel-de start with a BOM (spreadsheets need it), plain has none (scripts)
    assert data.startswith(b"\xef\xbb\xbf") == (dialect != "plain")
    delimiter = ";" if dialect == "excel-de" else ","
    text = data.decode("utf-8-sig" if dialect != "plain" else "utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def tree_state(*dirs: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p): (p.read_bytes(), p.stat().st_mtime_ns)
        for d in dirs
        if d.exists()
        for p in sorted(d.iterdir())
    }


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_cfg(tmp_path)


@pytest.fixture
def store(cfg: Config) -> Any:
    with Store(cfg.cache_path, interval=cfg.interval_sec) as s:
        yield s


# ------------------------------------------------------------------------------ windows


def test_daily_window_on_spring_change_spans_23_hours_and_2760_slots(tmp_path: Path) -> None:
    w = report.window("daily", dt.date(2026, 3, 29), make_cfg(tmp_path, interval_sec=30))
    assert w.start_utc == local(2026, 3, 28, 7)
    assert w.end_utc == local(2026, 3, 29, 7)
    assert w.end_utc.astimezone(BERLIN).utcoffset() == dt.timedelta(hours=2)
    assert w.hours == 23
    assert w.expected_slots(30) == 2760
    assert w.name == "2026-03-29_daily.csv"


def test_daily_window_on_autumn_change_spans_25_hours_and_3000_slots(tmp_path: Path) -> None:
    w = report.window("daily", dt.date(2026, 10, 25), make_cfg(tmp_path))
    assert w.hours == 25
    assert w.expected_slots(30) == 3000
    assert report.window("daily", dt.date(2026, 10, 26), make_cfg(tmp_path)).hours == 24


def test_weekly_window_over_dst_changes_spans_167_and_169_hours(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    spring = report.window("weekly", dt.date(2026, 3, 30), cfg)
    autumn = report.window("weekly", dt.date(2026, 10, 26), cfg)
    assert (spring.hours, autumn.hours) == (167, 169)
    assert spring.expected_slots(30) == 167 * 120
    assert autumn.name == "2026-10-26_weekly.csv"
    assert report.window("weekly", dt.date(2026, 11, 23), cfg).hours == 168


def test_csv_time_in_the_dst_gap_moves_forward_and_windows_still_tile(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, csv_time="02:30")
    day = report.window("daily", dt.date(2026, 3, 29), cfg)
    nxt = report.window("daily", dt.date(2026, 3, 30), cfg)
    # 02:30 does not exist that night: the boundary is 03:30 CEST (01:30 UTC).
    assert day.end_utc == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert day.end_utc.astimezone(BERLIN).hour == 3
    assert day.end_utc == nxt.start_utc
    # 01:30 UTC is where 02:30 CET would have been: the lost hour falls in the next window.
    assert (day.hours, nxt.hours) == (24, 23)


def test_csv_time_in_the_repeated_hour_means_its_first_occurrence(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, csv_time="02:30")
    day = report.window("daily", dt.date(2026, 10, 25), cfg)
    nxt = report.window("daily", dt.date(2026, 10, 26), cfg)
    assert day.end_utc == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    assert (day.hours, nxt.hours) == (24, 25)
    assert day.end_utc == nxt.start_utc


def test_window_rejects_unknown_kind_and_naive_now(cfg: Config, store: Store) -> None:
    with pytest.raises(ValueError, match="monthly"):
        report.window("monthly", dt.date(2026, 1, 1), cfg)
    with pytest.raises(ValueError, match="naive"):
        report.latest_closed_date(cfg, dt.datetime(2026, 1, 1))


def test_expected_slots_counts_only_slot_starts_inside_the_window(cfg: Config) -> None:
    w = report.Window(
        "daily",
        dt.date(2026, 1, 2),
        dt.datetime(2026, 1, 1, 0, 0, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 1, 10, tzinfo=dt.UTC),
    )
    assert w.expected_slots(30) == 2  # 00:00:30 and 00:01:00


# ------------------------------------------------------------------------------ due / catch-up


def test_nothing_is_pending_for_an_empty_database(cfg: Config, store: Store) -> None:
    assert report.pending_reports(cfg, store, local(2026, 11, 26, 8)) == []


def test_pending_starts_at_the_first_sample_and_stops_at_the_last_closed_window(
    cfg: Config, store: Store
) -> None:
    fill(store, local(2026, 11, 20, 12), local(2026, 11, 20, 13), flush=True)
    fill(store, local(2026, 11, 23, 6), local(2026, 11, 23, 6, 59), flush=True)
    before = report.pending_reports(cfg, store, local(2026, 11, 23, 6, 59))
    assert [(w.kind, w.date.day) for w in before] == [("daily", 21), ("daily", 22)]
    at = report.pending_reports(cfg, store, local(2026, 11, 23, 7))
    assert [(w.kind, w.date.day) for w in at] == [
        ("daily", 21), ("daily", 22), ("daily", 23), ("weekly", 23),
    ]  # fmt: skip


def test_pending_ignores_windows_older_than_retention(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, retention_days=2)
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 1), local(2026, 11, 1, 1), flush=True)
        fill(store, local(2026, 11, 26, 6), local(2026, 11, 26, 7), flush=True)
        due = report.pending_reports(cfg, store, local(2026, 11, 26, 8))
    assert [w.date.day for w in due] == [24, 25, 26]


def test_three_missed_runs_are_caught_up_in_one_run_and_a_rerun_changes_nothing(
    tmp_path: Path, cfg: Config, store: Store
) -> None:
    fill(store, local(2026, 11, 18, 7), local(2026, 11, 23, 12), flush=True)
    first = report.run_scheduled(cfg, store, local(2026, 11, 20, 7, 5))
    assert [w.window.name for w in first.written] == [
        "2026-11-19_daily.csv", "2026-11-20_daily.csv",
    ]  # fmt: skip
    # The container was down at 07:00 on the 21st, 22nd and 23rd (a Monday).
    run = report.run_scheduled(cfg, store, local(2026, 11, 23, 9, 40))
    assert [w.window.name for w in run.written] == [
        "2026-11-21_daily.csv", "2026-11-22_daily.csv", "2026-11-23_daily.csv",
        "2026-11-23_weekly.csv",
    ]  # fmt: skip
    assert run.ok and not run.empty
    assert {(r.kind, r.date) for r in store.reports()} >= {
        ("daily", "2026-11-21"), ("weekly", "2026-11-23"),
    }  # fmt: skip
    logs = tmp_path / "logs"
    state = tree_state(logs)
    again = report.run_scheduled(cfg, store, local(2026, 11, 23, 9, 55))
    assert again.written == [] and again.summary() == "no reports due"
    assert tree_state(logs) == state


def test_recorded_report_matches_the_file(cfg: Config, store: Store, tmp_path: Path) -> None:
    fill(store, local(2026, 11, 24, 7), local(2026, 11, 25, 7), flush=True)
    run = report.run_scheduled(cfg, store, local(2026, 11, 25, 8))
    (rec,) = store.reports()
    assert (rec.kind, rec.date) == ("daily", "2026-11-25")
    path = tmp_path / "logs" / "2026-11-25_daily.csv"
    assert rec.paths == str(path)
    assert (rec.rows, rec.expected) == (144, 144)
    assert rec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [w.sha256 for w in run.written] == [rec.sha256]


def test_same_window_twice_gives_identical_bytes(cfg: Config, store: Store, tmp_path: Path) -> None:
    fill(store, local(2026, 10, 24, 6), local(2026, 10, 25, 8), flush=True)
    now = local(2026, 10, 25, 9)
    one = report.run_on_demand(cfg, store, now, daily=True, weekly=False)
    data = (tmp_path / "logs" / "2026-10-25_daily.csv").read_bytes()
    two = report.run_on_demand(cfg, store, now, daily=True, weekly=False)
    assert one.written[0].sha256 == two.written[0].sha256
    assert (tmp_path / "logs" / "2026-10-25_daily.csv").read_bytes() == data
    assert hashlib.sha256(data).hexdigest() == one.written[0].sha256


# ------------------------------------------------------------------------------ content


def test_autumn_day_at_30_s_expects_3000_slots_and_the_repeated_hour_has_two_offsets(
    tmp_path: Path,
) -> None:
    cfg = make_cfg(tmp_path, interval_sec=30)
    with Store(cfg.cache_path, interval=30) as store:
        w = report.window("daily", dt.date(2026, 10, 25), cfg)
        fill(store, w.start_utc, local(2026, 10, 24, 8), flush=True)
        # 01:30 CEST to 03:00 CET (23:30 to 02:00 UTC): the repeated hour and its neighbours.
        utc = dt.UTC
        fill(
            store,
            dt.datetime(2026, 10, 24, 23, 30, tzinfo=utc),
            dt.datetime(2026, 10, 25, 2, 0, tzinfo=utc),
            flush=True,
        )
        fill(store, local(2026, 10, 25, 6), w.end_utc, flush=True)
        run = report.run_on_demand(cfg, store, local(2026, 10, 25, 7), True, False)
    assert (run.written[0].rows, run.written[0].expected) == (120 + 300 + 120, 3000)
    rows = read_csv(tmp_path / "logs" / "2026-10-25_daily.csv")[1:]
    stamps = [r[1] for r in rows]
    assert len(stamps) == len(set(stamps)) == 540
    assert sorted(stamps, key=dt.datetime.fromisoformat) == stamps
    assert stamps.index("2026-10-25T02:30:00+02:00") < stamps.index("2026-10-25T02:30:00+01:00")
    assert rows[0][:2] == ["2026-10-24 07:00:00", "2026-10-24T07:00:00+02:00"]
    assert rows[-1][:2] == ["2026-10-25 06:59:30", "2026-10-25T06:59:30+01:00"]
    # the local column repeats the autumn hour: only the offset tells the two 02:30 apart
    local_times = [r[0] for r in rows]
    assert local_times.count("2026-10-25 02:30:00") == 2
    assert local_times == [s[:10] + " " + s[11:19] for s in stamps]


def _render(rows: list[Sample], columns: list[Column], dialect: str = "excel") -> str:
    out = io.StringIO()
    report_csv.render_csv(rows, columns, out, BERLIN, dialect)
    return out.getvalue()


@pytest.mark.parametrize("dialect", ["excel", "excel-de", "plain"])
def test_every_dialect_parses_back_to_the_stored_values(tmp_path: Path, dialect: str) -> None:
    names = [
        "ID_WEB_Temperatur_TVL", "ID_WEB_Temperatur_TA", "ID_WEB_WP_BZ_akt",
        "ID_WEB_Zaehler_BetrZeitVD1", "ID_WEB_WMZ_Heizung", "ID_WEB_LIN_HD",
    ]  # fmt: skip
    cfg = make_cfg(tmp_path, csv_dialect=dialect, columns=names)
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 1, 14, 7), local(2026, 1, 15, 7), flush=True)
        stored = store.query(local(2026, 1, 14, 7), local(2026, 1, 15, 7))
        raw = list(store.iter_rows(local(2026, 1, 14, 7).timestamp(), 2e9))
        report.run_on_demand(cfg, store, local(2026, 1, 15, 8), True, False)
    path = tmp_path / "logs" / "2026-01-15_daily.csv"
    table = read_csv(path, dialect)
    header, rows = table[0], table[1:]
    assert header[:2] == ["local time", "timestamp"]
    assert header[2] == "ID_WEB_Temperatur_TVL (°C)"
    assert len(rows) == len(stored) == 144
    mode = field_for(80)
    for (when, values), row, sample in zip(stored, rows, raw, strict=True):
        assert dt.datetime.fromisoformat(row[1]) == when
        local_time = when.astimezone(BERLIN).replace(tzinfo=None)
        assert dt.datetime.strptime(row[0], "%Y-%m-%d %H:%M:%S") == local_time
        cells = dict(zip(names, row[2:], strict=True))
        for name in names:
            if name == "ID_WEB_WP_BZ_akt":
                assert cells[name] == mode.text(sample.calculations[80])
            else:
                assert float(cells[name].replace(",", ".")) == values[name]
    if dialect == "excel-de":
        assert any("," in r[2] for r in rows) and not any("." in r[2] for r in rows)
    assert min(float(r[3].replace(",", ".")) for r in rows) < 0  # winter: TA below zero


def test_formula_like_text_is_neutralised_but_negative_numbers_stay_numbers() -> None:
    col = Column(
        15, "X", "X (°C)", divisor=10, decimals=1,
        labels={1: "=HYPERLINK(1)", 2: "+1", 3: "@SUM", 4: "-evil", 5: "fine"},
    )  # fmt: skip
    rows = [
        Sample(1_800_000_000 + 30 * i, 0, (), (0,) * 15 + (raw,), ())
        for i, raw in enumerate((1, 2, 3, 4, 5, -40))
    ]
    table = list(csv.reader(io.StringIO(_render(rows, [col]))))
    assert [r[2] for r in table[1:]] == ["'=HYPERLINK(1)", "'+1", "'@SUM", "'-evil", "fine", "-4.0"]
    assert neutralise("heating") == "heating"


def test_cells_absent_sentinel_unknown_code_and_number_format() -> None:
    ta = Column.for_index(15)
    assert ta.cell(454) == "45.4" and ta.cell(450) == "45.0" and ta.cell(-40) == "-4.0"
    assert ta.cell(-3) == "-0.3"
    assert ta.cell(-500) == "" and ta.cell(ABSENT) == ""
    assert ta.cell(454, ",") == "45,4"
    assert Column.for_index(57).cell(-500) == "-500"  # the sentinel is only a temperature's
    mode = Column.for_index(80)
    assert mode.cell(0) == "heating" and mode.cell(99) == "99"
    assert Column.for_index(180).cell(1308) == "13.08"  # bar, /100
    assert Column.for_index(44).cell(1) == "1"
    assert format_fixed(4_273_067, 3600, 2) == "1186.96"  # seconds -> hours, half up
    assert format_fixed(18, 3600, 2, ",") == "0,01"
    assert format_fixed(7, 10, 0) == "1"


def test_default_columns_follow_the_firmware(tmp_path: Path) -> None:
    sel = select("default")
    _, old, _ = Model("v3.78").sample(1_790_000_000)
    _, new, _ = Model("v3.92").sample(1_790_000_000)
    old_headers = [c.header for c in sel.resolve(old)]
    new_headers = [c.header for c in sel.resolve(new)]
    assert "Flow temperature TVL (°C)" in old_headers
    assert "Compressor 1 operating hours (h)" in old_headers
    assert "Electrical power input (W)" not in old_headers  # V3.78 sends 232 calculations
    assert new_headers[-2:] == ["Heat output (W)", "Electrical power input (W)"]


def test_all_columns_are_every_numeric_calculation_sent(tmp_path: Path) -> None:
    _, calcs, _ = Model("v3.92").sample(1_790_000_000)
    cols = select("all").resolve(calcs)
    indices = [c.index for c in cols]
    assert indices[:3] == [0, 1, 2] and indices[-1] == len(calcs) - 1
    assert not set(range(81, 95)) & set(indices)  # firmware string and IP addresses
    by_index = {c.index: c for c in cols}
    assert by_index[10].header == "ID_WEB_Temperatur_TVL (°C)"
    assert by_index[268].header == "AC_Power_Input (W)"
    assert by_index[56].header == "ID_WEB_Zaehler_BetrZeitVD1 (s)"


def test_names_and_globs_select_in_order_and_explicit_names_stay(tmp_path: Path) -> None:
    sel = select(["ID_WEB_Temperatur_TV*", "Heat_Output", "ID_WEB_Temperatur_TVL", "AC_*"])
    _, calcs, _ = Model("v3.78").sample(1_790_000_000)
    cols = sel.resolve(calcs)
    # the pattern AC_* matches 268, not sent by V3.78: left out; Heat_Output was named: kept
    assert [c.index for c in cols] == [10, 257]
    assert (
        _render([Sample(1_790_000_000, 0, (), tuple(calcs), ())], cols)
        .splitlines()[1]
        .endswith(",")
    )
    assert "Unknown_Calculation_268" in known_names() and "AC_Power_Input" in known_names()
    assert select("ID_WEB_Temperatur_TA").specs[0].index == 15


def test_unmatched_names_and_patterns_are_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        select(["ID_WEB_Temperatur_TLV", "Nope_*", "ID_WEB_Temperatur_TA"])
    text = str(exc.value)
    assert "columns: 'ID_WEB_Temperatur_TLV' is not a known sensor name" in text
    assert "did you mean ID_WEB_Temperatur_TVL" in text
    assert "columns: pattern 'Nope_*' matches no known sensor name" in text
    assert exc.value.exit_code == 2
    with pytest.raises(ConfigError, match="zzz"):
        select(["zzz"])


def test_samples_stored_by_name_give_only_their_columns(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        store.add(
            local(2026, 2, 1, 12), {"ID_WEB_Temperatur_TVL": 45.4, "ID_WEB_Temperatur_TA": -4}
        )
        store.add(local(2026, 2, 1, 13), {"ID_WEB_Temperatur_TVL": 30.1})
        report.run_on_demand(cfg, store, local(2026, 2, 2, 8), True, False)
    table = read_csv(tmp_path / "logs" / "2026-02-02_daily.csv")
    assert table == [
        ["local time", "timestamp", "Outdoor temperature TA (°C)", "Flow temperature TVL (°C)"],
        ["2026-02-01 12:00:00", "2026-02-01T12:00:00+01:00", "-4.0", "45.4"],
        ["2026-02-01 13:00:00", "2026-02-01T13:00:00+01:00", "", "30.1"],
    ]


def test_one_short_block_first_in_the_window_does_not_strip_the_columns(tmp_path: Path) -> None:
    # A controller once answered 3004 with 5 values and that sample opened the day.
    cfg = make_cfg(tmp_path)
    model = Model("v3.78")
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        start = slot_of(local(2026, 2, 1, 8).timestamp(), cfg.interval_sec)
        for n in range(6):
            p, c, v = model.sample(start + n * cfg.interval_sec)
            calcs = tuple(c[:5]) if n == 0 else tuple(c)
            store.add_row(Sample(start + n * cfg.interval_sec, 0, tuple(p), calcs, tuple(v)))
        run = report.run_on_demand(cfg, store, local(2026, 2, 2, 8), True, False)
    assert run.ok
    table = read_csv(tmp_path / "logs" / "2026-02-02_daily.csv")
    full = [c.header for c in select("default").resolve(model.sample(start)[1])]
    assert table[0] == ["local time", "timestamp", *full]
    assert len(full) > 30
    assert table[1][2:] == [""] * len(full)  # the short sample: empty cells, not the layout
    assert table[2][full.index("Flow temperature TVL (°C)") + 2] != ""


def test_window_layout_takes_the_common_block_length_and_every_sent_index() -> None:
    def row(*calcs: int) -> Sample:
        return Sample(0, 0, (), calcs, ())

    assert report_csv.window_layout([]) is None
    rows = [row(1, 2), row(1, 2, 3), row(1, 2, 3), row(1, 2, 3, 4, 5, 6)]
    assert report_csv.window_layout(rows) == (0, 0, 0)  # neither the short nor the long one
    absent = [row(1, ABSENT, ABSENT), row(ABSENT, ABSENT, 3)]
    assert report_csv.window_layout(absent) == (0, ABSENT, 0)


def test_render_rejects_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="excel-us"):
        _render([], [], "excel-us")


def test_not_fitted_source_sensors_are_empty_cells(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 2, 1, 8), local(2026, 2, 1, 9), profile="v1.80", flush=True)
        report.run_on_demand(cfg, store, local(2026, 2, 2, 8), True, False)
    table = read_csv(tmp_path / "logs" / "2026-02-02_daily.csv")
    twe = table[0].index("Heat source inlet TWE (°C)")
    assert {r[twe] for r in table[1:]} == {""}
    assert "Heat quantity heating (kWh)" in table[0]


# ------------------------------------------------------------------------------ coverage log


def test_each_report_logs_rows_expected_coverage_and_longest_gap(
    cfg: Config, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store, local(2026, 11, 22, 7), local(2026, 11, 22, 13), flush=True)
    fill(store, local(2026, 11, 22, 15), local(2026, 11, 23, 7), flush=True)
    with caplog.at_level(logging.INFO, logger="luxlog"):
        report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, False)
    (line,) = [r.getMessage() for r in caplog.records if "coverage" in r.getMessage()]
    assert "daily report 2026-11-23 [2026-11-22T07:00+01:00 – 2026-11-23T07:00+01:00)" in line
    assert "132 rows of 144 slots expected (91.7 % coverage)" in line
    assert "longest gap 2 h from 2026-11-22T13:00:00+01:00" in line


def test_gap_formatting() -> None:
    assert format_duration(30) == "30 s"
    assert format_duration(600) == "10 min"
    assert format_duration(9000) == "2 h 30 min"
    assert format_duration(5400) == "1 h 30 min"  # as doctor prints it: one duration format


# ------------------------------------------------------------------------------ files


def test_empty_window_writes_no_file_warns_once_and_is_not_retried(
    cfg: Config, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store, local(2026, 11, 20, 8), local(2026, 11, 20, 9), flush=True)
    fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
    with caplog.at_level(logging.WARNING, logger="luxlog"):
        run = report.run_scheduled(cfg, store, local(2026, 11, 22, 10))
    assert [w.name for w in run.empty] == ["2026-11-22_daily.csv"]
    assert not (tmp_path / "logs" / "2026-11-22_daily.csv").exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "daily report 2026-11-22" in warnings[0].getMessage()
    assert "no samples" in warnings[0].getMessage()
    assert run.ok and "1 window without data" in run.summary()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="luxlog"):
        again = report.run_scheduled(cfg, store, local(2026, 11, 22, 10, 15))
    assert again.empty == [] and caplog.records == []


def test_unwritable_second_dir_first_still_gets_its_file_after_one_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    good, bad = tmp_path / "good", blocker / "sub"
    cfg = make_cfg(tmp_path, output_dirs=[str(good), str(bad)])
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 24, 8), local(2026, 11, 25, 6), flush=True)
        with caplog.at_level(logging.INFO, logger="luxlog"):
            run = report.run_scheduled(cfg, store, local(2026, 11, 25, 8))
        assert store.reports() == []  # not recorded: the next run tries again
    assert (good / "2026-11-25_daily.csv").is_file()
    assert not run.ok
    assert [(f.window.name, f.directory) for f in run.failed] == [("2026-11-25_daily.csv", bad)]
    retries = [r for r in caplog.records if "retrying once" in r.getMessage()]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(retries) == 1 and len(errors) == 1
    assert (
        errors[0]
        .getMessage()
        .endswith(
            f"cannot create output directory {bad}: {blocker} is a file; move it away or fix "
            "output_dirs"
        )
    )
    assert "failed: 2026-11-25_daily.csv in" in run.summary()
    assert sorted(p.name for p in good.iterdir()) == [
        "2026-11-25_daily.csv",
        "2026-11_monthly-summary.csv",
    ]  # no temp left; fmt: skip


def test_unwritable_first_dir_renders_into_the_next_one(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = make_cfg(tmp_path, output_dirs=[str(blocker / "x"), str(tmp_path / "b")])
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
        run = report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, False)
    assert (tmp_path / "b" / "2026-11-23_daily.csv").is_file()
    assert run.written[0].paths == (tmp_path / "b" / "2026-11-23_daily.csv",)
    assert len(run.failed) == 1


def test_all_dirs_failing_records_nothing_and_reports_each(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = make_cfg(tmp_path, output_dirs=[str(blocker / "x")])
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
        run = report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, False)
        assert store.reports() == []
    assert run.written == [] and len(run.failed) == 1
    assert run.summary().startswith("failed: 2026-11-23_daily.csv")


def test_disk_full_message_names_the_filesystem(tmp_path: Path) -> None:
    text = report_files._describe_error(tmp_path, OSError(errno.ENOSPC, "No space left on device"))
    assert "disk full" in text and "mounted at" in text and "no space left" in text
    other = report_files._describe_error(tmp_path, PermissionError(errno.EACCES, "Denied", "f"))
    assert other == "Denied: f"


def test_identical_output_dirs_are_written_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    cfg = make_cfg(tmp_path, output_dirs=[str(logs), str(logs / ".")])
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
        run = report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, False)
    assert len(run.written[0].paths) == 1


def test_second_dir_gets_the_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "deep" / "b"
    cfg = make_cfg(tmp_path, output_dirs=[str(a), str(b)], csv_dialect="excel-de")
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 22, 8), local(2026, 11, 23, 6), flush=True)
        run = report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, True)
    assert [w.window.name for w in run.written] == ["2026-11-23_daily.csv", "2026-11-23_weekly.csv"]
    for name in ("2026-11-23_daily.csv", "2026-11-23_weekly.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert "wrote 2 reports (2026-11-23_daily.csv, 2026-11-23_weekly.csv) to" in run.summary()


def test_stray_temp_files_of_dead_writers_are_removed(
    cfg: Config, store: Store, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = logs / f".2026-11-20_daily.csv.tmp-{dead.stdout.strip()}"
    mine = logs / f".2026-11-21_daily.csv.tmp-{os.getpid()}"
    live = logs / f".2026-11-22_daily.csv.tmp-{os.getppid()}"
    other = logs / ".notes.csv.tmp-1"
    for p in (stale, mine, live, other):
        p.write_text("half a file")
    report.run_scheduled(cfg, store, local(2026, 11, 23, 8))
    assert not stale.exists() and not mine.exists()
    assert live.exists() and other.exists()
    assert report_files.remove_stray_temps([tmp_path / "missing"]) == []


def test_a_stray_temp_that_cannot_be_removed_is_a_warning_not_a_failed_run(
    cfg: Config, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logs = tmp_path / "logs"
    stuck = logs / f".2026-11-20_daily.csv.tmp-{os.getpid()}"
    stuck.mkdir(parents=True)  # unlink answers EISDIR, not FileNotFoundError
    assert report_files.remove_stray_temps([logs]) == []
    assert stuck.exists()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"cannot remove stray temp file {stuck}: Is a directory"
    ]


# ------------------------------------------------------------------------------ on demand


def test_on_demand_picks_the_latest_closed_windows(cfg: Config, store: Store) -> None:
    fill(store, local(2026, 11, 14, 8), local(2026, 11, 25, 9), step=7200, flush=True)
    run = report.run_on_demand(cfg, store, local(2026, 11, 25, 6, 59), daily=True, weekly=True)
    assert [w.window.name for w in run.written] == ["2026-11-24_daily.csv", "2026-11-23_weekly.csv"]
    recorded = {(r.kind, r.date) for r in store.reports()}
    assert recorded == {("daily", "2026-11-24"), ("weekly", "2026-11-23")}


def test_on_demand_date_alone_means_daily_and_may_be_any_weekday(cfg: Config, store: Store) -> None:
    fill(store, local(2026, 11, 14, 8), local(2026, 11, 25, 9), step=7200, flush=True)
    run = report.run_on_demand(
        cfg, store, local(2026, 11, 26, 9), False, False, dt.date(2026, 11, 20)
    )
    assert [w.window.name for w in run.written] == ["2026-11-20_daily.csv"]
    run = report.run_on_demand(
        cfg, store, local(2026, 11, 26, 9), False, True, dt.date(2026, 11, 20)
    )
    assert [w.window.name for w in run.written] == ["2026-11-20_weekly.csv"]
    assert run.written[0].window.hours == 168


def test_on_demand_refuses_a_window_that_has_not_closed(cfg: Config, store: Store) -> None:
    with pytest.raises(WindowNotClosed, match="^the window ending 2026-11-26 closes at"):
        report.run_on_demand(cfg, store, local(2026, 11, 26, 6), True, False, dt.date(2026, 11, 26))


def test_on_demand_output_writes_elsewhere_and_records_nothing(
    cfg: Config, store: Store, tmp_path: Path
) -> None:
    fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
    out = tmp_path / "elsewhere"
    run = report.run_on_demand(cfg, store, local(2026, 11, 23, 8), True, False, None, out)
    assert (out / "2026-11-23_daily.csv").is_file()
    assert not (tmp_path / "logs").exists()
    assert store.reports() == []
    assert run.output_dirs == (out,)


def test_unmatched_column_fails_before_anything_is_written(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, columns=["ID_WEB_Nope"])
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, local(2026, 11, 22, 8), local(2026, 11, 22, 9), flush=True)
        with pytest.raises(ConfigError, match="ID_WEB_Nope"):
            report.run_scheduled(cfg, store, local(2026, 11, 23, 8))
    assert not (tmp_path / "logs").exists()


# ------------------------------------------------------------------------------ kill -9

CHILD = """
import datetime as dt, sys
from pathlib import Path
from luxlog import report
from luxlog.config import load_config
from luxlog.store import Store

cfg = load_config(Path(sys.argv[1]), environ={})
store = Store(cfg.cache_path, interval=cfg.interval_sec)
now = dt.datetime.fromisoformat(sys.argv[2])
print("ready", flush=True)
while True:
    report.run_on_demand(cfg, store, now, True, False)
"""


def test_kill_9_during_a_report_leaves_no_file_or_the_complete_file(
    tmp_path: Path, write_config: Any
) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    config = write_config(
        interval_sec=30, columns="all", output_dirs=[str(d) for d in dirs],
        cache_path=str(tmp_path / "db" / "luxlog.db"),
    )  # fmt: skip
    cfg = load_config(config, environ={})
    now = local(2026, 11, 23, 8)
    with Store(cfg.cache_path, interval=30) as store:
        fill(store, local(2026, 11, 23, 5), local(2026, 11, 23, 7), flush=True)  # 2 h: ~230 kB
        ref_run = report.run_on_demand(cfg, store, now, True, False, None, tmp_path / "ref")
    reference = (tmp_path / "ref" / "2026-11-23_daily.csv").read_bytes()
    assert ref_run.written[0].rows == 240 and len(reference) > 200_000
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random()
    for _ in range(4):  # a fixed number of kills: a loaded machine makes it slower, not weaker
        child = subprocess.Popen(
            [sys.executable, str(script), str(config), now.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.25))  # each report takes a few 10 ms: kills land mid-write
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        for d in dirs:
            final = d / "2026-11-23_daily.csv"
            if final.exists():
                assert final.read_bytes() == reference
    # The next run cleans up after the killed ones and completes the report.
    with Store(cfg.cache_path, interval=30) as store:
        report.run_on_demand(cfg, store, now, True, False)
    for d in dirs:
        assert [p.name for p in d.iterdir()] == ["2026-11-23_daily.csv"]
        assert (d / "2026-11-23_daily.csv").read_bytes() == reference


def test_a_window_after_the_newest_sample_waits_and_is_never_recorded_empty(
    cfg: Config, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store, local(2026, 11, 20, 8), local(2026, 11, 20, 9))
    # within a day of the data the clock is trusted: the day the data stops in is written
    first = report.run_scheduled(cfg, store, local(2026, 11, 21, 7, 15))
    assert [w.window.name for w in first.written] == ["2026-11-21_daily.csv"]
    with caplog.at_level(logging.WARNING, logger="luxlog"):
        run = report.run_scheduled(cfg, store, local(2026, 11, 24, 10))
    assert run.written == []
    assert [w.name for w in run.waiting] == [
        "2026-11-22_daily.csv", "2026-11-23_daily.csv", "2026-11-23_weekly.csv",
        "2026-11-24_daily.csv",
    ]  # fmt: skip
    assert run.empty == [] and run.ok
    assert run.summary().endswith("; 4 windows waiting for data")
    waiting = [r.getMessage() for r in caplog.records if "waiting for data" in r.getMessage()]
    assert len(waiting) == 1  # one line per run, not one per window
    assert "2026-11-22_daily.csv … 2026-11-24_daily.csv" in waiting[0]
    # on demand, too, a window with nothing at or after it is not recorded as empty
    demand = report.run_on_demand(cfg, store, local(2026, 11, 24, 10), True, False)
    assert [w.name for w in demand.waiting] == ["2026-11-24_daily.csv"]
    assert [r.date for r in store.reports()] == ["2026-11-21"]
    # the samples arrive: the windows are written, the real gap days as empty ones
    fill(store, local(2026, 11, 23, 12), local(2026, 11, 24, 9))
    later = report.run_scheduled(cfg, store, local(2026, 11, 24, 10))
    assert [w.window.name for w in later.written] == [
        "2026-11-23_weekly.csv", "2026-11-24_daily.csv",
    ]  # fmt: skip
    assert [w.name for w in later.empty] == ["2026-11-22_daily.csv", "2026-11-23_daily.csv"]
    assert later.waiting == []


def test_cells_holding_any_dialects_separator_are_quoted() -> None:
    # LibreOffice's import dialog splits on comma, semicolon and tab whatever the file uses
    assert report_csv.quote("1,7") == '"1,7"'
    assert report_csv.quote("a;b") == '"a;b"' and report_csv.quote("a\tb") == '"a\tb"'
    assert report_csv.quote('say "hi"') == '"say ""hi"""'
    assert report_csv.quote("-4.0") == "-4.0" and report_csv.quote("") == ""
    assert report_csv.csv_line(["1,7", "x"], ";") == '"1,7";x\r\n'
    ta = Column.for_index(15)
    rows = [Sample(1_800_000_000, 0, (), (0,) * 15 + (-46,), ())]
    de = _render(rows, [ta], "excel-de").splitlines()
    assert de == [
        "local time;timestamp;ID_WEB_Temperatur_TA (°C)",
        '2027-01-15 09:00:00;2027-01-15T09:00:00+01:00;"-4,6"',
    ]
    assert _render(rows, [ta], "plain").splitlines()[1] == (
        "2027-01-15 09:00:00,2027-01-15T09:00:00+01:00,-4.6"
    )
