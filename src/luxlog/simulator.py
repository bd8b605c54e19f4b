"""A protocol-exact simulated Luxtronik 2.x controller: a TCP 8889 server for a ``Model``.

``Simulator`` serves a ``Model`` (``simulator_model``: the values as a pure function of time)
on a real socket with the wire format of ``luxlog.protocol``. It accepts concurrent connections
but handles one request at a time under a single lock, like the single-threaded service on the
controller, and it can inject the failures seen in the field (refused port, silence, partial
frames, trickling bytes, segmented replies, wrong echo, absurd length, busy stat). It never acts
on a 3002 write: it logs and acknowledges it, so a test can prove that a client sent one.

The model's public names are re-exported here: ``luxlog.simulator`` is the one import for both.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType

from luxlog.decode import SENTINEL_ABSENT_SENSOR as SENTINEL_ABSENT
from luxlog.protocol import (
    CMD_READ_CALCULATIONS,
    CMD_READ_PARAMETERS,
    CMD_READ_VISIBILITIES,
    READ_COMMANDS,
    encode_response,
)
from luxlog.simulator_model import (
    DEFAULT_PROFILE,
    INSTALLED,
    PROFILES,
    YEAR,
    Model,
    Profile,
)

log = logging.getLogger("luxlog.simulator")

# The controller's "write a parameter" command. Defined here, not in ``protocol``: luxlog
# itself never sends it; the simulator answers and logs it like a real controller would.
CMD_WRITE_PARAMETER = 3002

# Every 3002 write any simulator in this process received, as (port, index, value): the test
# suite's autouse fixture proves no luxlog code path sends one (DESIGN decision 9).
WRITES_RECEIVED: list[tuple[int, int, int]] = []

FAULTS: tuple[str, ...] = (
    "refuse",  # the port refuses connections (listener closed; reopened when cleared)
    "hang",  # accept, read requests, never answer
    "stall",  # send part of a frame, then go silent
    "close",  # send part of a frame, then close
    "trickle",  # send one byte every TRICKLE_INTERVAL seconds
    "tiny-segments",  # one byte per send() with TCP_NODELAY
    "echo-split",  # command echo in its own segment, short pause, then the rest (real HW)
    "wrong-echo",  # answer with a different command number
    "absurd-length",  # announce N = 1_000_000 items
    "negative-length",  # announce N = -1
    "busy",  # 3004 stat = 1, payload still follows (BenPru issue #724)
    "short-calculations",  # 3004 with SHORT_CALCULATIONS values (half-booted firmware)
)
TRICKLE_INTERVAL = 0.2
ECHO_SPLIT_PAUSE = 0.02
PARTIAL_BYTES = 6  # stall/close: the echo plus half of the next int
ABSURD_LENGTH = 1_000_000
SHORT_CALCULATIONS = 5


def check_faults(faults: Iterable[str]) -> frozenset[str]:
    """Validate fault names; ValueError lists the allowed ones."""
    fs = frozenset(faults)
    bad = sorted(fs - set(FAULTS))
    if bad:
        raise ValueError(f"unknown fault {', '.join(bad)} (one of {', '.join(FAULTS)})")
    return fs


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0) so the peer fails at once instead of seeing a clean EOF."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Closed(Exception):
    """The peer went away or the simulator is stopping: end this connection."""


class Simulator:
    """A simulated controller serving the config interface on a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str = DEFAULT_PROFILE,
        faults: Iterable[str] = (),
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        clock_offset: float = 0.0,
        delay: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.model = Model(profile, seed, clock_offset)
        self.clock = clock
        self.delay = delay  # seconds before each reply
        self.trickle_interval = TRICKLE_INTERVAL
        self.echo_split_pause = ECHO_SPLIT_PAUSE
        self.connections = 0  # accepted connections so far
        self._faults = check_faults(faults)
        self._requests: list[tuple[int, ...]] = []
        self._log_lock = threading.Lock()
        self._lock = threading.Lock()  # one request at a time, like the controller
        self._listen_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._accept_thread: threading.Thread | None = None

    # -- public API -----------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def profile(self) -> Profile:
        return self.model.profile

    @property
    def requests(self) -> list[tuple[int, ...]]:
        """Every request received so far, e.g. ``(3004, 0)`` or ``(3002, index, value)``."""
        with self._log_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    @property
    def faults(self) -> frozenset[str]:
        return self._faults

    @faults.setter
    def faults(self, faults: Iterable[str]) -> None:
        self.set_faults(faults)

    def set_faults(self, faults: Iterable[str]) -> None:
        """Change the active faults; takes effect for the next request (refuse: at once)."""
        new = check_faults(faults)
        self._faults = new
        if self._accept_thread is None or self._stop.is_set():
            return
        if "refuse" in new:
            self._close_listener()
            for conn in self._snapshot_clients():  # a controller that went away drops them all
                self._drop(conn, reset=True)
        else:
            self._open_listener()

    def start(self) -> Simulator:
        self._open_listener()
        if "refuse" in self._faults:
            self._close_listener()  # bound once only to learn the port
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"luxlog-sim-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection; join the threads (bounded)."""
        self._stop.set()
        self._close_listener()
        for conn in self._snapshot_clients():
            self._drop(conn, reset=False)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2.0)
        for th in list(self._threads):
            th.join(timeout=2.0)

    def serve_forever(self) -> None:
        """Block until ``stop()`` (short waits so signal handlers run promptly)."""
        if self._accept_thread is None:
            self.start()
        while not self._stop.wait(0.2):
            pass

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- listener -------------------------------------------------------------------------

    def _open_listener(self) -> None:
        with self._listen_lock:
            if self._listener is not None:
                return
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
                sock.listen(16)
            except OSError:
                sock.close()
                raise
            sock.settimeout(0.1)  # the accept loop re-checks stop/refuse this often
            self.port = sock.getsockname()[1]
            self._listener = sock

    def _close_listener(self) -> None:
        with self._listen_lock:
            sock, self._listener = self._listener, None
        if sock is not None:
            # shutdown() takes a listening socket out of LISTEN at once on Linux, even while
            # the accept thread is still inside poll(); close() alone would not until it returns.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._listen_lock:
                listener = self._listener
            if listener is None:
                self._stop.wait(0.05)
                continue
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue  # timeout, or closed by refuse/stop
            if self._stop.is_set() or "refuse" in self._faults:
                _reset(conn)
                continue
            self.connections += 1
            with self._log_lock:
                self._clients.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                th = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(th)
            th.start()

    def _snapshot_clients(self) -> list[socket.socket]:
        with self._log_lock:
            return list(self._clients)

    def _drop(self, conn: socket.socket, reset: bool) -> None:
        with self._log_lock:
            self._clients.discard(conn)
        # shutdown wakes a handler blocked in recv() (close alone would not on Linux)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        if reset:
            _reset(conn)
        else:
            conn.close()

    # -- one connection -------------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            silent = False  # after "stall": keep reading and logging, never answer again
            while not self._stop.is_set():
                cmd = self._read_int(conn)
                if cmd in READ_COMMANDS:
                    arg = self._read_int(conn)
                    self._log((cmd, arg))
                    silent = silent or self._answer(conn, cmd)
                elif cmd == CMD_WRITE_PARAMETER:
                    index, value = self._read_int(conn), self._read_int(conn)
                    self._log((cmd, index, value))
                    WRITES_RECEIVED.append((self.port, index, value))
                    log.warning("simulator received a 3002 write: parameter %d <- %d", index, value)
                    silent = silent or self._answer(conn, cmd, index)
                else:
                    # No source documents the real reaction; closing is the safe choice.
                    self._log((cmd,))
                    break
        except (_Closed, OSError):
            pass
        finally:
            self._drop(conn, reset=False)

    def _log(self, entry: tuple[int, ...]) -> None:
        with self._log_lock:
            self._requests.append(entry)

    def _read_int(self, conn: socket.socket) -> int:
        buf = b""
        while len(buf) < 4:
            chunk = conn.recv(4 - len(buf))
            if not chunk:
                raise _Closed
            buf += chunk
        value: int = struct.unpack(">i", buf)[0]
        return value

    def _reply_bytes(self, cmd: int, index: int, faults: frozenset[str]) -> bytes:
        if cmd == CMD_WRITE_PARAMETER:
            data = struct.pack(">ii", cmd, index)
        else:
            params, calcs, vis = self.model.sample(self.clock())
            values = {CMD_READ_PARAMETERS: params, CMD_READ_CALCULATIONS: calcs}.get(cmd, vis)
            stat = 1 if "busy" in faults and cmd == CMD_READ_CALCULATIONS else 0
            if "short-calculations" in faults and cmd == CMD_READ_CALCULATIONS:
                values = values[:SHORT_CALCULATIONS]
            data = encode_response(cmd, values, stat)
            # N sits after the echo (and after stat for 3004)
            n_at = 8 if cmd == CMD_READ_CALCULATIONS else 4
            if "absurd-length" in faults:
                data = data[:n_at] + struct.pack(">i", ABSURD_LENGTH) + data[n_at + 4 :]
            elif "negative-length" in faults:
                data = data[:n_at] + struct.pack(">i", -1) + data[n_at + 4 :]
        if "wrong-echo" in faults:
            wrong = CMD_READ_VISIBILITIES if cmd != CMD_READ_VISIBILITIES else CMD_READ_PARAMETERS
            data = struct.pack(">i", wrong) + data[4:]
        return data

    def _answer(self, conn: socket.socket, cmd: int, index: int = 0) -> bool:
        """Send the reply as the active faults dictate; True: stay silent from now on."""
        faults = self._faults
        if "hang" in faults:
            return False  # keep reading (and logging) requests, never answer
        if self.delay > 0 and self._stop.wait(self.delay):
            raise _Closed
        with self._lock:
            data = self._reply_bytes(cmd, index, faults)
            if "close" in faults:
                conn.sendall(data[:PARTIAL_BYTES])
                raise _Closed
            if "tiny-segments" in faults:
                for i in range(len(data)):
                    conn.sendall(data[i : i + 1])
                return False
            if "echo-split" in faults:
                conn.sendall(data[:4])
                if self._stop.wait(self.echo_split_pause):
                    raise _Closed
                conn.sendall(data[4:])
                return False
            if "stall" not in faults and "trickle" not in faults:
                conn.sendall(data)
                return False
        # Slow faults run outside the lock so one sick connection cannot block a test's others.
        if "stall" in faults:
            conn.sendall(data[:PARTIAL_BYTES])
            return True
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            if self._stop.wait(self.trickle_interval):
                raise _Closed
        return False


__all__ = [
    "CMD_WRITE_PARAMETER",
    "DEFAULT_PROFILE",
    "FAULTS",
    "INSTALLED",
    "PROFILES",
    "SENTINEL_ABSENT",
    "WRITES_RECEIVED",
    "YEAR",
    "Model",
    "Profile",
    "Simulator",
    "check_faults",
    "is_loopback",
]
