"""Days with known truth for the insight tests: raw samples from a scripted schedule.

A ``Script`` lists compressor runs (start, end, mode); every counter is an exact function of
the run seconds before ``t`` (6 kW heating, 5 kW hot water, 2 kW electrical input), so a
test knows the true heat, electricity, hours and starts of any window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from luxlog.sample import Sample
from luxlog.store import Store

HEATING, DHW, DEFROST, NO_REQUEST = 0, 1, 4, 5
N_PARAMS, N_CALCS, N_VIS = 1160, 275, 380  # V3.92-sized blocks: every field present
# seconds per counter unit: 6 kW -> 0.1 kWh per 60 s, 5 kW -> per 72 s, 2 kW -> 0.01 kWh per 18 s
SEC_PER_HEAT_UNIT, SEC_PER_DHW_UNIT, SEC_PER_ELEC_UNIT = 60, 72, 18


@dataclass
class Script:
    runs: list[tuple[int, int, int]]  # (start, end, mode) epoch seconds, sorted
    outdoor: Callable[[int], int] = lambda t: -50  # raw °C × 10
    errors: list[tuple[int, int]] = field(default_factory=list)  # (time, code), newest last
    heat_meter: bool = True
    energy: bool = True
    base: int = 1000  # counters start here (a unit in service), so 0 means "not fitted"

    def seconds(self, t: int, modes: tuple[int, ...]) -> int:
        return sum(max(0, min(e, t) - s) for s, e, m in self.runs if m in modes)

    def starts(self, t: int) -> int:
        # a defrost directly after a heating run is the same compressor run
        ends = {e for _, e, _ in self.runs}
        return sum(1 for s, _, _ in self.runs if s < t and s not in ends)

    def mode(self, t: int) -> int:
        return next((m for s, e, m in self.runs if s <= t < e), NO_REQUEST)

    def heat(self, t: int) -> int:
        return self.seconds(t, (HEATING,)) // SEC_PER_HEAT_UNIT

    def dhw(self, t: int) -> int:
        return self.seconds(t, (DHW,)) // SEC_PER_DHW_UNIT

    def e_heat(self, t: int) -> int:
        return self.seconds(t, (HEATING,)) // SEC_PER_ELEC_UNIT

    def e_dhw(self, t: int) -> int:
        return self.seconds(t, (DHW,)) // SEC_PER_ELEC_UNIT

    def sample(self, t: int) -> Sample:
        p, c = [0] * N_PARAMS, [0] * N_CALCS
        c[15] = self.outdoor(t)
        mode = self.mode(t)
        c[80] = mode
        c[44] = int(mode != NO_REQUEST)
        c[56] = self.base + self.seconds(t, (HEATING, DHW, DEFROST))
        c[57] = self.base + self.starts(t)
        if self.heat_meter:
            c[151], c[152] = self.base + self.heat(t), self.base + self.dhw(t)
        if self.energy:
            p[1136], p[1137] = self.base + self.e_heat(t), self.base + self.e_dhw(t)
        ring = [e for e in self.errors if e[0] <= t][-5:][::-1]
        for i, (et, code) in enumerate(ring):
            c[95 + i], c[100 + i] = et, code
        for i, ch in enumerate("V3.92.1"):
            c[81 + i] = ord(ch)
        return Sample(t, 0, tuple(p), tuple(c), (0,) * N_VIS)


def store_samples(
    store: Store,
    samples: list[Sample] | Callable[[int], Sample],
    start: int = 0,
    end: int = 0,
    step: int = 30,
    *,
    skip: Callable[[int], bool] = lambda t: False,
) -> None:
    """Store ``samples`` (or ``make(t)`` every ``step`` s of ``[start, end)`` not skipped)
    in bulk (``Store.add_rows``: one transaction per 2,000), then flush."""
    if callable(samples):
        samples = [samples(t) for t in range(start, end, step) if not skip(t)]
    conn = store.conn
    conn.execute("PRAGMA synchronous=OFF")  # set-up speed only
    store.add_rows(samples)
    store.flush()
    conn.execute("PRAGMA synchronous=FULL")
