"""Build a ``cache.db`` the way roelven/luxtronik-logger builds it (the far side of an import).

That logger reads the controller with python-luxtronik and stores, per poll, one row
``sensor_data(timestamp REAL PRIMARY KEY, data_json TEXT)``: ``datetime.now().timestamp()`` and
``json.dumps(readings, default=str)`` of every entry luxtronik decoded, keyed
``<block>.<name>`` (``<block>.<index>`` when luxtronik's name starts with ``Unknown``), for
calculations 0..274, parameters 0..1186, visibilities 0..397 (src/client.py, src/storage.py
of that repository). Here the decoding is luxtronik's own: over the simulator's socket
(``poll_simulator``) or, for many samples, luxtronik's parsers fed the simulator model's raw
blocks (``decoded_model``). luxtronik decodes timestamps with the process's local zone (``TZ``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from luxlog.sample import Sample

RANGES = (("calculations", 275), ("parameters", 1187), ("visibilities", 398))


def readings(lux: Any) -> dict[str, Any]:
    """What that logger's ``HeatPumpClient.get_all_sensors`` returns for a read ``lux``."""
    out: dict[str, Any] = {}
    for block, count in RANGES:
        entries = getattr(lux, block)
        for i in range(count):
            entry = entries.get(i)
            if hasattr(entry, "value"):
                key = str(i) if entry.name.startswith("Unknown") else entry.name
                out[f"{block}.{key}"] = entry.value
    return out


class _Parsed:
    def __init__(self, sample: Sample) -> None:
        from luxtronik.calculations import Calculations
        from luxtronik.parameters import Parameters
        from luxtronik.visibilities import Visibilities

        self.parameters = Parameters()
        self.calculations = Calculations()
        self.visibilities = Visibilities()
        # luxtronik's tables are class attributes: clear what an earlier parse left
        for table in (
            self.parameters.parameters,
            self.calculations.calculations,
            self.visibilities.visibilities,
        ):
            for entry in table.values():
                entry.value = None
        self.parameters.parse(list(sample.parameters))
        self.calculations.parse(list(sample.calculations))
        self.visibilities.parse(list(sample.visibilities))


def decoded_model(sample: Sample) -> dict[str, Any]:
    """luxtronik's decoding of one raw sample (as a read over the socket would give it)."""
    return readings(_Parsed(sample))


def poll_simulator(port: int) -> dict[str, Any]:
    """One real read of the simulator with python-luxtronik (read-only: no write is queued)."""
    from luxtronik import Luxtronik

    return readings(Luxtronik("127.0.0.1", port))


def write_cache_db(path: Path, rows: Iterable[tuple[float, dict[str, Any]]]) -> Path:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sensor_data (timestamp REAL PRIMARY KEY, "
            "data_json TEXT NOT NULL)"
        )
        conn.executemany(
            "INSERT OR REPLACE INTO sensor_data VALUES (?, ?)",
            ((t, json.dumps(data, default=str)) for t, data in rows),
        )
    conn.close()
    return path
