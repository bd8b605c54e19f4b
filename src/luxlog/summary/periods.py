"""Local calendar periods and the figures of a period merged from its days.

Days run from local midnight to local midnight (23 h and 25 h on DST days: the span is the
real UTC difference), weeks are ISO weeks, then calendar months, years and heating seasons
(1 Sep – 31 Aug, labelled ``2025/26``). A period's COP is Σheat ÷ Σelectricity over its days,
never a mean of daily COPs; its temperature mean is weighted by covered time.

Trust. A counter figure (heat, electricity, starts, hours) is ``ok``, ``estimated`` (a boundary
interpolated), ``incomplete`` (withheld: ``null``) or ``n/a`` (not on this firmware); a COP needs
both sides and at least 1 kWh of electricity. A sample figure (time per mode, defrosts,
outdoor temperature, run length) is complete at ≥ 95 % coverage with no gap over 60 min,
``partial`` from 75 %, withheld below. Over several days a counter figure is the sum of the
days that have it; when some days lack it the figure is ``partial`` if more than the share of
days heatpumpmonitor.org accepts (5/7 of a week, 27/30 of a month, 330/365 of a year) have it,
else withheld. Every non-``ok`` figure is named in ``quality`` and explained in ``flags``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from luxlog.summary.day import DayFigures

BY = ("day", "week", "month", "year", "season")
PARTIAL_SHARE = {"week": 5 / 7, "month": 27 / 30, "year": 330 / 365, "season": 330 / 365}
MIN_ELEC_KWH = 1.0  # below this a COP is noise (the spec's "null if elec < 1 kWh")
COMPLETE_PCT, PARTIAL_PCT, MAX_GAP_SEC = 95.0, 75.0, 3600
SPLIT = {"heating": ("heating",), "dhw": ("dhw",), "total": ("heating", "dhw", "pool")}


def day_window(day: dt.date, tz: ZoneInfo) -> tuple[int, int]:
    """UTC epoch seconds of local midnight starting ``day`` and the next one."""
    start = dt.datetime.combine(day, dt.time(0), tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    return int(start.timestamp()), int(end.timestamp())


def period_key(day: dt.date, by: str) -> str:
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "year":
        return str(day.year)
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}/{(first + 1) % 100:02d}"


def period_days(day: dt.date, by: str) -> int:
    """How many days the period of ``by`` holding ``day`` has."""
    if by == "day":
        return 1
    if by == "week":
        return 7
    if by == "month":
        nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return (nxt - day.replace(day=1)).days
    first = dt.date(day.year, 1, 1) if by == "year" else _season_start(day)
    return (first.replace(year=first.year + 1) - first).days


def period_start(day: dt.date, by: str) -> dt.date:
    """The first day of the period of ``by`` holding ``day`` (ISO weeks start on Monday)."""
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "year":
        return day.replace(month=1, day=1)
    if by == "season":
        return _season_start(day)
    return day


def _season_start(day: dt.date) -> dt.date:
    return dt.date(day.year if day.month >= 9 else day.year - 1, 9, 1)


@dataclass
class Period:
    """One row of ``luxlog summary``: the contract's keys (README), plus ``quality``."""

    period: str
    start: str
    end: str
    coverage_pct: float | None
    heat_heating_kwh: float | None
    heat_dhw_kwh: float | None
    heat_total_kwh: float | None
    elec_heating_kwh: float | None
    elec_dhw_kwh: float | None
    elec_total_kwh: float | None
    cop_heating: float | None
    cop_dhw: float | None
    cop_total: float | None
    compressor_starts: int | None
    compressor_hours: float | None
    mean_run_min: float | None
    defrosts: int | None
    hours_by_mode: dict[str, float] | None
    outdoor_min_c: float | None
    outdoor_mean_c: float | None
    outdoor_max_c: float | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    quality: dict[str, str] = field(default_factory=dict)  # figure -> status when not "ok"
    days: int = 1
    longest_gap_min: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def merge(key: str, by: str, days: list[tuple[dt.date, DayFigures]], tz: ZoneInfo) -> Period:
    """The period ``key`` from its days (in date order)."""
    figs = [f for _, f in days]
    span = sum(f.end - f.start for f in figs)
    covered = sum(f.covered_sec for f in figs)
    quality: dict[str, str] = {}
    flags: list[str] = []
    full = period_days(days[0][0], by)
    if len(days) < full:  # the range starts or ends inside this period
        flags.append(f"range covers {len(days)} of the period's {full} days")
    for d, f in days:
        flags.extend(f.flags if by == "day" else (f"{d.isoformat()}: {x}" for x in f.flags))
    counters = {k: _counter(k, by, figs, quality, flags) for k in figs[0].counters}
    heat = {s: _sum(counters, "heat", parts, quality, s) for s, parts in SPLIT.items()}
    elec = {s: _sum(counters, "elec", parts, quality, s) for s, parts in SPLIT.items()}
    cop = {s: _cop(heat[s], elec[s], s, quality, flags) for s in SPLIT}
    pct = 100.0 * covered / span if span else 0.0
    gap = max(f.longest_gap_sec for f in figs)
    sample = _sample_status(pct, gap, quality, flags)
    starts, hours = counters["compressor_starts"], counters["compressor_hours"]
    runs = sum(f.runs for f in figs)
    modes = _mode_hours(figs)
    t_sec = sum(f.outdoor_sec for f in figs)
    mins = [f.outdoor_min for f in figs if f.outdoor_min is not None]
    maxs = [f.outdoor_max for f in figs if f.outdoor_max is not None]
    fields = Period.__dataclass_fields__
    quality = {k: v for k, v in quality.items() if k in fields}  # no internal counter names
    return Period(
        period=key,
        start=_local(figs[0].start, tz),
        end=_local(figs[-1].end, tz),
        coverage_pct=round(pct, 2),
        heat_heating_kwh=_r(heat["heating"], 3),
        heat_dhw_kwh=_r(heat["dhw"], 3),
        heat_total_kwh=_r(heat["total"], 3),
        elec_heating_kwh=_r(elec["heating"], 3),
        elec_dhw_kwh=_r(elec["dhw"], 3),
        elec_total_kwh=_r(elec["total"], 3),
        cop_heating=_r(cop["heating"], 2),
        cop_dhw=_r(cop["dhw"], 2),
        cop_total=_r(cop["total"], 2),
        compressor_starts=None if starts is None else round(starts),
        compressor_hours=_r(hours, 3),
        mean_run_min=_r(sum(f.run_sec for f in figs) / runs / 60, 2) if runs and sample else None,
        defrosts=sum(f.defrosts for f in figs) if sample else None,
        hours_by_mode=modes if sample else None,
        outdoor_min_c=min(mins) if mins and sample else None,
        outdoor_mean_c=_r(sum(f.outdoor_sum for f in figs) / t_sec, 2)
        if t_sec and sample
        else None,
        outdoor_max_c=max(maxs) if maxs and sample else None,
        errors=[{"time": _local(t, tz), "code": c} for f in figs for t, c in f.errors],
        flags=flags,
        quality=quality,
        days=len(figs),
        longest_gap_min=round(gap / 60, 1),
    )


def _mode_hours(figs: list[DayFigures]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for f in figs:
        for label, sec in f.mode_sec.items():
            seconds[label] = seconds.get(label, 0.0) + sec
    return {k: round(v / 3600, 3) for k, v in sorted(seconds.items())}


def _counter(
    key: str, by: str, figs: list[DayFigures], quality: dict[str, str], flags: list[str]
) -> float | None:
    states = [f.counters[key] for f in figs]
    have = [s for s in states if s["value"] is not None]
    if all(s["status"] == "n/a" for s in states):
        quality[key] = "n/a"
        return None
    worst = "estimated" if any(s["status"] == "estimated" for s in have) else "ok"
    if len(have) < len(states):
        share = len(have) / len(states)
        if by == "day" or share <= PARTIAL_SHARE[by]:
            quality[key] = "incomplete"
            if by != "day":
                flags.append(f"{key}: incomplete ({len(have)} of {len(states)} days)")
            return None
        worst = "partial"
        flags.append(f"{key}: partial ({len(have)} of {len(states)} days)")
    if worst != "ok":
        quality[key] = worst
    return float(sum(s["value"] for s in have))


RANK = {"ok": 0, "estimated": 1, "partial": 2, "n/a": 3, "incomplete": 4}


def _sum(
    counters: dict[str, float | None],
    side: str,
    parts: tuple[str, ...],
    quality: dict[str, str],
    split: str,
) -> float | None:
    """Heat or electricity of one split; a total leaves out parts that are n/a (no pool)."""
    keys = [f"{side}_{p}" for p in parts]
    states = [quality.get(k, "ok") for k in keys]
    present = [k for k, s in zip(keys, states, strict=True) if s != "n/a"]
    if not present:
        status = "n/a"
    else:
        status = max((quality.get(k, "ok") for k in present), key=RANK.__getitem__)
    if status != "ok":
        quality[f"{side}_{split}_kwh"] = status
    if status in ("n/a", "incomplete"):
        return None
    return sum(counters[k] or 0.0 for k in present)


def _cop(
    heat: float | None, elec: float | None, split: str, quality: dict[str, str], flags: list[str]
) -> float | None:
    key = f"cop_{split}"
    if heat is None or elec is None:
        quality[key] = (
            "n/a"
            if "n/a" in (quality.get(f"heat_{split}_kwh"), quality.get(f"elec_{split}_kwh"))
            else "incomplete"
        )
        return None
    if elec < MIN_ELEC_KWH:
        quality[key] = "incomplete"
        flags.append(f"{key}: electricity {elec:.2f} kWh is under {MIN_ELEC_KWH:g} kWh")
        return None
    worse = max(quality.get(f"heat_{split}_kwh", "ok"), quality.get(f"elec_{split}_kwh", "ok"),
                key=RANK.__getitem__)  # fmt: skip
    if worse != "ok":
        quality[key] = worse
    return heat / elec


def _sample_status(pct: float, gap: float, quality: dict[str, str], flags: list[str]) -> bool:
    """Whether the sample figures are given; marks them partial or withheld."""
    keys = ("hours_by_mode", "defrosts", "mean_run_min", "outdoor_mean_c")
    if pct >= COMPLETE_PCT and gap <= MAX_GAP_SEC:
        return True
    if pct >= PARTIAL_PCT:
        status, given = "partial", True
        flags.append(
            f"sample figures partial: coverage {pct:.1f} %, longest gap {gap / 60:.0f} min"
        )
    else:
        status, given = "incomplete", False
        flags.append(f"sample figures withheld: coverage {pct:.1f} % is under {PARTIAL_PCT:g} %")
    for k in keys:
        quality[k] = status
    return given


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _local(t: int, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).isoformat()
