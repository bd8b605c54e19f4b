"""Configuration: file < env < options, and every bad field named with what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxlog.cli import app, run
from luxlog.config import Config, load_config, system_timezone
from luxlog.errors import ConfigError


def problems_of(**raw: object) -> str:
    path = Path("c.yaml")
    import yaml

    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    return str(info.value)


def test_defaults_match_the_documented_contract() -> None:
    cfg = load_config(environ={})
    assert cfg.port == 8889
    assert cfg.interval_sec == 30
    assert cfg.timeout_sec == 60
    assert cfg.retries == 3
    assert cfg.csv_time == "07:00"
    assert cfg.cache_path == Path("data/luxlog.db")
    assert cfg.output_dirs == (Path("logs"),)
    assert cfg.retention_days == 30
    assert cfg.db_retention_days == 365
    assert cfg.disk_max_percent == 90
    assert cfg.weekly_day == "monday"
    assert cfg.columns == "default"
    assert cfg.csv_dialect == "excel"
    assert cfg.host is None


def test_file_then_env_then_options_override_each_other(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("host: from-file\nport: 8888\nretries: 1\n")
    env = {"LUXLOG_PORT": "9000", "LUXLOG_RETRIES": "2"}
    cfg = load_config(path, {"retries": 5, "host": None}, environ=env)
    assert (cfg.host, cfg.port, cfg.retries) == ("from-file", 9000, 5)
    assert f"file {path}" in cfg.sources
    assert "env LUXLOG_PORT" in cfg.sources
    assert "option --retries" in cfg.sources


def test_luxlog_config_env_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("host: heatpump.local\n")
    assert load_config(environ={"LUXLOG_CONFIG": str(path)}).host == "heatpump.local"


def test_config_yaml_in_the_working_directory_is_used_when_present() -> None:
    Path("config.yaml").write_text("host: waermepumpe.fritz.box\n")
    assert load_config(environ={}).host == "waermepumpe.fritz.box"


def test_env_output_dirs_are_comma_separated() -> None:
    cfg = load_config(environ={"LUXLOG_OUTPUT_DIRS": "a, b/c ,"})
    assert cfg.output_dirs == (Path("a"), Path("b/c"))


def test_every_bad_field_is_reported_at_once_with_what_is_allowed() -> None:
    message = problems_of(
        port=70000,
        interval_sec=5,
        csv_time="7 o'clock",
        timezone="Mars/Olympus",
        output_dirs=[],
        retention_days=0,
        db_retention_days=0,
        colour="blue",
        retries="many",
        disk_max_percent=150,
        timeout_sec=-1,
        weekly_day="someday",
        csv_dialect="latex",
        columns=[],
    )
    for fragment in (
        "port: 70000 is out of range (allowed 1..65535)",
        "interval_sec: 5 is out of range",
        "polled faster than every 10 s",
        'csv_time: "7 o\'clock" is not a time HH:MM',
        "timezone: 'Mars/Olympus' is not an IANA time zone",
        "output_dirs: empty",
        "retention_days: 0 is out of range (allowed >= 1)",
        "db_retention_days: 0 is out of range",
        "colour: unknown key",
        "retries: 'many' is not a whole number",
        "disk_max_percent: 150 is out of range",
        "timeout_sec: -1 is out of range",
        "weekly_day: 'someday' is not one of monday",
        "csv_dialect: 'latex' is not one of excel, excel-de",
        "columns: [] is not 'default', 'all'",
    ):
        assert fragment in message


def test_wrong_types_are_named() -> None:
    message = problems_of(host=["a"], port=True, cache_path=3, output_dirs=5, timeout_sec="x")
    assert "host: ['a'] is not a host name" in message
    assert "port: True is not a whole number" in message
    assert "cache_path: 3 is not a file path" in message
    assert "output_dirs: 5 is not a list of directories" in message
    assert "timeout_sec: 'x' is not a number" in message


def test_unquoted_csv_time_read_by_yaml_as_sexagesimal_still_works() -> None:
    Path("config.yaml").write_text("csv_time: 07:30\n")  # YAML 1.1: the integer 450
    assert load_config(environ={}).csv_time == "07:30"


def test_columns_accept_a_list_or_a_comma_separated_env_value() -> None:
    cfg = load_config(environ={"LUXLOG_COLUMNS": "ID_WEB_Temperatur_*, Heat_Output"})
    assert cfg.columns == ("ID_WEB_Temperatur_*", "Heat_Output")


def test_malformed_yaml_names_the_line() -> None:
    path = Path("bad.yaml")
    path.write_text("host: a\nport: [1,\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+"):
        load_config(path, environ={})


def test_yaml_that_is_not_a_mapping_is_refused() -> None:
    path = Path("list.yaml")
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(path, environ={})


def test_an_empty_file_gives_the_defaults() -> None:
    path = Path("empty.yaml")
    path.write_text("")
    assert load_config(path, environ={}).port == 8889


def test_explicitly_named_config_file_must_exist() -> None:
    with pytest.raises(ConfigError, match="--config: file 'nope.yaml' not found"):
        load_config(Path("nope.yaml"), environ={})
    with pytest.raises(ConfigError, match="LUXLOG_CONFIG: file 'gone.yaml' not found"):
        load_config(environ={"LUXLOG_CONFIG": "gone.yaml"})


def test_unknown_env_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="hots: unknown key"):
        load_config(environ={"LUXLOG_HOTS": "x"})


def test_poll_deadline_never_outlives_the_slot_and_caps_the_attempt_timeout() -> None:
    cfg = Config(interval_sec=30, timeout_sec=60)
    assert cfg.poll_deadline < 30
    assert cfg.attempt_timeout == cfg.poll_deadline
    assert Config(interval_sec=10, timeout_sec=1).attempt_timeout == 1
    assert Config(interval_sec=10).poll_deadline <= 8


def test_host_is_required_for_poll() -> None:
    with pytest.raises(ConfigError, match="host: required for poll"):
        Config().require_host("poll")


def test_system_timezone_is_a_valid_zone_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Vienna")
    assert system_timezone() == "Europe/Vienna"
    monkeypatch.setenv("TZ", "../../etc/passwd")
    assert system_timezone() != "../../etc/passwd"


def test_cli_reports_config_errors_with_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("config.yaml").write_text("host: x\nport: 0\ninterval_sec: 1\n")
    code = run(["poll", "--once"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("luxlog: ")
    assert "port: 0 is out of range" in err and "interval_sec: 1" in err
    assert "Traceback" not in err


def test_a_missing_host_exits_2_naming_the_ways_to_set_it() -> None:
    result = CliRunner().invoke(app, ["poll", "--once"])
    assert result.exit_code == 2
    assert "host: required for poll" in result.stderr
    assert "LUXLOG_HOST" in result.stderr


@pytest.mark.parametrize("name", ["Europe", "Europe/Berlin\x00", "posixrules/..", "", "UTC/x"])
def test_odd_time_zone_names_are_refused(name: str) -> None:
    from luxlog.config import _valid_zone

    assert not _valid_zone(name)


def test_the_system_time_zone_is_used_when_none_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    cfg = load_config(environ={})
    assert cfg.timezone == "" and cfg.zone_name == "America/New_York"
    assert str(cfg.tz) == "America/New_York"


def test_the_polling_hint_goes_with_a_too_short_interval_only() -> None:
    short = problems_of(interval_sec=5, retention_days=0)
    assert "interval_sec: 5 is out of range (allowed 10..86400) — controllers crash" in short
    assert "retention_days: 0 is out of range (allowed >= 1) —" not in short
    long = problems_of(interval_sec=100_000)
    assert "crash" not in long
    from_env = load_config_error({"LUXLOG_INTERVAL_SEC": "5"})
    assert "controllers crash when polled faster than every 10 s" in from_env


def load_config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(environ=environ)
    return str(info.value)
