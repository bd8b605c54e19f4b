"""The long-term cache: one compact chunk per UTC hour, filled from the buffer by ``flush``.

``chunk(bucket, n, first_slot, last_slot, data)``: ``codec.encode_chunk`` stores the first
sample in full and the rest as sparse deltas, zlib'd (measured: about 17 bytes per poll for all
three blocks; 35 B/poll for the whole file). A query for one day reads 24–25 rows by primary
key, whatever the size of the database.

``flush`` moves the buffer into chunks, in bounded ``BEGIN IMMEDIATE`` transactions, so a
backlog of days never holds the write lock for long. The buffer is two things: the poll journal
(``journal``: every poll, one block each) and the SQLite ``buffer`` table (bulk loads, and the
rows an older luxlog left there). Table rows leave the table in the transaction that files them.
Journal records are filed first and the journal is reset afterwards, so filing is idempotent: a
record whose sample and attempt the cache already holds is a no-op, and a crash between the
commit and the reset loses or doubles nothing. Every read merges cache, table and journal (the
cache wins a duplicate slot), so nothing waits for a flush.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from luxlog.codec import (
    Row,
    chunk_slots,
    decode_chunk,
    decode_chunk_calculations,
    encode_chunk,
    pick_calculations,
)
from luxlog.sample import Sample
from luxlog.store import journal, pushed
from luxlog.store.attempts import file_attempt, insert_attempt
from luxlog.store.buffer import buffered as buffered_samples
from luxlog.store.buffer import rebase, resolve
from luxlog.store.sqlite import Database

BUCKET_SEC = 3600  # one cache chunk per UTC hour
FLUSH_BATCH = 720  # buffer rows per flush transaction: a few hours, well under a second
T = TypeVar("T")


@dataclass(frozen=True)
class FlushResult:
    moved: int
    remaining: int
    duplicates: int = 0


@dataclass(frozen=True)
class PruneResult:
    samples: int
    bytes_freed: int
    attempts: int = 0


@dataclass(frozen=True)
class Counts:
    """Sizes for summaries and ``doctor`` (slots are epoch seconds; None: none yet)."""

    buffered: int
    oldest_buffered: int | None
    cached: int
    first_slot: int | None
    last_cached_slot: int | None
    schema_version: int


def bucket_of(slot: int) -> int:
    return slot // BUCKET_SEC * BUCKET_SEC


def holds_slot(conn: sqlite3.Connection, slot: int) -> bool:
    """Whether the cache already holds ``slot`` (one primary-key lookup; the chunk is
    decoded only when the slot lies inside its range, i.e. for a re-poll of old data)."""
    hit = conn.execute(
        "SELECT data FROM chunk WHERE bucket = ? AND first_slot <= ? AND last_slot >= ?",
        (bucket_of(slot), slot, slot),
    ).fetchone()
    return hit is not None and slot in chunk_slots(bucket_of(slot), hit[0])


def flush(
    db: Database,
    batch: int = FLUSH_BATCH,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int], None] | None = None,
    journal_file: str | None = None,
) -> FlushResult:
    """Move buffered samples (table, then journal) into the cache, a bounded batch at a time.

    ``progress`` is called after each committed batch with the samples moved so far.
    """
    moved = dups = 0
    while should_stop is None or not should_stop():
        with db.transaction() as conn:
            n, new_dups = _flush_batch(conn, batch)
        if n == 0:
            break
        moved += n
        dups += new_dups
        if progress is not None:
            progress(moved)
        if n < batch:
            break
    moved -= dups
    remaining = buffered_samples(db.conn)
    _reclaim(db)
    if journal_file is not None and (should_stop is None or not should_stop()):
        mover = _JournalMover(db, batch, should_stop, progress, moved)
        left = mover.run(journal_file)
        moved, dups, remaining = mover.moved, dups + mover.dups, remaining + left
    return FlushResult(moved, remaining, dups)


def _flush_batch(conn: sqlite3.Connection, batch: int) -> tuple[int, int]:
    """Move the oldest ``batch`` buffer rows; returns (rows moved, duplicates of the cache)."""
    rows = conn.execute(
        "SELECT slot, data, base, polled_ms, attempts, duration_ms FROM buffer "
        "ORDER BY slot LIMIT ?",
        (batch,),
    ).fetchall()
    if not rows:
        return 0, 0
    samples = resolve(conn, [(r[0], r[1], r[2]) for r in rows])
    by_bucket: dict[int, list[Sample]] = {}
    for sample, (_, _, _, polled_ms, attempts, duration_ms) in zip(samples, rows, strict=True):
        by_bucket.setdefault(bucket_of(sample.slot), []).append(sample)
        if polled_ms is not None:
            insert_attempt(conn, polled_ms, True, attempts, duration_ms, None)
    dups = 0
    for bucket, new in by_bucket.items():
        _added, same, different = _merge_chunk(conn, bucket, new)
        dups += same + different
    # Anything derived per batch (a per-day summary) belongs here and in ``_file_records``: in
    # the batch's transaction, after the chunks are merged (both see ``by_bucket``).
    first, last = rows[0][0], rows[-1][0]
    rebase(conn, last, {sample.slot: sample for sample in samples})
    conn.execute("DELETE FROM buffer WHERE slot BETWEEN ? AND ?", (first, last))
    return len(rows), dups


class _JournalMover:
    """Files the poll journal's records into the cache, then resets the journal.

    The bulk is filed without the journal's lock (polls go on during a long backlog); the
    records appended meanwhile are filed under the lock, and the journal is reset under it.
    """

    def __init__(
        self,
        db: Database,
        batch: int,
        should_stop: Callable[[], bool] | None,
        progress: Callable[[int], None] | None,
        moved: int,
    ) -> None:
        self.db, self.batch, self.should_stop, self.progress = db, batch, should_stop, progress
        self.moved, self.dups, self.stopped = moved, 0, False

    def run(self, path: str) -> int:
        """Returns the samples left in the journal (none unless stopped by a signal)."""
        snapshot = journal.read(path)
        if not snapshot.slots() and not snapshot.damage and not _attempts(snapshot):
            return 0  # nothing to do: a flush every few minutes writes nothing then
        self._file(snapshot.records)
        if self.stopped:
            return len(snapshot.slots())  # an upper bound: some of them are filed already
        seen = {_identity(r) for r in snapshot.records}
        with journal.Locked(path) as held:
            now = held.scan()
            self._file([r for r in now.records if _identity(r) not in seen])
            if self.stopped:
                return len(now.slots())
            if now.damage:
                kept = held.keep_damaged()
                journal.report_damage(path, now.damage)
                _log_kept(path, kept)
            held.reset(now.newest())
        return 0

    def _file(self, records: list[journal.Record]) -> None:
        for i in range(0, len(records), self.batch):
            if self.should_stop is not None and self.should_stop():
                self.stopped = True
                return
            with self.db.transaction() as conn:
                added, dups = _file_records(conn, records[i : i + self.batch])
            self.moved += added
            self.dups += dups
            if self.progress is not None:
                self.progress(self.moved)


def _attempts(found: journal.Scan) -> bool:
    return any(r.has_attempt for r in found.records)


def _identity(r: journal.Record) -> tuple[int, int, int, bytes]:
    return (r.kind, r.slot, r.polled_ms, r.blob)


def _log_kept(path: str, kept: str) -> None:
    import logging

    logging.getLogger("luxlog.store").error(
        "poll journal %s had damaged blocks; the whole file was copied to %s before the reset",
        path,
        kept,
    )


def _file_records(conn: sqlite3.Connection, records: list[journal.Record]) -> tuple[int, int]:
    """File journal records (samples and attempts); returns (samples new, duplicates dropped).

    A sample the cache holds already, identical, is one this flush (or a killed one) filed
    before: neither new nor a duplicate.
    """
    by_bucket: dict[int, list[Sample]] = {}
    for r in records:
        if r.has_attempt:
            file_attempt(conn, r.polled_ms, r.ok, r.attempts, r.duration_ms, r.error)
        if r.kind == journal.SAMPLE:
            by_bucket.setdefault(bucket_of(r.slot), []).append(r.sample())
    added = dups = 0
    for bucket, new in by_bucket.items():
        a, _same, different = _merge_chunk(conn, bucket, new)
        added += a
        dups += different
    # the per-batch hook's second place (see ``_flush_batch``)
    return added, dups


def _reclaim(db: Database, threshold_pages: int = 256) -> None:
    """Give a large backlog's freed buffer pages back to the filesystem.

    In steady state the buffer reuses its few free pages; after flushing days of backlog
    the file would otherwise keep their size. ``executescript`` because ``execute`` runs
    ``incremental_vacuum`` for one page only.
    """
    free = db.conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free > threshold_pages:
        try:
            db.conn.executescript("PRAGMA incremental_vacuum")
        except sqlite3.Error as exc:
            raise db.wrap(exc) from exc


def _merge_chunk(conn: sqlite3.Connection, bucket: int, new: list[Sample]) -> tuple[int, int, int]:
    """Merge ``new`` into the bucket's chunk; (added, already there identical, different)."""
    existing = conn.execute("SELECT data FROM chunk WHERE bucket = ?", (bucket,)).fetchone()
    merged: dict[int, Sample] = {}
    if existing is not None:
        merged = {r.slot: r for r in decode_chunk(bucket, existing[0])}
    added = same = different = 0
    for row in new:
        held = merged.get(row.slot)
        if held is None:
            merged[row.slot] = row
            added += 1
        elif held == row:
            same += 1
        else:
            different += 1  # the cache already holds this slot: the first sample wins
    if not added:
        return added, same, different  # nothing to write: a re-filed record costs no page
    rows = [merged[s] for s in sorted(merged)]
    conn.execute(
        "INSERT INTO chunk(bucket, n, first_slot, last_slot, data) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(bucket) DO UPDATE SET n=excluded.n, first_slot=excluded.first_slot, "
        "last_slot=excluded.last_slot, data=excluded.data",
        (bucket, len(rows), rows[0].slot, rows[-1].slot, encode_chunk(bucket, rows)),
    )
    return added, same, different


def iter_rows(
    conn: sqlite3.Connection, lo: int, hi: int, journaled: Sequence[Sample] = ()
) -> Iterator[Sample]:
    """Raw samples with ``lo <= slot < hi`` in slot order, cache and buffer merged.

    ``journaled``: the journal's samples in the range, in slot order (a table row wins a slot
    both hold: the table's rows are the older).

    Streams one chunk at a time, so memory stays flat however long the range.
    """
    if hi <= lo:
        return
    buffered = _buffered_rows(conn, lo, hi, journaled)
    cached = (row for bucket, blob in _chunks(conn, lo, hi) for row in decode_chunk(bucket, blob))
    yield from _merged(cached, buffered, lo, hi, lambda row: row.slot)


def iter_calculations(
    conn: sqlite3.Connection,
    lo: int,
    hi: int,
    indices: Sequence[int],
    journaled: Sequence[Sample] = (),
) -> Iterator[Row]:
    """As ``iter_rows``, but (slot, the calculations at ``indices``) per sample: a chart's few
    values without building every sample (``codec.decode_chunk_calculations``)."""
    if hi <= lo:
        return
    buffered = [
        (row.slot, pick_calculations(row.calculations, indices))
        for row in _buffered_rows(conn, lo, hi, journaled)
    ]
    chunks = _chunks(conn, lo, hi)
    if not buffered:  # the usual case for a past range: chunks only, filtered at the ends
        for bucket, blob in chunks:
            rows = DECODED.rows(bucket, blob, indices)
            inside = lo <= bucket and bucket + BUCKET_SEC <= hi
            yield from rows if inside else (r for r in rows if lo <= r[0] < hi)
        return
    cached = (row for bucket, blob in chunks for row in DECODED.rows(bucket, blob, indices))
    yield from _merged(cached, buffered, lo, hi, lambda row: row[0])


class _Decoded:
    """The last ``size`` chunks ``iter_calculations`` decoded, by their exact bytes.

    A long-running reader (``luxlog serve``: a page refreshes the same week) then decodes only
    the hours that changed. Keyed by the chunk's bytes themselves, so a chunk a flush or an
    import rewrote is simply a new key, never a stale hit; bounded (~6 KB of rows per chunk
    and its blob), and shared by the server's threads under a lock.
    """

    def __init__(self, size: int = 200) -> None:
        self.size = size
        self._rows: OrderedDict[tuple[int, bytes, tuple[int, ...]], list[Row]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, bucket: int, blob: bytes, indices: Sequence[int]) -> list[Row]:
        key = (bucket, bytes(blob), tuple(indices))
        with self._lock:
            found = self._rows.get(key)
            if found is not None:
                self._rows.move_to_end(key)
                return found
        decoded = list(decode_chunk_calculations(bucket, blob, indices))
        with self._lock:
            self._rows[key] = decoded
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return decoded


DECODED = _Decoded()


def _buffered_rows(
    conn: sqlite3.Connection, lo: int, hi: int, journaled: Sequence[Sample]
) -> list[Sample]:
    # Snapshot the buffer first (small), keyframes included, in one read transaction so
    # a concurrent flush cannot move a keyframe in between; the cache is read chunk by
    # chunk (a sample flushed meanwhile is then in both: the cache copy wins in _merged).
    own = not conn.in_transaction  # inside a caller's transaction: read in it
    try:
        if own:
            conn.execute("BEGIN")
        raw = conn.execute(
            "SELECT slot, data, base FROM buffer WHERE slot >= ? AND slot < ? ORDER BY slot",
            (lo, hi),
        ).fetchall()
        buffered = resolve(conn, raw)
    finally:
        if own and conn.in_transaction:
            conn.execute("COMMIT")
    if journaled:
        tabled = {row.slot for row in buffered}
        buffered += [row for row in journaled if row.slot not in tabled]
        buffered.sort(key=lambda row: row.slot)
    return buffered


def _chunks(conn: sqlite3.Connection, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
    cur = conn.execute(
        "SELECT bucket, data FROM chunk WHERE bucket >= ? AND bucket < ? ORDER BY bucket",
        (bucket_of(lo), hi),
    )
    return iter(cur)


def _merged(
    cached: Iterator[T], buffered: list[T], lo: int, hi: int, slot: Callable[[T], int]
) -> Iterator[T]:
    """The cache's rows in ``[lo, hi)`` and the buffered ones, in slot order; the cache wins."""
    if not buffered:  # the usual case for a past range: chunks only
        yield from (row for row in cached if lo <= slot(row) < hi)
        return
    b = 0
    for row in cached:
        s = slot(row)
        if s < lo or s >= hi:
            continue
        while b < len(buffered) and slot(buffered[b]) < s:
            yield buffered[b]
            b += 1
        if b < len(buffered) and slot(buffered[b]) == s:
            b += 1  # duplicate of a flushed slot: the cache wins
        yield row
    yield from buffered[b:]


def slots(conn: sqlite3.Connection, lo: int, hi: int, journaled: Iterable[int] = ()) -> list[int]:
    """The slots present in ``[lo, hi)`` (cache, buffer table, ``journaled``), sorted."""
    present: set[int] = {s for s in journaled if lo <= s < hi}
    for bucket, blob in conn.execute(
        "SELECT bucket, data FROM chunk WHERE bucket >= ? AND bucket < ?", (bucket_of(lo), hi)
    ):
        present.update(s for s in chunk_slots(bucket, blob) if lo <= s < hi)
    present.update(
        s for (s,) in conn.execute("SELECT slot FROM buffer WHERE slot >= ? AND slot < ?", (lo, hi))
    )
    return sorted(present)


TOTAL_SCHEMA = 5  # the schema version that keeps the cached total in ``chunk_total``


def counts(conn: sqlite3.Connection) -> Counts:
    """Index look-ups only: the first and last chunk by primary key (hours never overlap, so
    they hold the first and last slot) and the total the ``chunk_total`` triggers keep.

    The buffer table's count is a scan, but of a table that flush keeps to a few rows.
    """
    buffered, oldest = conn.execute("SELECT count(*), min(slot) FROM buffer").fetchone()
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    first = conn.execute("SELECT first_slot FROM chunk ORDER BY bucket LIMIT 1").fetchone()
    last = conn.execute("SELECT last_slot FROM chunk ORDER BY bucket DESC LIMIT 1").fetchone()
    if version >= TOTAL_SCHEMA:
        (cached,) = conn.execute("SELECT n FROM chunk_total WHERE id = 0").fetchone()
    else:  # a read-only open of a database not yet migrated: count the old way
        cached = scanned_total(conn)
    return Counts(
        buffered,
        oldest,
        cached,
        None if first is None else first[0],
        None if last is None else last[0],
        version,
    )


def scanned_total(conn: sqlite3.Connection) -> int:
    """The cached total by a scan of every chunk (what ``chunk_total`` must always equal)."""
    return int(conn.execute("SELECT coalesce(sum(n), 0) FROM chunk").fetchone()[0])


def prune(db: Database, limit: int, push_target: str | None = None) -> PruneResult:
    """Delete cached samples (and attempt records) with a slot before ``limit``; with a
    ``push_target``, none from the oldest chunk not yet pushed to it on (looked up in the
    deleting transaction: an import filing older samples meanwhile is seen).

    Never touches the buffer: unflushed samples are the ones not yet safe in the cache.
    The file shrinks through incremental vacuum; the bytes freed are measured.
    """
    size_before = db.file_size()
    with db.transaction() as conn:
        unpushed = pushed.first_unpushed(conn, push_target) if push_target else None
        limit = limit if unpushed is None else min(limit, unpushed)
        (deleted,) = conn.execute(
            "SELECT coalesce(sum(n), 0) FROM chunk WHERE last_slot < ?", (limit,)
        ).fetchone()
        gone = [
            b for (b,) in conn.execute("SELECT bucket FROM chunk WHERE last_slot < ?", (limit,))
        ]
        conn.execute("DELETE FROM chunk WHERE last_slot < ?", (limit,))
        partial = conn.execute(
            "SELECT bucket, data FROM chunk WHERE first_slot < ? AND last_slot >= ?",
            (limit, limit),
        ).fetchall()
        # a cut chunk's push mark no longer describes it (store.pushed)
        pushed.forget(conn, [*gone, *(bucket for bucket, _ in partial)])
        for bucket, blob in partial:
            rows = list(decode_chunk(bucket, blob))
            keep = [r for r in rows if r.slot >= limit]
            deleted += len(rows) - len(keep)
            conn.execute(
                "UPDATE chunk SET n=?, first_slot=?, data=? WHERE bucket=?",
                (len(keep), keep[0].slot, encode_chunk(bucket, keep), bucket),
            )
        attempts = conn.execute("DELETE FROM attempts WHERE ms < ?", (limit * 1000,)).rowcount
    try:
        # Each step of this pragma frees one page, and it yields zero-column rows, which
        # execute() (even with fetchall()) treats as done after the first step: only one
        # page was ever returned. executescript() steps it to completion, in one
        # autocommit transaction.
        db.conn.executescript("PRAGMA incremental_vacuum;")
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise db.wrap(exc) from exc
    return PruneResult(deleted, max(0, size_before - db.file_size()), attempts)
