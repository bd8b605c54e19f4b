"""``/api/summary``: the periods of ``luxlog summary --json`` for a query, read-only.

Days come from the per-day table where ``flush`` keeps them, else they are computed from the
samples (about 0.1 s a day) and not stored: the server never writes. Hence the limits: at most
``MAX_DAYS`` local days by day, ``MAX_DAYS_LONG`` for weeks and longer.

Defaults without ``from``: the last 31 days by day, 12 ISO weeks, 12 months, 5 years or 3
heating seasons, each ending with the period holding ``to`` (default today), widened to whole
periods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from luxlog.config import Config
from luxlog.errors import QueryError
from luxlog.store import Store
from luxlog.summary import BY, Period, summarize
from luxlog.summary.periods import period_start
from luxlog.summary.render import to_csv

MAX_DAYS = 400
MAX_DAYS_LONG = 3660
DEFAULT_DAYS = {"day": 31, "week": 12 * 7, "month": 366, "year": 5 * 366, "season": 3 * 366}


@dataclass(frozen=True)
class Query:
    by: str
    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class Summary:
    by: str
    periods: list[Period]

    def as_dict(self) -> dict[str, Any]:
        return {"by": self.by, "periods": [p.to_json() for p in self.periods]}

    def csv(self) -> str:
        return to_csv(self.periods)


def _date(text: str, what: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{what}: {text[:30]!r} is not a date (YYYY-MM-DD)") from None


def parse(by: str | None, start: str | None, end: str | None, today: dt.date) -> Query:
    """Check a query's ``by``, ``from`` and ``to`` (local dates, both inclusive)."""
    by = by or "day"
    if by not in BY:
        raise QueryError(f"by: {by[:20]!r} is not one of {', '.join(BY)}")
    last = _date(end, "to") if end else today
    if start:
        first = _date(start, "from")
    else:
        first = period_start(last - dt.timedelta(days=DEFAULT_DAYS[by] - 1), by)
    if first > last:
        raise QueryError(f"from ({first}) is after to ({last})")
    limit = MAX_DAYS if by == "day" else MAX_DAYS_LONG
    if (last - first).days + 1 > limit:
        raise QueryError(f"the range is {(last - first).days + 1} days; at most {limit} by {by}")
    return Query(by, first, last)


def summary(store: Store, cfg: Config, query: Query) -> Summary:
    return Summary(query.by, summarize(store, query.first, query.last, query.by, cfg.tz))
