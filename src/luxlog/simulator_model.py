"""The simulated controller's values: ``Model`` turns a UTC epoch into the three raw arrays.

``Model`` is a *pure* function of ``(profile, seed, t)`` so other code can fill a store with a
simulated week or year in any order. It stays fast (tens of microseconds) because:

* each profile starts from a real dump (``simulator_data``), decoded once and cached; a sample
  copies those lists and overwrites a few dozen entries, everything else stays constant (as on
  real hardware, where almost all parameters never change);
* the weather and the heat pump's schedule repeat every 365-day *model year* counted from the
  installation date. The schedule is built per hour slot (8760 slots: hot-water charge at 05:00
  and 17:00 UTC, then a heating run whose length follows the outdoor temperature, then a defrost
  when it is cold) together with prefix sums of every counter, once per seed. A counter at ``t``
  is then ``years * per_year + prefix[slot] + progress inside the slot``: closed form, O(1),
  and monotonic in ``t`` whatever order the samples are taken in.

``luxlog.simulator`` serves a ``Model`` on a socket and re-exports its public names.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from luxlog import simulator_data
from luxlog.decode import CALC_CLOCK as C_CLOCK
from luxlog.decode import CALC_FIRMWARE as C_FIRMWARE
from luxlog.decode import CALC_MODE as C_MODE
from luxlog.decode import SENTINEL_ABSENT_SENSOR as SENTINEL_ABSENT
from luxlog.sample import Sample

# --------------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class Profile:
    """One firmware generation: block lengths and which optional fields it carries."""

    name: str  # what users type on the CLI
    firmware: str  # the string in calcs 81-90
    n_parameters: int
    n_calculations: int
    n_visibilities: int
    heat_meter: bool  # calcs 151-154 and their parameter mirrors count up
    source_sensors: bool  # False: calcs 19/20 carry the -500 "not fitted" sentinel
    power_fields: bool  # calcs 257 Heat_Output / 268 AC_Power_Input (V3.90.3+)
    energy_parameters: bool  # params 1136/1137 electrical energy (V3.88+)
    wmz_since_zero: bool  # calc 154 reads 0 from V3.88 on (BenPru issue #59)


PROFILES: dict[str, Profile] = {
    # Luxtronik 2.0 board, L1A air/water, no heat meter, no brine sensors (coolchip capture).
    "v1.80": Profile("v1.80", "V1.80", 1086, 200, 336, False, False, False, False, False),
    # Luxtronik 2.1, MSW 6 brine/water with heat meter (Bouni capture); the default.
    "v3.78": Profile("v3.78", "V3.78", 1075, 232, 327, True, True, False, False, False),
    # Synthetic inverter unit: V3.78 dump extended to the lengths python-luxtronik main knows,
    # tail of calculations from a real V3.90.3 (PR #193).
    "v3.92": Profile("v3.92", "V3.92.1", 1160, 275, 380, True, True, True, True, True),
}
DEFAULT_PROFILE = "v3.78"

# --------------------------------------------------------------------------------------------
# Field indices (python-luxtronik names in comments)

C_TVL, C_TRL, C_TRL_SOLL, C_THG, C_TA, C_TA_AVG, C_TBW, C_TBW_SOLL = 10, 11, 12, 14, 15, 16, 17, 18
C_TWE, C_TWA = 19, 20  # heat source in/out
C_BUP, C_HUP, C_VD1 = 38, 39, 44  # DHW pump/valve, heating pump, compressor 1 outputs
C_VD1_SECONDS, C_VD1_STARTS, C_WP_SECONDS, C_HEAT_SECONDS, C_DHW_SECONDS = 56, 57, 63, 64, 65
C_STATUS1, C_STATUS2, C_STATUS3, C_STATUS_TIME = 117, 118, 119, 120
C_Q_HEAT, C_Q_DHW, C_Q_TOTAL, C_WMZ_FLOW = 151, 152, 154, 155
C_HEAT_OUTPUT, C_AC_POWER = 257, 268
P_DHW_TARGET = 2  # ID_Einst_BWS_akt, 500 = 50.0 °C in both dumps
P_HOURS_WP, P_HOURS_VD1, P_STARTS_VD1 = 668, 669, 674
P_HOURS_HEAT, P_HOURS_DHW = 728, 729
P_Q_TOTAL, P_Q_HEAT, P_Q_DHW = 852, 854, 878  # 0.01 kWh mirrors of calcs 154/151/152
P_E_HEAT, P_E_DHW = 1136, 1137  # electrical energy, 0.01 kWh (BenPru's measured scale)

# Operating modes (calc 80) and status codes. Status line 1 follows FHEM/node-luxtronik2
# (0 running, 1 idle, 5 defrost); python-luxtronik is shifted by one from code 3 up.
MODE_HEATING, MODE_DHW, MODE_DEFROST, MODE_NO_REQUEST = 0, 1, 4, 5
STATUS1_RUNNING, STATUS1_IDLE, STATUS1_DEFROST = 0, 1, 5
STATUS3_HEATING, STATUS3_NO_REQUEST, STATUS3_DHW, STATUS3_DEFROST = 0, 1, 5, 7

# --------------------------------------------------------------------------------------------
# The schedule

INSTALLED = 1_420_070_400  # 2015-01-01T00:00Z: counters are 0 before, then count up
SLOT = 3600
DAY = 86_400
YEAR = 365 * DAY  # a whole number of days, so hour slots stay aligned to UTC midnight
SLOTS_PER_YEAR = YEAR // SLOT
DHW_HOURS = (5, 17)
HEAT_GAP = 300  # pause between the DHW charge and the heating run (valve change-over)
DEFROST_SECONDS = 300
MIN_RUN = 300  # compressors have a minimum run time; shorter demand is skipped
HEAT_W, DHW_W = 6000, 5000  # thermal output of an MSW 6-sized unit
WS_PER_0_1_KWH = 360_000  # watt-seconds in one 0.1 kWh (calc unit)
WS_PER_0_01_KWH = 36_000  # watt-seconds in one 0.01 kWh (parameter unit)


def _mix(seed: int, k: int) -> float:
    """Deterministic noise in [-1, 1) from (seed, k): a splitmix64-style integer hash."""
    x = (k * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & (2**64 - 1)
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 31
    return (x >> 11) / 2.0**52 - 1.0


def _outdoor(seed: int, y: float) -> tuple[float, float]:
    """(outdoor, 24 h average) in raw °C×10 at ``y`` seconds into the model year."""
    season = 90.0 - 100.0 * math.cos(2.0 * math.pi * (y / YEAR - 0.05))  # -1 °C Jan, 19 °C Jul
    day, frac = divmod(y / DAY, 1.0)
    d = int(day)
    weather = 30.0 * ((1.0 - frac) * _mix(seed, d) + frac * _mix(seed, (d + 1) % 365))
    daily = -40.0 * math.cos(2.0 * math.pi * (frac - 3.0 / 24.0))  # min 03:00, max 15:00 UTC
    return season + weather + daily, season + weather


@dataclass(frozen=True)
class _Schedule:
    """Per hour slot of a model year: run lengths and counter prefix sums at slot start.

    Everything is an integer (energies in watt-seconds) so a counter is an exact floor of a
    non-decreasing integer: no float rounding can ever make it step back by one.
    """

    dhw: list[int]  # seconds of DHW charge from slot start
    heat_start: list[int]
    heat: list[int]  # seconds of heating run from heat_start
    defrost: list[int]  # seconds of defrost right after the heating run
    heat_input_w: list[int]  # electrical input while heating / charging DHW
    dhw_input_w: list[int]
    # prefix sums; index SLOTS_PER_YEAR holds the per-year total
    p_comp: list[int]
    p_starts: list[int]
    p_heat: list[int]
    p_dhw: list[int]
    p_e_heat: list[int]  # electrical watt-seconds
    p_e_dhw: list[int]


@functools.cache
def _schedule(seed: int) -> _Schedule:
    dhw, heat_start, heat, defrost, heat_in, dhw_in = [], [], [], [], [], []
    p_comp, p_starts, p_heat, p_dhw, p_e_heat, p_e_dhw = [0], [0], [0], [0], [0], [0]
    for s in range(SLOTS_PER_YEAR):
        ta, _ = _outdoor(seed, s * SLOT + SLOT / 2)
        n = _mix(seed + 1, s)
        d_sec = 1500 + int(300 * n) if s % 24 in DHW_HOURS else 0
        start = d_sec + HEAT_GAP if d_sec else 120
        # Heating duty from 0 at 15 °C to 85 % at -12 °C, ±10 % noise.
        duty = min(1.0, max(0.0, (150.0 - ta) / 270.0) * 0.85 * (1.0 + 0.1 * n))
        h_sec = int((SLOT - start - DEFROST_SECONDS - 60) * duty)
        if h_sec < MIN_RUN:
            h_sec = 0
        # Air units defrost the evaporator below ~7 °C, here after every second heating run.
        df = DEFROST_SECONDS if h_sec and ta < 70.0 and s % 2 == 0 else 0
        cop_h = max(2.2, 3.6 + 0.06 * ta / 10.0)
        cop_d = max(2.0, 2.9 + 0.03 * ta / 10.0)
        dhw.append(d_sec)
        heat_start.append(start)
        heat.append(h_sec)
        defrost.append(df)
        heat_in.append(round(HEAT_W / cop_h))
        dhw_in.append(round(DHW_W / cop_d))
        p_comp.append(p_comp[-1] + d_sec + h_sec + df)
        p_starts.append(p_starts[-1] + (d_sec > 0) + (h_sec > 0))
        p_heat.append(p_heat[-1] + h_sec)
        p_dhw.append(p_dhw[-1] + d_sec)
        p_e_heat.append(p_e_heat[-1] + h_sec * heat_in[-1])
        p_e_dhw.append(p_e_dhw[-1] + d_sec * dhw_in[-1])
    return _Schedule(
        dhw, heat_start, heat, defrost, heat_in, dhw_in,
        p_comp, p_starts, p_heat, p_dhw, p_e_heat, p_e_dhw,
    )  # fmt: skip


@functools.cache
def _base(profile: str) -> tuple[list[int], list[int], list[int]]:
    """The profile's constant arrays: a real dump, resized and with the firmware string set."""
    prof = PROFILES[profile]
    if profile == "v1.80":
        params, calcs, vis = simulator_data.decode(
            simulator_data.V1_80, simulator_data.V1_80_LENGTHS
        )
    else:
        params, calcs, vis = simulator_data.decode(
            simulator_data.V3_78, simulator_data.V3_78_LENGTHS
        )
    params = (params + [0] * prof.n_parameters)[: prof.n_parameters]
    calcs = (calcs + [0] * prof.n_calculations)[: prof.n_calculations]
    vis = (vis + [0] * prof.n_visibilities)[: prof.n_visibilities]
    if prof.power_fields:
        for index, value in simulator_data.V3_90_TAIL.items():
            calcs[index] = value
    fw = [ord(ch) for ch in prof.firmware][:10]
    calcs[C_FIRMWARE : C_FIRMWARE + 10] = fw + [0] * (10 - len(fw))
    if not prof.source_sensors:
        calcs[C_TWE] = calcs[C_TWA] = SENTINEL_ABSENT
    return params, calcs, vis


class Model:
    """The simulated controller's values as a pure function of the UTC epoch (and seed)."""

    def __init__(self, profile: str = DEFAULT_PROFILE, seed: int = 0, clock_offset: float = 0.0):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (one of {', '.join(PROFILES)})")
        self.profile = PROFILES[profile]
        self.seed = seed
        self.clock_offset = clock_offset  # controller clock (calc 134) minus true time
        self._base = _base(profile)
        self._sched = _schedule(seed)

    @property
    def firmware(self) -> str:
        return self.profile.firmware

    def raw_sample(self, t: float) -> Sample:
        """``sample(t)`` as the ``Sample`` a client read at ``t`` would return."""
        p, c, v = self.sample(t)
        return Sample.read_at(t, 0, tuple(p), tuple(c), tuple(v))

    def sample(self, t: float) -> tuple[list[int], list[int], list[int]]:
        """(parameters, calculations, visibilities) as the controller would send them at ``t``."""
        bp, bc, bv = self._base
        params, calcs, vis = list(bp), list(bc), list(bv)
        m = _moment(self._sched, self.seed, t, bp[P_DHW_TARGET] or 500)
        _temperatures(m, self.profile, calcs)
        _status(m, calcs)
        calcs[C_CLOCK] = int(t + self.clock_offset)
        heat_s, dhw_s = _counters(m, params, calcs)
        if self.profile.heat_meter:
            _heat_meter(m, self.profile, heat_s, dhw_s, params, calcs)
        if self.profile.energy_parameters:
            _electrical_energy(m, params)
        if self.profile.power_fields:
            _power(m, calcs)
        return params, calcs, vis


@dataclass(slots=True)  # not frozen: built for every sample, and frozen init costs ~2 µs
class _Moment:
    """Where ``t`` falls in the model: the hour slot, the weather and what the unit is doing."""

    sched: _Schedule
    since: float  # seconds since installation (<= 0: before it)
    years: float  # whole model years since installation
    s: int  # hour slot of the model year
    o: float  # seconds into the hour slot
    ta: float  # outdoor and its 24 h average, raw °C×10
    ta_avg: float
    jitter: float  # sensor noise in [-1, 1), new every 30 s
    dhw_target: int
    trl_soll: int  # return target from the heating curve
    mode: int
    run_for: float  # seconds in the current mode
    # whole seconds done in the slot, so counters are exact ints
    dhw_done: int
    heat_done: int
    df_done: int
    starts: int

    @property
    def running(self) -> bool:
        return self.mode != MODE_NO_REQUEST


def _moment(sc: _Schedule, seed: int, t: float, dhw_target: int) -> _Moment:
    since = t - INSTALLED
    years, y = divmod(since, YEAR) if since > 0 else (0.0, 0.0)
    s = int(y // SLOT)
    o = y - s * SLOT
    ta, ta_avg = _outdoor(seed, y)
    jitter = _mix(seed + 2, int(t // 30))

    d_sec, h0, h_sec, df = sc.dhw[s], sc.heat_start[s], sc.heat[s], sc.defrost[s]
    sec = int(o)
    dhw_done = min(max(sec, 0), d_sec)
    heat_done = min(max(sec - h0, 0), h_sec)
    df_done = min(max(sec - h0 - h_sec, 0), df)
    starts = (d_sec > 0) + (h_sec > 0 and sec >= h0)
    if since <= 0:  # before installation everything reads 0
        dhw_done = heat_done = df_done = starts = 0

    if o < d_sec:
        mode, run_for = MODE_DHW, o
    elif h_sec and h0 <= o < h0 + h_sec:
        mode, run_for = MODE_HEATING, o - h0
    elif df and h0 + h_sec <= o < h0 + h_sec + df:
        mode, run_for = MODE_DEFROST, o - h0 - h_sec
    else:
        mode = MODE_NO_REQUEST
        last_end = h0 + h_sec + df if h_sec else (d_sec if d_sec else -1800.0)
        run_for = o - last_end if o >= last_end else o + 600.0
    trl_soll = int(min(500.0, max(200.0, 200.0 + (200.0 - ta_avg) * 0.8)))
    return _Moment(
        sc, since, years, s, o, ta, ta_avg, jitter, dhw_target, trl_soll, mode, run_for,
        dhw_done, heat_done, df_done, starts,
    )  # fmt: skip


def _temperatures(m: _Moment, prof: Profile, calcs: list[int]) -> None:
    """Temperatures (raw °C×10): heating curve on the 24 h average, DHW saw-tooth."""
    trl_soll, dhw_target, run_for, jitter = m.trl_soll, m.dhw_target, m.run_for, m.jitter
    hours_since_charge = ((m.s % 24 - DHW_HOURS[0]) % 12 * SLOT + m.o) / 3600.0
    tbw = dhw_target + 20.0 - 5.0 * hours_since_charge
    idle = 250.0 + 0.2 * (trl_soll - 200.0)
    if m.mode == MODE_DHW:
        approach = 1.0 - math.exp(-run_for / 300.0)
        tbw = dhw_target - 40.0 + 60.0 * run_for / max(m.sched.dhw[m.s], 1)
        trl = idle + (tbw + 20.0 - idle) * approach
        tvl = trl + 60.0 * approach
    elif m.mode == MODE_HEATING:
        approach = 1.0 - math.exp(-run_for / 300.0)
        trl = idle + (trl_soll - idle) * approach
        tvl = trl + 50.0 * approach
    elif m.mode == MODE_DEFROST:  # heat is drawn from the heating water
        trl = trl_soll - 20.0 - run_for / 30.0
        tvl = trl - 20.0
    else:
        trl = idle + 30.0 * math.exp(-run_for / 900.0)
        tvl = trl + 10.0 * math.exp(-run_for / 600.0)
    calcs[C_TA] = round(m.ta + 2.0 * jitter)
    calcs[C_TA_AVG] = round(m.ta_avg)
    calcs[C_TVL] = round(tvl + jitter)
    calcs[C_TRL] = round(trl + jitter)
    calcs[C_TRL_SOLL] = trl_soll
    calcs[C_THG] = round(tvl + (350.0 if m.running else 20.0))
    calcs[C_TBW] = round(tbw + jitter)
    calcs[C_TBW_SOLL] = dhw_target
    if prof.source_sensors:  # brine: ground-coupled, slow seasonal swing
        twe = 80.0 + 0.15 * m.ta_avg
        calcs[C_TWE] = round(twe + jitter)
        calcs[C_TWA] = round(twe - (30.0 if m.running else 0.0) + jitter)


_STATUS1 = {MODE_DHW: STATUS1_RUNNING, MODE_HEATING: STATUS1_RUNNING, MODE_DEFROST: STATUS1_DEFROST}
_STATUS3 = {MODE_DHW: STATUS3_DHW, MODE_HEATING: STATUS3_HEATING, MODE_DEFROST: STATUS3_DEFROST}


def _status(m: _Moment, calcs: list[int]) -> None:
    """Outputs, mode and status lines, consistent with each other."""
    calcs[C_VD1] = int(m.running)
    calcs[C_BUP] = int(m.mode == MODE_DHW)
    calcs[C_HUP] = int(m.mode in (MODE_HEATING, MODE_DEFROST) or m.trl_soll > 260)
    calcs[C_MODE] = m.mode
    calcs[C_STATUS1] = _STATUS1.get(m.mode, STATUS1_IDLE)
    calcs[C_STATUS2] = 0  # "since"
    calcs[C_STATUS3] = _STATUS3.get(m.mode, STATUS3_NO_REQUEST)
    calcs[C_STATUS_TIME] = int(m.run_for)


def _counters(m: _Moment, params: list[int], calcs: list[int]) -> tuple[int, int]:
    """Monotonic counters: whole model years + prefix up to the slot + progress in it.

    Returns the heating and DHW seconds the heat meter counts from.
    """
    sc, s, yrs = m.sched, m.s, int(m.years)
    comp = yrs * sc.p_comp[-1] + sc.p_comp[s] + m.dhw_done + m.heat_done + m.df_done
    n_starts = yrs * sc.p_starts[-1] + sc.p_starts[s] + m.starts
    heat_s = yrs * sc.p_heat[-1] + sc.p_heat[s] + m.heat_done
    dhw_s = yrs * sc.p_dhw[-1] + sc.p_dhw[s] + m.dhw_done
    calcs[C_VD1_SECONDS] = calcs[C_WP_SECONDS] = comp
    calcs[C_VD1_STARTS] = n_starts
    calcs[C_HEAT_SECONDS] = heat_s
    calcs[C_DHW_SECONDS] = dhw_s
    params[P_HOURS_WP] = params[P_HOURS_VD1] = comp
    params[P_STARTS_VD1] = n_starts
    params[P_HOURS_HEAT] = heat_s
    params[P_HOURS_DHW] = dhw_s
    return heat_s, dhw_s


def _heat_meter(
    m: _Moment, prof: Profile, heat_s: int, dhw_s: int, params: list[int], calcs: list[int]
) -> None:
    q_heat = heat_s * HEAT_W // WS_PER_0_1_KWH
    q_dhw = dhw_s * DHW_W // WS_PER_0_1_KWH
    calcs[C_Q_HEAT] = q_heat
    calcs[C_Q_DHW] = q_dhw
    calcs[C_Q_TOTAL] = 0 if prof.wmz_since_zero else q_heat + q_dhw
    # The parameter mirrors are the same quantities in 0.01 kWh (V3.78 dump: x10).
    params[P_Q_HEAT] = 10 * q_heat
    params[P_Q_DHW] = 10 * q_dhw
    params[P_Q_TOTAL] = 10 * (q_heat + q_dhw)
    calcs[C_WMZ_FLOW] = 1150 + int(40 * m.jitter) if calcs[C_HUP] else 0


def _electrical_energy(m: _Moment, params: list[int]) -> None:
    sc, s, yrs = m.sched, m.s, int(m.years)
    e_heat = yrs * sc.p_e_heat[-1] + sc.p_e_heat[s] + m.heat_done * sc.heat_input_w[s]
    e_dhw = yrs * sc.p_e_dhw[-1] + sc.p_e_dhw[s] + m.dhw_done * sc.dhw_input_w[s]
    params[P_E_HEAT] = e_heat // WS_PER_0_01_KWH
    params[P_E_DHW] = e_dhw // WS_PER_0_01_KWH


def _power(m: _Moment, calcs: list[int]) -> None:
    sc, s = m.sched, m.s
    if m.mode == MODE_HEATING:
        output, power = HEAT_W, sc.heat_input_w[s]
    elif m.mode == MODE_DHW:
        output, power = DHW_W, sc.dhw_input_w[s]
    else:  # defrost draws power but delivers no heat
        output, power = 0, 450 if m.mode == MODE_DEFROST else 0
    calcs[C_HEAT_OUTPUT] = output + (round(100.0 * m.jitter) if output else 0)
    calcs[C_AC_POWER] = power
