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
        "retention_days: 0 is out of range (allowed 1..36500)",
        "db_retention_days: 0 is out of range",
        "colour: unknown key",
        "retries: 'many' is not a whole number",
        "disk_max_percent: 150 is out of range",
        "timeout_sec: -1 is out of range",
        "weekly_day: 'someday' is not one of monday",
        "csv_dialect: 'latex' is not one of excel, excel-de, plain",
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
    from luxlog.config_rules import valid_zone

    assert not valid_zone(name)


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
    assert "retention_days: 0 is out of range (allowed 1..36500) —" not in short
    long = problems_of(interval_sec=100_000)
    assert "crash" not in long
    from_env = load_config_error({"LUXLOG_INTERVAL_SEC": "5"})
    assert "controllers crash when polled faster than every 10 s" in from_env


def load_config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(environ=environ)
    return str(info.value)


# ------------------------------------------------------------ hardening: the file itself


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(args)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("command", [["doctor", "--quick"], ["flush"], ["prune"]])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("host: 127.0.0.1\n".encode("utf-16"), "not UTF-8 (byte 0xff at offset 0, line 1; UTF-16?"),
        ("host: 127.0.0.1\n".encode("utf-16-le"), "not UTF-8 (NUL byte at offset 1; UTF-16?"),
        ("# Wärmepumpe\nhost: 127.0.0.1\n".encode("cp1252"), "byte 0xe4 at offset 3, line 1;"),
    ],
    ids=["utf-16", "utf-16-le-without-bom", "cp1252"],
)
def test_a_config_file_that_is_not_utf8_exits_2_in_every_command_naming_file_and_encoding(
    command: list[str], data: bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("notepad.yaml").write_bytes(data)
    code, output = run_cli([*command, "--config", "notepad.yaml"], capsys)
    assert code == 2, output
    assert "notepad.yaml: not UTF-8" in output
    assert expected in output and "save it as UTF-8" in output
    assert "Traceback" not in output


def test_a_utf8_bom_is_accepted() -> None:
    Path("bom.yaml").write_bytes(b"\xef\xbb\xbfhost: heatpump.local\n")
    assert load_config(Path("bom.yaml"), environ={}).host == "heatpump.local"


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, f"columns: *a{levels}", ""])


@pytest.mark.parametrize("command", [["doctor", "--quick"], ["flush"]])
def test_a_yaml_alias_bomb_is_refused_with_one_short_line(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # 6 levels expand to 9**7 (4.8 million) items: the message once quoted all of them
    Path("bomb.yaml").write_text(alias_bomb(6))
    code, output = run_cli([*command, "--config", "bomb.yaml"], capsys)
    assert code == 2
    assert "bomb.yaml: line 2, column 10: aliases (*name) are not allowed" in output
    assert len(output) < 300 and "Traceback" not in output


def test_any_alias_is_refused_even_a_harmless_one() -> None:
    path = Path("alias.yaml")
    path.write_text("timezone: &tz Europe/Berlin\nhost: *tz\n")
    with pytest.raises(ConfigError, match=r"alias.yaml: line 2, column 7: aliases .* not allowed"):
        load_config(path, environ={})


def test_a_long_bad_value_is_quoted_shortened_so_the_message_stays_one_short_line() -> None:
    message = problems_of(timezone="x" * 100_000, weekly_day=["day"] * 10_000)
    assert message.startswith("timezone: 'xxxx") and "…" in message
    assert "weekly_day: ['day', " in message
    assert len(message) < 300


def test_many_problems_are_counted_beyond_the_first_twenty() -> None:
    message = problems_of(**{f"key{i:02d}": 1 for i in range(25)})
    assert "key19: unknown key" in message and "key20" not in message
    assert message.endswith("… and 5 more problems")


def test_duplicate_keys_are_a_config_error_naming_the_key_and_both_lines() -> None:
    path = Path("dup.yaml")
    path.write_text("port: 8888\nhost: heatpump.local\nretries: 2\nport: 8889\nretries: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == (
        "dup.yaml: duplicate key 'port' on lines 1 and 4; "
        "dup.yaml: duplicate key 'retries' on lines 3 and 5"
    )


def test_duplicate_keys_on_one_line_and_in_nested_mappings_are_found_too() -> None:
    path = Path("dup.yaml")
    path.write_text("{host: a, host: b}\n")
    with pytest.raises(ConfigError, match="duplicate key 'host' on lines 1 and 1"):
        load_config(path, environ={})
    path.write_text("output_dirs:\n  - {a: 1,\n     a: 2}\n")
    with pytest.raises(ConfigError, match="duplicate key 'a' on lines 2 and 3"):
        load_config(path, environ={})


def test_a_duplicate_key_fails_doctor_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path("config.yaml").write_text("host: 127.0.0.1\nport: 8888\nport: 8889\n")
    code, output = run_cli(["doctor", "--quick"], capsys)
    assert code == 2
    assert "FAIL  config  config.yaml: duplicate key 'port' on lines 2 and 3" in output


# ------------------------------------------------------------ hardening: fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"host": "a" * 64 + ".local"}, "host: 'aaaa"),
        ({"host": "a" * 64 + ".local"}, "has a label longer than 63 characters (64: "),
        ({"host": ".".join(["a" * 60] * 5)}, "is longer than 253 characters (304)"),
        ({"host": "heat..pump"}, "host: 'heat..pump' has an empty label"),
        ({"host": "127.0.0.1:8889"}, "host: '127.0.0.1:8889' has a port suffix: set 'host: 127.0"),
        ({"host": "127.0.0.1:8889"}, "and 'port: 8889'"),
        ({"host": "[::1]:8889"}, "host: '[::1]:8889' is bracketed"),
        ({"host": "heat:pump:8889"}, "host: 'heat:pump:8889' is not a valid IPv6 address"),
        ({"host": "http://heatpump"}, "host: 'http://heatpump' is not a host name or IP address"),
        ({"host": "heat pump"}, "host: 'heat pump' is not a host name or IP address"),
        ({"cache_path": "~nouser-luxlog/x.db"}, "cache_path: '~nouser-luxlog/x.db' cannot expand"),
        ({"cache_path": "data/lux\x00log.db"}, "cache_path: 'data/lux\\x00log.db' contains a NUL"),
        ({"cache_path": "d/" * 2100}, "cache_path: 'd/d/d/"),
        ({"cache_path": "d/" * 2100}, "is too long (4200 bytes, at most 4095)"),
        ({"cache_path": "x" * 256}, "has a component longer than 255 bytes"),
        ({"output_dirs": ["logs", "~nouser-luxlog"]}, "output_dirs: '~nouser-luxlog' cannot"),
        ({"output_dirs": ["lo\x00gs"]}, "output_dirs: 'lo\\x00gs' contains a NUL byte"),
    ],
)
def test_unusable_hosts_and_paths_are_refused_at_config_time_naming_the_field(
    raw: dict[str, object], expected: str
) -> None:
    message = problems_of(**raw)
    assert expected in message
    assert len(message) < 300


@pytest.mark.parametrize(
    "host",
    # addresses: loopback only (the project's network rule), IPv6 also with a zone index
    ["heatpump.local", "wp-keller", "heatpump.", "127.0.0.1", "::1", "::1%lo", "bär.de"],
)
def test_ordinary_host_names_and_addresses_are_accepted(host: str) -> None:
    Path("c.yaml").write_text(f"host: '{host}'\n", encoding="utf-8")
    assert load_config(Path("c.yaml"), environ={}).host == host


def test_a_port_suffix_on_host_exits_2_at_once_instead_of_retrying(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, output = run_cli(["poll", "--once", "--host", "127.0.0.1:8889"], capsys)
    assert code == 2
    assert "host: '127.0.0.1:8889' has a port suffix" in output


def test_a_tilde_path_of_a_known_user_still_expands() -> None:
    cfg = load_config(environ={"LUXLOG_CACHE_PATH": "~/lux.db"})
    assert cfg.cache_path == Path.home() / "lux.db"


@pytest.mark.parametrize("command", [["flush"], ["doctor", "--quick"], ["poll", "--once"]])
def test_an_absurdly_long_config_path_exits_2_naming_the_option(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run_cli([*command, "--config", "x" * 5000], capsys)
    assert code == 2, output
    assert "--config: 'xxxx" in output and "is too long (5000 bytes, at most 4095)" in output
    assert len(output) < 300 and "Traceback" not in output


def test_a_config_path_below_a_regular_file_or_with_a_nul_byte_is_named() -> None:
    Path("file").write_text("")
    with pytest.raises(ConfigError, match=r"--config: file 'file/c.yaml' not found"):
        load_config(Path("file/c.yaml"), environ={})
    with pytest.raises(ConfigError, match="LUXLOG_CONFIG: 'c\\\\x00.yaml' contains a NUL byte"):
        load_config(environ={"LUXLOG_CONFIG": "c\x00.yaml"})


def test_retention_is_bounded_to_100_years() -> None:
    message = problems_of(retention_days=800_000, db_retention_days="1e11")
    assert "retention_days: 800000 is out of range (allowed 1..36500)" in message
    assert "db_retention_days: '1e11' is not a whole number" in message
    from_env = load_config_error({"LUXLOG_DB_RETENTION_DAYS": "100000000000"})
    assert from_env == "db_retention_days: 100000000000 is out of range (allowed 1..36500)"
    cfg = load_config(environ={"LUXLOG_RETENTION_DAYS": "36500"})
    assert cfg.retention_days == 36500


def test_huge_retention_exits_2_in_prune_instead_of_overflowing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("config.yaml").write_text("retention_days: 800000\n")
    code, output = run_cli(["prune"], capsys)
    assert code == 2
    assert "retention_days: 800000 is out of range (allowed 1..36500)" in output


def test_a_column_pattern_that_is_not_a_valid_glob_is_refused_at_load() -> None:
    message = problems_of(columns=["ID_WEB_Temperatur_*", "ID_WEB_[", "x[!]"])
    assert message == (
        "columns: pattern 'ID_WEB_[' is not a valid glob ('[' at character 8 is never closed "
        "by ']'); columns: pattern 'x[!]' is not a valid glob ('[' at character 2 is never "
        "closed by ']')"
    )
    cfg = load_config(environ={"LUXLOG_COLUMNS": "ID_WEB_[A-Z]*, [!]x]*, ID_WEB_]"})
    assert cfg.columns == ("ID_WEB_[A-Z]*", "[!]x]*", "ID_WEB_]")


@pytest.mark.parametrize("command", [["doctor", "--quick"], ["flush"], ["prune"]])
def test_a_bad_column_glob_fails_every_command_not_only_report(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("config.yaml").write_text("columns: ['ID_WEB_[']\n")
    code, output = run_cli(command, capsys)
    assert code == 2
    assert "columns: pattern 'ID_WEB_[' is not a valid glob" in output


def test_column_selection_outside_load_config_refuses_a_bad_glob_too() -> None:
    from luxlog.columns import select

    with pytest.raises(ConfigError, match=r"pattern 'ID_WEB_\[' is not a valid glob"):
        select(("ID_WEB_Temperatur_TVL", "ID_WEB_["))


def test_absurdly_deep_nesting_is_a_config_error_not_a_recursion_traceback() -> None:
    path = Path("deep.yaml")
    path.write_text("columns: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="deep.yaml: nested too deeply"):
        load_config(path, environ={})


def test_a_range_error_from_the_environment_quotes_the_number_as_given() -> None:
    message = load_config_error({"LUXLOG_TIMEOUT_SEC": "-1", "LUXLOG_RETENTION_DAYS": "36501"})
    assert "timeout_sec: -1 is out of range (allowed > 0 and <= 3600)" in message
    assert "retention_days: 36501 is out of range (allowed 1..36500)" in message


def test_odd_but_harmless_yaml_keys_and_unencodable_names_end_as_clear_errors() -> None:
    path = Path("c.yaml")
    path.write_text("<<: {port: 8888, retries: 1}\nport: 8889\n")  # a merge key is no duplicate
    cfg = load_config(path, environ={})
    assert (cfg.port, cfg.retries) == (8889, 1)
    path.write_text("? [a, b]\n: 1\n")
    with pytest.raises(ConfigError, match="c.yaml: line 1, column 3: found unhashable key"):
        load_config(path, environ={})
    message = load_config_error({"LUXLOG_CACHE_PATH": "db\ud800", "LUXLOG_HOST": "ä" * 64})
    assert "cache_path: 'db\\ud800' cannot be encoded as a file name" in message
    assert "host: 'ääää" in message and "longer than 63 characters or not valid IDNA" in message


@pytest.mark.parametrize(
    "text", ["data//luxlog.db", "./data/./luxlog.db/", "/srv//lux/", "//srv/x", "///srv", "", "."]
)
def test_path_keys_are_held_as_text_spelled_and_compared_as_path_does(text: str) -> None:
    cfg = Config(cache_path=text, output_dirs=(text, Path(text)))
    assert cfg.cache_path == Path(text) and cfg.cache_path_text == str(Path(text))
    assert cfg.output_dirs == (Path(text), Path(text))
    assert cfg == Config(cache_path=Path(text), output_dirs=(Path(text), Path(text)))
    loaded = load_config(environ={"LUXLOG_CACHE_PATH": text or "."})
    assert loaded.cache_path == Path(text or ".").expanduser()


def test_config_is_immutable_and_replace_makes_a_changed_copy() -> None:
    cfg = Config(host="127.0.0.1", sources=("env LUXLOG_HOST",))
    with pytest.raises(AttributeError):
        cfg.port = 1  # type: ignore[misc]
    changed = cfg.replace(port=1, cache_path=Path("x/y.db"))
    assert (changed.port, changed.cache_path, changed.host) == (1, Path("x/y.db"), "127.0.0.1")
    assert changed.sources == cfg.sources and cfg.port == 8889
    assert cfg == Config(host="127.0.0.1") and hash(cfg) == hash(Config(host="127.0.0.1"))
    assert repr(Config()).startswith("Config(host=None, port=8889, interval_sec=30,")
    assert "cache_path=PosixPath('data/luxlog.db'), output_dirs=(PosixPath('logs'),)" in repr(cfg)


@pytest.mark.parametrize(
    ("home", "value", "expected"),
    [
        ("/", "~/data/luxlog.db", "/data/luxlog.db"),  # a service with HOME=/
        ("/home/u", "./~/x.db", "/home/u/x.db"),  # Path drops "." before expanding
        ("/home/u", "~", "/home/u"),
    ],
)
def test_a_home_relative_cache_path_is_spelled_as_pathlib_would(
    monkeypatch: pytest.MonkeyPatch, home: str, value: str, expected: str
) -> None:
    from pathlib import Path

    monkeypatch.setenv("HOME", home)
    cfg = load_config(environ={"LUXLOG_CACHE_PATH": value})
    assert cfg.cache_path_text == expected == str(Path(value).expanduser())


def test_a_config_survives_copy_deepcopy_and_pickle() -> None:
    import copy
    import pickle

    cfg = load_config(environ={"LUXLOG_HOST": "heatpump.local", "LUXLOG_OUTPUT_DIRS": "a,b"})
    for twin in (copy.copy(cfg), copy.deepcopy(cfg), pickle.loads(pickle.dumps(cfg))):
        assert twin == cfg and repr(twin) == repr(cfg) and twin.output_dirs == cfg.output_dirs
