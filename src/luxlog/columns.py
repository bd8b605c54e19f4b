"""Which values a report CSV carries, under which headers, and how one cell is written.

Three selections (config ``columns``):

* ``default``: a curated set a person reads in a spreadsheet: temperatures, operating mode
  and status lines, the main inputs and outputs, compressor starts and operating hours, heat
  quantities, flow, and electrical/thermal power where the firmware has them (257 Heat_Output,
  268 AC_Power_Input). Headers are plain words with the sensor's short name and the unit, e.g.
  ``Flow temperature TVL (°C)``; docs/report.md lists the mapping to luxtronik names.
* ``all``: every numeric calculation the controller sends, in index order, headed
  ``<luxtronik name> (<unit>)``. The firmware string (81–90) and the IP addresses (91–94) are
  not numbers and are left out.
* a list of luxtronik names and glob patterns (``ID_WEB_Temperatur_*``, case-sensitive, like the
  names): columns in the order given, a pattern's matches in index order, duplicates once. A
  name or pattern that matches nothing luxlog knows is a configuration error (exit 2), checked
  before any report is written, with close names suggested. A pattern that is not a valid
  glob (``ID_WEB_[``) is refused already by ``load_config``, so by every command: that check
  needs no decoder, unlike the names (see config.py).

**Columns the firmware does not send are left out**, decided per report from the window's
samples (``report.window_layout``: the block length most samples have, and the indices some
sample holds a value for): an index beyond that block, or holding the "no value" marker
(``ABSENT``: a sample stored through ``Store.add`` without that sensor) in every sample. A
spreadsheet then never shows a column that is empty by construction (V3.78 has no 257/268).
The exception is a name listed explicitly (not through a pattern): the user asked for it, so it
stays, as an empty column if need be, and the file layout does not depend on the firmware. The
layout is fixed for the whole file; a sample with a shorter block (one odd answer, a firmware
change mid-window) gives empty cells.

**Cells.** Numbers are formatted from the raw integers with integer arithmetic, so there is no
float noise: a value scaled by 10 always has one decimal (``45.4``, ``45.0``, ``-4.0``), by 100
two, unscaled values are plain integers. Operating-hour counters, stored in seconds, are shown
in hours with two decimals (rounded half up) in the default set; ``all`` and explicit names keep
luxtronik's unit (seconds). Booleans are ``0``/``1``. States with a label in luxtronik become the
label (``heating``); a code without a label stays its number. The "not fitted" sentinel −500
(−50.0 °C) on a temperature and ``ABSENT`` give an empty cell. Text cells starting with
``= + - @`` (or tab/CR) get a leading ``'`` so a spreadsheet does not run them as a formula;
numbers are never touched, so ``-4.0`` stays a number.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from luxlog.config import glob_problem
from luxlog.decode import ABSENT, CALC_MODE, SENTINEL_ABSENT_SENSOR, Field, field_for
from luxlog.errors import ConfigError

# Highest calculation index luxlog looks at for names and patterns: python-luxtronik's HEAD
# defines 280 calculations, the longest block seen in the field is 275.
MAX_INDEX = 300

# Fields newer python-luxtronik names but 0.3.14 does not: (name, unit, divisor).
EXTRA_FIELDS: dict[int, tuple[str, str, int]] = {
    268: ("AC_Power_Input", "W", 1),
}

FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")

HOURS = "hours"  # marker: a seconds counter shown in hours


@dataclass(frozen=True)
class Curated:
    index: int
    header: str
    show: str = ""  # "" as stored, HOURS: seconds shown as hours


# The default set: (index, header). Order is the column order of the file.
DEFAULT: tuple[Curated, ...] = (
    Curated(15, "Outdoor temperature TA (°C)"),
    Curated(16, "Outdoor temperature average TA-Ø (°C)"),
    Curated(10, "Flow temperature TVL (°C)"),
    Curated(11, "Return temperature TRL (°C)"),
    Curated(12, "Return temperature target TRL-Soll (°C)"),
    Curated(17, "Hot water temperature TBW (°C)"),
    Curated(18, "Hot water target TBW-Soll (°C)"),
    Curated(14, "Hot gas temperature THG (°C)"),
    Curated(19, "Heat source inlet TWE (°C)"),
    Curated(20, "Heat source outlet TWA (°C)"),
    Curated(CALC_MODE, "Operating mode"),
    Curated(117, "Status line 1"),
    Curated(119, "Status line 3"),
    Curated(120, "Status time (s)"),
    Curated(44, "Compressor 1 VD1 (1=on)"),
    Curated(39, "Heating pump HUP (1=on)"),
    Curated(38, "Hot water pump/valve BUP (1=on)"),
    Curated(46, "Circulation pump ZIP (1=on)"),
    Curated(48, "Additional heater ZW1 (1=on)"),
    Curated(37, "Defrost valve AV (1=on)"),
    Curated(31, "Utility lock EVU input (0/1)"),
    Curated(32, "High pressure switch HD input (0/1)"),
    Curated(34, "Low pressure switch ND input (0/1)"),
    Curated(33, "Motor protection MOT input (0/1)"),
    Curated(57, "Compressor 1 starts"),
    Curated(56, "Compressor 1 operating hours (h)", HOURS),
    Curated(63, "Heat pump operating hours (h)", HOURS),
    Curated(64, "Heating operating hours (h)", HOURS),
    Curated(65, "Hot water operating hours (h)", HOURS),
    Curated(60, "Additional heater 1 operating hours (h)", HOURS),
    Curated(151, "Heat quantity heating (kWh)"),
    Curated(152, "Heat quantity hot water (kWh)"),
    Curated(154, "Heat quantity total (kWh)"),
    Curated(155, "Flow rate heat meter (l/h)"),
    Curated(231, "Compressor frequency (Hz)"),
    Curated(257, "Heat output (W)"),
    Curated(268, "Electrical power input (W)"),
)


def base_field(index: int) -> Field:
    """luxtronik's field for ``index``, with names newer python-luxtronik added."""
    extra = EXTRA_FIELDS.get(index)
    if extra is not None:
        name, unit, divisor = extra
        return Field(index, name, "W", divisor=divisor, unit=unit)
    return field_for(index)


def _decimals(divisor: int) -> int:
    digits = len(str(divisor)) - 1
    return digits if divisor == 10**digits else 3


@dataclass(frozen=True)
class Column:
    """One CSV column: where the raw value sits, its header, and how to write a cell."""

    index: int
    name: str  # luxtronik name
    header: str
    divisor: int = 1  # shown value = raw / divisor
    decimals: int = 0  # digits after the decimal separator
    labels: Mapping[int, str] = field(default_factory=dict)
    temperature: bool = False

    @classmethod
    def for_index(cls, index: int, header: str | None = None, show: str = "") -> Column:
        f = base_field(index)
        if header is None:
            header = f"{f.name} ({f.unit})" if f.unit else f.name
        divisor, decimals = f.divisor, _decimals(f.divisor)
        if show == HOURS:
            divisor, decimals = 3600, 2
        return cls(
            index,
            f.name,
            header,
            divisor=divisor,
            decimals=decimals,
            labels=f.labels,
            temperature=f.kind == "celsius",
        )

    def cell(self, raw: int, decimal: str = ".") -> str:
        """The cell text for ``raw`` (``decimal`` is the decimal separator of the dialect)."""
        if raw == ABSENT or (self.temperature and raw == SENTINEL_ABSENT_SENSOR):
            return ""
        label = self.labels.get(raw)
        if label is not None:
            return neutralise(label)
        return format_fixed(raw, self.divisor, self.decimals, decimal)

    def formatter(self, decimal: str = ".") -> Callable[[int], str]:
        """``cell`` with this column's scale, decimals, labels and ``decimal`` bound once: for
        a file's thousands of rows (same text as ``cell``, tested on every column)."""
        empty = {ABSENT: ""}
        if self.temperature:
            empty[SENTINEL_ABSENT_SENSOR] = ""
        # Labels neutralised once; a blank wins over a label, as in ``cell``.
        fixed = {raw: neutralise(label) for raw, label in self.labels.items()} | empty
        divisor, decimals = self.divisor, self.decimals
        if divisor == 1 and decimals == 0:
            number: Callable[[int], str] = str
        else:
            scale = 10**decimals

            def number(raw: int) -> str:
                q = (2 * raw * scale + divisor) // (2 * divisor)  # as format_fixed: half up
                whole, frac = divmod(abs(q), scale)
                sign = "-" if q < 0 else ""
                return (
                    f"{sign}{whole}{decimal}{frac:0{decimals}d}" if decimals else f"{sign}{whole}"
                )

        def cell(raw: int) -> str:
            text = fixed.get(raw)
            return number(raw) if text is None else text

        return cell


def neutralise(text: str) -> str:
    """Prefix a text cell that a spreadsheet would read as a formula with ``'``."""
    return "'" + text if text.startswith(FORMULA_CHARS) else text


def format_fixed(raw: int, divisor: int, decimals: int, decimal: str = ".") -> str:
    """``raw / divisor`` with exactly ``decimals`` digits, rounded half up, no float involved."""
    if divisor == 1 and decimals == 0:
        return str(raw)
    scale = 10**decimals
    q = (2 * raw * scale + divisor) // (2 * divisor)
    sign = "-" if q < 0 else ""
    whole, frac = divmod(abs(q), scale)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}{decimal}{frac:0{decimals}d}"


def known_names() -> dict[str, int]:
    """Every numeric calculation name luxlog knows -> its index (aliases included)."""
    names: dict[str, int] = {}
    for index in range(MAX_INDEX):
        f = field_for(index)
        if f.numeric:
            names.setdefault(f.name, index)
    for index, (name, _, _) in EXTRA_FIELDS.items():
        names[name] = index
    return names


def _is_pattern(spec: str) -> bool:
    return any(ch in spec for ch in "*?[")


@dataclass(frozen=True)
class _Spec:
    index: int
    header: str | None
    show: str
    explicit: bool  # listed by name: kept even when the firmware does not send it


@dataclass(frozen=True)
class Selection:
    """A validated column selection; ``resolve`` fixes the columns for one report."""

    mode: str  # "default", "all" or "list"
    specs: tuple[_Spec, ...] = ()

    def resolve(self, first: Sequence[int]) -> list[Column]:
        """The columns of a report whose samples send what ``first`` sends (see above)."""

        def sent(index: int) -> bool:
            return index < len(first) and first[index] != ABSENT

        if self.mode == "all":
            return [
                Column.for_index(i) for i in range(len(first)) if sent(i) and base_field(i).numeric
            ]
        return [
            Column.for_index(s.index, s.header, s.show)
            for s in self.specs
            if s.explicit or sent(s.index)
        ]


def select(columns: str | Sequence[str]) -> Selection:
    """Validate the config's ``columns``; unmatched names or patterns raise ConfigError."""
    if columns == "all":
        return Selection("all")
    if columns == "default":
        return Selection("default", tuple(_Spec(c.index, c.header, c.show, False) for c in DEFAULT))
    wanted = [columns] if isinstance(columns, str) else list(columns)
    names = known_names()
    by_index = sorted(names.items(), key=lambda kv: (kv[1], kv[0]))
    specs: list[_Spec] = []
    seen: set[int] = set()
    problems: list[str] = []
    for spec in wanted:
        if _is_pattern(spec) and (problem := glob_problem(spec)) is not None:
            problems.append(f"columns: pattern {spec!r} is not a valid glob ({problem})")
            continue
        if _is_pattern(spec):
            hits = sorted({i for n, i in by_index if fnmatch.fnmatchcase(n, spec)})
            if not hits:
                problems.append(f"columns: pattern {spec!r} matches no known sensor name")
            explicit = False
        else:
            hit = names.get(spec)
            hits = [] if hit is None else [hit]
            if hit is None:
                close = difflib.get_close_matches(spec, names, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append(f"columns: {spec!r} is not a known sensor name{hint}")
            explicit = True
        for index in hits:
            if index not in seen:
                seen.add(index)
                specs.append(_Spec(index, None, "", explicit))
    if problems:
        raise ConfigError(problems)
    return Selection("list", tuple(specs))
