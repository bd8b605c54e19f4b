"""Report windows, what is due, and a run: render each window, place it, record it.

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
again every 15 minutes (a report asked for by its date still rewrites it).

*A clock ahead of the data.* "Today" for retention is the earlier of the clock and the newest
stored sample (``prune.csv_cutoff``), and a window that starts after the newest sample is
*waiting for data*, never written empty: nothing after it proves it really had no samples (a
clock three months ahead after a power cut, NTP not yet synced, would otherwise record months
of future windows as empty and never write them when their day really comes). When the clock
is more than ``CLOCK_AHEAD_MAX_SEC`` (a day) past the newest sample, the window the data stops
in waits too, so a wrong clock cannot record it half-filled. Waiting windows stay due; a run
logs them in one line, and each is written once samples at or after it exist. ``doctor``
leaves them out of its overdue reports and warns about the clock instead.

**Running.** Each due window is rendered (``report_csv``), placed in every output directory
(``report_files``) and recorded in the database only after every file is in place. A directory
that failed twice leaves the window unrecorded (the next run retries it) and the run reports
the failure (the command exits 1). With ``html_reports`` each window also gets its
self-contained ``.html`` twin (``report_html``) in every directory, recorded with the CSV.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from luxlog.columns import Column, Selection, select
from luxlog.config import WEEKDAYS, Config
from luxlog.errors import WindowNotClosed
from luxlog.prune import CLOCK_AHEAD_MAX_SEC, csv_cutoff
from luxlog.report_csv import RenderStats, local_timestamp, window_layout, write_csv
from luxlog.report_files import (
    REPORT_KINDS,
    place,
    remove_stray_temps,
    report_name,
    unique_dirs,
)
from luxlog.store import Store
from luxlog.text import format_duration

log = logging.getLogger("luxlog.report")

SPAN_DAYS = {"daily": 1, "weekly": 7}


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
    newest = store.newest_slot()
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


def _no_rows(w: Window, cfg: Config, store: Store, run: ReportRun, record: bool) -> None:
    """A window without samples: waiting for data when none came after it either, else
    empty (recorded with 0 rows, so it is warned about once)."""
    tz = cfg.tz
    expected = w.expected_slots(cfg.interval_sec)
    newest = store.newest_slot()
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


def render(
    w: Window, cfg: Config, store: Store, columns: Sequence[Column]
) -> Callable[[BinaryIO], tuple[RenderStats, str]]:
    """What writes ``w``'s CSV into a file and returns its stats and sha256."""

    def produce(f: BinaryIO) -> tuple[RenderStats, str]:
        # A fresh iterator per attempt: a retry must not continue a half-consumed stream.
        rows = store.iter_rows(w.start_epoch, w.end_epoch)
        return write_csv(
            f, rows, columns, cfg.tz, cfg.csv_dialect, cfg.interval_sec, w.start_epoch,
            w.end_epoch,
        )  # fmt: skip

    return produce


def record(
    w: Window,
    cfg: Config,
    store: Store,
    paths: Sequence[Path],
    stats: RenderStats,
    sha: str,
    run: ReportRun,
    to_store: bool,
) -> None:
    """Log the file's coverage, add it to ``run`` and (``to_store``) to the database."""
    tz = cfg.tz
    expected = w.expected_slots(cfg.interval_sec)
    coverage = 100.0 * stats.rows / expected if expected else 100.0
    where = f" from {local_timestamp(stats.gap_start, tz)}" if stats.gap_start is not None else ""
    log.info(
        "%s: %d rows of %d slots expected (%.1f %% coverage), longest gap %s%s",
        w.describe(tz),
        stats.rows,
        expected,
        coverage,
        format_duration(stats.longest_gap),
        where,
    )
    run.written.append(Written(w, tuple(paths), stats.rows, expected, sha))
    if to_store:
        store.record_report(
            w.kind, w.date.isoformat(), [str(p) for p in paths], stats.rows, expected, sha
        )


def write_window(
    w: Window,
    cfg: Config,
    store: Store,
    selection: Selection,
    dirs: Sequence[Path],
    run: ReportRun,
    record_it: bool = True,
) -> None:
    """Write one window to every directory (render, place, record); add the outcome to
    ``run``. Recorded only when every directory got its file."""
    layout = window_layout(store.iter_rows(w.start_epoch, w.end_epoch))
    if layout is None:
        _no_rows(w, cfg, store, run, record_it)
        return
    placed = place(dirs, w.name, render(w, cfg, store, selection.resolve(layout)))
    run.failed.extend(Failure(w, f.directory, f.error, f.disk_full) for f in placed.failed)
    if placed.result is None:
        return  # no directory could be written
    stats, sha = placed.result
    paths, ok = list(placed.paths), not placed.failed
    if cfg.html_reports:  # the window's charts beside the CSV, recorded and expired with it
        html = place(dirs, report_name(w.kind, w.date, "html"), render_html(w, cfg, store))
        run.failed.extend(Failure(w, f.directory, f.error, f.disk_full) for f in html.failed)
        paths, ok = paths + html.paths, ok and not html.failed
    record(w, cfg, store, paths, stats, sha, run, record_it and ok)


def render_html(w: Window, cfg: Config, store: Store) -> Callable[[BinaryIO], int]:
    """What writes ``w``'s self-contained HTML report into a file (``report_html``)."""
    from luxlog.report_html import render as html_page  # only with html_reports: true

    def produce(f: BinaryIO) -> int:
        days = SPAN_DAYS[w.kind]
        return f.write(html_page(cfg, store, w.kind, w.date, w.start_epoch, w.end_epoch, days))

    return produce


def _start(cfg: Config, output: Path | None) -> tuple[list[Path], Selection, ReportRun]:
    """The run's directories (``output`` instead of ``output_dirs``), columns and result."""
    dirs = unique_dirs(cfg.output_dirs if output is None else (output,))
    selection = select(cfg.columns)
    if cfg.html_reports:
        from luxlog.report_html import check_assets

        check_assets()  # a package without the chart library fails before any file is written
    remove_stray_temps(dirs)
    return dirs, selection, ReportRun(output_dirs=tuple(dirs))


def run_scheduled(
    cfg: Config, store: Store, now: dt.datetime, output: Path | None = None
) -> ReportRun:
    """Write every pending report (catch-up included) to every output directory.

    With ``output`` the pending reports go there instead and are not recorded, so the
    configured directories still get them on the next scheduled run.
    """
    dirs, selection, run = _start(cfg, output)
    due = due_reports(cfg, store, now)
    for w in due.ready:
        write_window(w, cfg, store, selection, dirs, run, record_it=output is None)
    if due.ready:  # a daily or weekly file was due: the month's summary follows (report_monthly)
        from luxlog.report_monthly import write_monthly

        failed = {f.directory for f in run.failed}  # retried with their reports next run
        ok_dirs = [d for d in dirs if d not in failed]
        write_monthly(cfg, store, now, ok_dirs, csv_cutoff(cfg, now, newest=store.newest_slot()))
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
    A ``date`` whose window has not closed yet raises ``WindowNotClosed``.
    """
    if not daily and not weekly:
        daily = True
    if date is not None:
        close = boundary(date, cfg)
        if close > _aware(now):
            raise WindowNotClosed(
                f"the window ending {date.isoformat()} closes at "
                f"{close.astimezone(cfg.tz).isoformat(timespec='minutes')} and has not closed "
                "yet"
            )
    dirs, selection, run = _start(cfg, output)
    wanted: list[Window] = []
    if daily:
        wanted.append(window("daily", date or latest_closed_date(cfg, now), cfg))
    if weekly:
        wanted.append(window("weekly", date or latest_weekly_date(cfg, now), cfg))
    for w in wanted:
        write_window(w, cfg, store, selection, dirs, run, record_it=output is None)
    return run
