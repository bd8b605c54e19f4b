"""Raw calculation integers -> named, scaled values, using luxtronik's definitions.

Decoding happens late, at read time (DESIGN.md decision 1): the store keeps the integers the
controller sent, so a fix here re-decodes all history. Names, types and scale factors come from
``luxtronik`` 0.3.x; the scale is derived from each datatype's own ``from_heatpump`` so it
cannot drift from the library. Indices the library does not know keep their raw value under
``Unknown_Calculation_<n>``, like the library names them.

Values that are not numbers (firmware string 81–90, IP addresses 91–94) are not part of the
numeric readings; ``firmware_version`` reads the string.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Marks "no value" in a stored calculations block: a real controller cannot send it in
# practice, and ``Store.add`` uses it for the sensors a caller did not give.
ABSENT = -(2**31)
SENTINEL_ABSENT_SENSOR = -500  # -50.0 °C: sensor not fitted (seen on V1.80 for TWE/TWA)

# Calculations luxlog reads by position (the client, doctor, the simulator), written once.
CALC_MODE = 80  # WP_BZ_akt: operating mode
CALC_FIRMWARE = 81  # 81..90: the firmware string, one ASCII code per int, NUL padded
CALC_FIRMWARE_END = 91  # first index after the firmware string
CALC_CLOCK = 134  # the controller's clock, epoch seconds

UNITS = {
    "celsius": "°C",
    "kelvin": "K",
    "bar": "bar",
    "energy": "kWh",
    "voltage": "V",
    "seconds": "s",
    "pulses": "",
    "flow": "l/h",
    "W": "W",
    "Hz": "Hz",
    "rpm": "rpm",
    "percent": "%",
    "timestamp": "",
    "count": "",
    "level": "",
    "icon": "",
    "boolean": "",
    "hours": "h",
}


@dataclass(frozen=True)
class Field:
    index: int
    name: str
    kind: str  # luxtronik measurement_type, or "unknown"
    divisor: int = 1
    unit: str = ""
    labels: Mapping[int, str] = field(default_factory=dict)
    numeric: bool = True

    def value(self, raw: int) -> float:
        return raw / self.divisor if self.divisor != 1 else float(raw)

    def to_raw(self, value: float) -> int:
        """Inverse of ``value``; raises ValueError when ``value`` is not on the field's grid."""
        scaled = value * self.divisor
        raw = round(scaled)
        # Arithmetic such as -4.0 + 2.2 = -1.7999999999999998 lands a hair off the grid: accept
        # float rounding (well under a millionth of a step), refuse a genuinely finer value.
        if abs(scaled - raw) > 1e-6:
            step = 1 / self.divisor
            raise ValueError(f"{value!r} is not a multiple of {step:g} {self.unit}".rstrip())
        return raw

    def text(self, raw: int) -> str | None:
        """Label of a state code (None when this field has no label for ``raw``)."""
        return self.labels.get(raw)


def _divisor(datatype: object) -> int:
    try:
        probe = datatype.from_heatpump(1000)  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - defensive against odd definitions
        return 1
    if isinstance(probe, bool) or not isinstance(probe, int | float) or probe == 0:
        return 1
    return max(1, round(1000 / probe))


# Corrections over luxtronik 0.3.14's state labels, each with its source. ``None`` removes a
# label (the code is then shown as its number). Raw integers are stored, so a report re-run for
# a past date shows the corrected label.
LABEL_CORRECTIONS: dict[int, dict[int, tuple[str | None, str]]] = {
    # Status line 1: luxtronik 0.3.14 is shifted by one from code 3 up and misspells code 5
    # ("witing"); FHEM 23_LUXTRONIK2.pm %wpOpStat1 and node-luxtronik2 types.stateMessages
    # agree with each other (and have no code 3); the simulator follows them too.
    117: {
        3: (None, "FHEM %wpOpStat1, node-luxtronik2 stateMessages: no code 3"),
        4: ("error", "FHEM %wpOpStat1 4 Fehler; node-luxtronik2"),
        5: ("defrost", "FHEM %wpOpStat1 5 Abtauen; node-luxtronik2"),
        6: ("waiting on LIN connection", "FHEM %wpOpStat1 6 Warte auf LIN; node-luxtronik2"),
        7: ("compressor heating up", "FHEM %wpOpStat1 7 Verdichter heizt auf; node-luxtronik2"),
        8: ("pump forerun", "FHEM %wpOpStat1 8 Pumpenvorlauf; node-luxtronik2"),
    },
}


def corrected_labels(index: int, labels: Mapping[int, str]) -> dict[int, str]:
    """luxtronik's labels of calculation ``index`` with ``LABEL_CORRECTIONS`` applied."""
    out = dict(labels)
    for code, (label, _source) in LABEL_CORRECTIONS.get(index, {}).items():
        if label is None:
            out.pop(code, None)
        else:
            out[code] = label
    return out


def mode_label(code: int) -> str:
    """The operating mode (calculation 80) as a word; an unknown code stays its number."""
    return field_for(CALC_MODE).text(code) or str(code)


@functools.cache
def calculation_fields() -> dict[int, Field]:
    """Every calculation luxtronik defines, by index."""
    from luxtronik.calculations import Calculations
    from luxtronik.datatypes import IPAddress, SelectionBase, Timestamp, Version

    fields: dict[int, Field] = {}
    for index, dt in Calculations.calculations.items():
        kind = dt.measurement_type or ("errorcode" if "Errorcode" in type(dt).__name__ else "")
        if isinstance(dt, Version | IPAddress):
            fields[index] = Field(index, dt.name, kind or "text", numeric=False)
            continue
        labels = dict(getattr(dt, "codes", {})) if isinstance(dt, SelectionBase) else {}
        labels = corrected_labels(index, labels)
        divisor = 1 if isinstance(dt, SelectionBase | Timestamp) else _divisor(dt)
        fields[index] = Field(
            index,
            dt.name,
            kind or "unknown",
            divisor=divisor,
            unit=UNITS.get(kind, ""),
            labels=labels,
        )
    return fields


def field_for(index: int) -> Field:
    known = calculation_fields().get(index)
    if known is not None:
        return known
    if CALC_FIRMWARE < index < CALC_FIRMWARE_END:  # the rest of the firmware string
        return Field(index, f"ID_WEB_SoftStand_{index - CALC_FIRMWARE}", "text", numeric=False)
    return Field(index, f"Unknown_Calculation_{index}", "unknown")


@functools.cache
def fields_by_name() -> dict[str, Field]:
    by_name = {f.name: f for f in calculation_fields().values() if f.numeric}
    return by_name


def lookup(name: str) -> Field:
    """The field for a sensor name; unknown names raise KeyError with a hint."""
    f = fields_by_name().get(name)
    if f is not None:
        return f
    if name.startswith("Unknown_Calculation_"):
        suffix = name.removeprefix("Unknown_Calculation_")
        if suffix.isdigit() and int(suffix) < 10_000:
            f = field_for(int(suffix))
            if f.name == name:
                return f
    raise KeyError(name)


def decode_numeric(calculations: Sequence[int]) -> dict[str, float]:
    """Named numeric readings of one calculations block (absent entries left out)."""
    out: dict[str, float] = {}
    for index, raw in enumerate(calculations):
        if raw == ABSENT:
            continue
        f = field_for(index)
        if f.numeric:
            out[f.name] = f.value(raw)
    return out


def encode_named(data: Mapping[str, float]) -> list[int]:
    """A calculations block holding ``data`` (name -> value); missing indices are ABSENT.

    Raises ValueError naming every unknown sensor or value that cannot be stored exactly.
    """
    problems: list[str] = []
    placed: dict[int, int] = {}
    for name, value in data.items():
        try:
            f = lookup(name)
        except KeyError:
            problems.append(
                f"{name}: unknown sensor name (use luxtronik names such as ID_WEB_Temperatur_TVL)"
            )
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            problems.append(f"{name}: {value!r} is not a number")
            continue
        try:
            raw = f.to_raw(float(value))
        except (ValueError, OverflowError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        if not -(2**31) < raw < 2**31:
            problems.append(f"{name}: {value!r} is out of the controller's 32-bit range")
            continue
        placed[f.index] = raw
    if problems:
        raise ValueError("; ".join(problems))
    block = [ABSENT] * ((max(placed) + 1) if placed else 0)
    for index, raw in placed.items():
        block[index] = raw
    return block


def firmware_version(calculations: Sequence[int]) -> str:
    """The firmware string in calculations 81–90 (one ASCII code per int, NUL padded)."""
    chars = [c for c in calculations[CALC_FIRMWARE:CALC_FIRMWARE_END] if 0 < c < 128]
    return "".join(chr(c) for c in chars).strip()
