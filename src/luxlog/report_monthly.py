"""``YYYY-MM_monthly-summary.csv``: one row per closed day of the month, beside the reports.

Every scheduled report run that writes a daily or weekly file also rewrites the summary of
the month the newest closed day belongs to (one row per day from the 1st to that day, the
figures of ``luxlog summary --csv``), in every output directory, atomically, in the configured
CSV dialect (delimiter and decimal separator of ``report_csv``). A file whose month ended
before the report retention cut-off (``prune.csv_cutoff``: the same rule as the daily files,
judged by the last day of the month in its name) is deleted by the same run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from luxlog.config import Config
from luxlog.report_csv import DECIMALS, DELIMITERS, ENCODINGS
from luxlog.report_files import place
from luxlog.store import Store

log = logging.getLogger("luxlog.report")

MONTHLY_NAME = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})_monthly-summary\.csv")


def monthly_name(month: dt.date) -> str:
    return f"{month:%Y-%m}_monthly-summary.csv"


def render(periods: Sequence[object], dialect: str) -> bytes:
    """The summary CSV in ``dialect``: its delimiter, its decimal separator, its encoding."""
    from luxlog.summary.render import to_csv

    text = to_csv(periods, delimiter=DELIMITERS[dialect])  # type: ignore[arg-type]
    if DECIMALS[dialect] != ".":
        # numbers only: a cell that parses as a float gets the dialect's decimal separator
        text = re.sub(r"(?<=[;\r\n])(-?\d+)\.(\d+)(?=[;\r])", rf"\1{DECIMALS[dialect]}\2", text)
    return text.encode(ENCODINGS[dialect])


def write_monthly(
    cfg: Config, store: Store, now: dt.datetime, dirs: Sequence[Path], cutoff: dt.date
) -> list[Path]:
    """Rewrite the current month's summary in every directory; delete expired ones."""
    from luxlog.summary import summarize

    tz = cfg.tz
    last = now.astimezone(tz).date() - dt.timedelta(days=1)  # the newest closed day
    first = last.replace(day=1)
    store.update_daily(cfg.zone_name, now.timestamp())
    periods = summarize(store, first, last, "day", tz, now=now.timestamp())
    data = render(periods, cfg.csv_dialect)
    placed = place(dirs, monthly_name(first), lambda f: f.write(data))
    for failure in placed.failed:
        log.error("monthly summary not written to %s: %s", failure.directory, failure.error)
    _expire(dirs, cutoff)
    return placed.paths


def _expire(dirs: Sequence[Path], cutoff: dt.date) -> None:
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            m = MONTHLY_NAME.fullmatch(entry.name)
            if m is None or not entry.is_file(follow_symlinks=False):
                continue
            year, month = int(m["year"]), int(m["month"])
            if not 1 <= month <= 12:
                continue
            month_end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            if month_end < cutoff:
                os.unlink(entry.path)
                log.info("deleted expired monthly summary %s", entry.path)
