"""Checks that read the database, read-only: ``database``, ``wal``, ``last poll``,
``host clock``, ``gaps``, ``buffer``, ``reports`` and ``yesterday`` (the day's summary line);
``store_checks`` runs them in order."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from luxlog.config import Config
from luxlog.doctor.diagnosis import FAIL, OK, WARN, Check, _guard
from luxlog.errors import LuxlogError, StoreError
from luxlog.prune import CLOCK_AHEAD_MAX_SEC
from luxlog.report_files import REPORT_KINDS
from luxlog.store import (
    SCHEMA_VERSION,
    Store,
    WalDamage,
    damaged_wal_copies,
    scan_wal,
    slot_at_or_after,
    slot_of,
    wal_damage,
)
from luxlog.store.journal import journal_path
from luxlog.text import format_bytes
from luxlog.text import format_duration as _duration
from luxlog.text import format_utc as _utc

STALE_POLL_INTERVALS = 3
BACKLOG_WARN_SEC = 15 * 60
BACKLOG_FAIL_SEC = 60 * 60
REPORT_GRACE_SEC = 60 * 60
GAP_WINDOW_SEC = 24 * 3600


def check_database(cfg: Config, store: Store, quick: bool) -> Check:
    path = cfg.cache_path
    try:
        if not quick:
            result = store.quick_check()
            if result != "ok":
                return Check("database", FAIL, f"{path}: integrity check failed: {result}")
        version = store.counts().schema_version
    except (sqlite3.DatabaseError, StoreError) as exc:
        what = "unreadable" if quick else "integrity check failed"
        return Check("database", FAIL, f"{path}: {what}: {exc}")
    size = format_bytes(store.file_size())
    integrity = "" if quick else "integrity ok, "
    if version < SCHEMA_VERSION:
        return Check(
            "database",
            WARN,
            f"{path}: {integrity}schema version {version}, the next poll or flush "
            f"migrates it to {SCHEMA_VERSION}; {size}",
        )
    return Check("database", OK, f"{path}: {integrity}schema version {version}, {size}")


def check_last_poll(cfg: Config, store: Store, now: float) -> Check:
    last = store.last_success()
    limit = STALE_POLL_INTERVALS * cfg.interval_sec
    if last is None:
        return Check("last poll", FAIL, "no successful poll recorded (is the poll job running?)")
    age = now - last
    if -age > cfg.interval_sec:  # one interval of slack: a poll may finish while doctor runs
        return Check(
            "last poll",
            FAIL,
            f"last successful poll {_utc(last)} is {_duration(age)} in the future: this host's "
            f"clock ({_utc(now)}) is behind, or was ahead when it polled; check the clock (NTP)",
        )
    text = f"last successful poll {_duration(age)} ago ({_utc(last)})"
    if age > limit:
        return Check("last poll", FAIL, f"{text}, more than {STALE_POLL_INTERVALS} intervals")
    return Check("last poll", OK, text)


def check_host_clock(cfg: Config, store: Store, now: float) -> Check:
    """This host's clock against the newest stored sample: behind it, or far ahead of it.

    Behind: samples were stored with a clock that was ahead, or the clock went back. Far ahead
    (more than ``CLOCK_AHEAD_MAX_SEC``): polling stopped that long, or the clock jumped ahead;
    either way ``report`` holds back the windows after the data and retention counts from the
    newest sample, not the clock.
    """
    newest = store.newest_slot()
    if newest is None:
        return Check("host clock", OK, f"{_utc(now)}; no samples stored yet to compare with")
    ahead = now - (newest + cfg.interval_sec)
    text = f"this host's clock {_utc(now)}, newest sample {_utc(newest)}"
    if newest - now > cfg.interval_sec:
        return Check(
            "host clock",
            WARN,
            f"{text}: the clock is {_duration(newest - now)} behind the newest sample (it went "
            "back, or was ahead when samples were stored); check the clock (NTP)",
        )
    if ahead > CLOCK_AHEAD_MAX_SEC:
        return Check(
            "host clock",
            WARN,
            f"{text}: the clock is {_duration(now - newest)} ahead of the newest sample: polling "
            "stopped that long, or the clock jumped ahead (NTP not synced?); reports after the "
            "newest sample wait for data",
        )
    return Check("host clock", OK, text)


def _missing_runs(expected: range, present: set[int]) -> Iterator[tuple[int, int]]:
    """(first missing slot, number missing) for each run of consecutive missing slots."""
    start, n = 0, 0
    for slot in expected:
        if slot in present:
            if n:
                yield start, n
            n = 0
        else:
            if not n:
                start = slot
            n += 1
    if n:
        yield start, n


def check_gaps(cfg: Config, store: Store, now: float) -> Check:
    """Failed attempts and missing slots in the last 24 h (since the first sample, if later)."""
    interval = cfg.interval_sec
    first = store.first_slot()
    failed = [a for a in store.attempts_since(now - GAP_WINDOW_SEC) if not a.ok]
    fails = ""
    if failed:
        fails = (
            f", {len(failed)} failed attempts (last at {_utc(failed[-1].at)}: {failed[-1].error})"
        )
    if first is None:
        return Check("gaps", WARN, f"last 24 h: no samples stored yet{fails}")
    lo = slot_at_or_after(max(now - GAP_WINDOW_SEC, first), interval)
    hi = slot_of(now, interval)  # the current slot may still be being polled
    expected = range(lo, hi, interval)
    present = set(store.slots(lo, hi))
    runs = list(_missing_runs(expected, present))
    missing = sum(n for _, n in runs)
    text = f"last 24 h: {len(expected) - missing} of {len(expected)} slots"
    if runs:
        first, n = max(runs, key=lambda r: (r[1], r[0]))
        text += (
            f" ({missing} missing; longest gap {_duration(n * interval)} from {_utc(first)} "
            f"to {_utc(first + n * interval)})"
        )
    text += fails or ", no failed attempts"
    return Check("gaps", WARN if runs or failed else OK, text)


def check_buffer(store: Store, now: float) -> Check:
    counts = store.counts()
    n, oldest = counts.buffered, counts.oldest_buffered
    if not n or oldest is None:
        return Check("buffer", OK, "no samples waiting to be flushed")
    age = now - oldest
    plural = "s" if n != 1 else ""
    text = f"{n} sample{plural} not yet flushed, the oldest {_duration(age)} old ({_utc(oldest)})"
    if age > BACKLOG_FAIL_SEC:
        return Check("buffer", FAIL, f"{text}: is the flush job running?")
    if age > BACKLOG_WARN_SEC:
        return Check("buffer", WARN, text)
    return Check("buffer", OK, text)


def check_reports(cfg: Config, store: Store, now: float) -> Check:
    from luxlog.report import pending_reports  # decoder and rendering: only when needed

    last = []
    for kind in REPORT_KINDS:
        written = store.reports(kind)
        last.append(f"last {kind} {written[-1].date if written else 'none'}")
    pending = pending_reports(cfg, store, dt.datetime.fromtimestamp(now, dt.UTC))
    overdue = [w for w in pending if now - w.end_epoch > REPORT_GRACE_SEC]
    text = ", ".join(last)
    if overdue:
        names = ", ".join(f"{w.kind} {w.date}" for w in overdue[:5])
        more = f" and {len(overdue) - 5} more" if len(overdue) > 5 else ""
        return Check(
            "reports",
            FAIL,
            f"{text}; {len(overdue)} due but not written: {names}{more} (is the report job "
            "running?)",
        )
    if pending:
        return Check("reports", OK, f"{text}; {len(pending)} just due (next report run)")
    return Check("reports", OK, f"{text}; none due")


def check_yesterday(cfg: Config, store: Store, now: float) -> Check:
    """Yesterday's summary line (``luxlog summary``): information, never a failure."""
    from luxlog.summary import summarize
    from luxlog.summary.render import one_line

    day = dt.datetime.fromtimestamp(now, cfg.tz).date() - dt.timedelta(days=1)
    (period,) = summarize(store, day, day, "day", cfg.tz, now=now)
    return Check("yesterday", OK, one_line(period))


def check_wal(cfg: Config) -> Check:
    """Committed samples SQLite silently skips: a damaged -wal now, or one kept by a run.

    Runs before doctor opens the database (reading the -wal file only), so nothing is
    checkpointed away first. ``PRAGMA integrity_check`` cannot see this loss, and neither can
    the attempt log: a successful poll's attempt is in the same transaction as its sample, so
    both vanish together (see ``luxlog.store``, "damaged -wal detection").
    """
    damage = wal_damage(cfg.cache_path)
    kept = damaged_wal_copies(cfg.cache_path)
    if damage is not None:
        return Check("wal", FAIL, f"{damage.describe()}; the next write will drop them for good")
    if kept:
        lost = [d for d in (_scan_kept(p) for p in kept) if d is not None]
        commits = sum(d.lost_commits for d in lost)
        return Check(
            "wal",
            FAIL,
            f"{len(kept)} damaged -wal file{'s' if len(kept) != 1 else ''} kept ({kept[-1]}"
            f"{' …' if len(kept) > 1 else ''}): {commits} committed transactions (each poll "
            "is one) were unreadable and are missing from the database; remove the file "
            "after inspection to clear this check",
        )
    return Check("wal", OK, "no committed transaction lost to a damaged -wal")


def _scan_kept(path: Path) -> WalDamage | None:
    try:
        return scan_wal(path.read_bytes(), path)
    except OSError:
        return None


def store_checks(cfg: Config, now: float, quick: bool, *, snapshot: bool = False) -> list[Check]:
    """The database-side checks; ``snapshot``: as ``luxlog serve`` reads (``Store``'s
    ``snapshot``: a read-only mount is not a failure there)."""
    wal: list[Check] = []
    if cfg.cache_path.exists():
        wal = _guard("wal", lambda: [check_wal(cfg)])  # first: before any connection exists
    checks = _store_checks(cfg, now, quick, snapshot)
    return checks[:1] + wal + checks[1:]


def _store_checks(cfg: Config, now: float, quick: bool, snapshot: bool) -> list[Check]:
    # Polls write only the journal; the database appears with the first flush.
    journal_only = not cfg.cache_path.exists() and Path(journal_path(cfg.cache_path)).exists()
    if not cfg.cache_path.exists() and not journal_only:
        return [
            Check(
                "database",
                FAIL,
                f"{cfg.cache_path} does not exist yet (has 'luxlog poll' ever run with this "
                "cache_path?)",
            )
        ]
    try:
        store = Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True, snapshot=snapshot)
    except LuxlogError as exc:
        return [Check("database", FAIL, str(exc))]
    with store:
        checks = _guard("database", lambda: [check_database(cfg, store, quick)])
        if journal_only:
            checks = [
                Check(
                    "database",
                    WARN,
                    f"{cfg.cache_path} does not exist yet: polls are in the poll journal, the "
                    "first 'luxlog flush' creates it",
                )
            ]
        checks += _guard("last poll", lambda: [check_last_poll(cfg, store, now)])
        checks += _guard("host clock", lambda: [check_host_clock(cfg, store, now)])
        checks += _guard("gaps", lambda: [check_gaps(cfg, store, now)])
        checks += _guard("buffer", lambda: [check_buffer(store, now)])
        checks += _guard("reports", lambda: [check_reports(cfg, store, now)])
        checks += _guard("yesterday", lambda: [check_yesterday(cfg, store, now)])
        if cfg.push_url:
            from luxlog.doctor.push import check_push

            checks += _guard("push", lambda: [check_push(cfg, store, now)])
    return checks
