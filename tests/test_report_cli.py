"""``luxlog report`` through the CLI: flags, bad --date, --output, exit codes; clock faked."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from typer.testing import CliRunner

from luxlog.cli import app, run
from luxlog.config import load_config
from luxlog.store import Store
from support.clock import MONTHS_3, clock_at, clock_jumped
from support.fill import fill as fill_samples
from support.fullfs import full_tmpfs

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)  # a Wednesday, after 07:00


def fill(config: Path, start: dt.datetime, end: dt.datetime, step: int = 1800) -> None:
    fill_samples(load_config(config, environ={}), start, end, step=step)


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(interval_sec=600)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["report", *args])


def test_report_help_names_every_option() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for option in ("--daily", "--weekly", "--date", "--output", "--config", "YYYY-MM-DD"):
        assert option in result.output
    assert "Write every due daily/weekly CSV report" in result.output


def test_scheduled_run_catches_up_and_prints_one_summary_line(
    config: Path, isolated: Path, clock: Any
) -> None:
    fill(config, dt.datetime(2026, 11, 22, 7, tzinfo=BERLIN), NOW)
    result = invoke("--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote 4 reports (2026-11-23_daily.csv, 2026-11-23_weekly.csv, 2026-11-24_daily.csv, …) "
        f"to {isolated / 'logs'}"
    ]
    assert sorted(p.name for p in (isolated / "logs").iterdir()) == [
        "2026-11-23_daily.csv", "2026-11-23_weekly.csv", "2026-11-24_daily.csv",
        "2026-11-25_daily.csv", "2026-11_monthly-summary.csv",
    ]  # fmt: skip
    again = invoke("--config", str(config))
    assert again.stdout.strip() == "no reports due"


def test_daily_flag_writes_the_latest_closed_window(
    config: Path, isolated: Path, clock: Any
) -> None:
    fill(config, dt.datetime(2026, 11, 20, 7, tzinfo=BERLIN), NOW)
    result = invoke("--config", str(config), "--daily")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote 1 report (2026-11-25_daily.csv)")
    weekly = invoke("--config", str(config), "--weekly")
    assert weekly.stdout.startswith("wrote 1 report (2026-11-23_weekly.csv)")
    assert sorted(p.name for p in (isolated / "logs").iterdir()) == [
        "2026-11-23_weekly.csv", "2026-11-25_daily.csv",
    ]  # fmt: skip


def test_date_and_output_write_that_window_to_the_given_dir(
    config: Path, isolated: Path, clock: Any
) -> None:
    fill(config, dt.datetime(2026, 11, 19, 7, tzinfo=BERLIN), NOW)
    out = isolated / "adhoc"
    result = invoke("--config", str(config), "--date", "2026-11-20", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["2026-11-20_daily.csv"]
    assert not (isolated / "logs").exists()


def test_a_date_whose_window_has_not_closed_exits_2_naming_the_option(
    config: Path, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
    assert run(["report", "--config", str(config), "--date", "2026-11-26"]) == 2
    assert (
        "luxlog: --date: the window ending 2026-11-26 closes at 2026-11-26T07:00+01:00 and has "
        "not closed yet (give a date whose csv_time has passed)"
    ) in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["2026-13-01", "20.11.2026", "2026-11-31", "2026-1-5"])
def test_bad_date_exits_2_naming_the_option_and_format(config: Path, bad: str) -> None:
    result = invoke("--config", str(config), "--date", bad)
    assert result.exit_code == 2
    assert "--date" in result.output and "YYYY-MM-DD" in result.output
    assert bad in result.output


def test_empty_window_exits_0_with_a_warning(
    config: Path, isolated: Path, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(config, dt.datetime(2026, 11, 20, 7, tzinfo=BERLIN), dt.datetime(2026, 11, 20, 8))
    fill(config, dt.datetime(2026, 11, 25, 7, tzinfo=BERLIN), NOW)  # data after the window
    code = run(["report", "--config", str(config), "--daily"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "1 window without data" in out
    assert "WARNING" in err and "daily report 2026-11-25" in err
    assert not (isolated / "logs" / "2026-11-25_daily.csv").exists()


def test_unwritable_output_dir_exits_1_after_writing_the_others(
    write_config: Callable[..., Path],
    isolated: Path,
    clock: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (isolated / "plain-file").write_text("")
    bad = isolated / "plain-file" / "logs"
    config = write_config(interval_sec=600, output_dirs=[str(isolated / "logs"), str(bad)])
    fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
    code = run(["report", "--config", str(config), "--daily"])
    out, err = capsys.readouterr()
    assert code == 1
    assert (isolated / "logs" / "2026-11-25_daily.csv").is_file()
    assert "retrying once" in err
    assert f"luxlog: 1 report file(s) could not be written to {bad}" in err
    assert "failed: 2026-11-25_daily.csv in" in out


def test_unknown_column_is_a_config_error_exit_2(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str], clock: Any
) -> None:
    config = write_config(columns=["ID_WEB_Temperatur_TVL", "Flow_*", "Foo"])
    code = run(["report", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "columns: 'Foo' is not a known sensor name" in err
    assert "Traceback" not in err


def test_report_prunes_expired_csvs_after_writing(
    write_config: Callable[..., Path], isolated: Path, clock: Any
) -> None:
    config = write_config(interval_sec=600, retention_days=5)
    logs = isolated / "logs"
    logs.mkdir()
    (logs / "2026-10-01_daily.csv").write_text("old")
    fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
    result = invoke("--config", str(config))
    assert result.exit_code == 0, result.output
    assert not (logs / "2026-10-01_daily.csv").exists()
    assert (logs / "2026-11-25_daily.csv").exists()


def test_scheduled_output_elsewhere_does_not_steal_the_configured_directories_reports(
    config: Path, isolated: Path, clock: Any
) -> None:
    fill(config, dt.datetime(2026, 11, 23, 7, tzinfo=BERLIN), NOW)
    other = isolated / "other"
    first = invoke("--config", str(config), "--output", str(other))
    assert first.exit_code == 0, first.output
    assert (other / "2026-11-24_daily.csv").exists()
    assert not (isolated / "logs").exists()
    # the configured directory still gets its reports on the next scheduled run
    second = invoke("--config", str(config))
    assert second.exit_code == 0, second.output
    assert (isolated / "logs" / "2026-11-24_daily.csv").read_bytes() == (
        other / "2026-11-24_daily.csv"
    ).read_bytes()


def test_an_on_demand_report_past_retention_is_written_kept_and_warned_about(
    config: Path, isolated: Path, clock: Any
) -> None:
    fill(
        config,
        dt.datetime(2026, 10, 10, 7, tzinfo=BERLIN),
        dt.datetime(2026, 10, 20, 7, tzinfo=BERLIN),
    )
    result = invoke("--config", str(config), "--date", "2026-10-15")
    assert result.exit_code == 0, result.output
    assert (isolated / "logs" / "2026-10-15_daily.csv").exists()  # not pruned by its own run
    assert "older than retention_days (30)" in result.stderr


def test_a_clock_three_months_ahead_deletes_no_csv_records_no_future_window_and_they_are_written_later(  # noqa: E501
    write_config: Callable[..., Path], isolated: Path
) -> None:
    # The case: a power cut, NTP not yet synced, one scheduled run 3 months ahead.
    config = write_config(interval_sec=600, retention_days=100)
    logs = isolated / "logs"
    logs.mkdir()
    older = [f"2026-11-{d:02d}_daily.csv" for d in range(5, 13)] + [
        "2026-11-02_weekly.csv", "2026-11-09_weekly.csv",
    ]  # fmt: skip
    for name in older:
        (logs / name).write_text("timestamp\r\n")
    fill(config, dt.datetime(2026, 11, 20, 7, tzinfo=BERLIN), NOW)
    with clock_at(NOW):
        assert invoke("--config", str(config)).exit_code == 0
    before = sorted(p.name for p in logs.iterdir())
    assert len(before) == 17  # 16 reports and the month's summary

    with clock_jumped(NOW, MONTHS_3):
        jumped = invoke("--config", str(config))
    assert jumped.exit_code == 0, jumped.output
    assert sorted(p.name for p in logs.iterdir()) == before  # nothing expired by a wrong clock
    assert "waiting for data" in jumped.stdout
    waiting = [line for line in jumped.stderr.splitlines() if "waiting for data" in line]
    assert len(waiting) == 1 and "WARNING" in waiting[0], jumped.stderr  # one line per run
    cfg = load_config(config, environ={})
    with Store(cfg.cache_path, interval=600, readonly=True) as store:
        recorded = store.reports()
    assert max(r.date for r in recorded) == "2026-11-25"
    assert all(r.rows > 0 for r in recorded)

    # The clock is right again and samples for a formerly "future" window arrive.
    later = NOW + dt.timedelta(days=1)
    fill(config, NOW, later)
    with clock_at(later):
        result = invoke("--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote 1 report (2026-11-26_daily.csv)")
    lines = (logs / "2026-11-26_daily.csv").read_text().splitlines()
    assert len(lines) == 1 + 48  # header and a sample every 30 minutes of the day


def test_a_full_disk_names_the_csv_and_the_last_line_says_disk_full(
    write_config: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with full_tmpfs(isolated / "full") as full:
        config = write_config(interval_sec=600, output_dirs=[str(full)])
        fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
        with clock_at(NOW):
            code = run(["report", "--config", str(config), "--daily"])
        err = capsys.readouterr().err
        assert code == 1
        assert not (full / "2026-11-25_daily.csv").exists()
    target = full / "2026-11-25_daily.csv"
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"disk full: cannot write {target}:" in errors[0], err
    assert f"{full}/x" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"luxlog: 1 report file(s) could not be written (disk full) to {full}:")
    assert f"mounted at {full}" in last and "no space left" in last
    assert "Traceback" not in err


def test_an_output_dir_that_is_a_file_is_named_with_what_is_wrong(
    write_config: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = isolated / "logs"
    blocker.write_text("I am a file")
    config = write_config(interval_sec=600, output_dirs=[str(blocker)])
    fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
    with clock_at(NOW):
        code = run(["report", "--config", str(config), "--daily"])
    err = capsys.readouterr().err
    assert code == 1
    assert "File exists" not in err
    assert err.strip().splitlines()[-1] == (
        f"luxlog: 1 report file(s) could not be written to {blocker}: output directory "
        f"{blocker} exists but is a file, not a directory; move it away or fix output_dirs"
    )


def test_a_corrupt_database_moved_aside_is_a_failed_run_naming_the_quarantine(
    config: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(config, dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN), NOW)
    db = load_config(config, environ={}).cache_path
    db.write_bytes(b"garbage, not SQLite " * 500)  # a real file SQLite refuses to open
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with clock_at(NOW):
        code = run(["report", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    moved = sorted(db.parent.glob("luxlog.db.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"garbage")
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"luxlog: database {db} was corrupt and moved aside to {moved[0]};")
    assert "nothing written this run" in last
    assert "Traceback" not in err and out == ""
    assert not (isolated / "logs").exists()


def _overwrite_pages(db: Path, pages: int = 3) -> None:
    """Overwrite ``pages`` pages from the cache table's root: the open's checks still pass."""
    conn = sqlite3.connect(db)
    try:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunk'").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()  # the last connection: the -wal is checkpointed into the file and removed
    with db.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xa5" * (pages * size))


@pytest.mark.parametrize("command", [["report"], ["doctor", "--quick"]])
def test_a_page_damaged_after_open_is_one_error_line_not_a_traceback(
    config: Path, isolated: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    fill(config, dt.datetime(2026, 11, 23, 7, tzinfo=BERLIN), NOW, step=600)
    db = load_config(config, environ={}).cache_path
    with Store(db) as store:
        store.flush()
    _overwrite_pages(db)  # the open's checks pass; the damage shows when the pages are read
    with clock_at(NOW):
        code = run([*command, "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "Traceback" not in out + err
    if command[0] == "report":
        lines = [line for line in err.splitlines() if line.startswith("luxlog:")]
        assert len(lines) == 1 and "is corrupt: database disk image is malformed" in lines[0], err
    else:
        database = [line for line in out.splitlines() if line.startswith("FAIL  database ")]
        assert len(database) == 1 and "malformed" in database[0], out
