"""``luxlog export``: CSV (the report's cells), NDJSON, raw; ranges, columns, errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import load_config
from luxlog.decode import ABSENT, CALC_MODE
from luxlog.export import infer_format, with_progress
from luxlog.sample import Sample
from luxlog.store import Store
from support.fill import fill

BERLIN = ZoneInfo("Europe/Berlin")
START = dt.datetime(2026, 11, 19, 7, tzinfo=BERLIN)  # the daily window of 2026-11-20


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["export", *args])


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    cfg = write_config(interval_sec=600)
    fill(load_config(cfg, environ={}), START, START + dt.timedelta(days=1))
    return cfg


def test_csv_export_of_a_report_window_is_the_report_byte_for_byte(
    config: Path, isolated: Path
) -> None:
    report = CliRunner().invoke(
        app, ["report", "--config", str(config), "--date", "2026-11-20", "--output", "rep"]
    )
    assert report.exit_code == 0, report.output
    out = isolated / "x.csv"
    result = invoke(
        "-c", str(config), "--from", "2026-11-19T07:00", "--to", "2026-11-20T07:00", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "exported 144 samples" in result.stdout and "as csv to" in result.stdout
    assert out.read_bytes() == (isolated / "rep" / "2026-11-20_daily.csv").read_bytes()


def test_csv_export_follows_the_configured_dialect(
    write_config: Callable[..., Path], config: Path
) -> None:
    de = write_config(interval_sec=600, csv_dialect="excel-de")
    result = invoke("-c", str(de), "--from", "2026-11-19T07:00", "--to", "2026-11-19T08:00")
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert raw.startswith("\ufeff".encode()) and b";timestamp;" in raw.splitlines()[0]
    first = raw.decode("utf-8-sig").splitlines()[1].split(";")
    assert "2026-11-19T07:00:00+01:00" in first and any("," in cell for cell in first)


def test_ndjson_has_utc_time_values_by_name_and_states_as_labels(config: Path) -> None:
    result = invoke(
        "-c", str(config), "-f", "ndjson", "--columns", "all",
        "--from", "2026-11-19T06:00Z", "--to", "2026-11-19T08:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "exported 12 samples" in result.stderr  # stdout carries the data
    with Store(load_config(config, environ={}).cache_path) as store:
        expected = store.query(
            dt.datetime(2026, 11, 19, 6, tzinfo=dt.UTC), dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC)
        )
        rows = list(store.iter_rows(0, 2**40))
    assert [line["time"] for line in lines] == [
        t.strftime("%Y-%m-%dT%H:%M:%SZ") for t, _ in expected
    ]
    modes = {"heating", "hot water", "defrost", "no request", "swimming pool/solar", "cooling"}
    for line, (_, values) in zip(lines, expected, strict=True):
        assert line["ID_WEB_WP_BZ_akt"] in modes  # a label, not the code
        for name, value in values.items():
            if name in line and not isinstance(line[name], str):
                assert line[name] == value, name
    assert rows[0].calculations[CALC_MODE] >= 0
    assert lines[0]["ID_WEB_Temperatur_TVL"] == expected[0][1]["ID_WEB_Temperatur_TVL"]


def test_absent_values_are_null_in_ndjson_and_empty_in_csv(
    write_config: Callable[..., Path],
) -> None:
    cfg = write_config(
        columns=["ID_WEB_Temperatur_TVL", "ID_WEB_Temperatur_TRL"], csv_dialect="plain"
    )
    with Store(load_config(cfg, environ={}).cache_path) as store:
        store.add(dt.datetime(2026, 11, 19, 6, tzinfo=dt.UTC), {"ID_WEB_Temperatur_TVL": 45.4})
    args = ("-c", str(cfg), "--from", "2026-11-19", "--to", "2026-11-19")
    ndjson = invoke(*args, "-f", "ndjson")
    assert json.loads(ndjson.stdout) == {
        "time": "2026-11-19T06:00:00Z",
        "ID_WEB_Temperatur_TVL": 45.4,
        "ID_WEB_Temperatur_TRL": None,
    }
    csv = invoke(*args)
    assert csv.stdout.splitlines()[1].endswith("2026-11-19T07:00:00+01:00,45.4,")


def test_raw_export_holds_every_block_exactly(write_config: Callable[..., Path]) -> None:
    cfg = write_config()
    sample = Sample(1795132800, 7, (1, -2, ABSENT), (0, 454, ABSENT), (1, -1))
    with Store(load_config(cfg, environ={}).cache_path) as store:
        store.add_row(sample)
    result = invoke("-c", str(cfg), "-f", "raw", "--from", "2026-11-20T00:00Z")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "slot": 1795132800,
        "stat": 7,
        "parameters": [1, -2, ABSENT],
        "calculations": [0, 454, ABSENT],
        "visibilities": [1, -1],
    }


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.ndjson", "ndjson"), ("a.jsonl", "ndjson"), ("a.raw.jsonl", "raw"),
     ("A.RAW", "raw"), ("a.txt", None)],
)  # fmt: skip
def test_format_is_inferred_from_the_extension(name: str, fmt: str | None) -> None:
    assert infer_format(name) == fmt


def test_output_extension_chooses_the_format(config: Path, isolated: Path) -> None:
    out = isolated / "day.ndjson"
    result = invoke("-c", str(config), "--from", "2026-11-19", "--to", "2026-11-19", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "as ndjson" in result.stdout
    assert len(out.read_text().splitlines()) == 102  # 07:00 local .. midnight, every 10 min
    assert not list(isolated.glob(".day.ndjson.tmp-*"))


def test_an_empty_range_warns_and_writes_a_valid_empty_file(config: Path, isolated: Path) -> None:
    out = isolated / "none.csv"
    result = invoke("-c", str(config), "--from", "2025-01-01", "--to", "2025-01-02", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "no samples" in result.stderr
    assert out.read_text().splitlines() == [out.read_text().splitlines()[0]]
    assert "timestamp," in out.read_text() and "Flow temperature TVL" in out.read_text()
    empty = invoke("-c", str(config), "-f", "ndjson", "--from", "2025-01-01", "--to", "2025-01-02")
    assert empty.exit_code == 0 and empty.stdout == ""


def test_default_range_is_the_last_24_hours(write_config: Callable[..., Path]) -> None:
    cfg = write_config()
    now = dt.datetime.now(dt.UTC)
    fill(load_config(cfg, environ={}), now - dt.timedelta(hours=30), now, step=3600)
    result = invoke("-c", str(cfg), "-f", "ndjson")
    assert result.exit_code == 0, result.output
    times = [json.loads(line)["time"] for line in result.stdout.splitlines()]
    assert len(times) == 24


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-13-01"), "--from: '2026-13-01' is not a date"),
        (("--to", "yesterday"), "--to: 'yesterday' is not a date"),
        (("--from", "2026-11-20", "--to", "2026-11-19"), "--from must be before --to"),
        (("--columns", "ID_WEB_Temperatur_TVLL"), "did you mean ID_WEB_Temperatur_TVL"),
        (("--format", "xml"), "--format: 'xml' is not one of csv, ndjson, raw"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke("-c", str(config), *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("luxlog: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_unwritable_output_exits_1_with_one_line_and_keeps_the_old_file(
    config: Path, isolated: Path
) -> None:
    result = invoke("-c", str(config), "-o", str(isolated / "missing" / "x.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("luxlog: cannot write ") and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1


def test_a_missing_database_exits_1(write_config: Callable[..., Path]) -> None:
    result = invoke("-c", str(write_config()))
    assert result.exit_code == 1
    assert "does not exist yet" in result.stderr and "Traceback" not in result.output


def test_progress_reports_the_slot_reached() -> None:
    rows = [Sample(s, 0, (), (), ()) for s in range(0, 30 * 2500, 30)]
    seen: list[int] = []
    assert list(with_progress(iter(rows), seen.append)) == rows
    assert seen == [rows[999].slot, rows[1999].slot]
