"""``luxlog doctor``: one line per check against the real simulator, store and filesystem."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import Config, load_config
from luxlog.disk import DiskUsage
from luxlog.doctor import FAIL, OK, WARN, Check, Diagnosis, diagnose, run_checks
from luxlog.report import pending_reports
from luxlog.simulator import Model, Simulator
from luxlog.store import Store, slot_of
from support.clock import MONTHS_3, clock_at
from support.fill import fill as fill_samples

INTERVAL = 600  # few slots per day, so a full day of samples is quick to write
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def fill(cfg: Config, now: float, *, hours: float = 24, flush: bool = True, reports: bool = True):
    """A day of samples up to ``now`` with their attempt records, and every due report."""
    with Store(cfg.cache_path, interval=INTERVAL) as store:
        first = slot_of(now - hours * 3600, INTERVAL) - INTERVAL
        last = slot_of(now, INTERVAL)
        fill_samples(store, first, last + INTERVAL, attempt=(1, 0.05), flush=flush)
        if reports:
            for w in pending_reports(cfg, store, dt.datetime.fromtimestamp(now, dt.UTC)):
                store.record_report(w.kind, w.date.isoformat(), [w.name], 1, 1, "0" * 64)


def by_name(diagnosis: Diagnosis) -> dict[str, Check]:
    return {c.name: c for c in diagnosis.checks}


@pytest.fixture
def config(write_config: Callable[..., Path], sim: Simulator) -> Path:
    path = write_config(host="127.0.0.1", port=sim.port, interval_sec=INTERVAL)
    load_config(path).output_dirs[0].mkdir()
    return path


@pytest.fixture
def cfg(config: Path) -> Config:
    return load_config(config)


def assert_shape(data: object) -> None:
    assert isinstance(data, dict) and set(data) == {"ok", "checks"}
    assert isinstance(data["ok"], bool)
    assert isinstance(data["checks"], list) and data["checks"]
    for check in data["checks"]:
        assert set(check) == {"name", "status", "detail"}
        assert check["status"] in ("ok", "warn", "FAIL")
        assert isinstance(check["name"], str) and isinstance(check["detail"], str)
    assert data["ok"] == all(c["status"] != "FAIL" for c in data["checks"])


def test_a_healthy_setup_passes_every_check_and_exits_0(config: Path, cfg: Config, sim):
    fill(cfg, time.time())
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok ") for line in lines[:-1]), result.stdout
    assert lines[-1].startswith("all ") and lines[-1].endswith("checks passed")
    assert f"127.0.0.1:{sim.port} answered" in result.stdout
    assert "firmware V3.78, 1075 parameters, 232 calculations, 327 visibilities" in result.stdout
    assert any(r[0] == 3004 for r in sim.requests)  # it really asked (and only read: fixture)


def test_the_core_takes_an_injected_clock(cfg: Config):
    fill(cfg, NOW)
    checks = by_name(run_checks(cfg, NOW))
    assert all(c.status == OK for c in checks.values()), checks
    assert checks["gaps"].detail == "last 24 h: 144 of 144 slots, no failed attempts"
    assert "last daily 2026-03-01" in checks["reports"].detail
    assert f"file {Path('config.yaml').resolve()}" in checks["config"].detail or checks[
        "config"
    ].detail.startswith("valid (file")


def test_json_output_has_the_documented_shape(config: Path, cfg: Config):
    fill(cfg, time.time())
    result = CliRunner().invoke(app, ["doctor", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert_shape(data)
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]][:3] == ["config", "controller", "clock"]


def test_a_refusing_controller_fails_with_host_port_and_the_error(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
):
    down = make_sim(faults=["refuse"])
    config = write_config(host="127.0.0.1", port=down.port, interval_sec=INTERVAL)
    result = CliRunner().invoke(app, ["doctor", "--json", "--config", str(config)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert_shape(data)
    controller = next(c for c in data["checks"] if c["name"] == "controller")
    assert controller["status"] == "FAIL"
    assert f"127.0.0.1:{down.port}" in controller["detail"]
    assert "connection refused" in controller["detail"]


def test_a_stopped_simulator_fails_the_controller_check(cfg: Config, sim: Simulator):
    fill(cfg, NOW)
    sim.stop()
    checks = by_name(run_checks(cfg, NOW))
    assert checks["controller"].status == FAIL
    assert f"127.0.0.1:{sim.port}" in checks["controller"].detail
    assert "clock" not in checks
    assert checks["last poll"].status == OK  # the other checks still run


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_swapped_ports_get_a_hint(make_sim: Callable[..., Simulator], write_config):
    if not (_free(8888) and _free(8889)):
        pytest.skip("ports 8888/8889 are in use on this host")
    make_sim(port=8888)
    cfg = load_config(write_config(host="127.0.0.1", port=8889, interval_sec=INTERVAL))
    checks = by_name(run_checks(cfg, NOW, quick=False))
    assert checks["controller"].status == FAIL
    assert "port 8888 accepts connections: the ports look swapped" in checks["controller"].detail


def test_a_stale_last_poll_fails(cfg: Config):
    fill(cfg, NOW)
    checks = by_name(run_checks(cfg, NOW + 2 * 3600, quick=True))
    assert checks["last poll"].status == FAIL
    assert "more than 3 intervals" in checks["last poll"].detail
    assert checks["gaps"].status == WARN
    assert "longest gap 1 h 50 min from 2026-03-01T11:10:00Z" in checks["gaps"].detail


def test_a_flush_backlog_fails(cfg: Config):
    fill(cfg, NOW - 7200, hours=22)
    fill(cfg, NOW, hours=2, flush=False, reports=False)  # the last 2 h not flushed
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["buffer"].status == FAIL
    assert checks["buffer"].detail.startswith("12 samples not yet flushed, the oldest 1 h 50 min")
    assert checks["last poll"].status == OK
    fill_recent = by_name(run_checks(cfg, NOW - 6600 + 20 * 60, quick=True))
    assert fill_recent["buffer"].status == WARN


def test_missing_reports_fail(cfg: Config):
    fill(cfg, NOW, reports=False)
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["reports"].status == FAIL
    assert "due but not written: daily 2026-03-01" in checks["reports"].detail
    # a window that closed minutes ago is not yet missing: report runs every 15 minutes
    just = dt.datetime(2026, 3, 1, 7, 10, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    fresh = by_name(run_checks(cfg, just, quick=True))
    assert fresh["reports"].status == OK and "just due" in fresh["reports"].detail


def test_a_corrupt_database_fails_its_own_line(cfg: Config):
    fill(cfg, NOW)
    data = bytearray(cfg.cache_path.read_bytes())
    page = 4096
    data[2 * page : 2 * page + 200] = b"\xff" * 200  # a b-tree page, header intact
    cfg.cache_path.write_bytes(bytes(data))
    checks = by_name(run_checks(cfg, NOW, quick=False))
    assert checks["database"].status == FAIL
    assert "integrity check failed" in checks["database"].detail

    cfg.cache_path.write_bytes(b"this is not a database" * 100)
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["database"].status == FAIL
    assert "corrupt" in checks["database"].detail or "not a database" in checks["database"].detail
    assert cfg.cache_path.read_bytes().startswith(b"this is not")  # not quarantined


def test_a_missing_database_is_a_failing_line_and_is_not_created(cfg: Config):
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["database"].status == FAIL
    assert "does not exist yet" in checks["database"].detail
    assert not cfg.cache_path.exists()


def test_doctor_changes_nothing_in_the_database(config: Path, cfg: Config):
    fill(cfg, time.time(), flush=False)
    digest = hashlib.sha256(cfg.cache_path.read_bytes()).hexdigest()
    CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert hashlib.sha256(cfg.cache_path.read_bytes()).hexdigest() == digest


def test_an_older_schema_is_a_warning(cfg: Config):
    fill(cfg, NOW)
    with sqlite3.connect(cfg.cache_path) as conn:
        conn.execute("PRAGMA user_version=0")
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["database"].status == WARN
    assert "schema version 0" in checks["database"].detail


def test_gaps_and_failed_attempts_are_named(cfg: Config):
    fill(cfg, NOW)
    with Store(cfg.cache_path, interval=INTERVAL) as store:
        store.record_failure(2, 1.5, "127.0.0.1:1: connection refused", now=NOW - 60)
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["gaps"].status == WARN
    assert "1 failed attempts (last at " in checks["gaps"].detail
    assert "connection refused" in checks["gaps"].detail


def test_an_invalid_config_is_one_failing_line_and_exit_2(write_config: Callable[..., Path]):
    config = write_config(port=99999, interval_sec="soon")
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert result.exit_code == 2  # a configuration error, as for every other command
    assert result.stdout.startswith("FAIL  config  ")
    assert "port: 99999 is out of range" in result.stdout
    assert "interval_sec" in result.stdout
    missing = diagnose(Path("nope.yaml"))
    assert [(c.name, c.status) for c in missing.checks] == [("config", FAIL)]


def test_an_unknown_column_name_fails_the_config_check_naming_it(
    write_config: Callable[..., Path],
):
    # The glob syntax is checked by load_config; whether a name exists needs the decoder.
    config = write_config(columns=["ID_WEB_Temperatur_TVL", "ID_WEB_Foo", "ID_WEB_Temperatur_*"])
    result = CliRunner().invoke(app, ["doctor", "--quick", "--config", str(config)])
    assert result.exit_code == 2, result.output  # a configuration error, as report says
    config_line = next(line for line in result.stdout.splitlines() if "config" in line)
    assert config_line.startswith("FAIL  config")
    assert "'ID_WEB_Foo' is not a known sensor name" in config_line
    assert "ID_WEB_Temperatur_TVL'" not in config_line  # only the unknown one is named
    known = run_checks(load_config(write_config(columns=["ID_WEB_Temperatur_TVL"])), quick=True)
    assert by_name(known)["config"].status == OK


def test_no_host_fails_the_controller_check(write_config: Callable[..., Path]):
    cfg = load_config(write_config())
    checks = by_name(run_checks(cfg, NOW))
    assert checks["controller"].status == FAIL
    assert "host: not configured" in checks["controller"].detail


def test_clock_drift_above_a_minute_warns(make_sim: Callable[..., Simulator], write_config):
    drifting = make_sim(clock_offset=3600)
    cfg = load_config(write_config(host="127.0.0.1", port=drifting.port))
    checks = by_name(run_checks(cfg, NOW))
    assert checks["controller"].status == OK
    assert checks["clock"].status == WARN
    assert "1 h ahead of this host" in checks["clock"].detail
    behind = make_sim(clock_offset=-30)
    cfg = load_config(write_config(host="127.0.0.1", port=behind.port))
    assert by_name(run_checks(cfg, NOW))["clock"].status == OK


def test_quick_skips_the_controller(cfg: Config, sim: Simulator):
    fill(cfg, NOW)
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert "controller" not in checks and "clock" not in checks
    assert "integrity" not in checks["database"].detail
    assert sim.requests == []


def test_disk_usage_fails_at_the_limit(cfg: Config):
    fill(cfg, NOW)

    def at(used: int) -> Callable[[Path], DiskUsage]:
        return lambda path: DiskUsage(path, "/srv", used, 10_000 - used)

    ok = run_checks(cfg, NOW, quick=True, usage=at(8999))
    assert ok.ok
    full = run_checks(cfg, NOW, quick=True, usage=at(9000))
    failed = [c for c in full.checks if c.status == FAIL]
    assert {c.name for c in failed} == {
        f"disk {cfg.output_dirs[0]}",
        f"disk {cfg.cache_path.parent}",
    }
    assert "90.0 % used on the filesystem mounted at /srv" in failed[0].detail

    def broken(path: Path) -> DiskUsage:
        raise PermissionError(13, "Permission denied")

    assert any(c.status == FAIL for c in run_checks(cfg, NOW, quick=True, usage=broken).checks)


def test_output_dirs_are_checked_without_leaving_files(write_config, tmp_path: Path):
    existing, new, bad = tmp_path / "logs", tmp_path / "new" / "deeper", tmp_path / "file"
    existing.mkdir()
    bad.write_text("x")
    dirs = [existing, new, bad, bad / "sub"]
    cfg = load_config(write_config(output_dirs=[str(d) for d in dirs]))
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks[f"output {existing}"] == Check(f"output {existing}", OK, "writable")
    assert checks[f"output {new}"].status == OK
    assert "report will create it" in checks[f"output {new}"].detail
    assert checks[f"output {bad}"].status == FAIL
    assert checks[f"output {bad / 'sub'}"].status == FAIL
    assert list(existing.iterdir()) == []
    assert not new.exists()


def test_doctor_stops_on_sigterm_instead_of_reporting_it_as_a_failed_check(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path]
) -> None:
    import os
    import signal
    import subprocess
    import sys

    sim = make_sim(faults={"hang"})
    write_config(host="127.0.0.1", port=sim.port, timeout_sec=8, retries=0)
    src = str(Path(__file__).resolve().parent.parent / "src")
    proc = subprocess.Popen(
        [sys.executable, "-m", "luxlog", "doctor"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": src},
    )
    deadline = time.monotonic() + 5
    while not sim.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # doctor is now waiting on the silent controller
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 143, (out, err)
    assert "interrupted by SIGTERM" in err
    assert "FAIL controller" not in out


def test_reports_falling_back_to_utc_are_a_warning_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from luxlog.doctor import check_config

    monkeypatch.setenv("TZ", "UTC")  # as in the container
    unset = check_config(load_config(environ={}))
    assert unset.status == WARN and "LUXLOG_TIMEZONE" in unset.detail
    chosen = check_config(load_config(environ={"LUXLOG_TIMEZONE": "UTC"}))
    assert chosen.status == OK  # UTC on purpose is fine


def test_a_last_poll_in_the_future_fails_naming_the_clock(config: Path, cfg: Config):
    # The line: "last poll 26693 d ago (2100-…)", ok. A poll ahead of the clock is wrong.
    # (Samples are stored with 32-bit slots, so the future here is 2031, not 2100.)
    future = dt.datetime(2031, 1, 1, 12, tzinfo=dt.UTC).timestamp()
    fill(cfg, future, hours=1, reports=False)
    checks = by_name(run_checks(cfg, NOW, quick=True))
    last = checks["last poll"]
    assert last.status == FAIL
    assert last.detail.startswith("last successful poll 2031-01-01T12:00:00Z is ")
    assert "in the future: this host's clock (2026-03-01T11:00:00Z) is behind" in last.detail
    assert "ago" not in last.detail
    with clock_at(dt.datetime.fromtimestamp(NOW, dt.UTC)):
        result = CliRunner().invoke(app, ["doctor", "--quick", "--config", str(config)])
    assert result.exit_code == 1
    assert "FAIL  last poll" in result.stdout and "check the clock (NTP)" in result.stdout


def test_a_poll_finishing_while_doctor_runs_is_not_in_the_future(cfg: Config):
    fill(cfg, NOW + INTERVAL - 1, reports=False)  # polled within the slack of one interval
    checks = by_name(run_checks(cfg, NOW, quick=True))
    assert checks["last poll"].status == OK
    assert checks["host clock"].status == OK


def test_a_clock_behind_the_newest_sample_warns(cfg: Config):
    fill(cfg, NOW)
    checks = by_name(run_checks(cfg, NOW - 3 * 3600, quick=True))
    clock = checks["host clock"]
    assert clock.status == WARN
    assert "the clock is 3 h behind the newest sample" in clock.detail
    assert "newest sample 2026-03-01T11:00:00Z" in clock.detail


def test_a_clock_months_ahead_of_the_newest_sample_warns_and_no_report_is_called_missing(
    cfg: Config,
):
    fill(cfg, NOW)
    ahead = dt.datetime.fromtimestamp(NOW, dt.UTC) + MONTHS_3
    checks = by_name(run_checks(cfg, ahead, quick=True))
    clock = checks["host clock"]
    assert clock.status == WARN
    assert "the clock is 91 d ahead of the newest sample" in clock.detail
    assert "NTP" in clock.detail
    # the windows after the data wait for it: not "due but not written"
    assert checks["reports"].status == OK, checks["reports"]
    within_a_day = by_name(run_checks(cfg, NOW + 20 * 3600, quick=True))
    assert within_a_day["host clock"].status == OK


def test_an_interval_that_leaves_the_poll_deadline_at_the_cron_wrappers_bound_warns() -> None:
    from luxlog.doctor import check_schedule

    # interval 10: deadline 8 s, wrapper `timeout 7`: SIGTERM would always come first
    short = check_schedule(load_config(environ={"LUXLOG_INTERVAL_SEC": "10"}))
    assert short.status == WARN
    assert "poll deadline (8 s)" in short.detail and "timeout -s TERM -k 2 7" in short.detail
    assert "interval_sec >= 20" in short.detail
    assert check_schedule(load_config(environ={"LUXLOG_INTERVAL_SEC": "19"})).status == WARN
    for interval in ("20", "30", "60", "3600"):
        fine = check_schedule(load_config(environ={"LUXLOG_INTERVAL_SEC": interval}))
        assert fine.status == OK, fine.detail
    shipped = check_schedule(load_config(environ={}))
    assert shipped.detail == (
        "poll deadline 25 s, 2 s below the cron wrapper for every 30 s: "
        "timeout -s TERM -k 2 27 (interval - 3 s)"
    )


# ------------------------------------------------------------------- a damaged -wal (item 18)


def _wal_with_committed_polls(db: Path, polls: int, now: float) -> Path:
    """``polls`` committed polls left in ``db``'s -wal (one frame each), as after a crash.

    A reader holds the log open so no writer's close checkpoints it; the files are then copied
    to ``db``, as a power cut would leave them.
    """
    stage = db.parent / "stage"
    stage.mkdir(parents=True)
    model = Model()
    first = slot_of(now, INTERVAL) - polls * INTERVAL
    with Store(stage / db.name, interval=INTERVAL):
        pass
    holder = sqlite3.connect(stage / db.name)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM buffer").fetchone()
    for slot in range(first, first + polls * INTERVAL, INTERVAL):
        with Store(stage / db.name, interval=INTERVAL) as store:  # one commit each (polls
            store.add_rows([model.raw_sample(slot)])  # journal since issue 12: bulk loads commit)
    for suffix in ("", "-wal"):
        Path(f"{db}{suffix}").write_bytes(Path(f"{stage / db.name}{suffix}").read_bytes())
    holder.close()
    return Path(f"{db}-wal")


def test_a_damaged_wal_that_drops_committed_polls_fails_doctor_before_and_after_a_write(
    cfg: Config,
) -> None:
    now = time.time()
    wal = _wal_with_committed_polls(cfg.cache_path, 6, now)
    frame = 4096 + 24
    assert (wal.stat().st_size - 32) // frame >= 6  # at least one frame per committed poll
    data = bytearray(wal.read_bytes())
    data[32 + 2 * frame + 24 + 1000] ^= 0x55  # one flipped byte in the 3rd frame's page
    wal.write_bytes(bytes(data))

    checks = by_name(run_checks(cfg, now, quick=True))
    # What doctor said before: SQLite reads the first frames and stops; nothing looks wrong.
    assert checks["database"].status == OK, checks["database"]
    assert checks["wal"].status == FAIL
    assert checks["wal"].detail.startswith(f"{wal}: frame 3 (byte {32 + 2 * frame}) is damaged")
    lost = int(checks["wal"].detail.split("ignores the ")[1].split(" ")[0])
    assert wal.read_bytes() == bytes(data)  # doctor changed nothing (no checkpoint)
    with Store(cfg.cache_path, interval=INTERVAL, readonly=True) as store:
        readable = store.buffered()
    # the loss is real (SQLite silently drops them), and doctor counts it exactly
    assert readable < 6 and lost == 6 - readable, (readable, checks["wal"])

    # The next write (poll, flush) keeps a copy before SQLite checkpoints the log away.
    with Store(cfg.cache_path, interval=INTERVAL) as store:
        assert store.buffered() == readable
    assert not wal.exists() or wal.stat().st_size == 0
    kept = list(cfg.cache_path.parent.glob("luxlog.db-wal.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bytes(data)
    after = by_name(run_checks(cfg, now, quick=True))["wal"]
    assert after.status == FAIL and "committed transactions" in after.detail
    assert str(kept[0]) in after.detail
    kept[0].unlink()  # after inspection
    assert by_name(run_checks(cfg, now, quick=True))["wal"].status == OK


def test_a_torn_uncommitted_frame_at_the_end_of_the_wal_is_not_flagged(cfg: Config) -> None:
    now = time.time()
    wal = _wal_with_committed_polls(cfg.cache_path, 3, now)
    data = bytearray(wal.read_bytes())
    data[-10] ^= 0x55  # the last frame, torn by a crash: no commit after it
    wal.write_bytes(bytes(data))
    assert by_name(run_checks(cfg, now, quick=True))["wal"].status == OK
