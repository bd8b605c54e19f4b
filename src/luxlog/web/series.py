"""Time series of a range for charts: values, gaps as nulls, min/max buckets, mode bands.

``series`` is a plain function over an open store (``luxlog serve``'s ``/api/series`` and the
HTML report both call it); it imports no web framework.

* **Values** are decoded as the CSV does (luxtronik's scale; a sensor that is not fitted, −50.0
  °C, or a value the sample does not hold is ``None``), per luxtronik name.
* **Gaps**: where two consecutive samples are more than ``GAP_INTERVALS`` poll intervals apart,
  a row of nulls is inserted half-way, so a chart breaks the line instead of drawing across.
* **Down-sampling**: a range of more poll slots than ``points`` (a day at 30 s is 2,880) is
  put into ``points`` (or fewer) buckets of equal width, a whole number of poll intervals; each
  bucket gives its mean, and its min and max separately, so a spike inside a bucket still
  shows. An empty bucket between two full ones is a gap (nulls), as above. Decided by the range,
  not by the samples found, so an answer's resolution never depends on how full the range is;
  and read streaming, bucket by bucket, so a year costs the memory of its answer.
* **Bands** are the runs of one operating mode (calculation 80) other than "no request", and
  ``compressor`` the runs of calculation 44 = 1; a run ends at the next sample, or one interval
  after its last sample at a gap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from luxlog.columns import DEFAULT, base_field, known_names
from luxlog.config import Config
from luxlog.decode import ABSENT, CALC_MODE, SENTINEL_ABSENT_SENSOR, mode_label
from luxlog.errors import ConfigError, QueryError
from luxlog.store import Store
from luxlog.summary.day import C_COMPRESSOR
from luxlog.text import format_utc

GAP_INTERVALS = 2
DEFAULT_POINTS = 2000
POINTS_RANGE = (10, 10_000)
MAX_DAYS = 400  # a longer range is refused (the buckets would hide everything anyway)
NO_REQUEST = 5  # mode 5: no band (the pump idles)
RAW_BLOCK_SEC = 3600  # not down-sampled: samples are taken an hour at a time
# The chart set: flow, return, outdoor, hot water, their targets, heat output / power input.
CHART_NAMES = (
    "ID_WEB_Temperatur_TVL",
    "ID_WEB_Temperatur_TRL",
    "ID_WEB_Sollwert_TRL_HZ",
    "ID_WEB_Temperatur_TA",
    "ID_WEB_Temperatur_TBW",
    "ID_WEB_Einst_BWS_akt",
    "Heat_Output",
    "AC_Power_Input",
)
OPTIONAL = frozenset({"Heat_Output", "AC_Power_Input"})  # only where the firmware sends them
HEADERS = {c.index: c.header for c in DEFAULT}


def parse_range(
    start: str | None, end: str | None, tz: ZoneInfo, now: dt.datetime
) -> tuple[int, int]:
    """``from``/``to`` of a query (as ``export --from/--to``) -> ``[from, to)`` epoch seconds.

    No ``from``/``to``: today (local). Only ``from``: 24 hours from it; only ``to``: the 24
    hours before it. A reversed range or one over ``MAX_DAYS`` days is a ``QueryError``.
    """
    from luxlog.export.timerange import parse_instant

    if not start and not end:
        start = end = now.astimezone(tz).date().isoformat()
    try:
        lo = parse_instant(start, "from", tz) if start else None
        hi = parse_instant(end, "to", tz, end=True) if end else None
    except ConfigError as exc:
        raise QueryError(str(exc)) from None
    if lo is None:  # only `to`: the day before it; only `from`: the day after it
        lo = (hi or 0) - 86400
    if hi is None:
        hi = lo + 86400
    if lo >= hi:
        raise QueryError("from must be before to (the range is empty or reversed)")
    if hi - lo > MAX_DAYS * 86400:
        raise QueryError(f"the range is {(hi - lo) / 86400:.0f} days; at most {MAX_DAYS} at once")
    return lo, hi


def parse_points(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_POINTS
    lo, hi = POINTS_RANGE
    if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:  # int("²") fails
        raise QueryError(f"points: {text[:20]!r} is not a whole number in {lo}..{hi}")
    return int(text)


def parse_names(text: str | None) -> list[str] | None:
    """``a,b`` -> the luxtronik names, checked; None (the chart set) when not given."""
    if text is None or not text.strip():
        return None
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    known = known_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise QueryError(
            f"names: unknown sensor {unknown[0][:60]!r} (luxtronik names such as "
            "ID_WEB_Temperatur_TVL; `luxlog show --all` lists them)"
        )
    if len(names) > 32:
        raise QueryError(f"names: {len(names)} names; at most 32 at once")
    return names


@dataclass
class _Track:
    """Runs of a state (a mode, the compressor) as [from, to) intervals."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    key: object = None
    since: int = 0

    def step(self, slot: int, key: object, prev_end: int) -> None:
        if key != self.key:
            self.close(prev_end)
            self.key, self.since = key, slot

    def close(self, end: int) -> None:
        if self.key is not None:
            self.runs.append({"kind": self.key, "from": self.since, "to": end})
        self.key = None


def _decoders(names: Sequence[str]) -> list[tuple[float, tuple[int, int]]]:
    """(divisor, the raw codes that mean "no value") per name."""
    index = known_names()
    out = []
    for name in names:
        f = base_field(index[name])
        bad = (ABSENT, SENTINEL_ABSENT_SENSOR) if f.kind == "celsius" else (ABSENT, ABSENT)
        out.append((float(f.divisor), bad))
    return out


def _band_kind(code: int) -> str | None:
    if code in (NO_REQUEST, ABSENT):
        return None
    label = mode_label(code)
    return "".join(ch if ch.isalnum() else "_" for ch in label.split("/")[0])


class _Collector:
    """Reads the range once, streaming, a block at a time (a bucket of ``width`` s, or an hour
    of samples when not down-sampled): values (per sample, or mean/min/max per bucket) and the
    runs, so memory follows the answer, not the range."""

    def __init__(self, names: Sequence[str], lo: int, interval: int, width: int | None) -> None:
        self.names, self.lo, self.interval, self.width = names, lo, interval, width
        self.decoders = _decoders(names)
        self.t: list[int] = []
        self.series: list[list[float | None]] = [[] for _ in names]
        self.low: list[list[float | None]] = [[] for _ in names]
        self.high: list[list[float | None]] = [[] for _ in names]
        self.modes, self.compressor = _Track(), _Track()
        self.kinds: dict[int, str | None] = {}
        self.prev: int | None = None

    def read(self, rows: Iterable[tuple[int, tuple[int, ...]]]) -> None:
        block = self.width or RAW_BLOCK_SEC
        slots: list[int] = []
        values: list[tuple[int, ...]] = []
        current: int | None = None
        for slot, row in rows:
            b = (slot - self.lo) // block
            if b != current:
                self._flush(current, slots, values)
                slots, values, current = [], [], b
            slots.append(slot)
            values.append(row)
        self._flush(current, slots, values)
        if self.prev is not None:
            self.modes.close(self.prev + self.interval)
            self.compressor.close(self.prev + self.interval)

    def _flush(self, block: int | None, slots: list[int], rows: list[tuple[int, ...]]) -> None:
        if block is None or not slots:
            return
        columns = list(zip(*rows, strict=True))
        self._block_runs(slots, columns[-2], columns[-1])
        if self.width is None:
            self.t += slots
            for k, (div, bad) in enumerate(self.decoders):
                self.series[k] += [None if r in bad else r / div for r in columns[k]]
            return
        self.t.append(self.lo + block * self.width)
        for k, (div, bad) in enumerate(self.decoders):
            column = columns[k]
            got = (
                column
                if bad[0] not in column and bad[1] not in column
                else [r for r in column if r not in bad]
            )
            self.series[k].append(round(sum(got) / len(got) / div, 3) if got else None)
            self.low[k].append(min(got) / div if got else None)
            self.high[k].append(max(got) / div if got else None)

    def _block_runs(
        self, slots: list[int], modes: Sequence[int], compressor: Sequence[int]
    ) -> None:
        """The runs through a block; one that holds one mode, one compressor state and no
        missing slot (the usual case) costs a few C-level checks, not a step per sample."""
        steady = (
            slots[-1] - slots[0] == (len(slots) - 1) * self.interval
            and modes.count(modes[0]) == len(modes)
            and compressor.count(compressor[0]) == len(compressor)
        )
        for i in range(1 if steady else len(slots)):
            self._step(slots[i], modes[i], compressor[i])
        self.prev = slots[-1]

    def _step(self, slot: int, code: int, on: int) -> None:
        prev = self.prev
        if prev is not None and slot - prev > GAP_INTERVALS * self.interval:
            self.modes.close(prev + self.interval)
            self.compressor.close(prev + self.interval)
        if code not in self.kinds:
            self.kinds[code] = _band_kind(code)
        self.modes.step(slot, self.kinds[code], slot)
        self.compressor.step(slot, True if on == 1 else None, slot)
        self.prev = slot

    def answer(self, optional: frozenset[str]) -> dict[str, Any]:
        """t, series (and min/max when down-sampled), bands, compressor; a name in
        ``optional`` without any value is left out."""
        keep = [k for k, name in enumerate(self.names)
                if name not in optional or any(v is not None for v in self.series[k])]  # fmt: skip
        out: dict[str, Any] = {"t": self.t, "series": {self.names[k]: self.series[k] for k in keep}}
        if self.width is not None:
            out["min"] = {self.names[k]: self.low[k] for k in keep}
            out["max"] = {self.names[k]: self.high[k] for k in keep}
        out["bands"] = self.modes.runs
        out["compressor"] = [{"from": r["from"], "to": r["to"]} for r in self.compressor.runs]
        return out


def _bucket_width(lo: int, hi: int, points: int, interval: int) -> int:
    """The narrowest whole number of intervals that fits ``[lo, hi)`` into ``points`` buckets."""
    return max(1, math.ceil((hi - lo) / points / interval)) * interval


def _gapped(data: dict[str, Any], limit: int) -> None:
    """Insert a row of nulls half-way where consecutive ``t`` are more than ``limit`` apart."""
    t: list[int] = data["t"]
    cuts = [i for i in range(1, len(t)) if t[i] - t[i - 1] > limit]
    if not cuts:
        return
    columns = [c for key in ("series", "min", "max") for c in data.get(key, {}).values()]
    nulls: list[Any] = [None] * len(cuts)
    for column in columns:
        column[:] = _spliced(column, cuts, nulls)  # in place: the answer's dicts hold them
    t[:] = _spliced(t, cuts, [(t[i - 1] + t[i]) // 2 for i in cuts])


def _spliced(values: list[Any], cuts: list[int], marks: list[Any]) -> list[Any]:
    """``values`` with ``marks[k]`` before index ``cuts[k]``, built once (linear in the
    answer: inserting one by one would cost a copy of the rest per gap)."""
    out: list[Any] = []
    prev = 0
    for i, mark in zip(cuts, marks, strict=True):
        out += values[prev:i]
        out.append(mark)
        prev = i
    out += values[prev:]
    return out


def series(
    store: Store,
    config: Config,
    start: int,
    end: int,
    names: Sequence[str] | None = None,
    points: int = DEFAULT_POINTS,
) -> dict[str, Any]:
    """The ``/api/series`` object for ``[start, end)`` (epoch seconds); see the module doc.

    ``names`` None: the chart set (heat output / power input only where the firmware sends
    them). Down-sampled when the range holds more poll slots than ``points``. The caller
    checks the arguments (``parse_range``, ``parse_names``, ``parse_points``).
    """
    chosen = list(names) if names is not None else list(CHART_NAMES)
    interval = config.interval_sec
    width = _bucket_width(start, end, points, interval) if end - start > points * interval else None
    collector = _Collector(chosen, start, interval, width)
    index = known_names()
    indices = [index[n] for n in chosen] + [CALC_MODE, C_COMPRESSOR]
    collector.read(store.iter_calculations(start, end, indices))
    data = collector.answer(OPTIONAL if names is None else frozenset())
    chosen = list(data["series"])
    _gapped(data, width or GAP_INTERVALS * interval)  # down-sampled: an empty bucket
    return {
        "from": format_utc(start),
        "to": format_utc(end),
        "names": chosen,
        "units": {n: base_field(index[n]).unit or None for n in chosen},
        "headers": {n: HEADERS.get(index[n], n) for n in chosen},
        "timezone": config.zone_name,  # the charts label times in it, as the reports do
        "step_s": width or interval,
        "downsampled": width is not None,
        **data,
    }


def to_csv(data: dict[str, Any], tz: ZoneInfo) -> str:
    """A ``series`` object as CSV: local time with its offset, epoch, one column per name
    (``<name>_min``/``<name>_max`` too when down-sampled); a gap row is empty cells."""
    from luxlog.report_csv import csv_line, local_timestamp

    names = data["names"]
    columns = [data["series"][n] for n in names]
    header = ["time", "epoch", *names]
    if data["downsampled"]:
        header += [f"{n}_{k}" for k in ("min", "max") for n in names]
        columns += [data[k][n] for k in ("min", "max") for n in names]
    lines = [csv_line(header, ",")]
    for row, t in enumerate(data["t"]):
        cells = ["" if (v := col[row]) is None else str(v) for col in columns]
        lines.append(csv_line([local_timestamp(t, tz), str(t), *cells], ","))
    return "".join(lines)
