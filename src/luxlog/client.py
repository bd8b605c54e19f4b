"""Read-only client for the config interface: exact reads, a hard deadline, named retries.

One poll reads parameters, calculations and visibilities on a single connection and closes it
(connect-read-close survives controller restarts that kill long-lived sockets). Each attempt
is bounded by ``timeout`` and the whole poll, retries and back-off included, by ``deadline``,
so a controller that accepts and never answers, or trickles bytes, cannot hold a cron job
past its slot. Retries (``retry.RetryPolicy``: tenacity, exponential back-off with jitter)
cover network errors, timeouts and a busy controller only; a malformed reply is a
``ProtocolError`` and is never retried, because reading it again would not make it right and
must never yield a shifted sample.

There is deliberately no method that writes, and ``protocol`` can only encode read requests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from luxlog.errors import AttemptError, ControllerBusy, DeviceError, ProtocolError
from luxlog.errors import PollFailed as PollFailed  # documented as luxlog.client.PollFailed
from luxlog.logs import Logger
from luxlog.protocol import (
    BLOCK_NAMES,
    CMD_READ_CALCULATIONS,
    CMD_READ_PARAMETERS,
    CMD_READ_VISIBILITIES,
    DeadlineReader,
    check_stat,
    encode_request,
    read_block,
)
from luxlog.retry import MIN_ATTEMPT_SEC, RetryPolicy
from luxlog.sample import Sample

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from tenacity import RetryCallState

    from luxlog.config import Config

    # (family, type, proto, sockaddr) of each address, as getaddrinfo gives them
    Addresses = list[tuple[int, int, int, tuple[Any, ...]]]

log = Logger("luxlog.client")  # logging is imported only for a record it emits


class PollOutcome:
    """What one poll did: the sample on success, and always the attempts and duration.

    A plain slotted class: a frozen dataclass costs every cron poll ~0.5 ms to build.
    """

    __slots__ = ("attempts", "duration", "error", "sample")

    def __init__(
        self, sample: Sample | None, attempts: int, duration: float, error: str | None = None
    ) -> None:
        self.sample = sample
        self.attempts = attempts
        self.duration = duration
        self.error = error

    def _key(self) -> tuple[Sample | None, int, float, str | None]:
        return (self.sample, self.attempts, self.duration, self.error)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, PollOutcome) else NotImplemented

    def __hash__(self) -> int:  # as the frozen dataclass's
        return hash(self._key())

    def __repr__(self) -> str:
        return "PollOutcome(sample={!r}, attempts={!r}, duration={!r}, error={!r})".format(
            *self._key()
        )


class HeatPumpClient:
    """Read-only client: ``read()`` returns a raw sample, ``get_all_sensors()`` decoded values."""

    def __init__(
        self,
        host: str,
        port: int = 8889,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        # Overall budget of one poll (the interval minus a margin, from the config).
        self.retry = retry or RetryPolicy(
            retries + 1, deadline if deadline is not None else timeout * (retries + 1)
        )
        self.clock = clock
        # Progress of the poll in hand, for the record of one that a signal cuts short.
        self.phase = "starting"
        self.attempts = 0
        self.started: float | None = None

    @property
    def deadline(self) -> float:
        return self.retry.deadline

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _bound(self, poll_deadline: float) -> tuple[float, str]:
        """This attempt's deadline and, in words, what reaching it means."""
        own = time.monotonic() + self.timeout
        if own < poll_deadline:
            return own, f"no answer within the attempt timeout of {self.timeout:g} s"
        return poll_deadline, f"poll deadline of {self.deadline:g} s reached"

    def _attempt(self, poll_deadline: float, resolver: _Resolver) -> Sample:
        attempt_deadline, reached = self._bound(poll_deadline)
        try:
            self.phase = "name resolution"
            addresses = resolver.result(attempt_deadline, reached)
            self.phase = "connect"
            with _connect(addresses, attempt_deadline, reached) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                reader = DeadlineReader(sock, attempt_deadline, self.timeout, reached)
                blocks = {}
                for cmd in (CMD_READ_PARAMETERS, CMD_READ_CALCULATIONS, CMD_READ_VISIBILITIES):
                    self.phase = f"reading {cmd} ({BLOCK_NAMES[cmd]})"
                    sock.settimeout(max(reader.remaining(), 0.01))
                    sock.sendall(encode_request(cmd))
                    blocks[cmd] = read_block(reader, cmd)
                calcs = blocks[CMD_READ_CALCULATIONS]
                # The payload of a busy reply is still complete, but the controller is
                # mid-change: FHEM and node-luxtronik2 discard it and retry, and so do we.
                check_stat(calcs.stat)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.phase}: {exc}") from exc
        except ControllerBusy as exc:
            raise ControllerBusy(f"{self.phase}: {exc}") from exc
        except OSError as exc:
            raise AttemptError(self.phase, exc, _describe(exc)) from exc
        self.phase = "storing"
        return Sample.read_at(
            self.clock(),
            calcs.stat,
            blocks[CMD_READ_PARAMETERS].values,
            calcs.values,
            blocks[CMD_READ_VISIBILITIES].values,
        )

    def read(self) -> PollOutcome:
        """One poll with retries; raises ``PollFailed`` on failure."""
        start = self.started = time.monotonic()
        self.attempts = 0
        resolver = _Resolver(self.host, self.port)

        def attempt() -> Sample:
            self.attempts += 1
            if start + self.deadline - time.monotonic() < MIN_ATTEMPT_SEC:
                raise TimeoutError(
                    f"poll deadline of {self.deadline:g} s reached before attempt "
                    f"{self.attempts} could start"
                )
            return self._attempt(start + self.deadline, resolver)

        try:
            sample = self.retry.call(attempt, start, self._before_sleep)
        except (OSError, DeviceError) as exc:
            raise self._failed(exc, time.monotonic() - start) from exc
        elapsed = time.monotonic() - start
        log.debug("%s read in %.3f s (%d attempts)", self.where, elapsed, self.attempts)
        return PollOutcome(sample, self.attempts, elapsed)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.phase = "waiting to retry"
        log.warning(
            "%s attempt %d/%d failed after %.2f s: %s; retrying in %.1f s",
            self.where,
            state.attempt_number,
            self.retry.attempts,
            time.monotonic() - (self.started or 0.0),
            _describe(exc),
            wait,
        )

    def _failed(self, exc: OSError | DeviceError, elapsed: float) -> PollFailed:
        """The poll's one error, logged: a malformed reply says so and was not retried."""
        attempts, total = self.attempts, self.retry.attempts
        if isinstance(exc, ProtocolError):
            log.error("%s attempt %d/%d: %s (not retried)", self.where, attempts, total, exc)
            return PollFailed(
                f"{self.where}: invalid reply: {exc} (attempt {attempts}, {elapsed:.1f} s)",
                attempts,
                elapsed,
            )
        log.error(
            "%s attempt %d/%d failed after %.2f s: %s",
            self.where,
            attempts,
            total,
            elapsed,
            _describe(exc),
        )
        return PollFailed(
            f"{self.where}: controller not readable after {attempts} attempt"
            f"{'s' if attempts != 1 else ''} in {elapsed:.1f} s: {_describe(exc)}",
            attempts,
            elapsed,
        )

    def read_raw(self) -> Sample:
        outcome = self.read()
        assert outcome.sample is not None
        return outcome.sample

    def get_all_sensors(self) -> dict[str, float]:
        """The decoded numeric readings (calculations) of one poll, by luxtronik name."""
        from luxlog.decode import decode_numeric

        return decode_numeric(self.read_raw().calculations)


def client_from_config(cfg: Config, retry: RetryPolicy | None = None) -> HeatPumpClient:
    """The client a poll (or doctor) uses: the configured controller, timeout and retries."""
    return HeatPumpClient(
        cfg.require_host("poll"),
        cfg.port,
        timeout=cfg.attempt_timeout,
        retry=retry or RetryPolicy.from_config(cfg),
    )


class _Resolver:
    """The host's addresses, looked up once per poll under the attempt's deadline.

    ``getaddrinfo`` cannot be given a timeout: with a resolver that never answers, glibc
    waits 5 s per server and try (34 s measured), longer than any poll deadline and past
    the cron wrapper's SIGKILL. So a host name is looked up in a daemon thread and waited for
    only as long as the attempt may last; a later attempt waits for the same lookup instead of
    starting another. An address literal needs no lookup and no thread.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._done: threading.Event | None = None
        self._found: Addresses | None = None
        self._error: OSError | DeviceError | None = None

    def _invalid(self, exc: UnicodeError) -> DeviceError:
        # The IDNA codec refuses the name (an empty label, one over 63 characters) before any
        # lookup: no retry can help, so a DeviceError (not retried), not an OSError.
        return DeviceError(f"cannot resolve host: {self.host!r} is not a valid host name ({exc})")

    def _lookup(self, done: threading.Event) -> None:
        try:
            found = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
            self._found = [(f, k, p, a) for f, k, p, _, a in found]
        except OSError as exc:
            self._error = exc
        except UnicodeError as exc:
            self._error = self._invalid(exc)
        finally:
            done.set()

    def result(self, deadline: float, reached: str) -> Addresses:
        if self._found is not None:
            return self._found
        try:
            found = socket.getaddrinfo(
                self.host, self.port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
            )
        except socket.gaierror:
            pass  # a name, not an address literal
        except UnicodeError as exc:
            raise self._invalid(exc) from exc
        else:
            self._found = [(f, k, p, a) for f, k, p, _, a in found]
            return self._found
        if self._done is None or (self._done.is_set() and self._found is None):
            self._error = None
            self._done = threading.Event()
            threading.Thread(
                target=self._lookup, args=(self._done,), name="resolve", daemon=True
            ).start()
        if not self._done.wait(max(deadline - time.monotonic(), 0.0)):
            raise TimeoutError(f"{reached} looking up {self.host}")
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found


def _connect(addresses: Addresses, deadline: float, reached: str) -> socket.socket:
    """Connect within ``deadline`` across all the host's addresses.

    ``socket.create_connection`` gives every address the full timeout, so a name with two
    unreachable addresses would take twice the budget; here they share what is left.
    """
    last: OSError = TimeoutError(reached)
    for family, kind, proto, addr in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            last = TimeoutError(reached)
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(addr)
            return sock
        except TimeoutError:
            sock.close()
            last = TimeoutError(reached)
        except OSError as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()  # a signal (Interrupted, KeyboardInterrupt) mid-connect: no leak
            raise
    raise last


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the port right? 8889, or 8888 on firmware before 1.73)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    text = str(exc) or type(exc).__name__
    return text
