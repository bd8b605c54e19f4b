"""The read-only client: exact reads, deadlines, validation, named retries.

Part of these tests speak to a scripted server whose replies are byte strings written out by
hand from the protocol reference, not produced by ``luxlog.protocol``, so a mistake shared by
the client and the simulator cannot hide.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from luxlog.client import HeatPumpClient
from luxlog.decode import decode_numeric, firmware_version
from luxlog.errors import PollFailed, ProtocolError
from luxlog.protocol import encode_request
from luxlog.retry import RetryPolicy
from luxlog.simulator import PROFILES, Simulator
from support.network import filtered_port

# Block lengths are V1.80's (protocol.md §2.4), the shortest any known firmware sends.
# 3003: echo 3003, N=1086 (0x43e), values 0, 500 (50.0 °C DHW target), -4 (0xfffffffc), zeros
P_VALUES = "00000000 000001f4 fffffffc " + "00000000 " * 1083
P_REPLY = bytes.fromhex(("00000bbb 0000043e " + P_VALUES).replace(" ", ""))
# 3004: echo 3004, stat 0, N=200 (0xc8); calc 10 (TVL) = 454 -> 45.4 °C, calc 11 = -40 -> -4.0 °C
C_VALUES = "00000000 " * 10 + "000001c6 ffffffd8 " + "00000000 " * 188
C_REPLY = bytes.fromhex(("00000bbc 00000000 000000c8 " + C_VALUES).replace(" ", ""))
# 3005: echo 3005, N=336 (0x150), one byte each
V_REPLY = bytes.fromhex(("00000bbd 00000150 01010001" + "00" * 332).replace(" ", ""))
REPLIES = {3003: P_REPLY, 3004: C_REPLY, 3005: V_REPLY}


class ScriptedController:
    """Answers each 8-byte read request with a fixed byte string, cut into given segments."""

    def __init__(self, replies: dict[int, bytes], segment: int | None = None) -> None:
        self.replies = replies
        self.segment = segment
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # a client that gave up (a refused reply) may reset the connection: that ends the script
        with conn, contextlib.suppress(OSError):
            while True:
                req = b""
                while len(req) < 8:
                    chunk = conn.recv(8 - len(req))
                    if not chunk:
                        return
                    req += chunk
                self.requests.append(req)
                reply = self.replies[int.from_bytes(req[:4], "big")]
                step = self.segment or len(reply)
                for n, i in enumerate(range(0, len(reply), step)):
                    conn.sendall(reply[i : i + step])
                    # a pause now and then lets the reader see a partial block; one after every
                    # byte made 5.5 kB of real-length blocks take seconds on a loaded machine
                    if self.segment and n % 32 == 0:
                        time.sleep(0.0005)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedController]]:
    made: list[ScriptedController] = []

    def make(replies: dict[int, bytes] = REPLIES, segment: int | None = None) -> ScriptedController:
        c = ScriptedController(replies, segment)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_requests_are_the_documented_eight_bytes() -> None:
    assert encode_request(3003) == bytes.fromhex("00000bbb00000000")
    assert encode_request(3004) == bytes.fromhex("00000bbc00000000")
    assert encode_request(3005) == bytes.fromhex("00000bbd00000000")
    with pytest.raises(ValueError):
        encode_request(3002)


def test_client_reads_hand_written_replies_exactly(
    scripted: Callable[..., ScriptedController],
) -> None:
    ctl = scripted()
    sample = HeatPumpClient("127.0.0.1", ctl.port, timeout=2, retries=0).read_raw()
    assert sample.parameters[:4] == (0, 500, -4, 0) and len(sample.parameters) == 1086
    assert sample.calculations[10:12] == (454, -40) and len(sample.calculations) == 200
    assert sample.visibilities[:5] == (1, 1, 0, 1, 0) and len(sample.visibilities) == 336
    assert ctl.requests == [
        bytes.fromhex(h) for h in ("00000bbb00000000", "00000bbc00000000", "00000bbd00000000")
    ]


def test_one_byte_segments_decode_identically(scripted: Callable[..., ScriptedController]) -> None:
    whole = HeatPumpClient("127.0.0.1", scripted().port, timeout=2, retries=0).read_raw()
    split = HeatPumpClient("127.0.0.1", scripted(segment=1).port, timeout=4, retries=0).read_raw()
    assert (split.parameters, split.calculations, split.visibilities) == (
        whole.parameters,
        whole.calculations,
        whole.visibilities,
    )


def test_a_temperature_of_raw_454_reads_45_4(scripted: Callable[..., ScriptedController]) -> None:
    values = HeatPumpClient("127.0.0.1", scripted().port, timeout=2, retries=0).get_all_sensors()
    assert values["ID_WEB_Temperatur_TVL"] == 45.4
    assert values["ID_WEB_Temperatur_TRL"] == -4.0
    assert all(isinstance(v, float) for v in values.values())


@pytest.mark.usefixtures("no_retry_waits")
def test_wrong_echo_written_by_hand_is_a_protocol_error_not_retried(
    scripted: Callable[..., ScriptedController],
) -> None:
    bad = {**REPLIES, 3004: bytes.fromhex("00000bbb00000000000000010000002a")}
    ctl = scripted(bad)
    with pytest.raises(PollFailed, match="answered command 3003 to a 3004") as info:
        HeatPumpClient("127.0.0.1", ctl.port, timeout=2, retries=3).read()
    assert info.value.attempts == 1
    assert isinstance(info.value.__cause__, ProtocolError)


@pytest.mark.parametrize("length_hex", ["00000000", "ffffffff", "000f4240"])
def test_absurd_lengths_written_by_hand_are_refused(
    scripted: Callable[..., ScriptedController], length_hex: str
) -> None:
    bad = {**REPLIES, 3003: bytes.fromhex("00000bbb" + length_hex)}
    with pytest.raises(PollFailed, match="announced"):
        HeatPumpClient("127.0.0.1", scripted(bad).port, timeout=2, retries=0).read()


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_firmware_profile_reads_with_its_block_lengths(
    make_sim: Callable[..., Simulator], profile: str
) -> None:
    sim = make_sim(profile=profile)
    sample = HeatPumpClient("127.0.0.1", sim.port, timeout=2, retries=0).read_raw()
    p = PROFILES[profile]
    lengths = (len(sample.parameters), len(sample.calculations), len(sample.visibilities))
    assert lengths == (p.n_parameters, p.n_calculations, p.n_visibilities)
    assert firmware_version(sample.calculations).startswith("V")


def test_the_real_hardware_echo_split_pattern_decodes_like_whole_replies(
    make_sim: Callable[..., Simulator],
) -> None:
    clock = lambda: 1_764_144_000.0  # noqa: E731 - a fixed instant, so both reads are equal
    whole = make_sim(clock=clock)
    split = make_sim(clock=clock, faults={"echo-split"})
    tiny = make_sim(clock=clock, faults={"tiny-segments"})
    read = lambda s: HeatPumpClient("127.0.0.1", s.port, timeout=3, retries=0).read_raw()  # noqa: E731
    a, b, c = read(whole), read(split), read(tiny)
    assert a.calculations == b.calculations == c.calculations
    assert a.parameters == b.parameters == c.parameters
    assert decode_numeric(a.calculations) == decode_numeric(c.calculations)


FAULT_CASES = ["refuse", "hang", "stall", "close", "trickle", "wrong-echo", "absurd-length", "busy"]


@pytest.mark.parametrize("fault", FAULT_CASES)
@pytest.mark.usefixtures("no_retry_waits")
def test_every_fault_ends_within_the_deadline_with_a_clear_error(
    make_sim: Callable[..., Simulator], fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = make_sim(faults={fault})
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=0.5, retries=2, deadline=1.5)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="luxlog"), pytest.raises(PollFailed) as info:
        client.read()
    elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 0.5  # the overall deadline holds, whatever the controller does
    assert f"127.0.0.1:{sim.port}" in str(info.value)
    assert info.value.attempts >= 1
    if fault not in ("wrong-echo", "absurd-length"):
        # transient faults are retried, each attempt logged with attempt n/N and the time
        assert info.value.attempts >= 2
        assert "attempt 1/3 failed after" in caplog.text


@pytest.mark.usefixtures("no_retry_waits")
def test_a_busy_controller_is_retried_and_read_once_it_is_free(
    make_sim: Callable[..., Simulator], caplog: pytest.LogCaptureFixture
) -> None:
    sim = make_sim(faults={"busy"})
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=1, retries=3, deadline=5)
    timer = threading.Timer(0.2, lambda: sim.set_faults(()))
    timer.start()
    try:
        deadline = time.monotonic() + 3
        while True:  # without back-off the retries are immediate: poll until the fault clears
            try:
                outcome = client.read()
                break
            except PollFailed:
                assert time.monotonic() < deadline
    finally:
        timer.cancel()
    assert outcome.sample is not None and outcome.sample.stat == 0
    assert "controller busy" in caplog.text


@pytest.mark.parametrize("how", ["test switch", "policy without waits (doctor's)"])
def test_retries_run_at_once_under_the_test_switch_or_a_policy_without_waits(
    make_sim: Callable[..., Simulator], request: pytest.FixtureRequest, how: str
) -> None:
    sim = make_sim(faults={"refuse"})
    if how == "test switch":
        request.getfixturevalue("no_retry_waits")
    policy = RetryPolicy(4, 20, waits=how == "test switch")
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=0.5, retry=policy)
    start = time.monotonic()
    with pytest.raises(PollFailed, match="after 4 attempts"):
        client.read()
    # liveness: with waits, back-off (1 s, 2 s, 4 s + jitter) would take 7 s or more
    assert time.monotonic() - start < 6


def test_retries_use_backoff_and_stop_at_the_deadline(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(faults={"refuse"})
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=0.2, retries=10, deadline=1.2)
    start = time.monotonic()
    with pytest.raises(PollFailed, match="connection refused") as info:
        client.read()
    # exponential back-off (1 s initial + jitter) leaves room for two attempts at most
    assert 1 <= info.value.attempts <= 2
    assert time.monotonic() - start < 1.2 + 0.5


def test_an_unresolvable_host_is_named() -> None:
    client = HeatPumpClient("no-such-host.invalid", 8889, timeout=0.5, retries=0, deadline=1)
    with pytest.raises(PollFailed) as info:
        client.read()
    assert str(info.value).startswith("no-such-host.invalid:8889: ")
    assert "name resolution: cannot resolve host" in str(info.value)


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".local"], ids=["empty-label", "long-label"])
def test_a_host_name_idna_refuses_is_one_device_error_not_retried(host: str) -> None:
    client = HeatPumpClient(host, 8889, timeout=0.5, retries=3, deadline=2)
    with pytest.raises(PollFailed) as info:
        client.get_all_sensors()
    assert info.value.attempts == 1
    assert f"cannot resolve host: {host!r} is not a valid host name" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_signal_during_connect_closes_the_socket_before_it_propagates() -> None:
    def fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with filtered_port() as port:
        before = fds()
        # SIGUSR1, not SIGALRM: pytest-timeout's alarm stays armed
        previous = signal.signal(signal.SIGUSR1, interrupt)
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
        try:
            timer.start()
            try:
                HeatPumpClient("127.0.0.1", port, timeout=3, retries=0, deadline=5).read()
            except KeyboardInterrupt:
                # checked while the traceback still holds the frames: no reference may keep
                # the socket open (the garbage collector would close it only later)
                assert fds() <= before
            else:  # pragma: no cover
                pytest.fail("the connect was not interrupted")
        finally:
            timer.cancel()
            signal.signal(signal.SIGUSR1, previous)


def test_the_client_has_no_way_to_write() -> None:
    assert not [name for name in dir(HeatPumpClient) if "write" in name.lower()]


def test_connecting_shares_one_budget_across_addresses(sim: Simulator) -> None:
    from luxlog.client import _connect

    addresses = [(f, k, p, a) for f, k, p, _, a in socket.getaddrinfo("localhost", sim.port, 0, 1)]
    with pytest.raises(TimeoutError, match="poll deadline"):  # nothing left: no attempt
        _connect(addresses, time.monotonic() - 1, "poll deadline of 1 s reached")
    with _connect(addresses, time.monotonic() + 2, "never") as sock:
        assert sock.getpeername()[1] == sim.port


def test_a_calculations_block_shorter_than_any_firmware_is_refused_not_returned(
    scripted: Callable[..., ScriptedController],
) -> None:
    # half-booted firmware: 3004 with stat 0 and N = 5
    short = {**REPLIES, 3004: bytes.fromhex("00000bbc 00000000 00000005" + "000001c6" * 5)}
    with pytest.raises(PollFailed) as info:
        HeatPumpClient("127.0.0.1", scripted(short).port, timeout=2, retries=3).read()
    assert (
        "reading 3004 (calculations): calculations block has 5 values, fewer than any known "
        "firmware (200): controller still booting?" in str(info.value)
    )
    assert isinstance(info.value.__cause__, ProtocolError)


@pytest.mark.parametrize(
    ("cmd", "n"), [(3003, 1021), (3005, 5)], ids=["parameters", "visibilities"]
)
def test_every_block_shorter_than_any_firmware_is_refused(
    scripted: Callable[..., ScriptedController], cmd: int, n: int
) -> None:
    size = 4 if cmd == 3003 else 1
    reply = cmd.to_bytes(4, "big") + n.to_bytes(4, "big") + b"\x00" * (n * size)
    with pytest.raises(PollFailed, match=f"has {n} values, fewer than any known firmware"):
        HeatPumpClient("127.0.0.1", scripted({**REPLIES, cmd: reply}).port, timeout=2).read()


def test_a_visibilities_block_shorter_than_v3_78s_is_a_sample_not_an_error(
    scripted: Callable[..., ScriptedController],
) -> None:
    # No visibility count is documented for V1.73 and earlier: only a broken block is refused.
    reply = (3005).to_bytes(4, "big") + (200).to_bytes(4, "big") + b"\x01" * 200
    outcome = HeatPumpClient("127.0.0.1", scripted({**REPLIES, 3005: reply}).port, timeout=2).read()
    assert outcome.sample is not None and len(outcome.sample.visibilities) == 200


def test_a_trickling_controller_names_the_poll_deadline_and_the_block(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(faults={"trickle"})
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=5, retries=2, deadline=1.0)
    with pytest.raises(PollFailed) as info:
        client.read()
    message = str(info.value)
    assert "reading 3003 (parameters): poll deadline of 1 s reached" in message
    assert "no data for" not in message


@pytest.mark.usefixtures("no_retry_waits")
def test_a_silent_controller_names_the_attempt_timeout_and_the_block(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(faults={"hang"})
    client = HeatPumpClient("127.0.0.1", sim.port, timeout=0.3, retries=1, deadline=5)
    with pytest.raises(PollFailed) as info:
        client.read()
    assert "after 2 attempts" in str(info.value)
    assert (
        "reading 3003 (parameters): no answer within the attempt timeout of 0.3 s "
        "(parameters command echo: 0/4 bytes)" in str(info.value)
    )


def test_a_filtered_port_names_connect_and_the_bound_that_fired() -> None:
    with filtered_port() as port:
        short = HeatPumpClient("127.0.0.1", port, timeout=0.3, retries=0, deadline=5)
        with pytest.raises(PollFailed) as info:
            short.read()
        assert str(info.value).endswith("connect: no answer within the attempt timeout of 0.3 s")
        capped = HeatPumpClient("127.0.0.1", port, timeout=60, retries=0, deadline=0.5)
        with pytest.raises(PollFailed) as info:
            capped.read()
        assert str(info.value).endswith("connect: poll deadline of 0.5 s reached")
