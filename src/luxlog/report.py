"""Report windows, what is due, CSV rendering, and atomic writes to every output directory.

**Windows.** The daily report for date D covers the local interval [D−1 ``csv_time``,
D ``csv_time``) in the configured time zone, the weekly one [D−7 ``csv_time``, D ``csv_time``).
Both boundaries are built as local wall-clock times and converted to UTC; all arithmetic after
that is in UTC epoch seconds (never "now minus 24 hours"), so a local day has 23, 24 or 25
hours and a week over a DST change 167 or 169. Because day D's end and day D+1's start are the
same computation, consecutive windows always tile without gap or overlap.

*DST gap and fold.* A ``csv_time`` that does not exist on a spring-forward day (02:30 in
Europe/Berlin on 29 March 2026) is read with the offset in force before the change, which puts
the boundary one gap later on the wall clock (03:30 CEST), i.e. at the same instant as 01:30 UTC.
A ``csv_time`` that occurs twice on a fall-back day (02:30 on 25 October 2026) means its
*first* occurrence (02:30 CEST). This is Python's ``fold=0`` (PEP 495) and never fails.

**What is due** (``pending_reports``): every daily window, and every weekly window ending on
``weekly_day``, that has closed (its end ≤ now), whose date is within ``retention_days`` of
today (the same cut-off ``prune`` applies, so luxlog never writes a file prune would delete),
that ends after the first sample in the database (the logger was not running before that), and
that is not recorded as written. Running ``report`` every 15 minutes is therefore harmless, and
a run after an outage catches up every missed report. A window without any sample writes no
file and logs a WARNING once: it is recorded with 0 rows and no paths, so it is not warned about
again every 15 minutes (``--date`` still rewrites it on demand).

*A clock ahead of the data.* "Today" for retention is the earlier of the clock and the newest
stored sample (``prune.csv_cutoff``), and a window that starts after the newest sample is
*waiting for data*, never written empty: nothing after it proves it really had no samples (a
clock three months ahead after a power cut, NTP not yet synced, would otherwise record months
of future windows as empty and never write them when their day really comes). When the clock
is more than ``CLOCK_AHEAD_MAX_SEC`` (a day) past the newest sample, the window the data stops
in waits too, so a wrong clock cannot record it half-filled. Waiting windows stay due; a run
logs them in one line, and each is written once samples at or after it exist. ``doctor``
leaves them out of its overdue reports and warns about the clock instead.

*Columns* are chosen from the whole window, not its first sample (``window_layout``): the
calculations-block length most samples have (a lone short or long block cannot change it), and
within it every index that some sample holds a value for.

**Writing.** Rows stream from ``Store.iter_rows`` (cache and buffer merged, so nothing waits for a
flush) straight into the temp file ``.<name>.tmp-<pid>`` of the first output directory while the
bytes are hashed; memory stays flat however long the window. The temp file is fsynced, renamed
into place and the directory fsynced, so a reader (or a ``kill -9``) sees no file or the whole
file. The other directories get a copy of those bytes, the same way. A failed directory is
retried once, then logged with the OS error (ENOSPC names the full filesystem); the other
directories still get their file, the window is not recorded (the next run retries it), and the
run reports the failure (the command exits 1). The file content depends only on the stored
samples and the config, so a re-run produces identical bytes (same sha256). A report is
recorded in the database only after every file is in place.

Stray temp files from a killed run are removed at the start of the next run when the process
that wrote them is gone (``prune`` removes any older than an hour as well).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import hashlib
import io
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar, cast
from zoneinfo import ZoneInfo

from luxlog.codec import Row
from luxlog.columns import Column, Selection, select
from luxlog.config import WEEKDAYS, Config
from luxlog.decode import ABSENT
from luxlog.disk import disk_full_error, is_disk_full
from luxlog.errors import ConfigError
from luxlog.prune import (
    CLOCK_AHEAD_MAX_SEC,
    REPORT_KINDS,
    TEMP_NAME,
    csv_cutoff,
    newest_slot,
    report_name,
    temp_name,
)
from luxlog.store import Store

log = logging.getLogger("luxlog.report")

SPAN_DAYS = {"daily": 1, "weekly": 7}
ENCODINGS = {"excel": "utf-8", "excel-de": "utf-8-sig"}  # excel-de: BOM, so Excel reads UTF-8
DELIMITERS = {"excel": ",", "excel-de": ";"}
DECIMALS = {"excel": ".", "excel-de": ","}

T = TypeVar("T")


# ------------------------------------------------------------------------------ windows


@dataclass(frozen=True)
class Window:
    """One report window: [start_utc, end_utc), named after ``date`` (the day it ends)."""

    kind: str
    date: dt.date
    start_utc: dt.datetime
    end_utc: dt.datetime

    @property
    def name(self) -> str:
        return report_name(self.kind, self.date)

    @property
    def start_epoch(self) -> int:
        return int(self.start_utc.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.end_utc.timestamp())

    @property
    def hours(self) -> float:
        return (self.end_epoch - self.start_epoch) / 3600

    def expected_slots(self, interval: int) -> int:
        """Slots (multiples of ``interval`` in epoch seconds) inside [start, end)."""
        return -(-self.end_epoch // interval) - -(-self.start_epoch // interval)

    def describe(self, tz: ZoneInfo) -> str:
        start = self.start_utc.astimezone(tz).isoformat(timespec="minutes")
        end = self.end_utc.astimezone(tz).isoformat(timespec="minutes")
        return f"{self.kind} report {self.date.isoformat()} [{start} – {end})"


def boundary(date: dt.date, cfg: Config) -> dt.datetime:
    """``csv_time`` on ``date`` in the configured zone, as an aware UTC datetime.

    ``fold=0``: a time in a DST gap takes the offset before the change (02:30 → 03:30 new
    time), a repeated time means its first occurrence.
    """
    hour, minute = cfg.csv_hour_minute
    local = dt.datetime.combine(date, dt.time(hour, minute), tzinfo=cfg.tz)
    return local.astimezone(dt.UTC)


def window(kind: str, date: dt.date, cfg: Config) -> Window:
    """The ``kind`` window ending at ``csv_time`` on ``date``."""
    if kind not in SPAN_DAYS:
        raise ValueError(f"unknown report kind {kind!r} (one of {', '.join(REPORT_KINDS)})")
    start = boundary(date - dt.timedelta(days=SPAN_DAYS[kind]), cfg)
    return Window(kind, date, start, boundary(date, cfg))


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: naive datetime {now.isoformat()} (give a time zone)")
    return now


def latest_closed_date(cfg: Config, now: dt.datetime) -> dt.date:
    """The date of the most recent daily window that has closed at ``now``."""
    today = _aware(now).astimezone(cfg.tz).date()
    return today if boundary(today, cfg) <= now else today - dt.timedelta(days=1)


def latest_weekly_date(cfg: Config, now: dt.datetime) -> dt.date:
    """The date of the most recent closed weekly window (one ending on ``weekly_day``)."""
    d = latest_closed_date(cfg, now)
    back = (d.weekday() - WEEKDAYS.index(cfg.weekly_day)) % 7
    return d - dt.timedelta(days=back)


@dataclass(frozen=True)
class Due:
    """Windows due at a run: ``ready`` to write, ``waiting`` for data (after the newest
    sample), and the newest sample's slot that split them."""

    ready: list[Window]
    waiting: list[Window]
    newest: int | None


def due_reports(cfg: Config, store: Store, now: dt.datetime) -> Due:
    """Every closed daily/weekly window within retention, after the first sample, not yet
    recorded as written; oldest first, daily before weekly on the same date. Those starting
    after the newest sample's slot are ``waiting`` (see the module docstring)."""
    first = store.first_slot()
    if first is None:
        return Due([], [], None)
    newest = newest_slot(store)
    assert newest is not None
    after = newest + cfg.interval_sec  # no sample exists at or after this instant
    # A clock far past the data may be wrong: then only a sample after a window's end proves
    # that the window has closed, and a window the data stops in waits with the later ones.
    trusted = _aware(now).timestamp() - after <= CLOCK_AHEAD_MAX_SEC
    ready: list[Window] = []
    waiting: list[Window] = []
    for w in pending_windows(cfg, store, now, first, newest):
        wait = w.start_epoch >= after or (not trusted and w.end_epoch > after)
        (waiting if wait else ready).append(w)
    return Due(ready, waiting, newest)


def pending_reports(cfg: Config, store: Store, now: dt.datetime) -> list[Window]:
    """The windows ``report`` would write now (``due_reports(...).ready``)."""
    return due_reports(cfg, store, now).ready


def pending_windows(
    cfg: Config, store: Store, now: dt.datetime, first: int, newest: int
) -> list[Window]:
    """Closed windows within retention (counted from ``newest`` when the clock is ahead),
    ending after ``first``, not recorded as written."""
    latest = latest_closed_date(cfg, now)
    day = csv_cutoff(cfg, now, newest=newest)
    done = {(r.kind, r.date) for r in store.reports()}
    weekly_day = WEEKDAYS.index(cfg.weekly_day)
    out: list[Window] = []
    while day <= latest:
        kinds = ["daily"] + (["weekly"] if day.weekday() == weekly_day else [])
        for kind in kinds:
            w = window(kind, day, cfg)
            if w.end_epoch > first and (kind, day.isoformat()) not in done:
                out.append(w)
        day += dt.timedelta(days=1)
    return out


# ------------------------------------------------------------------------------ rendering


@dataclass
class RenderStats:
    """What went into one file: rows, and the gaps between them (for the coverage line)."""

    rows: int = 0
    first_slot: int | None = None
    longest_gap: int = 0  # seconds without a sample
    gap_start: int | None = None  # epoch where that gap starts

    def _gap(self, start: int, end: int) -> None:
        if end - start > self.longest_gap:
            self.longest_gap, self.gap_start = end - start, start


def local_timestamp(slot: int, tz: ZoneInfo) -> str:
    """ISO 8601 local time with its UTC offset: the repeated hour is told apart by it."""
    return dt.datetime.fromtimestamp(slot, tz).isoformat(timespec="seconds")


def render_csv(
    rows: Iterable[Row],
    columns: Sequence[Column],
    out: TextIO,
    tz: ZoneInfo,
    dialect: str = "excel",
    interval: int = 30,
    start: int | None = None,
    end: int | None = None,
) -> RenderStats:
    """Write the header and one line per row to the text stream ``out``, streaming.

    ``start``/``end`` (epoch) let the stats count the gaps at the window's edges too.
    """
    if dialect not in DELIMITERS:
        raise ValueError(f"unknown csv dialect {dialect!r} (one of {', '.join(DELIMITERS)})")
    decimal = DECIMALS[dialect]
    writer = csv.writer(out, delimiter=DELIMITERS[dialect], lineterminator="\r\n")
    writer.writerow(["timestamp", *(c.header for c in columns)])
    stats = RenderStats()
    prev_end = start
    for row in rows:
        calcs = row.calculations
        n = len(calcs)
        writer.writerow(
            [
                local_timestamp(row.slot, tz),
                *(c.cell(calcs[c.index] if c.index < n else ABSENT, decimal) for c in columns),
            ]
        )
        if prev_end is not None:
            stats._gap(prev_end, row.slot)
        if stats.first_slot is None:
            stats.first_slot = row.slot
        stats.rows += 1
        prev_end = row.slot + interval
    if end is not None and prev_end is not None:
        stats._gap(prev_end, end)
    return stats


class _HashingWriter(io.RawIOBase):
    """Raw binary sink that hashes every byte on its way to the file."""

    def __init__(self, f: BinaryIO) -> None:
        super().__init__()
        self.f = f
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self.f.write(data)
        self.sha.update(data)
        return len(data)


# ------------------------------------------------------------------------------ files


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(directory: Path, name: str, produce: Callable[[BinaryIO], T]) -> T:
    """Create ``directory/name`` whole or not at all: temp file, fsync, rename, dir fsync."""
    make_output_dir(directory)
    tmp = directory / temp_name(name)
    try:
        with open(tmp, "wb") as f:
            result = produce(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)
    return result


class OutputDirError(OSError):
    """An output directory that is not a directory: the message says which path and why."""

    def __str__(self) -> str:
        return str(self.args[0])


def make_output_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) when missing; a file in the way is named plainly
    instead of mkdir's bare "File exists" / "Not a directory"."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next(
            (p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None
        )
        if blocker is None:
            raise
        what = "a file" if blocker.is_file() else "not a directory"
        if blocker == directory:
            text = f"output directory {directory} exists but is {what}, not a directory"
        else:
            text = f"cannot create output directory {directory}: {blocker} is {what}"
        raise OutputDirError(f"{text}; move it away or fix output_dirs") from exc


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this run has written nothing yet: a file with our pid is a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def remove_stray_temps(dirs: Iterable[Path]) -> list[Path]:
    """Delete luxlog temp files whose writer is gone (a report killed mid-write).

    "Gone" is judged by pid in this pid namespace: one luxlog (one container) per output
    directory is assumed. Two loggers sharing a directory could remove each other's
    in-flight temp file; the rename of the other writer then fails and it retries once.
    """
    removed: list[Path] = []
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # missing or unreadable: the write itself will report it
        for entry in entries:
            if not TEMP_NAME.fullmatch(entry.name):
                continue
            pid = int(entry.name.rsplit("-", 1)[1])
            if _alive(pid):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed stray temp file %s (left by a killed report run)", entry.path)
    return removed


def _describe_error(target: Path, exc: OSError) -> str:
    """The reason a write of the report file ``target`` failed, for the log and the summary."""
    if is_disk_full(exc):
        return str(disk_full_error(target))
    if isinstance(exc, OutputDirError):
        return str(exc)
    return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")


# ------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class Written:
    window: Window
    paths: tuple[Path, ...]
    rows: int
    expected: int
    sha256: str


@dataclass(frozen=True)
class Failure:
    window: Window
    directory: Path
    error: str
    disk_full: bool = False


@dataclass
class ReportRun:
    """What a run did: reports written, windows without data, directories that failed."""

    written: list[Written] = field(default_factory=list)
    empty: list[Window] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    output_dirs: tuple[Path, ...] = ()
    waiting: list[Window] = field(default_factory=list)  # after the newest sample

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line for the command: ``wrote 3 reports (a, b, c) to logs; 1 window without
        data``."""
        parts: list[str] = []
        if self.written:
            names = [w.window.name for w in self.written]
            shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            plural = "s" if len(names) != 1 else ""
            dirs = ", ".join(str(d) for d in self.output_dirs)
            parts.append(f"wrote {len(names)} report{plural} ({shown}) to {dirs}")
        elif not self.failed:
            parts.append("no reports due" if not self.empty else "wrote no reports")
        if self.waiting:
            plural = "s" if len(self.waiting) != 1 else ""
            parts.append(f"{len(self.waiting)} window{plural} waiting for data")
        if self.empty:
            plural = "s" if len(self.empty) != 1 else ""
            parts.append(f"{len(self.empty)} window{plural} without data")
        if self.failed:
            failures = ", ".join(f"{f.window.name} in {f.directory}" for f in self.failed)
            parts.append(f"failed: {failures}")
        return "; ".join(parts)

    def failure_message(self) -> str:
        """The command's error line: which directories, and why (disk full said first)."""
        by_dir: dict[Path, list[Failure]] = {}
        for f in self.failed:
            by_dir.setdefault(f.directory, []).append(f)
        reasons = []
        for directory, failures in by_dir.items():
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            reasons.append(f"{directory}: {failures[0].error}{more}")
        full = any(f.disk_full for f in self.failed)
        head = f"{len(self.failed)} report file(s) could not be written"
        if full:
            head += " (disk full)"
        return f"{head} to {'; '.join(reasons)}"


def _format_gap(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _copy_from(source: Path, f: BinaryIO) -> None:
    with open(source, "rb") as s:
        shutil.copyfileobj(s, f, 1 << 16)


def window_layout(rows: Iterable[Row]) -> tuple[int, ...] | None:
    """Calculations standing for the whole window when choosing its columns (None: no rows).

    The block length is the one most samples have (ties: the longer), so one odd sample, a
    controller answering 3004 with 5 values, cannot strip the file down to timestamps; an index
    counts as sent when any sample holds a value there. Only "sent or not" is used by
    ``Selection.resolve``, so the values are placeholders (0) or ``ABSENT``.
    """
    lengths: dict[int, int] = {}
    sent: set[int] = set()
    for row in rows:
        calcs = row.calculations
        lengths[len(calcs)] = lengths.get(len(calcs), 0) + 1
        if ABSENT in calcs:
            sent.update(i for i, v in enumerate(calcs) if v != ABSENT)
        else:
            sent.update(range(len(calcs)))
    if not lengths:
        return None
    length = max(lengths, key=lambda n: (lengths[n], n))
    return tuple(0 if i in sent else ABSENT for i in range(length))


def write_window(
    w: Window,
    cfg: Config,
    store: Store,
    selection: Selection,
    dirs: Sequence[Path],
    run: ReportRun,
    record: bool = True,
) -> None:
    """Write one window to every directory; add the outcome to ``run``."""
    tz = cfg.tz
    expected = w.expected_slots(cfg.interval_sec)
    layout = window_layout(store.iter_rows(w.start_epoch, w.end_epoch))
    if layout is None:
        newest = newest_slot(store)
        if newest is None or newest + cfg.interval_sec <= w.start_epoch:
            # Nothing after it either: it may simply not have happened yet (a clock ahead).
            log.warning(
                "%s: no samples in the window and none after it; not written, waiting for data",
                w.describe(tz),
            )
            run.waiting.append(w)
            return
        log.warning(
            "%s: no samples in the window (0 of %d slots); no file written",
            w.describe(tz),
            expected,
        )
        run.empty.append(w)
        if record:
            store.record_report(w.kind, w.date.isoformat(), [], 0, expected, "")
        return
    columns = selection.resolve(layout)
    encoding = ENCODINGS[cfg.csv_dialect]

    def render(f: BinaryIO) -> tuple[RenderStats, str]:
        sink = _HashingWriter(f)
        buffered = io.BufferedWriter(cast(Any, sink), 1 << 16)
        text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
        # A fresh iterator per attempt: a retry must not continue a half-consumed stream.
        stream = store.iter_rows(w.start_epoch, w.end_epoch)
        stats = render_csv(
            stream, columns, text, tz, cfg.csv_dialect, cfg.interval_sec, w.start_epoch,
            w.end_epoch,
        )  # fmt: skip
        text.flush()
        buffered.flush()
        text.detach()
        return stats, sink.sha.hexdigest()

    source: Path | None = None
    outcome: tuple[RenderStats, str] | None = None
    paths: list[Path] = []
    failed = False
    for directory in dirs:
        for attempt in (1, 2):
            try:
                if source is None:
                    outcome = atomic_write(directory, w.name, render)
                    source = directory / w.name
                else:
                    atomic_write(directory, w.name, functools.partial(_copy_from, source))
                paths.append(directory / w.name)
                break
            except OSError as exc:
                reason = _describe_error(directory / w.name, exc)
                if attempt == 1:
                    log.warning(
                        "%s: writing to %s failed (%s); retrying once", w.name, directory, reason
                    )
                    continue
                log.error("%s: could not write to %s: %s", w.name, directory, reason)
                run.failed.append(Failure(w, directory, reason, is_disk_full(exc)))
                failed = True
    if outcome is None:
        return  # no directory could be written
    stats, sha = outcome
    coverage = 100.0 * stats.rows / expected if expected else 100.0
    where = f" from {local_timestamp(stats.gap_start, tz)}" if stats.gap_start is not None else ""
    log.info(
        "%s: %d rows of %d slots expected (%.1f %% coverage), longest gap %s%s",
        w.describe(tz),
        stats.rows,
        expected,
        coverage,
        _format_gap(stats.longest_gap),
        where,
    )
    run.written.append(Written(w, tuple(paths), stats.rows, expected, sha))
    if record and not failed:
        store.record_report(
            w.kind, w.date.isoformat(), [str(p) for p in paths], stats.rows, expected, sha
        )


def _prepare(cfg: Config, dirs: Sequence[Path]) -> Selection:
    selection = select(cfg.columns)
    remove_stray_temps(dirs)
    return selection


def run_scheduled(
    cfg: Config, store: Store, now: dt.datetime, output: Path | None = None
) -> ReportRun:
    """Write every pending report (catch-up included) to every output directory.

    With ``output`` the pending reports go there instead and are not recorded, so the
    configured directories still get them on the next scheduled run.
    """
    dirs = _unique(cfg.output_dirs if output is None else (output,))
    selection = _prepare(cfg, dirs)
    run = ReportRun(output_dirs=tuple(dirs))
    due = due_reports(cfg, store, now)
    for w in due.ready:
        write_window(w, cfg, store, selection, dirs, run, record=output is None)
    if due.waiting:
        assert due.newest is not None
        first, last = due.waiting[0], due.waiting[-1]
        span = first.name if first is last else f"{first.name} … {last.name}"
        plural = "s" if len(due.waiting) != 1 else ""
        log.warning(
            "%d report window%s (%s) start after the newest sample (%s): waiting for data, not "
            "written; if polling is running, check this host's clock (NTP)",
            len(due.waiting),
            plural,
            span,
            local_timestamp(due.newest, cfg.tz),
        )
        run.waiting = due.waiting
    return run


def run_on_demand(
    cfg: Config,
    store: Store,
    now: dt.datetime,
    daily: bool,
    weekly: bool,
    date: dt.date | None = None,
    output: Path | None = None,
) -> ReportRun:
    """Write the most recent closed daily and/or weekly window, or those ending on ``date``.

    With neither flag, ``date`` alone means the daily window. Reports written to the configured
    directories are recorded (the scheduled run then skips them); ``output`` writes elsewhere
    and records nothing, so the configured directories still get their file when it is due.
    """
    if not daily and not weekly:
        daily = True
    if date is not None:
        close = boundary(date, cfg)
        if close > _aware(now):
            raise ConfigError(
                f"--date: the window ending {date.isoformat()} closes at "
                f"{close.astimezone(cfg.tz).isoformat(timespec='minutes')} and has not closed "
                "yet (give a date whose csv_time has passed)"
            )
    dirs = _unique(cfg.output_dirs if output is None else (output,))
    selection = _prepare(cfg, dirs)
    run = ReportRun(output_dirs=tuple(dirs))
    wanted: list[Window] = []
    if daily:
        wanted.append(window("daily", date or latest_closed_date(cfg, now), cfg))
    if weekly:
        wanted.append(window("weekly", date or latest_weekly_date(cfg, now), cfg))
    for w in wanted:
        write_window(w, cfg, store, selection, dirs, run, record=output is None)
    return run


def _unique(dirs: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[str] = set()
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
