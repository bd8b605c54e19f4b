"""``luxlog report``: write the due daily and weekly CSV reports, or one window on demand."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from luxlog.columns import select
from luxlog.config import Config, load_config
from luxlog.disk import warn_if_full
from luxlog.errors import ConfigError, ReportError, StoreError, WindowNotClosed
from luxlog.options import ConfigOption, JsonOption
from luxlog.progress import on_terminal, progress
from luxlog.prune import csv_cutoff, prune_csv
from luxlog.report import (
    ReportRun,
    Window,
    due_reports,
    latest_closed_date,
    latest_weekly_date,
    run_on_demand,
    run_scheduled,
    window,
)
from luxlog.report_csv import watching_rows
from luxlog.store import Store

log = logging.getLogger("luxlog.report")

DATE_FORMAT = "YYYY-MM-DD"
# Window arithmetic (a week back, a day on, UTC offsets) overflows at the ends of datetime's
# range (years 1 and 9999); this range is far from both and covers any controller's life.
DATE_RANGE = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))


def parse_date(value: str | None) -> dt.date | None:
    """``--date``: a calendar date written YYYY-MM-DD (exit 2 naming the option otherwise)."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date in the format {DATE_FORMAT} (e.g. 2026-11-24)",
            param_hint="'--date'",
        ) from None
    lo, hi = DATE_RANGE
    if not lo <= day <= hi:
        raise typer.BadParameter(
            f"{value} is out of range (allowed {lo.isoformat()}..{hi.isoformat()})",
            param_hint="'--date'",
        )
    return day


# A bar only for work that takes a moment: more rows than a day at 30 s (a weekly report,
# a catch-up of several windows)
PROGRESS_MIN_ROWS = 5000


def _windows(
    cfg: Config, store: Store, now: dt.datetime, daily: bool, weekly: bool, day: dt.date | None
) -> list[Window]:
    """The windows this run will render, for the progress bar's total."""
    if not (daily or weekly or day is not None):
        return due_reports(cfg, store, now).ready
    wanted = []
    if daily or not weekly:
        wanted.append(window("daily", day or latest_closed_date(cfg, now), cfg))
    if weekly:
        wanted.append(window("weekly", day or latest_weekly_date(cfg, now), cfg))
    return wanted


def as_dict(run: ReportRun | None) -> dict[str, Any]:
    """``report --json``: every file written, windows without data or waiting, failures."""
    if run is None:  # no database yet
        return {
            "ok": True,
            "database": False,
            "written": [],
            "empty": [],
            "waiting": [],
            "failed": [],
        }
    return {
        "ok": run.ok,
        "database": True,
        "written": [
            {
                "name": w.window.name,
                "kind": w.window.kind,
                "paths": [str(p) for p in w.paths],
                "rows": w.rows,
                "expected": w.expected,
                "sha256": w.sha256,
            }
            for w in run.written
        ],
        "empty": [w.name for w in run.empty],
        "waiting": [w.name for w in run.waiting],
        "failed": [
            {"name": f.window.name, "directory": str(f.directory), "error": f.error}
            for f in run.failed
        ],
    }


def report(
    config: ConfigOption = None,
    daily: Annotated[
        bool, typer.Option("--daily", help="Write the most recent closed daily report now.")
    ] = False,
    weekly: Annotated[
        bool, typer.Option("--weekly", help="Write the most recent closed weekly report now.")
    ] = False,
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar=DATE_FORMAT,
            help="Write the report(s) whose window ends on this date (daily unless --weekly).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write to this directory instead of output_dirs (on demand: not recorded).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Write every due daily/weekly CSV report (catch-up included; safe to run often)."""
    day = parse_date(date)
    cfg = load_config(config)
    warn_if_full(cfg)
    now = dt.datetime.now(dt.UTC)
    select(cfg.columns)  # an unknown column is a configuration error (exit 2) even before data
    if not cfg.cache_path.exists():
        # Creating an empty database here would hide a mistyped cache_path.
        log.warning(
            "no database at %s yet: has 'luxlog poll' run? (check cache_path)", cfg.cache_path
        )
        typer.echo(json.dumps(as_dict(None)) if json_output else "no reports due (no database yet)")
        return
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        if store.quarantined is not None:
            # The fresh file has no samples: "no reports due" would hide a lost history.
            raise StoreError(
                f"database {cfg.cache_path} was corrupt and moved aside to "
                f"{store.quarantined}; nothing written this run (recording continues in a "
                "fresh database; the reports of the moved history can be recovered from it)"
            )
        total = 0
        if on_terminal():
            windows = _windows(cfg, store, now, daily, weekly, day)
            total = sum(w.expected_slots(cfg.interval_sec) for w in windows)
        show = total > PROGRESS_MIN_ROWS
        with progress("writing reports", total, show=show) as advance, watching_rows(advance):
            run = _write(cfg, store, now, daily, weekly, day, output)
    typer.echo(json.dumps(as_dict(run)) if json_output else run.summary())
    if not run.ok:
        raise ReportError(run.failure_message())


def _write(
    cfg: Config,
    store: Store,
    now: dt.datetime,
    daily: bool,
    weekly: bool,
    day: dt.date | None,
    output: Path | None,
) -> ReportRun:
    """The run itself: on demand (the core's refusals worded with the options), or
    scheduled with its prune hook."""
    if daily or weekly or day is not None:
        if day is not None and day < csv_cutoff(cfg, now) and output is None:
            log.warning(
                "the window ending %s is older than retention_days (%d): the next scheduled "
                "prune deletes its file; use --output DIR to keep a copy elsewhere",
                day.isoformat(),
                cfg.retention_days,
            )
        try:
            return run_on_demand(cfg, store, now, daily, weekly, day, output)
        except WindowNotClosed as exc:
            raise ConfigError(f"--date: {exc} (give a date whose csv_time has passed)") from None
    run = run_scheduled(cfg, store, now, output)
    # prune hook, scheduled runs only (as the original service did): expired CSVs and stale
    # temp files go right after writing. An on-demand report is never deleted by the run that
    # wrote it. "Today" is capped by the newest sample: a clock far ahead cannot expire files.
    prune_csv(cfg, now, newest=store.newest_slot())
    return run
