"""The store: a journal file written by ``poll``, a compact SQLite cache filled by ``flush``.

``Store`` is the small façade the README documents (``Store(path).add/query``) and the one the
commands use; it owns the connection and the transactions, and each job lives in its module:

* ``sqlite``: open, verify, quarantine, ``transaction()``, SQLite errors -> ``StoreError``s;
  ``wal``: damaged -wal detection; ``migrations``: numbered schema migrations, run on open.
* ``journal``: the poll journal ``<database>.journal``, one self-checking 4 KiB record per
  poll (a sample with its attempt, or a failed attempt), one ``fdatasync``, no SQLite.
* ``buffer``: the SQLite ``buffer(slot, data, base)`` table: bulk loads (``add_rows``) and the
  polls an older luxlog buffered there; ``flush`` moves them like the journal's.
* ``cache``: ``chunk(bucket, …)``, one compact chunk per UTC hour; flush, reads, pruning.
* ``attempts``: every poll attempt, so gaps are never silent.
* ``ledger``: every report written (kind, date, paths, rows, expected slots, sha256).

Timestamps are UTC epoch seconds; a sample is keyed by its slot, ``floor(t / interval) *
interval``, and reads return the slot time.
"""

from __future__ import annotations

import os
import time

from luxlog.errors import CorruptError, StoreError
from luxlog.sample import Sample
from luxlog.store import journal
from luxlog.store.keys import slot_at_or_after, slot_of, to_epoch

# A poll imports this package for ``journal`` alone and must not pay for sqlite3, datetime,
# pathlib or dataclasses (~10 ms of a cron-fired process): the SQLite side is imported by the
# first ``Store`` (``_load``) or the first of its names asked for (``__getattr__``).
# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt
    import sqlite3
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from luxlog.store import attempts as _attempts
    from luxlog.store import buffer, cache, daily, ledger
    from luxlog.store.attempts import Attempt
    from luxlog.store.buffer import KEYFRAME_SPAN_SEC
    from luxlog.store.cache import BUCKET_SEC, FLUSH_BATCH, Counts, FlushResult, PruneResult
    from luxlog.store.ledger import ReportRecord
    from luxlog.store.migrations import MIGRATIONS, SCHEMA_VERSION
    from luxlog.store.sqlite import Database
    from luxlog.store.wal import WalDamage, damaged_wal_copies, scan_wal, wal_damage
    from luxlog.summary import Period

_LAZY = {
    "Attempt": "luxlog.store.attempts",
    "KEYFRAME_SPAN_SEC": "luxlog.store.buffer",
    "BUCKET_SEC": "luxlog.store.cache",
    "FLUSH_BATCH": "luxlog.store.cache",
    "Counts": "luxlog.store.cache",
    "FlushResult": "luxlog.store.cache",
    "PruneResult": "luxlog.store.cache",
    "ReportRecord": "luxlog.store.ledger",
    "MIGRATIONS": "luxlog.store.migrations",
    "SCHEMA_VERSION": "luxlog.store.migrations",
    "Database": "luxlog.store.sqlite",
    "WalDamage": "luxlog.store.wal",
    "damaged_wal_copies": "luxlog.store.wal",
    "scan_wal": "luxlog.store.wal",
    "wal_damage": "luxlog.store.wal",
}


def _load() -> None:
    """Bind the SQLite side into this module's namespace (once), for ``Store``'s methods."""
    if "cache" in globals():
        return
    import datetime
    import importlib
    import pathlib

    from luxlog.store import attempts, buffer, cache, daily, ledger

    names = {name: getattr(importlib.import_module(m), name) for name, m in _LAZY.items()}
    globals().update(names, dt=datetime, Path=pathlib.Path, _attempts=attempts, buffer=buffer)
    globals().update(cache=cache, ledger=ledger, daily=daily)


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load()
    return globals()[name]


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


def _log_abandoned(exc: CorruptError, moved: Path | None) -> None:
    import logging

    log = logging.getLogger("luxlog.store")
    if moved is None:
        log.error("%s; another process already moved it aside, continuing in the new file", exc)
    else:
        log.error("%s; moved aside to %s, recording continues in a fresh file", exc, moved)


def _cached_part(c: Counts) -> tuple[int, int | None, int | None, int]:
    return c.cached, c.first_slot, c.last_cached_slot, c.schema_version


class Store:
    """Plain-sqlite3 store whose methods speak the domain: add, query, flush, prune."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: int = 30,
        check: bool = False,
        readonly: bool = False,
        snapshot: bool = False,
    ) -> None:
        """``snapshot`` (with ``readonly``): also open in a directory this process cannot
        write, such as a read-only mount, reading the last checkpoint (``luxlog serve``)."""
        _load()
        self.path = Path(path)
        self.interval = interval
        self.readonly = readonly
        self.journal_path = journal.journal_path(self.path)
        # fdatasync per journal record; False only where durability is not the point (tests'
        # set-up, as ``PRAGMA synchronous=OFF`` is for the database).
        self.journal_sync = True
        if readonly and not self.path.exists() and os.path.exists(self.journal_path):
            # Polls have run, no flush yet: the journal is all there is. An empty in-memory
            # cache stands in, so readers (doctor, report) see the journal's samples.
            self.db = Database(Path(":memory:"))
        else:
            from luxlog.store import checkstamp  # writers only: off the poll path

            due = check and not readonly and checkstamp.check_due(self.path)
            self.db = Database(self.path, check=due, readonly=readonly, snapshot=snapshot)
            if due:
                checkstamp.mark_checked(self.path)

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
        with self.db.reading():
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
        """Journal one raw sample durably; ``attempt`` = (attempts, duration s) goes with it.

        Returns False when the slot already held a sample (the first one is kept; the attempt
        is still recorded). ``delta`` is accepted for callers of the SQLite buffer; the
        journal stores every sample in full, one block each.
        """
        ms = round((time.time() if now is None else now) * 1000)
        tries, dur = (attempt[0], round(attempt[1] * 1000)) if attempt else (0, 0)
        if cache.holds_slot(self.conn, row.slot) or buffer.holds_slot(self.conn, row.slot):
            # A slot already flushed (or bulk-loaded) is refused: the first sample wins.
            if attempt is not None:
                record = journal.attempt_record(ms, True, tries, dur, "")
                journal.append(self.journal_path, record, sync=self.journal_sync)
            return False
        record = journal.sample_record(row, ms, tries, dur)
        if attempt is None:
            # Not a poll (``add``, imports): no attempt to file, only the sample.
            record.polled_ms = record.attempts = record.duration_ms = 0
        return journal.append(self.journal_path, record, sync=self.journal_sync)

    def add_rows(self, rows: Sequence[Sample], batch: int = 2000) -> int:
        """Buffer many samples, a bounded batch per transaction (imports, demo, benchmarks).

        Returns how many were new (a slot already buffered keeps its first sample).
        """
        added = 0
        journaled = journal.read(self.journal_path).slots()
        for i in range(0, len(rows), batch):
            with self.transaction() as conn:
                for row in rows[i : i + batch]:
                    if row.slot not in journaled and not cache.holds_slot(conn, row.slot):
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
        record = journal.attempt_record(ms, False, attempts, round(duration * 1000), error)
        journal.append(self.journal_path, record, sync=self.journal_sync)

    def record_report(
        self, kind: str, date: str, paths: Sequence[str], rows: int, expected: int, sha256: str
    ) -> None:
        with self.transaction() as conn:
            ledger.record_report(conn, kind, date, paths, rows, expected, sha256)

    # --------------------------------------------------------- flushing, pruning

    def flush(
        self,
        batch: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> FlushResult:
        """Move buffered samples into the cache, one bounded transaction per batch."""
        size = FLUSH_BATCH if batch is None else batch  # FLUSH_BATCH: imported by _load
        try:
            result = cache.flush(self.db, size, should_stop, progress, self.journal_path)
        except CorruptError as exc:
            # Found damaged mid-way (the full check runs once a day): keep the file as it is,
            # and file the journal, which a failed flush never resets, into a fresh one.
            moved = self.db.abandon(str(exc))
            _log_abandoned(exc, moved)
            self.db = Database(self.path)
            result = cache.flush(self.db, size, should_stop, progress, self.journal_path)
        try:
            self.update_daily()
        except Exception as exc:  # derived data must never stop the samples' way to the cache
            import logging

            logging.getLogger("luxlog.store").error(
                "per-day summary table not updated (luxlog summary recomputes): %s", exc
            )
        return result

    def prune(self, before: dt.datetime | float, push_target: str | None = None) -> PruneResult:
        """Delete cached samples (and attempt records) older than ``before``; never the buffer,
        nor, with ``push_target``, a sample not yet pushed there (``store.pushed``)."""
        return cache.prune(self.db, int(to_epoch(before, "before")), push_target)

    # ------------------------------------------------------------------ reading

    def iter_rows(self, start: float, end: float) -> Iterator[Sample]:
        """Raw samples with ``start <= slot < end`` in slot order, cache and buffer merged."""
        lo, hi = int(start), int(end)
        found = self._journal().samples()
        journaled = [found[s].sample() for s in sorted(found) if lo <= s < hi]
        return self.db.read_all(cache.iter_rows(self.conn, lo, hi, journaled))

    def iter_calculations(
        self, start: float, end: float, indices: Sequence[int]
    ) -> Iterator[tuple[int, tuple[int, ...]]]:
        """(slot, the raw calculations at ``indices``) per sample with ``start <= slot < end``,
        as ``iter_rows`` merges them; an index beyond a sample's block gives ``ABSENT``. Decodes
        only those values (charts: ``luxlog.web.series``)."""
        lo, hi = int(start), int(end)
        found = self._journal().samples()
        journaled = [found[s].sample() for s in sorted(found) if lo <= s < hi]
        return self.db.read_all(cache.iter_calculations(self.conn, lo, hi, indices, journaled))

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
        with self.db.reading():
            return cache.slots(self.conn, int(start), int(end), self._journal().slots())

    def _journal(self) -> journal.Scan:
        return journal.read(self.journal_path)

    def buffered(self) -> int:
        """Samples waiting in the buffer (journal and table)."""
        with self.db.reading():
            return buffer.buffered(self.conn) + len(self._journal().slots())

    def counts(self) -> Counts:
        """Sizes for summaries and ``doctor``."""
        with self.db.reading():
            c = cache.counts(self.conn)
        slots = self._journal().slots()
        if not slots:
            return c
        oldest = min(slots) if c.oldest_buffered is None else min(c.oldest_buffered, *slots)
        return Counts(c.buffered + len(slots), oldest, *_cached_part(c))

    def first_slot(self) -> int | None:
        """The oldest sample's slot (cache or buffer), or None when there is none."""
        c = self.counts()
        present = [s for s in (c.first_slot, c.oldest_buffered) if s is not None]
        return min(present) if present else None

    def newest_slot(self) -> int | None:
        """The newest sample's slot (cache or buffer), or None when there is none."""
        c = self.counts()
        last, oldest_buffered = c.last_cached_slot, c.oldest_buffered
        if oldest_buffered is None:
            return last
        # The buffer is small (flush runs every few minutes): its slots from the newest cached
        # one on are few, and the newest of them is the newest sample.
        lo = oldest_buffered if last is None else max(last, oldest_buffered)
        present = self.slots(lo, 2**62)
        return max([*present, *([int(last)] if last is not None else [])])

    def last_success(self) -> int | None:
        """Epoch seconds of the last successful poll (flushed or still buffered)."""
        with self.db.reading():
            logged = _attempts.last_success(self.conn)
        journaled = [r.polled_ms // 1000 for r in self._journal().records if r.ok and r.has_attempt]
        return max([*journaled, logged] if logged is not None else journaled, default=None)

    def attempts_since(self, since: float) -> list[Attempt]:
        """Every poll attempt since ``since`` (epoch s), in time order."""
        lo = int(since * 1000)
        journaled = [
            Attempt(r.polled_ms // 1000, r.ok, r.attempts, r.duration_ms, r.error)
            for r in sorted(self._journal().records, key=lambda r: r.polled_ms)
            if r.has_attempt and r.polled_ms >= lo
        ]
        with self.db.reading():
            logged = _attempts.attempts_since(self.conn, since)
        if not journaled:
            return logged
        # A flush killed between its commit and the journal's reset leaves attempts in both.
        filed = set(logged)
        return sorted(logged + [a for a in journaled if a not in filed], key=lambda a: a.at)

    def reports(self, kind: str | None = None) -> list[ReportRecord]:
        """The reports written (of one ``kind``, or all), by date."""
        with self.db.reading():
            return ledger.reports(self.conn, kind)

    # ------------------------------------------------------------------ raw samples, insight

    def add_raw(
        self,
        timestamp: dt.datetime | float,
        parameters: Sequence[int] = (),
        calculations: Sequence[int] = (),
        visibilities: Sequence[int] = (),
    ) -> bool:
        """Store one raw sample as a controller sends it: parameters and calculations int32,
        visibilities one signed byte each (as on the wire), any block may be empty.

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
            bits = 8 if what == "visibilities" else 32  # 3005 sends one byte per item
            lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1)
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, int) or not lo <= v < hi:
                    raise StoreError(
                        f"cannot store sample: {what}[{i}] = {v!r} is not a {bits}-bit integer"
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
