"""Time series of a range for charts: values, gaps as nulls, min/max buckets, mode bands.

``series`` is a plain function over an open store (``luxlog serve``'s ``/api/series`` and the
HTML report both call it); it imports no web framework.

* **Values** are decoded as the CSV does (luxtronik's scale; a sensor that is not fitted, −50.0
  °C, or a value the sample does not hold is ``None``), per luxtronik name.
* **Gaps**: where two consecutive samples are more than ``GAP_INTERVALS`` poll intervals apart,
  a row of nulls is inserted half-way, so a chart breaks the line instead of drawing across.
* **Down-sampling**: more samples than ``points`` are put into ``points`` (or fewer) buckets of
  equal width, a whole number of poll intervals; each bucket gives its mean, and its min and max
  separately, so a spike inside a bucket still shows. An empty bucket between two full ones is
  a gap (nulls), as above.
* **Bands** are the runs of one operating mode (calculation 80) other than "no request", and
  ``compressor`` the runs of calculation 44 = 1; a run ends at the next sample, or one interval
  after its last sample at a gap.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
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
    if not text.isdigit() or not lo <= int(text) <= hi:
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


@dataclass
class _Columns:
    """The samples of the range, one list per name, with the gap rows already inserted."""

    t: list[int]
    values: dict[str, list[float | None]]
    bands: list[dict[str, Any]]
    compressor: list[dict[str, Any]]


def _decoders(names: Sequence[str]) -> list[tuple[int, float, bool]]:
    """(index, divisor, is temperature) per name."""
    index = known_names()
    out = []
    for name in names:
        f = base_field(index[name])
        out.append((index[name], float(f.divisor), f.kind == "celsius"))
    return out


def _band_kind(code: int) -> str | None:
    if code in (NO_REQUEST, ABSENT):
        return None
    label = mode_label(code)
    return "".join(ch if ch.isalnum() else "_" for ch in label.split("/")[0])


def _read(store: Store, lo: int, hi: int, names: Sequence[str], interval: int) -> _Columns:
    """The values of ``names`` per sample (decoded column by column), the bands, the runs."""
    decoders = _decoders(names)
    indices = [i for i, _, _ in decoders] + [CALC_MODE, C_COMPRESSOR]
    rows = list(store.iter_calculations(lo, hi, indices))
    t = [slot for slot, _ in rows]
    raw = list(zip(*(v for _, v in rows), strict=True)) or [()] * len(indices)
    values: dict[str, list[float | None]] = {}
    for name, (_, div, temp), column in zip(names, decoders, raw, strict=False):
        bad = (ABSENT, SENTINEL_ABSENT_SENSOR) if temp else (ABSENT, ABSENT)
        values[name] = [None if r in bad else r / div for r in column]
    bands, compressor = _runs(t, raw[-2], raw[-1], interval)
    return _Columns(t, values, bands, compressor)


def _runs(
    t: Sequence[int], modes: Sequence[int], compressor: Sequence[int], interval: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs of one operating mode (bands) and of the compressor; a gap ends a run."""
    mode_runs, comp_runs = _Track(), _Track()
    kinds: dict[int, str | None] = {}
    prev: int | None = None
    for slot, code, on in zip(t, modes, compressor, strict=True):
        if prev is not None and slot - prev > GAP_INTERVALS * interval:
            mode_runs.close(prev + interval)
            comp_runs.close(prev + interval)
        if code not in kinds:
            kinds[code] = _band_kind(code)
        mode_runs.step(slot, kinds[code], slot)
        comp_runs.step(slot, True if on == 1 else None, slot)
        prev = slot
    if prev is not None:
        mode_runs.close(prev + interval)
        comp_runs.close(prev + interval)
    return mode_runs.runs, [{"from": r["from"], "to": r["to"]} for r in comp_runs.runs]


def _bucket_width(lo: int, hi: int, points: int, interval: int) -> int:
    """The narrowest whole number of intervals that fits ``[lo, hi)`` into ``points`` buckets."""
    return max(1, math.ceil((hi - lo) / points / interval)) * interval


def _downsample(cols: _Columns, lo: int, width: int) -> dict[str, Any]:
    """Mean, min and max per bucket of ``width`` s from ``lo`` (buckets without samples left
    out: ``_gapped`` marks them)."""
    bounds: list[int] = []  # first row of each bucket (rows are in time order)
    starts: list[int] = []
    for row, t in enumerate(cols.t):
        b = (t - lo) // width
        if not starts or b != starts[-1]:
            bounds.append(row)
            starts.append(b)
    bounds.append(len(cols.t))
    out: dict[str, Any] = {
        "t": [lo + b * width for b in starts],
        "series": {},
        "min": {},
        "max": {},
    }
    for name, column in cols.values.items():
        mean: list[float | None] = []
        low: list[float | None] = []
        high: list[float | None] = []
        out["series"][name], out["min"][name], out["max"][name] = mean, low, high
        for i0, i1 in itertools.pairwise(bounds):
            got = [v for v in column[i0:i1] if v is not None]
            if got:
                mean.append(round(sum(got) / len(got), 3))
                low.append(min(got))
                high.append(max(got))
            else:
                mean.append(None)
                low.append(None)
                high.append(None)
    return out


def _gapped(data: dict[str, Any], limit: int) -> None:
    """Insert a row of nulls half-way where consecutive ``t`` are more than ``limit`` apart."""
    t: list[int] = data["t"]
    cuts = [i for i in range(1, len(t)) if t[i] - t[i - 1] > limit]
    if not cuts:
        return
    columns = [c for key in ("series", "min", "max") for c in data.get(key, {}).values()]
    for i in reversed(cuts):
        t.insert(i, (t[i - 1] + t[i]) // 2)
        for column in columns:
            column.insert(i, None)


def present(names: Sequence[str], cols: _Columns) -> list[str]:
    """The names to answer: optional ones (heat/power) only where some sample holds a value."""
    return [n for n in names if n not in OPTIONAL or any(v is not None for v in cols.values[n])]


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
    them). The caller checks the arguments (``parse_range``, ``parse_names``, ``parse_points``).
    """
    chosen = list(names) if names is not None else list(CHART_NAMES)
    interval = config.interval_sec
    cols = _read(store, start, end, chosen, interval)
    if names is None:
        chosen = present(chosen, cols)
        cols.values = {n: cols.values[n] for n in chosen}
    index = known_names()
    out: dict[str, Any] = {
        "from": format_utc(start),
        "to": format_utc(end),
        "names": chosen,
        "units": {n: base_field(index[n]).unit or None for n in chosen},
        "headers": {n: HEADERS.get(index[n], n) for n in chosen},
        "step_s": interval,
        "downsampled": False,
    }
    if len(cols.t) > points:
        width = _bucket_width(start, end, points, interval)
        out.update(step_s=width, downsampled=True, **_downsample(cols, start, width))
        _gapped(out, width)  # an empty bucket between two full ones
    else:
        out.update(t=cols.t, series=cols.values)
        _gapped(out, GAP_INTERVALS * interval)
    out.update(bands=cols.bands, compressor=cols.compressor)
    return out


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
