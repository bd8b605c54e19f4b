"""The ``/api/health`` object: poll success and gaps per local day, the backlog, the disk,
the reports written and the last poll, from the store's own records (read-only).

A day's ``expected`` counts the slots from local midnight (or the first sample ever, if later)
to the day's end (or now, for today); ``ok`` the slots holding a sample, ``failed`` the failed
poll attempts recorded that day; ``longest_gap_min`` the longest run of missing slots.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from luxlog.config import Config
from luxlog.disk import disk_usage, existing_ancestor
from luxlog.errors import QueryError
from luxlog.store import Store, slot_at_or_after
from luxlog.summary.periods import day_window
from luxlog.text import format_utc

MAX_DAYS = 90
DEFAULT_DAYS = 7
REPORTS_SHOWN = 20


def parse_days(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_DAYS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        raise QueryError(f"days: {text[:20]!r} is not a whole number in 1..{MAX_DAYS}")
    return int(text)


def _longest_run(expected: range, present: set[int]) -> int:
    longest = run = 0
    for slot in expected:
        run = 0 if slot in present else run + 1
        longest = max(longest, run)
    return longest


def _days(store: Store, cfg: Config, days: int, now: float) -> list[dict[str, Any]]:
    interval, tz = cfg.interval_sec, cfg.tz
    today = dt.datetime.fromtimestamp(now, tz).date()
    first_sample = store.first_slot()
    lo_all = day_window(today - dt.timedelta(days=days - 1), tz)[0]
    attempts = store.attempts_since(lo_all)
    out = []
    for i in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=i)
        lo, hi = day_window(day, tz)
        start = slot_at_or_after(
            max(lo, first_sample if first_sample is not None else hi), interval
        )
        end = slot_at_or_after(min(hi, now), interval)
        expected = range(start, end, interval) if start < end else range(0)
        present = set(store.slots(start, end)) if expected else set()
        failed = sum(1 for a in attempts if lo <= a.at < hi and not a.ok)
        out.append(
            {
                "date": day.isoformat(),
                "expected": len(expected),
                "ok": len(present),
                "failed": failed,
                "coverage_pct": round(100 * len(present) / len(expected), 1) if expected else None,
                "longest_gap_min": round(_longest_run(expected, present) * interval / 60, 1),
            }
        )
    return out


def _disk(cfg: Config) -> dict[str, Any]:
    path = existing_ancestor(cfg.cache_path)
    u = disk_usage(path)
    return {
        "path": str(path),
        "free_bytes": u.avail,
        "total_bytes": u.used + u.avail,
        "used_pct": round(u.percent, 1),
    }


def _last_poll(store: Store, now: float) -> dict[str, Any]:
    last_ok = store.last_success()
    recent = store.attempts_since(now - 86400)
    last = recent[-1] if recent else None
    return {
        "time": format_utc(last_ok) if last_ok is not None else None,
        "age_s": round(now - last_ok, 1) if last_ok is not None else None,
        "last_attempt": format_utc(last.at) if last is not None else None,
        "last_attempt_ok": last.ok if last is not None else None,
        "last_error": next((a.error for a in reversed(recent) if not a.ok), None),
    }


def health(store: Store | None, cfg: Config, days: int, now: float) -> dict[str, Any]:
    """The ``/api/health`` object for the last ``days`` local days (today included)."""
    if store is None:
        return {
            "days": [],
            "backlog": {"buffered": 0, "oldest": None, "age_s": None},
            "disk": _disk(cfg),
            "reports": [],
            "last_poll": {
                "time": None,
                "age_s": None,
                "last_attempt": None,
                "last_attempt_ok": None,
                "last_error": None,
            },
        }
    counts = store.counts()
    oldest = counts.oldest_buffered
    reports = sorted(store.reports(), key=lambda r: r.written_at)[-REPORTS_SHOWN:]
    return {
        "days": _days(store, cfg, days, now),
        "backlog": {
            "buffered": counts.buffered,
            "oldest": format_utc(oldest) if oldest is not None else None,
            "age_s": round(now - oldest, 1) if oldest is not None else None,
        },
        "disk": _disk(cfg),
        "reports": [
            {
                "file": next(iter(r.paths.splitlines()), None),  # none: the window had no data
                "window": f"{r.kind} {r.date}",
                "written": format_utc(r.written_at),
            }
            for r in reversed(reports)
        ],
        "last_poll": _last_poll(store, now),
    }
