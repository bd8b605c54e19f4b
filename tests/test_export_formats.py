"""``luxlog export`` to Parquet and InfluxDB line protocol, read back by real parsers."""

from __future__ import annotations

import bz2
import datetime as dt
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import line_protocol_parser
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import load_config
from luxlog.decode import ABSENT, field_for
from luxlog.export.influx import escape_key, string_field
from luxlog.sample import Sample
from luxlog.store import Store
from support.fill import fill

START = dt.datetime(2026, 11, 19, 22, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=4)
T0 = int(dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp())
SPAN = ("--from", "2026-11-19T22:00Z", "--to", "2026-11-20T02:00Z")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["export", *args])


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    cfg = write_config(interval_sec=600, host="127.0.0.1")
    fill(load_config(cfg, environ={}), START, END)
    return cfg


def queried(config: Path) -> list[tuple[dt.datetime, dict[str, float]]]:
    with Store(load_config(config, environ={}).cache_path) as store:
        return store.query(START, END)


def expected_value(name: str, value: float, index: int) -> object:
    f = field_for(index)
    if f.labels:
        return f.labels.get(int(value), str(int(value)))
    if f.kind == "boolean":
        return value != 0
    return value if f.divisor != 1 else int(value)


def test_parquet_reads_back_value_by_value_as_store_query(config: Path, isolated: Path) -> None:
    out = isolated / "x.parquet"
    result = invoke("-c", str(config), *SPAN, "--columns", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    rows = table.to_pylist()
    expected = queried(config)
    assert len(rows) == len(expected) == 24
    schema = table.schema
    assert str(schema.field("time").type) in ("timestamp[s, tz=UTC]", "timestamp[ms, tz=UTC]")
    assert schema.field("ID_WEB_Temperatur_TVL").metadata[b"unit"] == "°C".encode()
    assert str(schema.field("ID_WEB_Temperatur_TVL").type) == "double"
    assert str(schema.field("ID_WEB_WP_BZ_akt").type) == "string"
    assert str(schema.field("ID_WEB_EVUin").type) == "bool"
    assert str(schema.field("ID_WEB_Zaehler_BetrZeitVD1").type) == "int64"
    compared = 0
    for row, (time, values) in zip(rows, expected, strict=True):
        assert row["time"] == time
        for name, value in values.items():
            if name not in row:
                continue
            index = int(schema.field(name).metadata[b"luxtronik_index"])
            if index == 15 and value == -50.0:
                assert row[name] is None
                continue
            assert row[name] == expected_value(name, value, index), name
            compared += 1
    assert compared > 24 * 100


def test_parquet_partition_writes_one_file_per_utc_day_as_a_hive_dataset(
    config: Path, isolated: Path
) -> None:
    result = invoke("-c", str(config), *SPAN, "--partition", "-o", str(isolated / "ds"))
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(isolated / "ds") for p in (isolated / "ds").rglob("*.parquet"))
    assert files == [Path("date=2026-11-19/part-0.parquet"), Path("date=2026-11-20/part-0.parquet")]
    table = pads.dataset(isolated / "ds", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 24
    days = {str(d) for d in table.column("date").to_pylist()}
    assert days == {"2026-11-19", "2026-11-20"}


def test_parquet_without_pyarrow_names_the_extra(
    config: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # the extra not installed
    result = invoke("-c", str(config), *SPAN, "-o", str(isolated / "x.parquet"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "luxlog: --format parquet needs pyarrow: pip install 'luxlog[parquet]'"
    )
    assert not list(isolated.glob("*parquet*"))


def test_empty_parquet_has_the_schema(config: Path, isolated: Path) -> None:
    out = isolated / "none.parquet"
    result = invoke("-c", str(config), "--from", "2025-01-01", "--to", "2025-01-01", "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 0 and "ID_WEB_Temperatur_TVL" in table.schema.names


def test_influx_lines_parse_with_a_real_parser_and_match_store_query(config: Path) -> None:
    result = invoke("-c", str(config), *SPAN, "-f", "influx", "--site", "home, sweet=home")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    expected = queried(config)
    assert len(lines) == len(expected)
    by_name = {field_for(i).name: i for i in range(260)}
    for text, (time, values) in zip(lines, expected, strict=True):
        point = line_protocol_parser.parse_line(text)
        assert point["measurement"] == "luxtronik"
        assert point["tags"] == {"site": "home, sweet=home"}
        assert point["time"] == int(time.timestamp()) * 10**9
        fields = point["fields"]
        assert fields["ID_WEB_WP_BZ_akt"] in {"heating", "hot water", "defrost", "no request"}
        for name, value in fields.items():
            index = by_name[name]
            assert value == expected_value(name, values[name], index), name


def test_influx_default_site_is_the_configured_host(config: Path) -> None:
    result = invoke("-c", str(config), *SPAN, "-f", "influx", "--columns", "ID_WEB_Temperatur_TVL")
    point = line_protocol_parser.parse_line(result.stdout.splitlines()[0])
    assert point["tags"] == {"site": "127.0.0.1"} and set(point["fields"]) == {
        "ID_WEB_Temperatur_TVL"
    }


@pytest.mark.parametrize("text", ['say "hi"', "back\\slash", "comma, equals= space", "ünï"])
def test_influx_escaping_survives_a_real_parser(text: str) -> None:
    line = f"luxtronik,site={escape_key(text)} {escape_key(text)}={string_field(text)} 1"
    point = line_protocol_parser.parse_line(line)
    assert point["tags"] == {"site": text}
    assert point["fields"] == {text: text}


def test_sqlite_export_is_a_plain_wide_table_with_sensors(config: Path, isolated: Path) -> None:
    out = isolated / "plain.db"
    result = invoke("-c", str(config), *SPAN, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "as sqlite" in result.stdout
    conn = sqlite3.connect(out)
    rows = conn.execute(
        "SELECT time, ID_WEB_Temperatur_TVL, ID_WEB_WP_BZ_akt, ID_WEB_EVUin FROM samples "
        "ORDER BY time"
    ).fetchall()
    expected = queried(config)
    assert [r[0] for r in rows] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t, _ in expected]
    for (_, tvl, mode, evu), (_, values) in zip(rows, expected, strict=True):
        assert tvl == values["ID_WEB_Temperatur_TVL"]
        assert mode == field_for(80).labels[int(values["ID_WEB_WP_BZ_akt"])]
        assert evu == values["ID_WEB_EVUin"]
    sensor = conn.execute(
        "SELECT unit, description FROM sensors WHERE name = 'ID_WEB_Temperatur_TVL'"
    ).fetchone()
    assert sensor == ("°C", "Flow temperature TVL (°C)")
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM samples WHERE time >= '2026-11-20'"
    ).fetchall()
    assert "samples_time" in str(plan)
    conn.close()


def test_dump_matches_a_hand_written_fixture(write_config: Callable[..., Path]) -> None:
    cfg = write_config()
    with Store(load_config(cfg, environ={}).cache_path) as store:
        store.add_row(Sample(T0, 0, (1,), (5, 7, ABSENT, 9), ()))
        store.add_row(Sample(T0 + 10, 0, (2,), (5, 8, ABSENT, 9), ()))
        store.add_row(Sample(T0 + 20, 0, (2,), (6, 8, 4, 9), ()))
        store.add_row(Sample(T0 + 30, 0, (2,), (6, 8, 4, 9), ()))
    result = invoke("-c", str(cfg), "-f", "dump", "--from", "2026-11-20T00:00Z")
    assert result.exit_code == 0, result.output
    # doc/dump_format.txt: bzip2 text; first line every index=value, later lines the changes
    assert bz2.decompress(result.stdout_bytes) == b"0=5,1=7,3=9\n1=8\n0=6,2=4\n\n"


def test_dump_of_simulated_samples_replays_to_the_stored_blocks(
    config: Path, isolated: Path
) -> None:
    out = isolated / "x.dump"
    result = invoke("-c", str(config), *SPAN, "-o", str(out))
    assert result.exit_code == 0, result.output
    with Store(load_config(config, environ={}).cache_path) as store:
        stored = [list(r.calculations) for r in store.iter_rows(0, 2**40)]
    state: dict[int, int] = {}
    replayed = []
    for line in bz2.decompress(out.read_bytes()).decode().splitlines():
        for pair in filter(None, line.split(",")):
            index, value = pair.split("=")
            state[int(index)] = int(value)
        replayed.append([state[i] for i in range(len(state))])
    assert replayed == stored
