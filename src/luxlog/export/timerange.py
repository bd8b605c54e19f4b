"""``--from`` / ``--to``: a date or a date and time, in the configured zone unless it says.

``2026-11-01`` is that local day's midnight; as ``--to`` it means the *end* of that day, so
``--from 2026-11-01 --to 2026-11-30`` is all of November. ``2026-11-01T06:30`` is local time,
``2026-11-01T06:30Z`` or ``…+01:00`` is that instant. The range is half-open ``[from, to)``.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from luxlog.errors import ConfigError

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RANGE = (dt.date(1970, 1, 2), dt.date(2099, 12, 31))
DEFAULT_SPAN = dt.timedelta(hours=24)


def parse_instant(text: str, option: str, tz: ZoneInfo, end: bool = False) -> int:
    """Epoch seconds of ``text`` (see above); a ConfigError naming ``option`` otherwise."""
    try:
        if DATE.fullmatch(text):
            day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if end else 0)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        elif DATE.match(text):
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        else:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD) or date and time "
            "(YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])"
        ) from None
    if not RANGE[0] <= moment.date() <= RANGE[1] + dt.timedelta(days=1):
        raise ConfigError(f"{option}: {text} is out of range (allowed {RANGE[0]}..{RANGE[1]})")
    return int(moment.timestamp())


def time_range(
    start: str | None, end: str | None, tz: ZoneInfo, now: dt.datetime
) -> tuple[int, int]:
    """``[from, to)`` in epoch seconds; the default is the 24 hours before ``now``."""
    hi = parse_instant(end, "--to", tz, end=True) if end else int(now.timestamp())
    lo = parse_instant(start, "--from", tz) if start else hi - int(DEFAULT_SPAN.total_seconds())
    if lo >= hi:
        raise ConfigError("--from must be before --to (the range is empty or reversed)")
    return lo, hi
