"""Every signal set-up of luxlog in one place: SIGTERM/SIGINT become ``Interrupted``.

Three regimes: a short command (``install``: the signal raises at once and the transaction in
hand rolls back), the long-running poll (``GracefulStop``: the sample in hand gets a short
grace), and the record of a poll cut short (``ignored``: a second signal must not cut the
record itself short), plus ``deferred`` for the poll's one durable write. Import-light: on the
poll path.
"""

from __future__ import annotations

import signal
import threading

from luxlog.errors import Interrupted

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")

# SIGTERM during a round: the sample in hand gets this long to be read and stored before the
# round is abandoned (its transaction rolls back). Below the 2 s a stop must take. (A signal
# cannot interrupt SQLite waiting for another process's write lock: in the worst case, a
# flush holding the lock, the stop takes up to busy_timeout longer.)
STOP_GRACE_SEC = 1.5

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def install() -> None:
    """SIGTERM/SIGINT become ``Interrupted`` so the transaction in hand rolls back cleanly."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_interrupted)


class DeferredStop:
    """SIGTERM/SIGINT noted instead of raised, while a network client is in hand.

    An exception raised asynchronously inside a database driver can leave it holding its own
    lock or waiting, in its clean-up, for a peer that does not read (seen with psycopg
    mid-COPY: the push hung until SIGKILL). So the handler only notes the stop and runs
    ``cut`` (shut the client's socket down): the call in hand then fails at once as the
    driver's own error, through the driver's ordinary paths, and ``check()`` at the caller's
    safe points turns the noted stop into ``Interrupted`` (exit 143/130).

    Only the main thread may set handlers; elsewhere nothing is installed.
    """

    def __init__(self, cut: Callable[[], None]) -> None:
        self.signum: int | None = None
        self._cut = cut
        self._previous: dict[int, object] = {}

    def __enter__(self) -> DeferredStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        restore(self._previous)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        self._cut()

    def check(self) -> None:
        """Raise ``Interrupted`` if a stop arrived."""
        if self.signum is not None:
            raise Interrupted(self.signum)


def _ignore(signum: int, frame: object) -> None:
    pass  # the stop is already under way; what runs now is bounded by its own timeout


def ignore_stops() -> dict[int, object]:
    """Ignore SIGTERM/SIGINT and the grace alarm; returns what ``restore`` puts back.

    Only the main thread may set handlers; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, _ignore) for s in (*STOP_SIGNALS, signal.SIGALRM)}


def deferred(fn: Callable[[], T]) -> T:
    """Run ``fn`` with SIGTERM/SIGINT held back, then let a stop that arrived meanwhile in.

    For the one durable write of a poll (a journal append: a lock bounded in time, one
    ``pwrite``, one ``fdatasync``): a stop in the middle would leave neither the sample nor a
    record of the attempt. Held back, the stop raises ``Interrupted`` right after the write,
    so the sample in hand is kept and the exit code is still 143/130.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return fn()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def restore(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


class GracefulStop:
    """SIGTERM/SIGINT for the long-running poll: finish the sample in hand, then stop.

    Between rounds a signal ends the loop at once. During a round it sets the stop flag and
    arms a ``STOP_GRACE_SEC`` timer: a healthy controller answers in ~0.1 s, so the sample is
    stored; a hung one cannot hold the stop, the timer raises ``Interrupted`` and the round's
    transaction rolls back. Either way the process ends with 143/130.
    """

    def __init__(self, grace: float = STOP_GRACE_SEC) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.busy = False
        self.grace = grace

    def install(self) -> None:
        self._previous = {
            s: signal.signal(s, h)
            for s, h in (
                (signal.SIGTERM, self._on_signal),
                (signal.SIGINT, self._on_signal),
                (signal.SIGALRM, self._on_alarm),
            )
        }

    def uninstall(self) -> None:
        """Cancel the grace timer and put the previous handlers back (always, in ``finally``)."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in getattr(self, "_previous", {}).items():
            signal.signal(signum, handler)
        self._previous = {}

    def _on_signal(self, signum: int, frame: object) -> None:
        # signum first: a second signal may run this handler in the middle of the first
        first, self.signum = self.signum is None, self.signum or signum
        self.event.set()
        if not self.busy or not first:
            raise Interrupted(signum)
        signal.setitimer(signal.ITIMER_REAL, self.grace)

    def _on_alarm(self, signum: int, frame: object) -> None:
        raise Interrupted(self.signum or signal.SIGTERM)

    def finish(self) -> None:
        """After the loop: end as the signal asked (no-op when the loop ended otherwise)."""
        if self.signum is not None:
            raise Interrupted(self.signum)
