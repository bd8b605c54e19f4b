"""The simulated controller: byte-exact replies, profiles, the value model, faults, the CLI.

Expected bytes are written out by hand from protocol.md §2.2 rather than produced with
``luxlog.protocol.encode_response``, so a shared mistake in the encoder cannot hide here.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from luxlog.errors import ConfigError
from luxlog.protocol import DeadlineReader, read_block
from luxlog.simulator import (
    FAULTS,
    INSTALLED,
    PROFILES,
    SENTINEL_ABSENT,
    WRITES_RECEIVED,
    YEAR,
    Model,
    Simulator,
    check_faults,
    is_loopback,
)

T = 1_736_000_000.0  # 2025-01-04 14:13:20 UTC, a winter afternoon
REQ_PARAMS = bytes.fromhex("00000bbb 00000000")
REQ_CALCS = bytes.fromhex("00000bbc 00000000")
REQ_VIS = bytes.fromhex("00000bbd 00000000")

# (params, calcs, visibilities) per profile
LENGTHS = {"v1.80": (1086, 200, 336), "v3.78": (1075, 232, 327), "v3.92": (1160, 275, 380)}

# Counters that must never decrease: (block, index)
COUNTERS = [("c", i) for i in (56, 57, 63, 64, 65, 151, 152, 154)] + [
    ("p", i) for i in (668, 669, 674, 728, 729, 852, 854, 878)
]


@pytest.fixture
def fixed() -> Iterator[Simulator]:
    """A simulator whose clock stands still, so replies can be compared byte for byte."""
    sim = Simulator(clock=lambda: T).start()
    yield sim
    sim.stop()


def connect(sim: Simulator, timeout: float = 3.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"EOF after {len(buf)}/{n} bytes")
        buf += chunk
    return buf


def reply_size(cmd: int, n: int) -> int:
    return {3003: 8 + 4 * n, 3004: 12 + 4 * n, 3005: 8 + n}[cmd]


def expected_bytes(profile: str = "v3.78", t: float = T) -> dict[int, bytes]:
    p, c, v = Model(profile).sample(t)
    return {
        3003: bytes.fromhex("00000bbb")
        + struct.pack(">i", len(p))
        + struct.pack(f">{len(p)}i", *p),
        3004: bytes.fromhex("00000bbc 00000000")
        + struct.pack(">i", len(c))
        + struct.pack(f">{len(c)}i", *c),
        3005: bytes.fromhex("00000bbd") + struct.pack(">i", len(v)) + bytes(x & 0xFF for x in v),
    }


# --- byte-exact replies ------------------------------------------------------------------------


def test_replies_are_byte_exact(fixed: Simulator) -> None:
    want = expected_bytes()
    with connect(fixed) as s:
        s.sendall(REQ_CALCS)
        calcs = recv_exact(s, 12 + 4 * 232)
        s.sendall(REQ_PARAMS)
        params = recv_exact(s, 8 + 4 * 1075)
        s.sendall(REQ_VIS)
        vis = recv_exact(s, 8 + 327)
        s.settimeout(0.2)  # nothing unsolicited follows
        with pytest.raises(TimeoutError):
            s.recv(1)
    assert calcs[:12] == bytes.fromhex("00000bbc 00000000 000000e8")  # 3004, stat 0, N 232
    assert params[:8] == bytes.fromhex("00000bbb 00000433")  # 3003, N 1075
    assert vis[:8] == bytes.fromhex("00000bbd 00000147")  # 3005, N 327
    assert (calcs, params, vis) == (want[3004], want[3003], want[3005])
    # the firmware string travels as one ASCII code per int32: "V3.78"
    assert calcs[12 + 4 * 81 : 12 + 4 * 86] == bytes.fromhex(
        "00000056 00000033 0000002e 00000037 00000038"
    )
    assert fixed.requests == [(3004, 0), (3003, 0), (3005, 0)]
    assert fixed.connections == 1


@pytest.mark.parametrize("profile", sorted(LENGTHS))
def test_profile_lengths_on_the_wire(profile: str) -> None:
    n_p, n_c, n_v = LENGTHS[profile]
    with Simulator(profile=profile) as sim, connect(sim) as s:
        for req, cmd, n in ((REQ_PARAMS, 3003, n_p), (REQ_CALCS, 3004, n_c), (REQ_VIS, 3005, n_v)):
            s.sendall(req)
            data = recv_exact(s, reply_size(cmd, n))
            n_at = 8 if cmd == 3004 else 4
            assert struct.unpack_from(">ii", data, 0)[0] == cmd
            assert struct.unpack_from(">i", data, n_at)[0] == n
    assert sim.profile.name == profile


def test_luxlog_client_reads_the_simulator(sim: Simulator) -> None:
    with connect(sim) as s:
        reader = DeadlineReader(s, time.monotonic() + 5, 2.0)
        for cmd, n in zip((3003, 3004, 3005), LENGTHS["v3.78"], strict=True):
            s.sendall(struct.pack(">ii", cmd, 0))
            block = read_block(reader, cmd)
            assert (block.cmd, block.stat, len(block.values)) == (cmd, 0, n)


@pytest.mark.sends_writes
def test_write_is_logged_and_acknowledged_but_changes_nothing() -> None:
    # Own simulator and the marker: the autouse fixture fails any test whose simulator saw a
    # write.
    with Simulator(clock=lambda: T) as sim, connect(sim) as s:
        s.sendall(REQ_PARAMS)
        before = recv_exact(s, 8 + 4 * 1075)
        s.sendall(bytes.fromhex("00000bba 00000069 000001d6"))  # param 105 <- 470 (protocol.md)
        assert recv_exact(s, 8) == bytes.fromhex("00000bba 00000069")  # echo + index, not value
        s.sendall(REQ_PARAMS)
        after = recv_exact(s, 8 + 4 * 1075)
    assert after == before
    assert sim.requests == [(3003, 0), (3002, 105, 470), (3003, 0)]
    sim.clear_requests()
    assert sim.requests == []
    assert [(sim.port, 105, 470)] == WRITES_RECEIVED  # what the autouse guard looks at


def test_unknown_command_closes_the_connection(sim: Simulator) -> None:
    with connect(sim) as s:
        s.sendall(struct.pack(">ii", 4242, 0))
        assert s.recv(16) == b""
    assert sim.requests == [(4242,)]


def test_concurrent_connections_are_served(sim: Simulator) -> None:
    with connect(sim) as a, connect(sim) as b:
        a.sendall(REQ_VIS)
        b.sendall(REQ_VIS)
        assert recv_exact(b, 8 + 327)[:4] == bytes.fromhex("00000bbd")
        assert recv_exact(a, 8 + 327)[:4] == bytes.fromhex("00000bbd")
    assert sim.connections == 2


def test_clock_offset_shifts_only_the_controller_clock() -> None:
    with Simulator(clock=lambda: T, clock_offset=-90.0) as sim, connect(sim) as s:
        s.sendall(REQ_CALCS)
        calcs = struct.unpack(">232i", recv_exact(s, 12 + 4 * 232)[12:])
    assert calcs[134] == int(T) - 90
    assert calcs[10:20] == tuple(Model().sample(T)[1][10:20])


def test_delay_postpones_the_reply() -> None:
    with Simulator(delay=0.3) as sim, connect(sim) as s:
        start = time.monotonic()
        s.sendall(REQ_VIS)
        recv_exact(s, 8 + 327)
        assert time.monotonic() - start >= 0.3


def test_serve_forever_returns_after_stop() -> None:
    sim = Simulator()
    th = threading.Thread(target=sim.serve_forever)
    th.start()
    deadline = time.monotonic() + 3
    while sim.port == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    with connect(sim) as s:
        s.sendall(REQ_VIS)
        recv_exact(s, 8 + 327)
    sim.stop()
    th.join(timeout=3)
    assert not th.is_alive()


# --- the value model ---------------------------------------------------------------------------


def test_model_is_pure_and_deterministic() -> None:
    ts = [T + 30 * i for i in range(400)]
    shuffled = random.Random(1).sample(ts, len(ts))
    a = Model()
    first = {t: a.sample(t) for t in ts}
    assert {t: Model().sample(t) for t in shuffled} == first
    assert a.sample(T) == first[T]
    assert Model(seed=1).sample(T) != first[T]  # the seed changes the weather


@pytest.mark.parametrize("profile", sorted(LENGTHS))
def test_counters_monotonic_over_a_simulated_week(profile: str) -> None:
    model = Model(profile)
    counters = COUNTERS + ([("p", 1136), ("p", 1137)] if profile == "v3.92" else [])
    first = last = None
    modes = set()
    for i in range(20_160):
        p, c, _ = model.sample(T + 30 * i)
        row = [(p if blk == "p" else c)[idx] for blk, idx in counters]
        if last is not None:
            assert all(x >= y for x, y in zip(row, last, strict=True)), (i, row, last)
        first = first or row
        last = row
        modes.add(c[80])
    assert first is not None and last is not None
    assert last[0] - first[0] > 24 * 3600  # the compressor ran more than a day in a winter week
    assert last[1] > first[1]  # starts counted
    assert modes == {0, 1, 4, 5}  # heating, hot water, defrost, no request
    heat = dict(zip(counters, last, strict=True))
    if profile == "v1.80":  # no heat meter, like the L1A capture
        assert heat[("c", 151)] == heat[("c", 154)] == heat[("p", 854)] == 0
    else:
        assert heat[("p", 854)] == 10 * heat[("c", 151)] > 0  # 0.01 kWh mirror of 0.1 kWh
        assert heat[("p", 878)] == 10 * heat[("c", 152)] > 0


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(INSTALLED - 10 * YEAR, INSTALLED + 40 * YEAR),
    b=st.floats(INSTALLED - 10 * YEAR, INSTALLED + 40 * YEAR),
    profile=st.sampled_from(sorted(LENGTHS)),
)
def test_counters_never_decrease_for_any_two_times(a: float, b: float, profile: str) -> None:
    lo, hi = sorted((a, b))
    model = Model(profile)
    (p1, c1, _), (p2, c2, _) = model.sample(lo), model.sample(hi)
    for blk, idx in COUNTERS:
        x, y = (p1, p2) if blk == "p" else (c1, c2)
        assert x[idx] <= y[idx], (blk, idx, lo, hi)
    assert c1[134] <= c2[134]


def test_counters_continue_across_a_model_year_boundary() -> None:
    model = Model()
    edge = INSTALLED + 3 * YEAR
    values = [model.sample(edge + dt)[1][56] for dt in range(-4000, 4000, 7)]
    assert values == sorted(values)
    assert model.sample(INSTALLED - 1)[1][56] == 0  # nothing ran before installation
    assert model.sample(edge + 10 * 86400)[1][56] > model.sample(edge - 10 * 86400)[1][56]


def test_outputs_mode_and_status_lines_agree() -> None:
    model = Model()
    for i in range(0, 2 * 86400, 60):
        c = model.sample(T + i)[1]
        mode = c[80]
        assert c[44] == (mode in (0, 1, 4)), (i, c[44], mode)  # VD1out runs unless no request
        assert c[38] == (mode == 1)  # BUPout only while charging hot water
        assert c[117] == {0: 0, 1: 0, 4: 5, 5: 1}[mode]  # running / defrost / idle
        assert c[119] == {0: 0, 1: 5, 4: 7, 5: 1}[mode]
        assert c[120] >= 0


def test_values_are_realistic_and_time_driven() -> None:
    model = Model()
    day = [model.sample(T + h * 3600)[1] for h in range(24)]
    outdoor = [c[15] for c in day]
    assert min(outdoor) < 0 < max(outdoor) + 100  # a January day: frost at night
    assert max(outdoor) - min(outdoor) >= 40  # daily cycle of several kelvin
    assert all(200 <= c[12] <= 500 for c in day)  # return target on the heating curve
    summer = model.sample(T + 182 * 86400)[1]
    assert summer[15] > max(outdoor)
    for c in day:
        assert c[134] == int(c[134])
    assert model.sample(T + 0.9)[1][134] == int(T)  # calc 134 = int(t)
    assert Model(clock_offset=5).sample(T)[1][134] == int(T) + 5


def test_firmware_strings_sentinels_and_power_fields() -> None:
    for name, prof in PROFILES.items():
        c = Model(name).sample(T)[1]
        text = "".join(chr(x) for x in c[81:91]).rstrip("\0")
        assert text == prof.firmware
        assert len(c[81:91]) == 10 and c[81 + len(text)] == 0
    v180 = Model("v1.80").sample(T)[1]
    assert v180[19] == v180[20] == SENTINEL_ABSENT == -500
    v378 = Model("v3.78").sample(T)[1]
    assert SENTINEL_ABSENT not in (v378[19], v378[20])
    model = Model("v3.92")
    seen = set()
    for i in range(0, 86400, 120):
        c = model.sample(T + i)[1]
        if c[80] == 0:
            assert c[257] > 0 and 0 < c[268] < c[257]  # heating with a COP > 1
            seen.add("heating")
        elif c[80] == 5:
            assert c[257] == c[268] == 0
            seen.add("idle")
    assert seen == {"heating", "idle"}
    assert model.sample(T)[1][154] == 0  # WMZ_Seit reads 0 from V3.88 on


def test_model_is_fast() -> None:
    model = Model()
    model.sample(T)  # build the cached schedule outside the measurement
    start = time.perf_counter()
    for i in range(20_160):
        model.sample(T + 30 * i)
    assert time.perf_counter() - start < 8.0  # generous liveness bound; typically ~0.3 s


def test_raw_sample_and_unknown_profile() -> None:
    raw = Model().raw_sample(T)
    assert raw.time == T and raw.stat == 0
    assert (len(raw.parameters), len(raw.calculations), len(raw.visibilities)) == LENGTHS["v3.78"]
    assert Model().firmware == "V3.78"
    with pytest.raises(ValueError, match=r"v1\.80, v3\.78, v3\.92"):
        Model("v9")


# --- faults ------------------------------------------------------------------------------------


def test_fault_names_are_validated() -> None:
    assert check_faults(["busy", "hang"]) == {"busy", "hang"}
    with pytest.raises(ValueError, match="unknown fault nope"):
        Simulator(faults=["nope"])
    assert "refuse" in FAULTS and "tiny-segments" in FAULTS
    idle = Simulator()  # faults can be set before start(); stop() before start() is harmless
    idle.faults = ["busy"]
    assert idle.faults == {"busy"}
    idle.stop()


def test_short_calculations_answers_3004_with_five_values_and_the_rest_whole() -> None:
    with Simulator(faults={"short-calculations"}) as sim, connect(sim) as s:
        s.sendall(REQ_CALCS)
        data = recv_exact(s, reply_size(3004, 5))
        assert struct.unpack_from(">iii", data, 0) == (3004, 0, 5)
        s.sendall(REQ_PARAMS)
        data = recv_exact(s, reply_size(3003, LENGTHS["v3.78"][0]))
        assert struct.unpack_from(">ii", data, 0) == (3003, LENGTHS["v3.78"][0])


def test_refuse_fails_connect_fast_and_recovers() -> None:
    with Simulator(faults={"refuse"}) as sim:
        assert sim.port > 0
        with pytest.raises(ConnectionRefusedError):
            connect(sim)
        sim.faults = set()
        with connect(sim) as s:
            s.sendall(REQ_VIS)
            recv_exact(s, 8 + 327)
            sim.set_faults({"refuse"})  # at runtime: new connects refused, old ones dropped
            with pytest.raises(ConnectionRefusedError):
                connect(sim)
            with pytest.raises((ConnectionError, OSError)):
                s.sendall(REQ_VIS)
                if not s.recv(1):
                    raise ConnectionError("closed")
        sim.faults = ()
        with connect(sim) as s:
            s.sendall(REQ_VIS)
            recv_exact(s, 8 + 327)
        assert sim.address == ("127.0.0.1", sim.port)


def test_hang_never_answers_and_stop_frees_the_connection() -> None:
    sim = Simulator(faults={"hang"}).start()
    s = connect(sim, timeout=0.3)
    try:
        s.sendall(REQ_CALCS)
        with pytest.raises(TimeoutError):
            s.recv(1)
        start = time.monotonic()
        sim.stop()
        assert time.monotonic() - start < 5  # liveness: stop() does not wait for the client
        assert s.recv(1) == b""  # the simulator closed its end
    finally:
        s.close()
    assert sim.requests == [(3004, 0)]


@pytest.mark.parametrize("fault", ["stall", "close"])
def test_partial_frame_faults(fault: str) -> None:
    with Simulator(faults={fault}, clock=lambda: T) as sim, connect(sim, timeout=0.3) as s:
        s.sendall(REQ_CALCS)
        got = b""
        try:
            while chunk := s.recv(100):
                got += chunk
        except TimeoutError:
            assert fault == "stall"
        else:
            assert fault == "close"
        assert got == expected_bytes()[3004][:6]
        if fault == "stall":  # stays silent, even to further requests
            s.sendall(REQ_VIS)
            with pytest.raises(TimeoutError):
                s.recv(1)


def test_trickle_sends_slowly() -> None:
    with Simulator(faults={"trickle"}, clock=lambda: T) as sim, connect(sim, timeout=0.3) as s:
        sim.trickle_interval = 0.1
        s.sendall(REQ_VIS)
        got = recv_exact(s, 3)
        assert got == bytes.fromhex("00000b")
        s.settimeout(2.0)
        got += recv_exact(s, 2)
        assert got == expected_bytes()[3005][:5]


@pytest.mark.parametrize("fault", ["tiny-segments", "echo-split"])
def test_segmenting_faults_deliver_identical_bytes(fault: str) -> None:
    want = expected_bytes()
    with Simulator(faults={fault}, clock=lambda: T) as sim, connect(sim) as s:
        sim.echo_split_pause = 0.5
        s.sendall(REQ_CALCS)
        first = s.recv(2000)
        if fault == "echo-split":
            assert first == bytes.fromhex("00000bbc")  # the echo alone, as on real hardware
        else:
            assert len(first) < len(want[3004])
        calcs = first + recv_exact(s, len(want[3004]) - len(first))
        s.sendall(REQ_PARAMS)
        params = recv_exact(s, len(want[3003]))
    assert (calcs, params) == (want[3004], want[3003])


def test_wrong_echo() -> None:
    with Simulator(faults={"wrong-echo"}) as sim, connect(sim) as s:
        s.sendall(REQ_CALCS)
        assert recv_exact(s, 4) == bytes.fromhex("00000bbd")  # 3005 instead of 3004
        recv_exact(s, 8 + 4 * 232)
        s.sendall(REQ_VIS)
        assert recv_exact(s, 4) == bytes.fromhex("00000bbb")


def test_absurd_and_negative_length() -> None:
    with Simulator(faults={"absurd-length"}) as sim, connect(sim) as s:
        s.sendall(REQ_PARAMS)
        assert recv_exact(s, 8) == bytes.fromhex("00000bbb 000f4240")  # N = 1 000 000
        recv_exact(s, 4 * 1075)  # the real payload follows the lie
        sim.faults = {"negative-length"}
        s.sendall(REQ_CALCS)
        assert recv_exact(s, 12) == bytes.fromhex("00000bbc 00000000 ffffffff")  # N = -1


def test_busy_sets_stat_and_still_sends_the_payload() -> None:
    with Simulator(faults={"busy"}, clock=lambda: T) as sim, connect(sim) as s:
        s.sendall(REQ_CALCS)
        data = recv_exact(s, 12 + 4 * 232)
        assert data[:12] == bytes.fromhex("00000bbc 00000001 000000e8")
        assert data[12:] == expected_bytes()[3004][12:]
        s.sendall(REQ_PARAMS)  # only 3004 carries a stat
        assert recv_exact(s, 8 + 4 * 1075) == expected_bytes()[3003]


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("")  # bind("") listens on every interface
    assert not is_loopback("heatpump.local") and not is_loopback("waermepumpe.fritz.box")


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_validates_profile_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    from luxlog.cli import run

    assert run(["simulate", "--profile", "v9", "--fault", "nope", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--profile: 'v9' is not one of v1.80, v3.78, v3.92" in err
    assert "--fault: 'nope' is not one of refuse, hang" in err


def test_cli_help_lists_profiles_and_faults() -> None:
    from typer.testing import CliRunner

    from luxlog.cli import app

    result = CliRunner().invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    assert "--fault" in result.output and "v3.92" in result.output


def test_simulate_rejects_bad_port_and_busy_port() -> None:
    from luxlog.commands.simulate import simulate

    with pytest.raises(ConfigError, match="--port: 70000"):
        simulate(port=70000)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(ConfigError, match="cannot listen"):
            simulate(port=taken.getsockname()[1])


def test_simulate_warns_before_binding_a_host_others_could_reach(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from luxlog.commands.simulate import simulate

    # A name that never resolves: the warning comes first, then binding it fails.
    with pytest.raises(ConfigError, match="cannot listen on no-such-host.invalid:0"):
        simulate(host="no-such-host.invalid", port=0)
    err = capsys.readouterr().err
    assert "warning: binding no-such-host.invalid: the simulator is reachable" in err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_simulate_stops_cleanly_on_interrupt() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "luxlog", "simulate", "--port", str(port), "--profile", "v1.80",
         "--fault", "busy", "--fault", "echo-split"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == (
            f"simulating V1.80 controller on 127.0.0.1:{port} (faults: busy, echo-split); "
            "Ctrl-C to stop"
        )
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=5)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "warning" not in err  # loopback: no warning
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    with pytest.raises(ConnectionRefusedError):  # stopped: the port is closed again
        socket.create_connection(("127.0.0.1", port), timeout=3)


def test_simulate_subprocess_serves_and_exits_143_on_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "luxlog", "simulate", "--port", str(port), "--profile", "v3.92"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"simulating V3.92.1 controller on 127.0.0.1:{port} (faults: none)")
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(REQ_CALCS)
            assert recv_exact(s, 12)[8:] == struct.pack(">i", 275)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
