"""Counter deltas with sanity checks: one counter over one local day.

A counter's figure for a day is the sum of its steps ``d = v_i - v_prev`` between valid
readings, each booked by time over the interval it accrued in, and the part inside the day
counted (``../shared/reference/insight-metrics.md``, "Counter deltas"):

* ``d < 0`` and ``v <= d_max``: a **reset** (installer reset, replaced controller): count ``v``.
* ``d < 0`` otherwise: a **rollback** after a reboot: count 0, the new value is the baseline.
* ``d > d_max``: a **spike**: that reading is dropped. Deviation: when the next reading
  confirms the new level (it lies within ``d_max`` above the spike) the jump is taken as a new
  baseline and counted as 0 ("jump"), so a counter that really moved (a replaced controller
  with a higher count) is not dropped forever while ``d_max`` slowly grows.
* ``d_max`` grows with the time since the counter last *changed* (not since the last sample),
  so a counter that updates every 2 h is not a spike.
* calculations 151-154 first get openHAB's sign-bug fix (``v >= 214748364``: subtract it).

Booking. A step that fits the sample interval at the counter's maximum rate accrued between
the two samples and is split by time there (with 30-s samples a boundary falls inside one
step). A larger step that only fits the time since the counter's previous change is a
*delayed update* (electricity counters that step every 1-2 h): it is spread evenly over that
time (at most 2 h, the longest update period reported), so a boundary inside it is
interpolated and the figure marked "estimated".

Boundaries. A boundary is exact when a valid reading lies within 900 s of it, or when the
readings bracketing it (at most 6 h apart) show no change; interpolated ("estimated") when a
step of at most 6 h was split at it; otherwise the figure is "incomplete". A counter that
reads only 0 (or is absent from the firmware's blocks) is "n/a".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from luxlog.decode import ABSENT
from luxlog.sample import Sample

NEAR_SEC = 900  # a reading this close to a boundary makes it exact (emoncms's hold)
UPDATE_MAX_SEC = 2 * 3600  # slow counters step every 1-2 h (BenPru #293/#332/#509)
BRACKET_MAX_SEC = 6 * 3600  # interpolate across at most this (the spec's gap rule)
SIGN_BUG = 214_748_364  # openHAB: subtract from a 151-154 reading at or above this


@dataclass(frozen=True)
class CounterSpec:
    key: str
    block: str  # "c": calculations, "p": parameters
    index: int
    scale: float  # figure units per raw unit (kWh, hours or starts)
    rate: float  # maximum raw units per second
    slack: float = 0.0  # seconds added to the gap (the hours counter may lead by a poll)
    floor: int = 0  # a step this large is always plausible (starts: one per poll)
    sign_bug: bool = False

    def d_max(self, gap: float) -> float:
        return max(float(self.floor), self.rate * (gap + self.slack))

    def read(self, sample: Sample) -> int | None:
        block = sample.calculations if self.block == "c" else sample.parameters
        if self.index >= len(block) or block[self.index] == ABSENT:
            return None
        v = block[self.index]
        if self.sign_bug and v >= SIGN_BUG:
            v -= SIGN_BUG
        return v


HEAT_W_MAX, ELEC_W_MAX = 50_000, 20_000  # the spec's d_max: heat 50 kW, electricity 20 kW

SPECS: tuple[CounterSpec, ...] = (
    CounterSpec("heat_heating", "c", 151, 0.1, HEAT_W_MAX / 360_000, sign_bug=True),
    CounterSpec("heat_dhw", "c", 152, 0.1, HEAT_W_MAX / 360_000, sign_bug=True),
    CounterSpec("heat_pool", "c", 153, 0.1, HEAT_W_MAX / 360_000, sign_bug=True),
    CounterSpec("elec_heating", "p", 1136, 0.01, ELEC_W_MAX / 36_000),
    CounterSpec("elec_dhw", "p", 1137, 0.01, ELEC_W_MAX / 36_000),
    CounterSpec("elec_pool", "p", 1138, 0.01, ELEC_W_MAX / 36_000),
    CounterSpec("compressor_hours", "c", 56, 1 / 3600, 1.0, slack=60.0),
    CounterSpec("compressor_starts", "c", 57, 1.0, 1 / 60, floor=1),
)


@dataclass
class CounterDay:
    """The booked figure of one counter over ``[start, end)`` and how far to trust it."""

    value: float | None  # in figure units; None when n/a or incomplete
    status: str  # "ok", "estimated", "incomplete" or "n/a"
    reason: str = ""
    first: tuple[int, int] | None = None  # (time, raw) of the first/last reading in the day
    last: tuple[int, int] | None = None
    flags: list[str] = field(default_factory=list)


class CounterTrack:
    """Feed one counter's readings in time order; ``result()`` books them into the day."""

    def __init__(self, spec: CounterSpec, start: int, end: int) -> None:
        self.spec, self.start, self.end = spec, start, end
        self.prev: tuple[int, int] | None = None
        self.changed = 0  # time of the last change (or of the first reading)
        self.pending: tuple[int, int] | None = None  # a spike awaiting confirmation
        self.booked = 0.0
        self.seen = self.nonzero = False
        self.near = [float("inf"), float("inf")]  # closest reading to start, to end
        self.crossing: list[str | None] = [None, None]  # "exact"/"estimated" per boundary
        self.first: tuple[int, int] | None = None
        self.last: tuple[int, int] | None = None
        self.flags: list[str] = []

    def feed(self, t: int, v: int | None) -> None:
        if v is None:
            return
        self.seen = True
        start, end, near = self.start, self.end, self.near
        # readings come in time order: only those around a boundary can get closer to it
        if abs(t - start) < near[0]:
            near[0] = abs(t - start)
        if abs(t - end) < near[1]:
            near[1] = abs(t - end)
        if start <= t < end:
            self.first = self.first or (t, v)
            self.last = (t, v)
        prev = self.prev
        if prev is not None and v == prev[1] and self.pending is None:
            # unchanged, the commonest case: only a boundary between the two readings matters
            if prev[0] < start < t or prev[0] < end < t:
                self._note_crossing(prev[0], t, changed=False)
            self.prev = (t, v)
            return
        if prev is None:
            self.prev, self.changed = (t, v), t
            self.nonzero = v != 0
            return
        if self.pending is not None:
            self._confirm(t, v)
        self._step(t, v)

    def _confirm(self, t: int, v: int) -> None:
        assert self.pending is not None
        pt, pv = self.pending
        self.pending = None
        if 0 <= v - pv <= self.spec.d_max(t - pt):
            self._flag(pt, "jump")
            self.prev, self.changed = (pt, pv), pt

    def _step(self, t: int, v: int) -> None:
        assert self.prev is not None
        pt, pv = self.prev
        d, gap = v - pv, t - self.changed
        if d == 0:
            self._note_crossing(pt, t, changed=False)
            self.prev = (t, v)
            return
        if d < 0:
            self.nonzero = self.nonzero or v != 0
            if v <= self.spec.d_max(gap):
                self._flag(t, "reset")
                self._book(v, pt, t)
            else:
                self._flag(t, "rollback")
                self._note_crossing(pt, t, changed=True)
            self.prev, self.changed = (t, v), t
            return
        if d > self.spec.d_max(gap):
            self._flag(t, "spike")
            self.pending = (t, v)
            return
        self.nonzero = True
        delayed = d > self.spec.d_max(t - pt)
        # a delayed update accrued since the counter's previous change, but at most over
        # one update period: a counter idle overnight did not accrue its first step all night
        self._book(d, max(self.changed, t - UPDATE_MAX_SEC) if delayed else pt, t)
        self.prev, self.changed = (t, v), t

    def _book(self, d: float, lo: int, hi: int) -> None:
        overlap = max(0, min(hi, self.end) - max(lo, self.start))
        if overlap:
            self.booked += d * overlap / (hi - lo)
        self._note_crossing(lo, hi, changed=True)

    def _note_crossing(self, lo: int, hi: int, *, changed: bool) -> None:
        for i, b in enumerate((self.start, self.end)):
            if lo < b < hi:
                exact = not changed or hi - lo <= NEAR_SEC
                if hi - lo > BRACKET_MAX_SEC and changed:
                    self.crossing[i] = "incomplete"
                else:
                    self.crossing[i] = "exact" if exact else "estimated"

    def _flag(self, t: int, what: str) -> None:
        if self.start <= t < self.end and what not in self.flags:
            self.flags.append(what)

    def result(self) -> CounterDay:
        if not self.seen or not self.nonzero:
            reason = "not reported by this firmware" if not self.seen else "reads 0 (not fitted)"
            return CounterDay(None, "n/a", reason, self.first, self.last)
        status, reason = "ok", ""
        for i, name in enumerate(("start", "end")):
            crossing = self.crossing[i]
            if crossing == "estimated":
                status, reason = _worse(status, reason, "estimated", f"{name} interpolated")
            elif self.near[i] <= NEAR_SEC or crossing == "exact":
                continue
            else:
                why = f"no reading within {NEAR_SEC // 60} min of the {name}"
                status, reason = _worse(status, reason, "incomplete", why)
        flags = [f"{self.spec.key}: counter {f}" for f in self.flags]
        value = None if status == "incomplete" else self.booked * self.spec.scale
        return CounterDay(value, status, reason, self.first, self.last, flags)


def _worse(status: str, reason: str, new: str, why: str) -> tuple[str, str]:
    rank = {"ok": 0, "estimated": 1, "incomplete": 2}
    if rank[new] > rank[status]:
        return new, why
    if rank[new] == rank[status] and why not in reason:
        return status, f"{reason}; {why}" if reason else why
    return status, reason
