"""Health checks for ``luxlog doctor``: each returns a ``Check``; nothing here prints.

Doctor is read-only toward everything. It never writes to the controller (the client has no
write), opens the database with ``readonly=True`` (``mode=ro``: it neither migrates nor
quarantines, even a corrupt file), and tests output directories with an anonymous temporary
file that disappears when closed, so it leaves nothing behind.

A check that raises becomes a ``FAIL`` line with the error, so one broken part (a corrupt
database, an unreadable directory) never hides the others. When the configuration itself is
invalid, only the ``config`` line is produced: every other check needs it.

Thresholds, and why:

* last poll older than ``3 × interval_sec``: FAIL (one or two missed slots happen; three in a
  row mean polling has stopped); more than one interval in the future: FAIL naming this host's
  clock (a poll may finish while doctor runs, hence the slack);
* this host's clock behind the newest sample (by more than an interval), or more than
  ``CLOCK_AHEAD_MAX_SEC`` (a day) ahead of it: warn (``host clock``; report then holds back the
  windows after the data, and retention counts from the newest sample);
* controller clock drift above ``CLOCK_WARN_SEC`` (a minute): warn (FHEM calls ≤ 2 s normal;
  the CSV timestamps are this host's, so drift only matters for the controller's own logs);
* oldest unflushed sample older than ``BACKLOG_FAIL_SEC``: FAIL, above ``BACKLOG_WARN_SEC``:
  warn (flush runs every few minutes);
* a due report still missing ``REPORT_GRACE_SEC`` after its window closed: FAIL (``report``
  runs every 15 minutes, so a freshly closed window is not yet a problem);
* disk usage at or above ``disk_max_percent``: FAIL.
"""

from __future__ import annotations

import datetime as dt
import functools
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from luxlog.client import HeatPumpClient
from luxlog.config import Config, load_config
from luxlog.decode import firmware_version
from luxlog.disk import UsageFn, disk_usage, existing_ancestor, format_bytes, watched_paths
from luxlog.errors import ConfigError, DeviceError, LuxlogError
from luxlog.prune import CLOCK_AHEAD_MAX_SEC, REPORT_KINDS, newest_slot
from luxlog.store import (
    SCHEMA_VERSION,
    Store,
    WalDamage,
    damaged_wal_copies,
    scan_wal,
    slot_at_or_after,
    slot_of,
    to_epoch,
    wal_damage,
)

OK, WARN, FAIL = "ok", "warn", "FAIL"

CLOCK_INDEX = 134  # calculation 134: the controller's clock, epoch seconds
FIRMWARE_END = 91  # calculations 81–90 hold the firmware string
STALE_POLL_INTERVALS = 3
CLOCK_WARN_SEC = 60
BACKLOG_WARN_SEC = 15 * 60
BACKLOG_FAIL_SEC = 60 * 60
REPORT_GRACE_SEC = 60 * 60
GAP_WINDOW_SEC = 24 * 3600
# 8889 is the config interface from firmware ~1.73 on, 8888 before; users mix them up.
SWAPPED_PORTS = {8888: 8889, 8889: 8888}
PORT_PROBE_SEC = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"ok": bool, "checks": [{"name", "status", "detail"}]}``."""
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(sec: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    s = round(abs(sec))
    if s < 120:
        return f"{s} s"
    m = round(s / 60)
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _guard(name: str, fn: Callable[[], list[Check]]) -> list[Check]:
    """Run a check; an error it raises is that check's FAIL line, not the end of doctor."""
    try:
        return fn()
    except (LuxlogError, sqlite3.Error, OSError) as exc:
        return [Check(name, FAIL, str(exc) or type(exc).__name__)]


# ---------------------------------------------------------------------------- configuration


def check_config(cfg: Config) -> Check:
    sources = ", ".join(cfg.sources) if cfg.sources else "defaults only (no file, no LUXLOG_*)"
    where = f"{cfg.host}:{cfg.port}" if cfg.host else f"no host, port {cfg.port}"
    detail = f"valid ({sources}); {where}, every {cfg.interval_sec} s, timezone {cfg.zone_name}"
    if not cfg.timezone and cfg.zone_name in ("UTC", "Etc/UTC"):
        # Containers run in UTC: without LUXLOG_TIMEZONE, 07:00 and the CSV times are UTC.
        return Check(
            "config",
            WARN,
            detail + " (the system's; set timezone / LUXLOG_TIMEZONE for local report windows)",
        )
    return Check("config", OK, detail)


# The cron wrapper of `poll --once` (crontab, README): `timeout -s TERM -k 2 <interval - 3>`,
# so the job, SIGKILL included, ends 1 s before the next tick (supercronic skips a tick while a
# job runs). The poll's own deadline must fire well before that SIGTERM, or a dead controller
# ends every poll as "interrupted" instead of with its real error: it needs the process
# start-up (before the deadline clock starts) and the failure's record, 1 s on a small board.
WRAPPER_BELOW_INTERVAL_SEC = 3
WRAPPER_HEADROOM_SEC = 1.0


def check_schedule(cfg: Config) -> Check:
    """Warn when the interval leaves the poll deadline too close to the cron wrapper's bound.

    Doctor cannot read the crontab in use; it checks the documented rule for this interval.
    """
    bound = cfg.interval_sec - WRAPPER_BELOW_INTERVAL_SEC
    deadline = cfg.poll_deadline
    wrapper = f"timeout -s TERM -k 2 {bound} (interval - {WRAPPER_BELOW_INTERVAL_SEC} s)"
    if bound - deadline < WRAPPER_HEADROOM_SEC:
        return Check(
            "schedule",
            WARN,
            f"interval_sec {cfg.interval_sec}: the poll deadline ({deadline:g} s) is less than "
            f"{WRAPPER_HEADROOM_SEC:g} s below the cron wrapper's bound, {wrapper}: a "
            "controller that does not answer ends the poll by SIGTERM (recorded as "
            "interrupted) instead of its own deadline; use interval_sec >= 20",
        )
    return Check(
        "schedule",
        OK,
        f"poll deadline {deadline:g} s, {bound - deadline:g} s below the cron wrapper for "
        f"every {cfg.interval_sec} s: {wrapper}",
    )


# ------------------------------------------------------------------------------- controller


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _port_accepts(host: str, port: int, timeout: float) -> bool:
    """A bare TCP connect, closed at once: nothing is sent, so nothing can be written."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_controller(cfg: Config) -> list[Check]:
    """Reachability, firmware and block lengths, then the clock drift against this host."""
    if not cfg.host:
        return [
            Check(
                "controller",
                FAIL,
                "host: not configured (set 'host:' in config.yaml, LUXLOG_HOST or --host)",
            )
        ]
    client = HeatPumpClient(
        cfg.host,
        cfg.port,
        timeout=cfg.attempt_timeout,
        retries=cfg.retries,
        deadline=cfg.poll_deadline,
        backoff=False,  # doctor answers now; the poll's back-off is for riding out a blip
    )
    try:
        outcome = client.read()
    except DeviceError as exc:
        detail = str(exc)
        other = SWAPPED_PORTS.get(cfg.port)
        if (
            other is not None
            and isinstance(_root_cause(exc), ConnectionRefusedError)
            and _port_accepts(cfg.host, other, min(PORT_PROBE_SEC, cfg.attempt_timeout))
        ):
            detail += (
                f"; port {other} accepts connections: the ports look swapped (set port: {other})"
            )
        return [Check("controller", FAIL, detail)]
    sample = outcome.sample
    assert sample is not None
    calcs = sample.calculations
    lengths = (
        f"{len(sample.parameters)} parameters, {len(calcs)} calculations, "
        f"{len(sample.visibilities)} visibilities"
    )
    firmware = firmware_version(calcs) if len(calcs) >= FIRMWARE_END else ""
    plural = "s" if outcome.attempts != 1 else ""
    detail = (
        f"{client.where} answered in {outcome.duration:.2f} s ({outcome.attempts} attempt"
        f"{plural}): firmware {firmware or 'unknown'}, {lengths}"
    )
    checks = [Check("controller", OK if firmware else WARN, detail)]
    if len(calcs) <= CLOCK_INDEX:
        checks.append(Check("clock", WARN, f"only {len(calcs)} calculations: no clock (134)"))
        return checks
    drift = calcs[CLOCK_INDEX] - sample.timestamp
    if abs(drift) < 1:
        text = "in step with this host"
    else:
        text = f"{_duration(drift)} {'ahead of' if drift > 0 else 'behind'} this host"
    text = f"controller clock {text} (calculation 134: {_utc(calcs[CLOCK_INDEX])})"
    if abs(drift) > CLOCK_WARN_SEC:
        checks.append(Check("clock", WARN, f"{text}; set the controller's clock"))
    else:
        checks.append(Check("clock", OK, text))
    return checks


# ---------------------------------------------------------------------------------- database


def check_database(cfg: Config, store: Store, quick: bool) -> Check:
    path = cfg.cache_path
    try:
        if not quick:
            result = store.quick_check()
            if result != "ok":
                return Check("database", FAIL, f"{path}: integrity check failed: {result}")
        version = store.counts().schema_version
    except sqlite3.DatabaseError as exc:
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
    newest = newest_slot(store)
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


def store_checks(cfg: Config, now: float, quick: bool) -> list[Check]:
    wal: list[Check] = []
    if cfg.cache_path.exists():
        wal = _guard("wal", lambda: [check_wal(cfg)])  # first: before any connection exists
    checks = _store_checks(cfg, now, quick)
    return checks[:1] + wal + checks[1:]


def _store_checks(cfg: Config, now: float, quick: bool) -> list[Check]:
    if not cfg.cache_path.exists():
        return [
            Check(
                "database",
                FAIL,
                f"{cfg.cache_path} does not exist yet (has 'luxlog poll' ever run with this "
                "cache_path?)",
            )
        ]
    try:
        store = Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True)
    except LuxlogError as exc:
        return [Check("database", FAIL, str(exc))]
    with store:
        checks = _guard("database", lambda: [check_database(cfg, store, quick)])
        checks += _guard("last poll", lambda: [check_last_poll(cfg, store, now)])
        checks += _guard("host clock", lambda: [check_host_clock(cfg, store, now)])
        checks += _guard("gaps", lambda: [check_gaps(cfg, store, now)])
        checks += _guard("buffer", lambda: [check_buffer(store, now)])
        checks += _guard("reports", lambda: [check_reports(cfg, store, now)])
    return checks


# ------------------------------------------------------------------------------ filesystems


def check_disk(cfg: Config, usage: UsageFn) -> list[Check]:
    checks = []
    for path in watched_paths(cfg):
        name = f"disk {path}"
        try:
            u = usage(path)
        except OSError as exc:
            checks.append(Check(name, FAIL, f"cannot read disk usage: {exc}"))
            continue
        text = (
            f"{u.percent:.1f} % used on the filesystem mounted at {u.mount}, "
            f"{format_bytes(u.avail)} free (limit {cfg.disk_max_percent:g} %)"
        )
        checks.append(Check(name, FAIL if u.at_or_above(cfg.disk_max_percent) else OK, text))
    return checks


def _can_create_in(directory: Path) -> str | None:
    """None when a file can be created in ``directory``; else the reason.

    An anonymous temporary file (O_TMPFILE on Linux, else created and unlinked at once) proves
    it for real, read-only mounts and ACLs included, and leaves nothing behind.
    """
    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_output_dir(path: Path) -> Check:
    name = f"output {path}"
    if path.is_dir():
        reason = _can_create_in(path)
        if reason is None:
            return Check(name, OK, "writable")
        return Check(name, FAIL, f"not writable ({reason})")
    if path.exists() or path.is_symlink():
        return Check(name, FAIL, "exists but is not a directory")
    parent = existing_ancestor(path)
    if not parent.is_dir():
        return Check(name, FAIL, f"cannot be created: {parent} is not a directory")
    reason = _can_create_in(parent)
    if reason is None:
        return Check(name, OK, f"does not exist yet; report will create it in {parent}")
    return Check(name, FAIL, f"does not exist and cannot be created in {parent} ({reason})")


def _output_checks(path: Path) -> list[Check]:
    return [check_output_dir(path)]


# --------------------------------------------------------------------------------- together


def run_checks(
    cfg: Config,
    now: float | dt.datetime | None = None,
    *,
    quick: bool = False,
    usage: UsageFn = disk_usage,
) -> Diagnosis:
    """Every check for a loaded config; ``quick`` skips the controller and integrity check."""
    t = time.time() if now is None else to_epoch(now, "now")
    checks = [check_config(cfg)]
    if not quick:
        checks += _guard("controller", lambda: check_controller(cfg))
    checks.append(check_schedule(cfg))
    checks += store_checks(cfg, t, quick)
    checks += _guard("disk", lambda: check_disk(cfg, usage))
    for path in cfg.output_dirs:
        checks += _guard(f"output {path}", functools.partial(_output_checks, path))
    return Diagnosis(checks)


def diagnose(
    config: Path | None = None,
    now: float | dt.datetime | None = None,
    *,
    quick: bool = False,
    usage: UsageFn = disk_usage,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Diagnosis:
    """Load the configuration and run every check; an invalid config is the one FAIL line."""
    try:
        cfg = load_config(config, overrides, environ)
    except ConfigError as exc:
        return Diagnosis([Check("config", FAIL, str(exc))])
    return run_checks(cfg, now, quick=quick, usage=usage)
