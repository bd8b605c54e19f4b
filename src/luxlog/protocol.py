"""The Luxtronik 2.x config-interface wire format (TCP 8889), shared by client and simulator.

Every header field is a signed 32-bit big-endian integer. Reads are ``[cmd, 0]`` requests:

* 3003 parameters    -> ``3003, N, N x int32``
* 3004 calculations  -> ``3004, stat, N, N x int32``
* 3005 visibilities  -> ``3005, N, N x int8``

These are the only commands this module can encode: luxlog is read-only toward the controller
(writes have rebooted controllers). The simulator alone knows the write command, to answer and
log it, so a test can prove no luxlog code path ever sent one.

There is no framing besides the counts, and real controllers send the command echo in its own
TCP segment, so every read here is an exact byte count under a deadline (python-luxtronik 0.3.14
silently desyncs on segmented replies and hangs on a silent peer).
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from luxlog.errors import ControllerBusy, DeviceError, ProtocolError

CMD_READ_PARAMETERS = 3003
CMD_READ_CALCULATIONS = 3004
CMD_READ_VISIBILITIES = 3005
READ_COMMANDS = (CMD_READ_PARAMETERS, CMD_READ_CALCULATIONS, CMD_READ_VISIBILITIES)

# Clients in the field cap N at 2000 (openHAB) or 10 000 (BenPru); real firmware sends < 1 200.
MAX_ITEMS = 10_000

# The shortest block any known firmware sends (reference/protocol.md §2.4): parameters 1022
# (V1.73), calculations 200 (series 1, V1.80; series 3 grew from there to 275). A shorter block
# comes from half-booted firmware (seen: 3004 with 5 values) and is a failed attempt, never a
# sample: stored, it would be the first row of a report window and leave every column but the
# timestamp empty. Visibilities: the smallest count documented is V3.78's 327, but none is
# documented for V1.73 and earlier, and a floor too high would fail every poll of such a
# controller (a ProtocolError is never retried); 100 only refuses a clearly broken block.
# Firmware before 1.73 (port 8888) is undocumented; should one really send less, the error
# names the count, and this floor is the one to lower.
MIN_ITEMS = {3003: 1022, 3004: 200, 3005: 100}

BLOCK_NAMES = {
    CMD_READ_PARAMETERS: "parameters",
    CMD_READ_CALCULATIONS: "calculations",
    CMD_READ_VISIBILITIES: "visibilities",
}


def encode_request(cmd: int) -> bytes:
    """The 8-byte read request ``[cmd, 0]``."""
    if cmd not in READ_COMMANDS:
        raise ValueError(f"luxlog only sends read commands, not {cmd}")
    return struct.pack(">ii", cmd, 0)


def encode_response(cmd: int, values: tuple[int, ...] | list[int], stat: int = 0) -> bytes:
    """A controller's complete reply to a read command (used by the simulator)."""
    n = len(values)
    if cmd == CMD_READ_VISIBILITIES:
        return struct.pack(f">ii{n}b", cmd, n, *values)
    if cmd == CMD_READ_CALCULATIONS:
        return struct.pack(f">iii{n}i", cmd, stat, n, *values)
    if cmd == CMD_READ_PARAMETERS:
        return struct.pack(f">ii{n}i", cmd, n, *values)
    raise ValueError(f"not a read command: {cmd}")


class DeadlineReader:
    """Reads exact byte counts from a socket; no single read may outlive ``deadline``.

    ``deadline`` is a ``time.monotonic()`` instant. Each ``recv`` gets the smaller of the
    per-read timeout and the time left, so a controller that trickles one byte per second
    still cannot hold a poll past its deadline. ``deadline_reached`` says in words which bound
    the deadline is (the attempt's timeout or the whole poll's), so a timeout names its cause.
    """

    def __init__(
        self,
        sock: socket.socket,
        deadline: float,
        read_timeout: float,
        deadline_reached: str = "deadline reached",
    ) -> None:
        self.sock = sock
        self.deadline = deadline
        self.read_timeout = read_timeout
        self.deadline_reached = deadline_reached

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def read_exact(self, n: int, what: str) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = self.remaining()
            if left <= 0:
                raise TimeoutError(f"{self.deadline_reached} ({what}: {len(buf)}/{n} bytes)")
            self.sock.settimeout(min(self.read_timeout, left))
            try:
                chunk = self.sock.recv(n - len(buf))
            except TimeoutError as exc:
                # Name the bound that fired: a trickling controller runs into the deadline,
                # not into the (longer) per-read timeout.
                cause = (
                    f"no data for {self.read_timeout:g} s"
                    if self.read_timeout < left
                    else self.deadline_reached
                )
                raise TimeoutError(f"{cause} ({what}: {len(buf)}/{n} bytes)") from exc
            if not chunk:
                raise ConnectionError(
                    f"controller closed the connection while sending {what} ({len(buf)}/{n} bytes)"
                )
            buf += chunk
        return bytes(buf)

    def read_int(self, what: str) -> int:
        value: int = struct.unpack(">i", self.read_exact(4, what))[0]
        return value


@dataclass(frozen=True)
class Block:
    cmd: int
    stat: int
    values: tuple[int, ...]


def read_block(reader: DeadlineReader, cmd: int) -> Block:
    """Read one reply to ``cmd``; a wrong echo or an absurd length is a ProtocolError."""
    name = BLOCK_NAMES[cmd]
    echo = reader.read_int(f"{name} command echo")
    if echo != cmd:
        raise ProtocolError(f"controller answered command {echo} to a {cmd} ({name}) request")
    stat = reader.read_int(f"{name} status") if cmd == CMD_READ_CALCULATIONS else 0
    n = reader.read_int(f"{name} length")
    if not 0 < n <= MAX_ITEMS:
        raise ProtocolError(f"controller announced {n} {name} (allowed 1..{MAX_ITEMS})")
    if n < MIN_ITEMS[cmd]:
        raise ProtocolError(
            f"{name} block has {n} values, fewer than any known firmware ({MIN_ITEMS[cmd]}): "
            "controller still booting?"
        )
    if cmd == CMD_READ_VISIBILITIES:
        payload = reader.read_exact(n, f"{n} {name}")
        return Block(cmd, stat, struct.unpack(f">{n}b", payload))
    payload = reader.read_exact(4 * n, f"{n} {name}")
    return Block(cmd, stat, struct.unpack(f">{n}i", payload))


def check_stat(stat: int) -> None:
    """A calculations ``stat`` other than 0 means busy (FHEM and node-luxtronik2 retry)."""
    if stat != 0:
        raise ControllerBusy(f"controller busy (calculations stat {stat})")


__all__ = [
    "BLOCK_NAMES",
    "CMD_READ_CALCULATIONS",
    "CMD_READ_PARAMETERS",
    "CMD_READ_VISIBILITIES",
    "MAX_ITEMS",
    "MIN_ITEMS",
    "Block",
    "ControllerBusy",
    "DeadlineReader",
    "DeviceError",
    "check_stat",
    "encode_request",
    "encode_response",
    "read_block",
]
