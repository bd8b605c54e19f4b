"""The current values, decoded: one live read-only poll, or the newest stored sample.

``show`` is a viewer: a live read is not stored (that is ``poll``'s job, on its slot grid), and
``--stored`` never touches the controller. Values are decoded exactly as the CSV reports do
(``columns.Column``: fixed decimals, operating hours in hours for the curated set, states as
their luxtronik label, a sensor that is not fitted as no value), so ``show`` and a report never
disagree about a number. Keys are luxtronik names, stable across versions, which is what a
Home Assistant ``command_line`` sensor or ``jq`` should address; units come separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from luxlog.columns import DEFAULT, HOURS, Column, base_field
from luxlog.config import Config
from luxlog.decode import ABSENT, SENTINEL_ABSENT_SENSOR, firmware_version
from luxlog.errors import LuxlogError
from luxlog.sample import Sample

Number = int | float


@dataclass(frozen=True)
class Value:
    name: str  # luxtronik name
    header: str  # what a person reads (the CSV header)
    value: Number | str | None  # a number, a state's label, or None (not fitted / not sent)
    unit: str
    text: str  # as the CSV cell shows it


@dataclass(frozen=True)
class Reading:
    slot: int  # epoch seconds (the sample's slot, or the live read's time)
    source: str  # "controller HOST:PORT" or "stored"
    firmware: str
    values: tuple[Value, ...]


def _value(column: Column, unit: str, raw: int) -> Value:
    text = column.cell(raw)
    value: Number | str | None
    if raw == ABSENT or (column.temperature and raw == SENTINEL_ABSENT_SENSOR):
        value = None
    elif raw in column.labels:
        value = column.labels[raw]
    elif column.decimals == 0:
        value = int(text)
    else:
        value = float(text)  # the cell's fixed decimals: no float noise (45.4, not 45.400001)
    return Value(column.name, column.header, value, unit, text)


def decode(sample: Sample, everything: bool = False) -> tuple[Value, ...]:
    """The curated set (the CSV's default columns the block holds), or every numeric value."""
    calcs = sample.calculations
    if everything:
        picked = [
            (Column.for_index(i), base_field(i).unit)
            for i in range(len(calcs))
            if base_field(i).numeric and calcs[i] != ABSENT
        ]
    else:
        picked = [
            (Column.for_index(c.index, c.header, c.show), "h" if c.show == HOURS else "")
            for c in DEFAULT
            if c.index < len(calcs) and calcs[c.index] != ABSENT
        ]
        picked = [(col, unit or base_field(col.index).unit) for col, unit in picked]
    return tuple(_value(col, unit, calcs[col.index]) for col, unit in picked)


def live(cfg: Config, everything: bool = False) -> Reading:
    """One read-only poll of the configured controller (not stored)."""
    import time

    from luxlog.client import client_from_config

    sample = client_from_config(cfg).read_raw()
    return Reading(
        int(time.time()),
        f"controller {cfg.host}:{cfg.port}",
        firmware_version(sample.calculations),
        decode(sample, everything),
    )


def stored(cfg: Config, everything: bool = False) -> Reading:
    """The newest stored sample (cache or buffer), read-only; the controller is not asked."""
    from luxlog.store import Store

    if not cfg.cache_path.exists():
        # Creating an empty database here would hide a mistyped cache_path.
        raise LuxlogError(
            f"no database at {cfg.cache_path} yet: has 'luxlog poll' run? (check cache_path)"
        )
    with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
        slot = store.newest_slot()
        rows = [] if slot is None else list(store.iter_rows(slot, slot + 1))
    if not rows:
        raise LuxlogError(f"no sample stored in {cfg.cache_path} yet: has 'luxlog poll' run?")
    sample = rows[-1]
    return Reading(
        sample.slot, "stored", firmware_version(sample.calculations), decode(sample, everything)
    )


def as_dict(reading: Reading) -> dict[str, Any]:
    """``show --json``: values and units by luxtronik name, the headers a person reads."""
    from luxlog.text import format_utc

    return {
        "time": format_utc(reading.slot),
        "epoch": reading.slot,
        "source": reading.source,
        "firmware": reading.firmware,
        "values": {v.name: v.value for v in reading.values},
        "units": {v.name: v.unit for v in reading.values if v.unit},
        "headers": {v.name: v.header for v in reading.values},
    }
