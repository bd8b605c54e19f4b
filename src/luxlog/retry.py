"""The poll's retry policy: attempts, total time, jitter and a test switch in one object.

Shaped like hynek/stamina's ``retry_context`` (STYLE.md), on tenacity: retry only the errors
named (network errors, timeouts, a busy controller), bound both the attempts and the total
time, add jitter, re-raise the original error. ``set_testing(True)`` switches every wait off,
as stamina's ``set_testing`` does; a policy built with ``waits=False`` (doctor, the demo)
answers now instead of riding out a blip.

The first attempt runs without tenacity (~6 ms of imports on every cron poll); only a
retryable failure hands over to it, replaying that failure as attempt 1, so waits, logs and
stop rules are those of a tenacity loop from the start. Import-light: on the poll path.
"""

from __future__ import annotations

import time

from luxlog.errors import ControllerBusy

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from tenacity import RetryCallState

    from luxlog.config import Config

    T = TypeVar("T")

# Never start an attempt with less time than this left: it could not finish a read anyway.
MIN_ATTEMPT_SEC = 0.25
# A busy controller is mid-change for about a second; exponential back-off would overshoot.
BUSY_WAIT_SEC = 1.0
RETRYABLE = (OSError, ControllerBusy)

_testing = False


def set_testing(on: bool) -> None:
    """Tests: no retry waits at all, whatever the policy says (stamina's switch)."""
    global _testing
    _testing = on


class RetryPolicy:
    """How one poll retries: ``attempts`` in all, within ``deadline`` seconds, with jitter."""

    __slots__ = ("attempts", "busy_wait", "deadline", "initial", "jitter", "max_wait", "waits")

    def __init__(
        self,
        attempts: int,
        deadline: float,
        *,
        waits: bool = True,
        initial: float = 1.0,
        max_wait: float = 8.0,
        jitter: float = 1.0,
        busy_wait: float = BUSY_WAIT_SEC,
    ) -> None:
        self.attempts = attempts
        self.deadline = deadline
        self.waits = waits
        self.initial = initial
        self.max_wait = max_wait
        self.jitter = jitter
        self.busy_wait = busy_wait

    @classmethod
    def from_config(cls, cfg: Config, *, waits: bool = True) -> RetryPolicy:
        """The poll's policy: ``retries`` after the first attempt, within the poll deadline."""
        return cls(cfg.retries + 1, cfg.poll_deadline, waits=waits)

    @property
    def waiting(self) -> bool:
        return self.waits and not _testing

    def wait(self, state: RetryCallState) -> float:
        if not self.waiting:
            return 0.0
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ControllerBusy):
            return self.busy_wait
        from tenacity import wait_exponential_jitter

        backoff = wait_exponential_jitter(
            initial=self.initial, max=self.max_wait, jitter=self.jitter
        )
        return float(backoff(state))

    def call(
        self,
        attempt: Callable[[], T],
        start: float,
        before_sleep: Callable[[RetryCallState], None],
    ) -> T:
        """Run ``attempt`` until it succeeds, a non-retryable error or the policy ends it.

        ``start`` is the poll's ``time.monotonic()`` start; the last error is re-raised.
        """
        try:
            return attempt()
        except RETRYABLE as first:
            return self._retry(attempt, first, start, before_sleep)

    def _retry(
        self,
        attempt: Callable[[], T],
        first: BaseException,
        start: float,
        before_sleep: Callable[[RetryCallState], None],
    ) -> T:
        from tenacity import (
            Retrying,
            retry_if_exception_type,
            stop_after_attempt,
            stop_before_delay,
            wait_none,
        )

        replay = [first]

        def attempt_or_replay() -> T:
            if replay:
                raise replay.pop()
            return attempt()

        # tenacity measures its delay from its own start: subtract the time already spent.
        budget = self.deadline - MIN_ATTEMPT_SEC - (time.monotonic() - start)
        retrying = Retrying(
            retry=retry_if_exception_type(RETRYABLE),
            stop=stop_after_attempt(self.attempts) | stop_before_delay(max(budget, 0.0)),
            wait=self.wait if self.waiting else wait_none(),
            before_sleep=before_sleep,
            reraise=True,
            sleep=time.sleep,
        )
        return retrying(attempt_or_replay)
