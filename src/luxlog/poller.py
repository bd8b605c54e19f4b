"""One poll: read the controller, journal the raw sample (or the failed attempt).

This is the whole poll path; it imports neither the decoder nor rich nor SQLite, so a
cron-fired ``luxlog poll --once`` stays cheap (tests/test_poll.py pins the modules it imports).
"""

from __future__ import annotations

import time

from luxlog import signals
from luxlog.client import HeatPumpClient, client_from_config
from luxlog.errors import Interrupted, LuxlogError, PollFailed
from luxlog.logs import Logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from luxlog.config import Config
    from luxlog.retry import RetryPolicy
    from luxlog.signals import GracefulStop

ROUND_ERROR_PAUSE_SEC = 5.0
# A poll cut short by a signal records its attempt before it exits (gaps are never silent), but
# may wait this long at most for another process's journal lock: after the long-running poll's
# grace this still ends within 2 s of the signal, the `-k 2` of the crontab's wrappers.
INTERRUPTED_RECORD_LOCK_SEC = 0.4


def slot_of(t: float, interval: int) -> int:
    """The slot holding instant ``t`` (as ``store.slot_of``, without importing the store)."""
    return int(t // interval) * interval


class PollReport:
    """What one poll did (a plain slotted class: ``dataclasses`` costs every cron poll)."""

    __slots__ = ("attempts", "calculations", "duration", "slot", "stored")

    def __init__(
        self, slot: int, stored: bool, calculations: int, attempts: int, duration: float
    ) -> None:
        self.slot = slot
        self.stored = stored  # False: the slot already held a sample (the first one is kept)
        self.calculations = calculations
        self.attempts = attempts
        self.duration = duration


def summary(report: PollReport) -> str:
    """The one line ``luxlog poll`` prints per round."""
    from luxlog.text import format_utc

    when = format_utc(report.slot)
    verb = "stored sample" if report.stored else "slot already stored, kept the first sample"
    plural = "s" if report.attempts != 1 else ""
    return (
        f"{verb} {when} ({report.calculations} calculations, "
        f"{report.attempts} attempt{plural}, {report.duration:.2f} s)"
    )


def _journal(cfg: Config) -> str:
    from luxlog.store.journal import journal_path

    return journal_path(cfg.cache_path_text)


def _record_failure(cfg: Config, attempts: int, duration: float, error: str, now: float) -> None:
    from luxlog.store import journal

    record = journal.attempt_record(
        round(now * 1000), False, attempts, round(duration * 1000), error
    )
    journal.append(_journal(cfg), record)


def _record_interrupted(
    cfg: Config, client: HeatPumpClient, stop: Interrupted, clock: Callable[[], float]
) -> None:
    """Record the attempt a signal cut short, naming the phase it was in; never blocks long.

    Best effort within the stop's time: a journal locked by another process for longer than
    ``INTERRUPTED_RECORD_LOCK_SEC`` (or unusable) costs the record, logged, never the exit.
    """
    from luxlog.store import journal

    duration = time.monotonic() - client.started if client.started is not None else 0.0
    attempts = max(client.attempts, 1)
    error = f"{client.where}: {stop} during {client.phase} (attempt {attempts}, {duration:.1f} s)"
    # A second signal (or the long-running poll's grace alarm) must not cut the record short;
    # the record is bounded by its lock timeout.
    previous = signals.ignore_stops()
    try:
        ms = round(clock() * 1000)
        record = journal.attempt_record(ms, False, attempts, round(duration * 1000), error)
        journal.append(_journal(cfg), record, lock_seconds=INTERRUPTED_RECORD_LOCK_SEC)
        _log().error("%s; attempt recorded", error)
    except (LuxlogError, OSError) as exc:
        _log().error("%s; the attempt could not be recorded: %s", error, exc)
    finally:
        signals.restore(previous)


def _log() -> Logger:
    return Logger("luxlog.poll")  # logging is imported only for a record it emits


def poll_once(
    cfg: Config, *, retry: RetryPolicy | None = None, clock: Callable[[], float] = time.time
) -> PollReport:
    """Read once and journal the sample; raises ``PollFailed`` after recording the failure.

    No SQLite here: one record into the poll journal, one ``fdatasync`` (store/journal.py).
    """
    from luxlog.disk import warn_if_full
    from luxlog.store import journal

    warn_if_full(cfg)
    client = client_from_config(cfg, retry)
    client.clock = clock
    try:
        outcome = client.read()
    except Interrupted as stop:
        _record_interrupted(cfg, client, stop, clock)
        raise
    except PollFailed as exc:
        _record_failure(cfg, exc.attempts, exc.duration, str(exc), clock())
        raise
    sample = outcome.sample
    assert sample is not None
    row = sample.with_slot(slot_of(sample.time, cfg.interval_sec))
    record = journal.sample_record(
        row, round(clock() * 1000), outcome.attempts, round(outcome.duration * 1000)
    )
    # a stop now waits for the write: the sample in hand is kept (then 143/130 as usual)
    stored = signals.deferred(lambda: journal.append(_journal(cfg), record))
    return PollReport(row.slot, stored, len(row.calculations), outcome.attempts, outcome.duration)


def poll_forever(
    cfg: Config,
    stop: threading.Event,
    on_report: Callable[[PollReport], None],
    *,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
    error_pause: float = ROUND_ERROR_PAUSE_SEC,
    guard: GracefulStop | None = None,
) -> int:
    """Poll on the slot grid until ``stop`` is set; one bad round never ends the loop.

    ``guard`` (the CLI's signal handling) is told when a round is in hand. Returns the
    number of rounds run.
    """
    rounds = 0
    while not stop.is_set():
        now = clock()
        next_slot = slot_of(now, cfg.interval_sec) + cfg.interval_sec
        if rounds and stop.wait(max(0.0, next_slot - now)):
            break
        rounds += 1
        try:
            if guard is not None:
                guard.busy = True
            try:
                on_report(poll_once(cfg, retry=retry, clock=clock))
            finally:
                if guard is not None:
                    guard.busy = False
        except Interrupted:
            raise  # SIGTERM/SIGINT end the loop (exit 143/130), they are not a failed round
        except LuxlogError as exc:
            _log().error("poll failed: %s", exc)
        except Exception:
            import traceback

            _log().error(
                "unexpected error in poll round (continuing in %.0f s):\n%s",
                error_pause,
                traceback.format_exc().rstrip(),
            )
            if stop.wait(error_pause):
                break
    return rounds
