"""Insight: heat, electricity, COP, compressor cycles, defrosts and hours per mode per period.

``../shared/reference/insight-metrics.md`` is the specification; each module says where it
deviates. The modules, one job each:

* ``counters``: counter deltas with resets, rollbacks, spikes and the 151–154 sign bug;
* ``day``: one local day from raw samples (``DayFigures``, additive, JSON round-trip);
* ``periods``: local days, ISO weeks, months, years, seasons; merging days into a ``Period``;
* ``render``: the table, JSON and CSV of a list of periods.

This module ties them to the store: a day's figures come from the per-day table
(``store.daily``) when its row is current, else from the samples (``Store.iter_rows``, cache and
buffer merged), and are written back once the day is *closed*: its padded window (the day ± 6 h,
for baselines and delayed counter updates) lies in the past, the cache holds samples up to its
end and none of it is still buffered, so a row never has to change because the buffer moved.
A row whose samples were added to (a late flush, an import) or computed by another version is
re-derived when read; one whose samples were pruned is kept.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import luxlog.store.daily as daily
from luxlog.summary.day import PAD_SEC, VERSION, DayFigures, compute_day
from luxlog.summary.periods import BY, Period, day_window, merge, period_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from luxlog.store import Store

__all__ = ["BY", "DayFigures", "Period", "day_figures", "summarize", "update_daily"]


def day_figures(
    store: Store,
    day: dt.date,
    tz: ZoneInfo,
    *,
    rebuild: bool = False,
    now: float | None = None,
    first_slot: int | None = None,
) -> tuple[DayFigures, bool]:
    """The figures of local ``day`` and whether they were (re)computed from the samples.

    ``first_slot``: the oldest sample anywhere (``Store.first_slot``), when the caller knows
    it; a day that ends before it has no samples to read (reading them opens the journal).
    """
    start, end = day_window(day, tz)
    lo, hi = start - PAD_SEC, end + PAD_SEC
    fp = daily.fingerprint(store.conn, lo, hi)
    row = daily.get(store.conn, tz.key, day.isoformat())
    if row is not None:
        pruned = fp.samples < row.fingerprint.samples  # history outlives the samples
        current = row.version == VERSION and row.fingerprint == fp
        if pruned or (current and not rebuild):
            return DayFigures.from_json(row.figures), False
    before_data = first_slot is not None and hi <= first_slot
    fig = compute_day(
        iter(()) if before_data else store.iter_rows(lo, hi), start, end, store.interval
    )
    if not store.readonly and _closed(store, hi, now):
        with store.transaction() as conn:
            daily.put(conn, tz.key, day.isoformat(), (start, end), VERSION, fp, fig.to_json())
    return fig, True


def _closed(store: Store, hi: int, now: float | None) -> bool:
    """Whether samples up to ``hi`` can no longer change: it is past, the cache holds samples
    up to it (else they may still come: polling stopped, a backlog) and none is buffered."""
    c = store.counts()
    past = hi <= (time.time() if now is None else now)
    reached = c.last_cached_slot is not None and c.last_cached_slot >= hi - store.interval
    return past and reached and (c.oldest_buffered is None or c.oldest_buffered >= hi)


def summarize(
    store: Store,
    first: dt.date,
    last: dt.date,
    by: str,
    tz: ZoneInfo,
    *,
    rebuild: bool = False,
    now: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Period]:
    """Periods of kind ``by`` over the local days ``first`` … ``last`` (inclusive)."""
    if by not in BY:
        raise ValueError(f"by: {by!r} is not one of {', '.join(BY)}")
    groups: dict[str, list[tuple[dt.date, DayFigures]]] = {}
    n = (last - first).days + 1
    # a long range (a dashboard's years) mostly precedes the data: those days read nothing
    oldest = store.first_slot()
    for i in range(n):
        day = first + dt.timedelta(days=i)
        fig, _ = day_figures(store, day, tz, rebuild=rebuild, now=now, first_slot=oldest)
        groups.setdefault(period_key(day, by), []).append((day, fig))
        if progress is not None:
            progress(i + 1, n)
    return [merge(key, by, days, tz) for key, days in groups.items()]


def update_daily(store: Store, tz: ZoneInfo, now: float | None = None) -> int:
    """Store every closed day not yet in the per-day table (the flush hook); returns how many.

    Starts after the newest stored day (or at the first sample), so in steady state a flush
    computes one day, once a day, and otherwise costs two index reads.
    """
    span = daily.cached_span(store.conn)
    if span is None:
        return 0
    first, last = span
    latest = daily.latest(store.conn, tz.key)
    day = (
        dt.date.fromisoformat(latest) + dt.timedelta(days=1)
        if latest
        else dt.datetime.fromtimestamp(first, tz).date()
    )
    clock = time.time() if now is None else now
    stored = 0
    while True:
        hi = day_window(day, tz)[1] + PAD_SEC
        # cheap tests first: most flushes close no day
        if hi > clock or hi - store.interval > last or not _closed(store, hi, now):
            return stored
        stored += day_figures(store, day, tz, now=now)[1]
        day += dt.timedelta(days=1)
