"""``luxlog show``: one live read-only poll or the stored sample, decoded like the CSVs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.decode import CALC_MODE, field_for
from luxlog.simulator import CMD_WRITE_PARAMETER, Simulator
from luxlog.store import Store
from support.fill import fill

START = 1_790_000_010  # on the 30 s grid


def show_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["show", "--json", *args])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_live_show_reads_the_controller_once_and_stores_nothing(
    sim: Simulator, sim_config: Path, isolated: Path
) -> None:
    doc = show_json()
    assert doc["source"] == f"controller 127.0.0.1:{sim.port}"
    assert doc["firmware"] == "V3.78"
    values, units = doc["values"], doc["units"]
    assert isinstance(values, dict) and isinstance(units, dict)
    assert isinstance(values["ID_WEB_Temperatur_TVL"], float)
    assert units["ID_WEB_Temperatur_TVL"] == "°C"
    assert units["ID_WEB_Zaehler_BetrZeitVD1"] == "h"  # hours, as the CSV shows them
    assert isinstance(values["ID_WEB_Zaehler_BetrZeitImpVD1"], int)
    assert values["ID_WEB_WP_BZ_akt"] in set(field_for(CALC_MODE).labels.values())
    assert "Heat_Output" not in values  # V3.78 does not send 257
    commands = [r[0] for r in sim.requests]
    assert CMD_WRITE_PARAMETER not in commands and set(commands) == {3003, 3004, 3005}
    assert not (isolated / "data").exists()  # a viewer: nothing stored, no database made


def test_stored_show_is_the_newest_sample_decoded_like_the_report(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()  # no host: --stored never asks the controller
    db = isolated / "data" / "luxlog.db"
    fill(db, START, n=5, flush=True)
    newest = fill(db, START + 5 * 30, n=2)[-1]  # in the buffer, newer than the cache
    doc = show_json("--stored")
    assert doc["source"] == "stored" and doc["epoch"] == newest.slot
    with Store(db, readonly=True) as store:
        (_, expected), *_ = store.query(newest.slot, newest.slot + 1)
    values = doc["values"]
    assert isinstance(values, dict)
    assert values["ID_WEB_Temperatur_TVL"] == expected["ID_WEB_Temperatur_TVL"]
    assert values["ID_WEB_Temperatur_TA"] == expected["ID_WEB_Temperatur_TA"]
    seconds = expected["ID_WEB_Zaehler_BetrZeitVD1"]
    assert values["ID_WEB_Zaehler_BetrZeitVD1"] == round(seconds / 3600, 2)
    assert values["ID_WEB_WP_BZ_akt"] == field_for(CALC_MODE).text(
        int(expected["ID_WEB_WP_BZ_akt"])
    )
    assert doc["headers"]["ID_WEB_Temperatur_TVL"] == "Flow temperature TVL (°C)"  # type: ignore[index]


def test_all_shows_every_numeric_value_and_a_missing_sensor_is_null(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    fill(isolated / "data" / "luxlog.db", START, n=1, profile="v1.80")
    curated = show_json("--stored")["values"]
    everything = show_json("--stored", "--all")["values"]
    assert isinstance(curated, dict) and isinstance(everything, dict)
    assert curated["ID_WEB_Temperatur_TWE"] is None  # -50.0 °C: not fitted on this V1.80
    assert len(everything) > 150 > len(curated)
    assert "Unknown_Calculation_0" in everything
    seconds, hours = everything["ID_WEB_Zaehler_BetrZeitVD1"], curated["ID_WEB_Zaehler_BetrZeitVD1"]
    assert isinstance(seconds, int) and isinstance(hours, float)  # --all: luxtronik's unit, s
    assert abs(seconds / 3600 - hours) <= 0.005


def test_the_table_on_a_terminal_names_values_with_units_and_labels(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    sample = fill(isolated / "data" / "luxlog.db", START, n=1)[0]
    result = CliRunner().invoke(app, ["show", "--stored"])
    assert result.exit_code == 0, result.output
    assert "V3.78, stored, 2026-09-21T" in result.stdout
    assert "Flow temperature TVL (°C)" in result.stdout
    label = field_for(CALC_MODE).text(sample.calculations[CALC_MODE])
    assert label is not None and label in result.stdout


def test_show_refusals_exit_with_one_line(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    stored = CliRunner().invoke(app, ["show", "--stored"])
    assert stored.exit_code == 1
    assert "no database at" in stored.stderr and "Traceback" not in stored.stderr
    assert not (isolated / "data" / "luxlog.db").exists()
    live = CliRunner().invoke(app, ["show"])
    assert live.exit_code == 2
    assert "host: required for show" in live.stderr


def test_an_unreachable_controller_is_one_line_and_exit_1(
    make_sim: Callable[..., Simulator], write_config: Callable[..., Path], no_retry_waits: None
) -> None:
    sim = make_sim(faults={"refuse"})
    write_config(host="127.0.0.1", port=sim.port, retries=0)
    result = CliRunner().invoke(app, ["show", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""  # no half object for a script to misread
    assert "controller not readable" in result.stderr and "Traceback" not in result.stderr
