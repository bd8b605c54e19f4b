"""The SQLite store: a buffer written by ``poll``, a compact cache filled by ``flush``.

``Store`` is the small façade the README documents (``Store(path).add/query``) and the one the
commands use; it owns the connection and the transactions, and each job lives in its module:

* ``sqlite``: open, verify, quarantine, ``transaction()``, SQLite errors -> ``StoreError``s;
  ``wal``: damaged -wal detection; ``migrations``: numbered schema migrations, run on open.
* ``buffer``: ``buffer(slot, data, base)``, one raw sample per slot as polled (keyframes).
* ``cache``: ``chunk(bucket, …)``, one compact chunk per UTC hour; flush, reads, pruning.
* ``attempts``: every poll attempt, so gaps are never silent.
* ``ledger``: every report written (kind, date, paths, rows, expected slots, sha256).

Timestamps are UTC epoch seconds; a sample is keyed by its slot, ``floor(t / interval) *
interval``, and reads return the slot time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from luxlog.errors import CorruptError, StoreError
from luxlog.sample import Sample
from luxlog.store import attempts as _attempts
from luxlog.store import buffer, cache, daily, ledger
from luxlog.store.attempts import Attempt
from luxlog.store.buffer import KEYFRAME_SPAN_SEC
from luxlog.store.cache import BUCKET_SEC, FLUSH_BATCH, Counts, FlushResult, PruneResult
from luxlog.store.ledger import ReportRecord
from luxlog.store.migrations import MIGRATIONS, SCHEMA_VERSION
from luxlog.store.sqlite import Database
from luxlog.store.wal import WalDamage, damaged_wal_copies, scan_wal, wal_damage

__all__ = [
    "BUCKET_SEC",
    "FLUSH_BATCH",
    "KEYFRAME_SPAN_SEC",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Attempt",
    "CorruptError",
    "Counts",
    "FlushResult",
    "PruneResult",
    "ReportRecord",
    "Store",
    "WalDamage",
    "damaged_wal_copies",
    "scan_wal",
    "slot_at_or_after",
    "slot_of",
    "to_epoch",
    "wal_damage",
]

_log = logging.getLogger("luxlog.store")

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from contextlib import AbstractContextManager
    from zoneinfo import ZoneInfo

    from luxlog.summary import Period


def slot_of(t: float, interval: int) -> int:
    """The slot holding instant ``t``: ``floor(t / interval) * interval``."""
    return int(t // interval) * interval


def slot_at_or_after(t: float, interval: int) -> int:
    """The first slot starting at or after the whole second ``int(t)`` (rounded up to a slot)."""
    return -(-int(t) // interval) * interval


def to_epoch(value: dt.datetime | float | int, what: str = "timestamp") -> float:
    """Aware datetime or epoch seconds -> epoch seconds; naive datetimes are refused."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{what}: naive datetime {value.isoformat()} (give a time zone, e.g. "
                "datetime(..., tzinfo=timezone.utc))"
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what}: expected an aware datetime or epoch seconds, got {value!r}")
    return float(value)


class Store:
    """Plain-sqlite3 store whose methods speak the domain: add, query, flush, prune."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: int = 30,
        check: bool = False,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path)
        self.interval = interval
        self.readonly = readonly
        self.db = Database(self.path, check=check, readonly=readonly)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @property
    def quarantined(self) -> Path | None:
        """Where a corrupt file found on open was moved aside, or None."""
        return self.db.quarantined

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (a signal too) rolls back."""
        return self.db.transaction()

    def quarantine(self, reason: str) -> Path:
        return self.db.quarantine(reason)

    def abandon(self, reason: str) -> Path | None:
        return self.db.abandon(reason)

    def quick_check(self) -> str:
        return self.db.quick_check()

    def file_size(self) -> int:
        """Bytes on disk: the database file and its -wal."""
        return self.db.file_size()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def add_row(
        self,
        row: Sample,
        attempt: tuple[int, float] | None = None,
        now: float | None = None,
        delta: bool = True,
    ) -> bool:
        """Buffer one raw sample; ``attempt`` = (attempts, duration s) is recorded with it.

        With ``delta`` the sample is stored against the buffer's newest full sample when that
        is recent and the difference small (lossless; see ``codec.pack_delta``).
        Returns False when the slot already held a sample (the first one is kept).
        """
        ms = round((time.time() if now is None else now) * 1000)
        polled = (ms, attempt[0], round(attempt[1] * 1000)) if attempt else (None, None, None)
        with self.transaction() as conn:
            # A slot already flushed is refused before the insert: the first sample wins.
            stored = not cache.holds_slot(conn, row.slot) and buffer.insert(
                conn, row, polled, delta
            )
            if attempt is not None and not stored:
                # a duplicate slot: the sample is dropped, but the attempt still happened
                _attempts.insert_attempt(conn, ms, True, attempt[0], polled[2] or 0, None)
            return stored

    def add_rows(self, rows: Sequence[Sample], batch: int = 2000) -> int:
        """Buffer many samples, a bounded batch per transaction (imports, demo, benchmarks).

        Returns how many were new (a slot already buffered keeps its first sample).
        """
        added = 0
        for i in range(0, len(rows), batch):
            with self.transaction() as conn:
                for row in rows[i : i + batch]:
                    if not cache.holds_slot(conn, row.slot):
                        added += buffer.insert(conn, row, (None, None, None), delta=False)
        return added

    def add(self, timestamp: dt.datetime | float, data: Mapping[str, float]) -> bool:
        """Store sensor name -> number for one instant (``Store(path).add(t, {...})``).

        Names are luxtronik's (``ID_WEB_Temperatur_TVL``); values must be exact at the
        sensor's resolution (45.4 °C, not 45.43). The sample is keyed by its slot.
        """
        from luxlog.decode import encode_named

        t = to_epoch(timestamp)
        try:
            calcs = encode_named(data)
        except ValueError as exc:
            raise StoreError(f"cannot store sample: {exc}") from exc
        return self.add_row(Sample(slot_of(t, self.interval), 0, (), tuple(calcs), ()))

    def record_failure(
        self, attempts: int, duration: float, error: str, now: float | None = None
    ) -> None:
        ms = round((time.time() if now is None else now) * 1000)
        with self.transaction() as conn:
            _attempts.insert_attempt(conn, ms, False, attempts, round(duration * 1000), error[:500])

    def record_report(
        self, kind: str, date: str, paths: Sequence[str], rows: int, expected: int, sha256: str
    ) -> None:
        with self.transaction() as conn:
            ledger.record_report(conn, kind, date, paths, rows, expected, sha256)

    # --------------------------------------------------------- flushing, pruning

    def flush(
        self,
        batch: int = FLUSH_BATCH,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> FlushResult:
        """Move buffered samples into the cache, one bounded transaction per batch."""
        result = cache.flush(self.db, batch, should_stop, progress)
        try:
            self.update_daily()
        except Exception as exc:  # derived data must never stop the samples' way to the cache
            _log.error("per-day summary table not updated (luxlog summary recomputes): %s", exc)
        return result

    def prune(self, before: dt.datetime | float) -> PruneResult:
        """Delete cached samples (and attempt records) older than ``before``; never the buffer."""
        return cache.prune(self.db, int(to_epoch(before, "before")))

    # ------------------------------------------------------------------ reading

    def iter_rows(self, start: float, end: float) -> Iterator[Sample]:
        """Raw samples with ``start <= slot < end`` in slot order, cache and buffer merged."""
        return cache.iter_rows(self.conn, int(start), int(end))

    def query(
        self, start: dt.datetime | float, end: dt.datetime | float
    ) -> list[tuple[dt.datetime, dict[str, float]]]:
        """Decoded samples in ``[start, end)`` as (UTC datetime, {name: value}), time order."""
        from luxlog.decode import decode_numeric

        lo, hi = to_epoch(start, "start"), to_epoch(end, "end")
        # A slot at or after `lo` whose slot start is before `lo` cannot exist: slots are keys.
        return [
            (dt.datetime.fromtimestamp(row.slot, dt.UTC), decode_numeric(row.calculations))
            for row in self.iter_rows(-(-lo // 1), -(-hi // 1))
        ]

    def slots(self, start: float, end: float) -> list[int]:
        """The slots present in ``[start, end)`` (cache and buffer), sorted."""
        return cache.slots(self.conn, int(start), int(end))

    def buffered(self) -> int:
        """Samples waiting in the buffer."""
        return buffer.buffered(self.conn)

    def counts(self) -> Counts:
        """Sizes for summaries and ``doctor``."""
        return cache.counts(self.conn)

    def first_slot(self) -> int | None:
        """The oldest sample's slot (cache or buffer), or None when there is none."""
        c = self.counts()
        present = [s for s in (c.first_slot, c.oldest_buffered) if s is not None]
        return min(present) if present else None

    def last_success(self) -> int | None:
        """Epoch seconds of the last successful poll (flushed or still buffered)."""
        return _attempts.last_success(self.conn)

    def attempts_since(self, since: float) -> list[Attempt]:
        """Every poll attempt since ``since`` (epoch s), in time order."""
        return _attempts.attempts_since(self.conn, since)

    def reports(self, kind: str | None = None) -> list[ReportRecord]:
        """The reports written (of one ``kind``, or all), by date."""
        return ledger.reports(self.conn, kind)

    # ------------------------------------------------------------------ raw samples, insight

    def add_raw(
        self,
        timestamp: dt.datetime | float,
        parameters: Sequence[int] = (),
        calculations: Sequence[int] = (),
        visibilities: Sequence[int] = (),
    ) -> bool:
        """Store one raw sample as a controller sends it: three lists of int32, any may be empty.

        History from other sources (another logger, an export) goes in this way and is then
        summarised and reported like polled data. Returns False when the slot already held a
        sample (the first one is kept).
        """
        t = to_epoch(timestamp)
        blocks: list[tuple[int, ...]] = []
        for what, block in (
            ("parameters", parameters),
            ("calculations", calculations),
            ("visibilities", visibilities),
        ):
            values = tuple(block)
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, int) or not -(2**31) <= v < 2**31:
                    raise StoreError(
                        f"cannot store sample: {what}[{i}] = {v!r} is not a 32-bit integer"
                    )
            blocks.append(values)
        params, calcs, vis = blocks
        return self.add_row(Sample(slot_of(t, self.interval), 0, params, calcs, vis))

    def update_daily(self, timezone: str | None = None, now: float | None = None) -> int:
        """Add the newly closed days to the per-day summary table (``luxlog.summary``).

        For ``timezone``, or for every time zone the table already holds (``flush`` calls it
        so; ``report`` and ``summary`` seed the configured one). Returns the days stored.
        """
        zones = [timezone] if timezone else daily.zones(self.conn)
        if not zones:
            return 0
        from zoneinfo import ZoneInfo

        from luxlog.summary import update_daily

        return sum(update_daily(self, ZoneInfo(z), now) for z in zones)

    def summary(
        self,
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime,
        by: str = "day",
        *,
        timezone: str | None = None,
    ) -> list[Period]:
        """Energy, COP, cycles, defrosts and hours per mode for the local days in [start, end).

        ``by``: "day", "week", "month", "year" or "season"; ``timezone``: an IANA name (default:
        the system's). Returns ``luxlog.summary.Period`` objects, the fields of
        ``luxlog summary --json``.
        """
        from zoneinfo import ZoneInfo

        from luxlog.config import system_timezone
        from luxlog.summary import summarize

        tz = ZoneInfo(timezone or system_timezone())
        first, last = (_local_date(v, tz) for v in (start, end))
        if last <= first:
            return []
        return summarize(self, first, last - dt.timedelta(days=1), by, tz)


def _local_date(value: dt.date | dt.datetime, tz: ZoneInfo) -> dt.date:
    if isinstance(value, dt.datetime):
        return dt.datetime.fromtimestamp(to_epoch(value), tz).date()
    return value
