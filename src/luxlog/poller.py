"""One poll: read the controller, store the raw sample in the buffer, log the attempt.

This is the whole poll path; it imports neither the decoder nor rich, so a cron-fired
``luxlog poll --once`` stays cheap.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from luxlog import signals
from luxlog.client import HeatPumpClient, client_from_config
from luxlog.config import Config
from luxlog.errors import CorruptError, Interrupted, LuxlogError, PollFailed
from luxlog.retry import RetryPolicy
from luxlog.signals import GracefulStop
from luxlog.store import Store, slot_of

log = logging.getLogger("luxlog.poll")

ROUND_ERROR_PAUSE_SEC = 5.0
# A poll cut short by a signal records its attempt before it exits (gaps are never silent), but
# may wait this long at most for another process's write lock: after the long-running poll's
# grace this still ends within 2 s of the signal, the `-k 2` of the crontab's wrappers.
INTERRUPTED_RECORD_BUSY_MS = 400


@dataclass(frozen=True)
class PollReport:
    slot: int
    stored: bool  # False: the slot already held a sample (the first one is kept)
    calculations: int
    attempts: int
    duration: float


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


def _store_with_recovery(cfg: Config, action: Callable[[Store], bool]) -> bool:
    """Run a write; a database found corrupt mid-way is quarantined and the write retried."""
    store = Store(cfg.cache_path, interval=cfg.interval_sec)
    try:
        return action(store)
    except CorruptError as exc:
        # Copy before closing: closing the last connection would checkpoint the -wal into
        # the damaged file and delete the -wal, changing what we keep for inspection.
        moved = store.abandon(str(exc))
        if moved is None:
            log.error("%s; another process already moved it aside, continuing in the new file", exc)
        else:
            log.error("%s; moved aside to %s, recording continues in a fresh file", exc, moved)
        store = Store(cfg.cache_path, interval=cfg.interval_sec)
        return action(store)
    finally:
        store.close()


def _record_interrupted(
    cfg: Config, client: HeatPumpClient, stop: Interrupted, clock: Callable[[], float]
) -> None:
    """Record the attempt a signal cut short, naming the phase it was in; never blocks long.

    Best effort within the stop's time: a database locked by another writer for longer than
    ``INTERRUPTED_RECORD_BUSY_MS`` (or unusable) costs the record, logged, never the exit.
    """
    duration = time.monotonic() - client.started if client.started is not None else 0.0
    attempts = max(client.attempts, 1)
    error = f"{client.where}: {stop} during {client.phase} (attempt {attempts}, {duration:.1f} s)"
    # A second signal (or the long-running poll's grace alarm) must not cut the record short;
    # the record is bounded by its busy timeout.
    previous = signals.ignore_stops()
    try:
        store = Store(cfg.cache_path, interval=cfg.interval_sec)
        try:
            store.conn.execute(f"PRAGMA busy_timeout={INTERRUPTED_RECORD_BUSY_MS}")
            store.record_failure(attempts, duration, error, now=clock())
        finally:
            store.close()
        log.error("%s; attempt recorded", error)
    except (LuxlogError, OSError, sqlite3.Error) as exc:
        log.error("%s; the attempt could not be recorded: %s", error, exc)
    finally:
        signals.restore(previous)


def poll_once(
    cfg: Config, *, retry: RetryPolicy | None = None, clock: Callable[[], float] = time.time
) -> PollReport:
    """Read once and buffer the sample; raises ``PollFailed`` after recording the failure."""
    from luxlog.disk import warn_if_full

    warn_if_full(cfg)
    client = client_from_config(cfg, retry)
    client.clock = clock
    try:
        outcome = client.read()
    except Interrupted as stop:
        _record_interrupted(cfg, client, stop, clock)
        raise
    except PollFailed as exc:
        failure = exc

        def record(store: Store) -> bool:
            store.record_failure(failure.attempts, failure.duration, str(failure), now=clock())
            return True

        _store_with_recovery(cfg, record)
        raise
    sample = outcome.sample
    assert sample is not None
    row = sample.with_slot(slot_of(sample.time, cfg.interval_sec))
    stored = _store_with_recovery(
        cfg, lambda s: s.add_row(row, (outcome.attempts, outcome.duration), now=clock())
    )
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
            log.error("poll failed: %s", exc)
        except Exception:
            import traceback

            log.error(
                "unexpected error in poll round (continuing in %.0f s):\n%s",
                error_pause,
                traceback.format_exc().rstrip(),
            )
            if stop.wait(error_pause):
                break
    return rounds
