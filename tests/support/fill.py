"""Fill a real store with the simulator's samples: the one set-up helper of the storage tests.

Samples come from ``Model`` (what a poll of the simulator would return at that instant). Left
buffered, they go in as the poll path writes them: one poll-journal record each (one write and
one sync for all of them: set-up speed). With ``flush`` they go in through ``Store.add_rows``, the
bulk path, and are flushed (a day of journal records would be 11 MB to write and read back).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from luxlog.config import Config
from luxlog.sample import Sample
from luxlog.simulator import Model
from luxlog.store import Store, journal, slot_of

Instant = dt.datetime | float | int


def model_rows(
    start: Instant,
    end: Instant | None = None,
    *,
    n: int | None = None,
    step: int = 30,
    interval: int | None = None,
    profile: str = "v3.78",
) -> list[Sample]:
    """Simulated samples every ``step`` s from the slot of ``start``: ``n`` of them, or all
    before ``end``. Slots are on the grid of ``interval`` (default: ``step``)."""
    if (end is None) == (n is None):
        raise TypeError("give exactly one of end and n")
    model = Model(profile)
    t = slot_of(_epoch(start), interval or step)
    stop = _epoch(end) if end is not None else float("inf")
    rows: list[Sample] = []
    while t < stop and (n is None or len(rows) < n):
        rows.append(model.raw_sample(t))
        t += step
    return rows


def _epoch(t: Instant) -> float:
    return t.timestamp() if isinstance(t, dt.datetime) else float(t)


def fill(
    target: Store | Config | Path,
    start: Instant,
    end: Instant | None = None,
    *,
    n: int | None = None,
    step: int | None = None,
    profile: str = "v3.78",
    attempt: tuple[int, float] | None = None,
    flush: bool = False,
) -> list[Sample]:
    """Buffer simulated samples (see ``model_rows``) and return them; ``flush`` moves them on.

    ``target`` is an open store, a config (its database and interval) or a database path.
    ``attempt`` = (attempts, duration s) records each sample as a successful poll at its slot.
    ``step`` defaults to the store's interval.
    """
    if isinstance(target, Store):
        return _fill(target, start, end, n, step, profile, attempt, flush)
    if isinstance(target, Config):
        store = Store(target.cache_path, interval=target.interval_sec)
    else:
        store = Store(target)
    with store:
        return _fill(store, start, end, n, step, profile, attempt, flush)


def _fill(
    store: Store,
    start: Instant,
    end: Instant | None,
    n: int | None,
    step: int | None,
    profile: str,
    attempt: tuple[int, float] | None,
    flush: bool,
) -> list[Sample]:
    rows = model_rows(
        start, end, n=n, step=step or store.interval, interval=store.interval, profile=profile
    )
    if flush:
        synchronous = store.conn.execute("PRAGMA synchronous").fetchone()[0]
        store.conn.execute("PRAGMA synchronous=OFF")  # set-up speed only: no crash to survive
        try:
            store.add_rows(rows)
            store.flush()
        finally:
            store.conn.execute(f"PRAGMA synchronous={int(synchronous)}")
        if attempt is not None:
            journal.append_many(store.journal_path, [_attempt(row, attempt) for row in rows])
            store.flush()
        return rows
    # As ``add_row``: a slot already stored keeps its first sample (the attempt still counts).
    present = set(store.slots(rows[0].slot, rows[-1].slot + 1)) if rows else set()
    records = [
        _record(row, attempt) if row.slot not in present else _attempt(row, attempt)
        for row in rows
        if row.slot not in present or attempt is not None
    ]
    journal.append_many(store.journal_path, records)
    return rows


def _record(row: Sample, attempt: tuple[int, float] | None) -> journal.Record:
    tries, duration = attempt or (0, 0.0)
    return journal.sample_record(row, row.slot * 1000, tries, round(duration * 1000))


def _attempt(row: Sample, attempt: tuple[int, float] | None) -> journal.Record:
    assert attempt is not None
    return journal.attempt_record(row.slot * 1000, True, attempt[0], round(attempt[1] * 1000), "")
