"""Crontab lines read with supercronic's rules, and the fire times they give.

supercronic's ``crontab.parseJobLine`` tries 7, then 6, then 5 fields with
``cronexpr.ParseStrict``; 7 fields are second minute hour day month weekday year, and with 6
the last is the YEAR, not seconds. Only the subset of cronexpr the project's crontab may use.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

# (name, lowest, highest) per field of the full seven-field form (gorhill/cronexpr).
SEVEN_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),  # 7 is Sunday, like 0
    ("year", 1970, 2099),
)
SHORTHANDS = {
    "@yearly": "0 0 0 1 1 * *",
    "@annually": "0 0 0 1 1 * *",
    "@monthly": "0 0 0 1 * * *",
    "@weekly": "0 0 0 * * 0 *",
    "@daily": "0 0 0 * * * *",
    "@hourly": "0 0 * * * * *",
}
_ITEM = re.compile(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?")


class CronSyntaxError(ValueError):
    pass


def parse_field(text: str, lo: int, hi: int) -> frozenset[int]:
    """The subset of cronexpr used here: ``*``, ``n``, ``n-m``, ``/step`` on each, lists."""
    values: set[int] = set()
    for item in text.split(","):
        m = _ITEM.fullmatch(item)
        if not m:
            raise CronSyntaxError(f"unsupported or invalid cron field item {item!r}")
        base, step = m.group(1), int(m.group(2) or 1)
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            first, last = (int(x) for x in base.split("-"))
        else:
            first = int(base)
            last = hi if m.group(2) else first
        if not lo <= first <= last <= hi or step < 1:
            raise CronSyntaxError(f"cron field item {item!r} is outside {lo}-{hi}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    text: str
    second: frozenset[int]
    minute: frozenset[int]
    hour: frozenset[int]
    day: frozenset[int]
    month: frozenset[int]
    weekday: frozenset[int]
    year: frozenset[int]
    day_star: bool
    weekday_star: bool

    def matches_date(self, d: dt.date) -> bool:
        if d.year not in self.year or d.month not in self.month:
            return False
        dom = d.day in self.day
        cron_weekday = d.isoweekday() % 7  # Sunday 0
        dow = cron_weekday in self.weekday or (cron_weekday == 0 and 7 in self.weekday)
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow  # classic cron: both restricted means either

    def fire_times(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Every instant in [start, end) (UTC) the schedule fires at."""
        out = []
        day = start.date()
        while day <= end.date():
            if self.matches_date(day):
                midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
                for h in sorted(self.hour):
                    for mi in sorted(self.minute):
                        for s in sorted(self.second):
                            t = midnight + dt.timedelta(hours=h, minutes=mi, seconds=s)
                            if start <= t < end:
                                out.append(t)
            day += dt.timedelta(days=1)
        return out


def parse_schedule(text: str) -> Schedule:
    """cronexpr's rule: 7 fields as is; 6 get a 0 second prepended (the sixth field is the
    year); 5 get a 0 second prepended and a ``*`` year appended."""
    fields = SHORTHANDS.get(text, text).split()
    if len(fields) == 6:
        fields = ["0", *fields]
    elif len(fields) == 5:
        fields = ["0", *fields, "*"]
    elif len(fields) != 7:
        raise CronSyntaxError(f"{len(fields)} fields")
    sets = {
        name: parse_field(f, lo, hi) for f, (name, lo, hi) in zip(fields, SEVEN_FIELDS, strict=True)
    }
    return Schedule(text=text, day_star=fields[3] == "*", weekday_star=fields[5] == "*", **sets)


@dataclass(frozen=True)
class Job:
    line: str
    schedule: Schedule
    command: str


def parse_job_line(line: str) -> Job:
    """Like supercronic's ``parseJobLine``: the first of 7, 6, 5, 1 leading fields that
    parses strictly is the schedule, the rest of the line (as written) the command."""
    tokens = list(re.finditer(r"\S+", line))
    for count in (7, 6, 5, 1):
        if len(tokens) <= count:
            continue
        try:
            schedule = parse_schedule(line[: tokens[count - 1].end()])
        except CronSyntaxError:
            continue
        return Job(line, schedule, line[tokens[count].start() :])
    raise CronSyntaxError(f"bad crontab line: {line!r}")


def parse_crontab(text: str) -> tuple[dict[str, str], list[Job]]:
    """(environment lines, jobs), with supercronic's line classification."""
    env: dict[str, str] = {}
    jobs = []
    for raw in text.splitlines():
        line = raw.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([^\s=]+)\s*=\s*(.*)", line)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        jobs.append(parse_job_line(line))
    return env, jobs


def period_seconds(schedule: Schedule) -> float:
    """The shortest gap between two consecutive runs over two simulated days (UTC)."""
    start = dt.datetime(2026, 10, 24, tzinfo=dt.UTC)  # includes Europe's autumn DST change
    times = schedule.fire_times(start, start + dt.timedelta(days=2))
    assert len(times) >= 2, f"{schedule.text!r} fires less than twice in two days"
    return min((b - a).total_seconds() for a, b in itertools.pairwise(times))
