"""One local day from raw samples: counters (via ``counters``) and the sample metrics.

Sample metrics follow ``insight-metrics.md`` §1 and §3: each sample holds for the time until
the next one when that is at most 900 s away (emoncms), else for one poll interval; coverage
is the covered share of the day's real UTC span (23/24/25 h). Time per mode is the held time
per calculation 80 value; a defrost is an episode of mode 4 starting in the day; outdoor
min/max/mean come from calculation 15 (mean weighted by held time, −500 = not fitted); errors
are the (time, code) pairs of the error ring (95–99 / 100–104) dated inside the day.

Deviation: the mean run length is taken from compressor runs (calculation 44 edges) that
*start* in the day, each with its whole length (a run across midnight belongs to its start
day, as the spec asks for per-cycle figures) rather than Δc56/Δc57, which would split the run
at midnight but count its start once.

The result, ``DayFigures``, is additive (sums, counts, weighted sums) so weeks, months and
years are merged from days, and it round-trips through JSON for the per-day table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from luxlog.decode import (
    ABSENT,
    CALC_FIRMWARE,
    CALC_FIRMWARE_END,
    CALC_MODE,
    SENTINEL_ABSENT_SENSOR,
    firmware_version,
)
from luxlog.sample import Sample
from luxlog.summary.counters import NEAR_SEC, SPECS, CounterDay, CounterTrack

PAD_SEC = 6 * 3600  # samples read around a day: baselines and delayed counter updates
C_OUTDOOR, C_COMPRESSOR = 15, 44
C_ERROR_TIMES, C_ERROR_CODES = range(95, 100), range(100, 105)
MODE_DEFROST = 4
VERSION = 1  # of this computation: rows of another version are re-derived from the samples


@dataclass
class DayFigures:
    """Everything a summary needs of one day, additive over days."""

    start: int
    end: int
    samples: int = 0
    covered_sec: float = 0.0
    longest_gap_sec: float = 0.0
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode_sec: dict[str, float] = field(default_factory=dict)
    defrosts: int = 0
    runs: int = 0  # compressor runs starting in the day with a known end
    run_sec: float = 0.0
    outdoor_min: float | None = None
    outdoor_max: float | None = None
    outdoor_sum: float = 0.0  # °C × seconds
    outdoor_sec: float = 0.0
    errors: list[tuple[int, int]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DayFigures:
        data = dict(data)
        data["errors"] = [tuple(e) for e in data.get("errors", [])]
        return cls(**data)


def compute_day(samples: Iterable[Sample], start: int, end: int, interval: int) -> DayFigures:
    """The figures of ``[start, end)`` from ``samples`` (time order) of ``[start - PAD_SEC,
    end + PAD_SEC)``; samples outside the day only serve as baselines and context.

    One pass, holding only the previous sample: a day of full samples (all three blocks) would
    take ~60 MiB as a list.
    """
    scan = _Scan(DayFigures(start, end), interval)
    for sample in samples:
        scan.feed(sample)
    return scan.finish()


def _counter_json(c: CounterDay) -> dict[str, Any]:
    return {
        "value": c.value,
        "status": c.status,
        "reason": c.reason,
        "first": c.first,
        "last": c.last,
        "flags": c.flags,
    }


def _calc(s: Sample, index: int) -> int | None:
    c = s.calculations
    return c[index] if index < len(c) and c[index] != ABSENT else None


class _Scan:
    """The state of one pass over a day's samples; ``finish`` fills in the figures."""

    def __init__(self, fig: DayFigures, interval: int) -> None:
        from luxlog.decode import mode_label

        self.fig, self.interval, self.mode_label = fig, interval, mode_label
        self.tracks = [CounterTrack(spec, fig.start, fig.end) for spec in SPECS]
        self.prev: Sample | None = None
        self.covered_to = fig.start  # the end of the covered time so far (for the gaps)
        self.longest = 0.0
        self.run_start: int | None = None
        self.errors: set[tuple[int, int]] = set()
        self.change_flags: list[str] = []

    def feed(self, s: Sample) -> None:
        for track in self.tracks:
            track.feed(s.slot, track.spec.read(s))
        if self.prev is not None:
            self._hold(self.prev, s.slot)
        self._edges(s)
        self._errors(s)
        self._changes(s)
        self.prev = s

    def finish(self) -> DayFigures:
        fig = self.fig
        if self.prev is not None:
            self._hold(self.prev, None)
        fig.longest_gap_sec = max(self.longest, fig.end - self.covered_to)
        fig.errors = sorted(self.errors)
        fig.counters = {t.spec.key: _counter_json(t.result()) for t in self.tracks}
        empty = fig.samples == 0
        if empty:
            fig.flags.append("no samples")
            for c in fig.counters.values():  # nothing read: not "absent on this firmware"
                c.update(value=None, status="incomplete", reason="no samples")
        for key, c in fig.counters.items():
            fig.flags.extend(c.pop("flags"))
            if c["status"] in ("estimated", "incomplete") and not empty:
                fig.flags.append(f"{key}: {c['status']} ({c['reason']})")
        fig.flags.extend(self.change_flags)
        return fig

    def _hold(self, s: Sample, nxt: int | None) -> None:
        """Coverage, longest gap, time per mode and the outdoor temperature of one sample."""
        fig = self.fig
        hold = nxt - s.slot if nxt is not None and nxt - s.slot <= NEAR_SEC else self.interval
        lo, hi = max(s.slot, fig.start), min(s.slot + hold, fig.end)
        if hi <= lo:
            return
        self.longest = max(self.longest, lo - self.covered_to)
        self.covered_to = hi
        fig.samples += fig.start <= s.slot < fig.end
        span = hi - lo
        fig.covered_sec += span
        mode = _calc(s, CALC_MODE)
        if mode is not None:
            label = self.mode_label(mode)
            fig.mode_sec[label] = fig.mode_sec.get(label, 0.0) + span
        ta = _calc(s, C_OUTDOOR)
        if ta is not None and ta != SENTINEL_ABSENT_SENSOR:
            c = ta / 10
            fig.outdoor_min = c if fig.outdoor_min is None else min(fig.outdoor_min, c)
            fig.outdoor_max = c if fig.outdoor_max is None else max(fig.outdoor_max, c)
            fig.outdoor_sum += c * span
            fig.outdoor_sec += span

    def _edges(self, s: Sample) -> None:
        """Defrost episodes and compressor runs that start in the day (a start needs a sample
        within 900 s before it that shows the other state, so a gap does not invent one)."""
        fig, prev = self.fig, self.prev
        near = prev is not None and s.slot - prev.slot <= NEAR_SEC
        in_day = fig.start <= s.slot < fig.end
        mode, prev_mode = _calc(s, CALC_MODE), _calc(prev, CALC_MODE) if prev else None
        if in_day and near and mode == MODE_DEFROST and prev_mode not in (MODE_DEFROST, None):
            fig.defrosts += 1
        on = _calc(s, C_COMPRESSOR)
        was_on = _calc(prev, C_COMPRESSOR) if prev else None
        if not near:
            self.run_start = None  # a gap: the run's start or end is unknown
        elif on == 1 and was_on == 0:
            self.run_start = s.slot if in_day else None
        elif on == 0 and was_on == 1 and self.run_start is not None:
            fig.runs += 1
            fig.run_sec += s.slot - self.run_start
            self.run_start = None

    def _errors(self, s: Sample) -> None:
        c = s.calculations
        if len(c) <= C_ERROR_CODES[-1]:
            return
        times, codes = (
            c[C_ERROR_TIMES[0] : C_ERROR_TIMES[-1] + 1],
            c[C_ERROR_CODES[0] : C_ERROR_CODES[-1] + 1],
        )
        for t, code in zip(times, codes, strict=True):
            if t != ABSENT and code != ABSENT and t and code and self.fig.start <= t < self.fig.end:
                self.errors.add((t, code))

    def _changes(self, s: Sample) -> None:
        """A firmware or block-length change inside the day: counters may not continue."""
        prev = self.prev
        if prev is None or not self.fig.start <= s.slot < self.fig.end:
            return
        if (
            s.calculations[CALC_FIRMWARE:CALC_FIRMWARE_END]
            != prev.calculations[CALC_FIRMWARE:CALC_FIRMWARE_END]
        ):
            self.change_flags.append(
                f"firmware changed: {firmware_version(prev.calculations) or '?'} -> "
                f"{firmware_version(s.calculations) or '?'}"
            )
        if s.lengths != prev.lengths:
            self.change_flags.append(f"block lengths changed: {prev.lengths} -> {s.lengths}")
