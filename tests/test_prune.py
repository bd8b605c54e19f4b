"""Retention of report CSVs (by file-name date, own names only) and of the database cache."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from luxlog.cli import app, run
from luxlog.config import Config, load_config
from luxlog.prune import (
    TEMP_MAX_AGE_SEC,
    prune,
    prune_csv,
    prune_db,
)
from luxlog.report_files import parse_report_name, report_name, temp_name
from luxlog.store import Store
from support.clock import MONTHS_3, clock_jumped
from support.fill import fill

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=BERLIN)  # retention 30 days: cut-off 2026-01-30
EPOCH_1970 = 86_400.0
FUTURE = dt.datetime(2040, 1, 1, tzinfo=dt.UTC).timestamp()


def make(path: Path, text: str = "ts;value\n", mtime: float | None = None) -> Path:
    path.write_text(text * 50)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def allocated(paths: list[Path]) -> int:
    return sum(p.lstat().st_blocks * 512 for p in paths)


@pytest.fixture
def cfg(write_config: Callable[..., Path]) -> Config:
    return load_config(write_config(retention_days=30))


@pytest.fixture
def logs(cfg: Config) -> Path:
    logs = cfg.output_dirs[0]
    logs.mkdir()
    return logs


def populate(logs: Path, outside: Path) -> dict[str, list[Path]]:
    """Expired, kept and foreign files, with mtimes that would mislead an mtime-based prune."""
    expired = [
        make(logs / "2026-01-01_daily.csv", mtime=FUTURE),
        make(logs / "2026-01-29_daily.csv"),
        make(logs / "2025-12-29_weekly.csv", mtime=EPOCH_1970),
    ]
    kept = [
        make(logs / "2026-01-30_daily.csv", mtime=EPOCH_1970),  # exactly 30 days: in window
        make(logs / "2026-02-28_daily.csv", mtime=EPOCH_1970),
        make(logs / "2026-02-23_weekly.csv", mtime=EPOCH_1970),
    ]
    foreign = [
        make(logs / "notes.csv", mtime=EPOCH_1970),
        make(logs / "2026-01-01_daily.csv.bak", mtime=EPOCH_1970),
        make(logs / "2026-1-1_daily.csv", mtime=EPOCH_1970),
        make(logs / "2026-02-30_daily.csv", mtime=EPOCH_1970),  # not a date
        make(logs / "2026-01-01_monthly.csv", mtime=EPOCH_1970),  # not a kind luxlog writes
        make(logs / ".2026-01-01_daily.csv.tmp-abc", mtime=EPOCH_1970),  # not luxlog's temp
    ]
    target = make(outside / "2025-01-01_daily.csv", mtime=EPOCH_1970)
    link = logs / "2025-02-01_daily.csv"
    link.symlink_to(target)
    (logs / "2025-03-01_daily.csv").mkdir()  # a directory named like a report
    return {"expired": expired, "kept": kept, "foreign": [*foreign, link, target]}


def test_prune_deletes_exactly_the_expired_report_files(logs: Path, cfg: Config, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    files = populate(logs, outside)
    freed = allocated(files["expired"])
    assert freed > 0

    result = prune_csv(cfg, NOW)

    assert sorted(result.dirs[0].deleted) == sorted(files["expired"])
    assert result.files == 3
    assert result.bytes_freed == freed
    assert result.cutoff == dt.date(2026, 1, 30)
    for path in files["kept"] + files["foreign"]:
        assert path.is_symlink() or path.exists(), path
    assert (logs / "2025-02-01_daily.csv").is_symlink()  # the link stays, and its target
    assert (outside / "2025-01-01_daily.csv").read_text()
    assert (logs / "2025-03-01_daily.csv").is_dir()
    assert not any(p.exists() for p in files["expired"])


def test_dry_run_lists_the_same_files_and_deletes_nothing(logs: Path, cfg: Config, tmp_path: Path):
    files = populate(logs, tmp_path)
    before = sorted(os.listdir(logs))

    dry = prune_csv(cfg, NOW, dry_run=True)

    assert sorted(os.listdir(logs)) == before
    assert sorted(dry.dirs[0].deleted) == sorted(files["expired"])
    assert dry.bytes_freed == allocated(files["expired"])
    assert prune_csv(cfg, NOW).bytes_freed == dry.bytes_freed


def test_a_second_run_right_after_frees_nothing(logs: Path, cfg: Config, tmp_path: Path):
    populate(logs, tmp_path)
    assert prune_csv(cfg, NOW).files == 3
    again = prune_csv(cfg, NOW)
    assert (again.files, again.bytes_freed) == (0, 0)


def test_a_clock_years_ahead_keeps_the_newest_daily_and_weekly(logs: Path, cfg: Config, tmp_path):
    files = populate(logs, tmp_path)
    result = prune_csv(cfg, dt.datetime(2099, 6, 1, tzinfo=dt.UTC))
    assert sorted(p.name for p in result.dirs[0].protected) == [
        "2026-02-23_weekly.csv",
        "2026-02-28_daily.csv",
    ]
    assert (logs / "2026-02-28_daily.csv").exists()
    assert (logs / "2026-02-23_weekly.csv").exists()
    assert not (logs / "2026-01-30_daily.csv").exists()
    assert all(p.exists() or p.is_symlink() for p in files["foreign"])


def test_the_date_is_judged_in_the_configured_time_zone(logs: Path, cfg: Config):
    # 00:30 in Berlin on 1 March is still 28 February in UTC: the cut-off follows Berlin.
    make(logs / "2026-01-29_daily.csv")
    make(logs / "2026-01-30_daily.csv")
    make(logs / "2026-02-28_daily.csv")
    prune_csv(cfg, dt.datetime(2026, 3, 1, 0, 30, tzinfo=BERLIN))
    assert sorted(os.listdir(logs)) == ["2026-01-30_daily.csv", "2026-02-28_daily.csv"]


def test_days_overrides_the_configured_retention(logs: Path, cfg: Config):
    make(logs / "2026-02-20_daily.csv")
    make(logs / "2026-02-28_daily.csv")
    assert prune_csv(cfg, NOW, days=7).files == 1
    assert os.listdir(logs) == ["2026-02-28_daily.csv"]
    with pytest.raises(ValueError, match="negative"):
        prune_csv(cfg, NOW, days=-1)


def test_stale_temp_files_go_and_fresh_ones_stay(logs: Path, cfg: Config):
    now = NOW.timestamp()
    old = make(logs / temp_name("2026-02-28_daily.csv", 4242), mtime=now - TEMP_MAX_AGE_SEC - 5)
    fresh = make(logs / ".2026-03-01_daily.csv.tmp-99", mtime=now - 60)
    result = prune_csv(cfg, NOW)
    assert result.dirs[0].temp_deleted == [old]
    assert result.bytes_freed > 0
    assert not old.exists()
    assert fresh.exists()


def test_every_output_dir_is_pruned_and_a_missing_one_is_fine(
    write_config: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    a, b, missing = tmp_path / "a", tmp_path / "b", tmp_path / "missing"
    cfg = load_config(write_config(output_dirs=[str(a), str(b), str(missing), str(a)]))
    for d in (a, b):
        d.mkdir()
        make(d / "2026-01-01_daily.csv")
        make(d / "2026-02-28_daily.csv")
    with caplog.at_level(logging.INFO, logger="luxlog.prune"):
        result = prune_csv(cfg, NOW)
    assert [d.path for d in result.dirs] == [a, b, missing]  # a listed twice, pruned once
    assert [d.files for d in result.dirs] == [1, 1, 0]
    assert result.dirs[2].missing
    lines = [r.getMessage() for r in caplog.records]
    assert any(
        line.startswith(f"{a}: deleted 1 report files dated before 2026-01-30") for line in lines
    )
    assert any(line.startswith(f"{missing}: does not exist yet") for line in lines)


def test_an_output_dir_that_cannot_be_listed_is_an_error_not_a_crash(
    write_config: Callable[..., Path], tmp_path: Path
):
    not_a_dir = make(tmp_path / "file")
    cfg = load_config(write_config(output_dirs=[str(not_a_dir)]))
    result = prune_csv(cfg, NOW)
    assert result.errors == [
        f"{not_a_dir}: output directory is not a directory (a file, or under one); move it "
        "away or fix output_dirs"
    ]


def test_report_names_are_defined_in_one_place():
    assert report_name("daily", dt.date(2026, 3, 1)) == "2026-03-01_daily.csv"
    assert parse_report_name("2026-03-01_weekly.csv") == ("weekly", dt.date(2026, 3, 1))
    assert parse_report_name("2026-03-01_weekly.csv.bak") is None
    with pytest.raises(ValueError, match="unknown report kind"):
        report_name("hourly", dt.date(2026, 3, 1))
    assert temp_name("x.csv").startswith(".x.csv.tmp-")


# ------------------------------------------------------------------------------- database


def test_db_retention_deletes_old_cached_samples_but_never_unflushed_ones(
    write_config: Callable[..., Path],
):
    cfg = load_config(write_config(db_retention_days=1, interval_sec=600))
    now = NOW.timestamp()
    with Store(cfg.cache_path, interval=600) as store:
        old = [r.slot for r in fill(store, now - 3 * 86400, n=6)]
        recent = [r.slot for r in fill(store, now - 3600, n=3)]
        store.flush()
        # old, but not yet in the cache
        unflushed = [r.slot for r in fill(store, now - 2 * 86400, n=2)]

    dry, _ = prune_db(cfg, now, dry_run=True)
    assert dry is not None and dry.samples >= len(old)

    summary = prune(cfg, now)
    assert summary.db is not None
    assert summary.db.samples == len(old)
    with Store(cfg.cache_path, interval=600, readonly=True) as store:
        assert store.slots(0, now + 1) == sorted(unflushed + recent)
    again = prune(cfg, now)
    assert again.db is not None and again.db.samples == 0


def test_a_clock_years_ahead_does_not_empty_the_cache(write_config: Callable[..., Path]):
    cfg = load_config(write_config(db_retention_days=1, interval_sec=600))
    now = NOW.timestamp()
    with Store(cfg.cache_path, interval=600) as store:
        slots = [r.slot for r in fill(store, now - 3600, n=4)]
        store.flush()
    result, _ = prune_db(cfg, dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    assert result is not None and result.samples == 0
    with Store(cfg.cache_path, interval=600, readonly=True) as store:
        assert store.slots(0, now + 1) == slots


def test_prune_never_creates_a_database(cfg: Config):
    summary = prune(cfg, NOW)
    assert summary.db is None
    assert not cfg.cache_path.exists()


# ------------------------------------------------------------------------------------- CLI


def test_cli_prune_prints_one_summary_and_dry_run_changes_nothing(
    write_config: Callable[..., Path], tmp_path: Path
):
    config = write_config()
    logs = load_config(config).output_dirs[0]
    logs.mkdir()
    old = make(logs / "2000-01-01_daily.csv")
    make(logs / "2000-01-02_daily.csv")  # the newest daily: kept whatever its age
    runner = CliRunner()

    dry = runner.invoke(app, ["prune", "--dry-run", "--config", str(config)])
    assert dry.exit_code == 0, dry.output
    assert "would prune 1 file," in dry.stdout
    assert "no database yet" in dry.stdout
    assert old.exists()

    real = runner.invoke(app, ["prune", "--config", str(config)])
    assert real.exit_code == 0, real.output
    assert "pruned 1 file," in real.stdout
    assert not old.exists()

    assert runner.invoke(app, ["prune", "--days", "0"]).exit_code == 2


def test_cli_prune_reports_database_pruning(write_config: Callable[..., Path]):
    config = write_config(interval_sec=600)
    cfg = load_config(config)
    with Store(cfg.cache_path, interval=600) as store:
        now = dt.datetime.now(dt.UTC).timestamp()
        fill(store, now - 400 * 86400, n=3)
        fill(store, now - 3600, n=2)
        store.flush()
    result = CliRunner().invoke(app, ["prune", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "0 files, 0 B freed; 3 cached samples deleted" in result.stdout
    dry = CliRunner().invoke(app, ["prune", "--dry-run", "--config", str(config)])
    assert "0 cached samples would be deleted" in dry.stdout


def test_cli_prune_exits_1_when_a_directory_cannot_be_pruned(
    write_config: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config = write_config(output_dirs=[str(make(tmp_path / "file"))])
    assert run(["prune", "--config", str(config)]) == 1
    assert "could not be pruned" in capsys.readouterr().err


def test_a_clock_three_months_ahead_expires_no_csv_when_samples_say_otherwise(
    cfg: Config, logs: Path, tmp_path: Path
):
    files = populate(logs, tmp_path)
    now = NOW.timestamp()
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        fill(store, now - 3600, n=3)  # cached
        store.flush()
        newest = fill(store, now - 600, n=1)[0].slot  # still in the buffer
    with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
        assert store.newest_slot() == newest
    with clock_jumped(NOW, MONTHS_3):
        result = CliRunner().invoke(app, ["prune"])
    assert result.exit_code == 0, result.output
    # exactly what a right clock expires (the files dated before 2026-01-30), nothing more
    assert all(p.exists() for p in files["kept"])
    assert not any(p.exists() for p in files["expired"])
    assert "dated before 2026-01-30" in result.stderr


def test_newest_slot_is_none_without_samples_and_reads_cache_and_buffer(cfg: Config):
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        assert store.newest_slot() is None
        cached = [r.slot for r in fill(store, NOW.timestamp(), n=2)]
        store.flush()
        assert store.newest_slot() == cached[-1]
        fill(store, NOW.timestamp() - 7200, n=1)  # an older sample, buffered
        assert store.newest_slot() == cached[-1]
