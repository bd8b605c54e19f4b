"""The SQLite store: a buffer written by ``poll``, a compact cache filled by ``flush``.

Layout (schema version in ``PRAGMA user_version``, numbered migrations run on open):

* ``buffer(slot, data, base)``: one raw sample per time slot, exactly as polled (all three
  blocks, zlib-packed), or, for a poll within ``KEYFRAME_SPAN_SEC`` of the newest full sample
  (its keyframe, ``base``), the lossless difference to it: ~60–100 bytes instead of ~800, so
  the buffer grows by a page far less often. Measured with a poll/flush cycle as in
  production (distinct slots, a flush every 10 polls): 26.9 -> 19.6 KiB written per poll.
  ``poll`` does one ``INSERT … ON CONFLICT DO NOTHING`` (after reading that keyframe); two
  polls of the same slot keep the first. Before it, one primary-key lookup of the slot's cache
  chunk refuses a sample whose slot was already flushed (the chunk is decoded only when the
  slot lies inside its range), so ``add_row`` reports such a duplicate honestly.
* ``chunk(bucket, n, first_slot, last_slot, data)``: the long-term cache, one row per UTC hour.
  ``codec.encode_chunk`` stores the first sample in full and the rest as sparse deltas, zlib'd
  (measured: about 17 bytes per poll for all three blocks; 35 B/poll for the whole file).
  A query for one day reads 24–25 rows by primary key, whatever the size of the database.
* ``attempts``: every poll attempt (ok or the error, attempts, duration) so gaps are never
  silent, keyed by time in ms. A successful attempt travels in its buffer row (one page per
  poll) and is filed here by ``flush``; failures are written here directly.
* ``reports``: every report written (kind, date, paths, rows, expected slots, sha256).

``flush`` moves buffer rows into chunks and deletes them from the buffer in the same
``BEGIN IMMEDIATE`` transaction, in batches, so it is idempotent and kill-safe, and a backlog of
days never holds the write lock for long. Every read merges cache and buffer (the cache wins a
duplicate slot), so nothing waits for a flush.

Timestamps are UTC epoch seconds; a sample is keyed by its slot, ``floor(t / interval) *
interval``, and reads return the slot time.

Connections: WAL, ``synchronous=FULL``, ``busy_timeout`` 10 s, and every write transaction
starts with ``BEGIN IMMEDIATE`` (a deferred read-then-write fails at once with "database is
locked" when another process committed in between, ignoring the busy timeout).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from luxlog.codec import (
    chunk_slots,
    decode_chunk,
    encode_chunk,
    pack_delta,
    pack_row,
    unpack_delta,
    unpack_row,
)
from luxlog.errors import CorruptError, DiskFullError, StoreError
from luxlog.sample import Sample

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger("luxlog.store")

BUCKET_SEC = 3600  # one cache chunk per UTC hour
FLUSH_BATCH = 720  # buffer rows per flush transaction: a few hours, well under a second
BUSY_TIMEOUT_MS = 10_000
# A poll is stored against the newest full sample of the buffer when that is at most this old
# (and the difference is small); otherwise it is stored in full and becomes the next keyframe.
KEYFRAME_SPAN_SEC = 1800
LOW_SPACE_BYTES = 1 << 20  # an I/O error with less free space than this is a full disk
# The -shm (wal-index) grows in 32 KiB regions, one per 4096 WAL frames. SQLite creates them
# sparse (one byte at the end of each 4 KiB page) and then writes through a shared mapping: on
# a filesystem with 1 KiB blocks a write to a hole needs a block, and on a full disk the kernel
# answers with SIGBUS, which kills the process (exit 135) mid-transaction. See ``_preflight``.
SHM_REGION = 32 * 1024
WAL_INDEX_FRAMES = 4096
WAL_GROWTH_FRAMES = 1000  # SQLite's auto-checkpoint: the WAL rarely grows further in one run
SHM_MARGIN = 32 * 1024  # WAL frames and the first pages of a new database


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration transaction.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _m1_initial(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE buffer (
            slot INTEGER PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE chunk (
            bucket INTEGER PRIMARY KEY,
            n INTEGER NOT NULL,
            first_slot INTEGER NOT NULL,
            last_slot INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            error TEXT
        );
        CREATE INDEX attempts_ts ON attempts(ts);
        CREATE TABLE reports (
            kind TEXT NOT NULL,
            date TEXT NOT NULL,
            paths TEXT NOT NULL,
            rows INTEGER NOT NULL,
            expected INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            written_at INTEGER NOT NULL,
            PRIMARY KEY (kind, date)
        ) WITHOUT ROWID;
        """,
    )


def _m2_one_page_polls(conn: sqlite3.Connection) -> None:
    # A poll should touch one page: its successful attempt now rides in its buffer row (flush
    # files it in the attempts table), and attempts are keyed by time in milliseconds so no
    # separate time index has to be updated. Measured: 3 WAL frames per poll -> 1.
    _script(
        conn,
        """
        ALTER TABLE buffer ADD COLUMN polled_ms INTEGER;
        ALTER TABLE buffer ADD COLUMN attempts INTEGER;
        ALTER TABLE buffer ADD COLUMN duration_ms INTEGER;
        CREATE TABLE attempts_by_time (
            ms INTEGER PRIMARY KEY,
            ok INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            error TEXT
        );
        INSERT INTO attempts_by_time(ms, ok, attempts, duration_ms, error)
            SELECT ts * 1000 + id % 1000, ok, attempts, duration_ms, error FROM attempts;
        DROP TABLE attempts;
        ALTER TABLE attempts_by_time RENAME TO attempts
        """,
    )


def _m3_buffer_keyframes(conn: sqlite3.Connection) -> None:
    # A buffered sample may be stored as the difference to an earlier full sample of the
    # buffer (its keyframe, ``base``): ~100 bytes instead of ~800, so the buffer grows by a
    # page (three extra WAL frames) every ~30 polls instead of every 5. Rows without ``base``
    # are full samples, as before.
    conn.execute("ALTER TABLE buffer ADD COLUMN base INTEGER")


# Numbered migrations: index i upgrades user_version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m1_initial,
    _m2_one_page_polls,
    _m3_buffer_keyframes,
]
SCHEMA_VERSION = len(MIGRATIONS)


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


def _insert_attempt(
    conn: sqlite3.Connection,
    ms: int,
    ok: bool,
    attempts: int,
    duration_ms: int,
    error: str | None,
) -> None:
    """Record one attempt keyed by its time in ms (the next free ms on a collision)."""
    for key in range(ms, ms + 1000):
        cur = conn.execute(
            "INSERT INTO attempts(ms, ok, attempts, duration_ms, error) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(ms) DO NOTHING",
            (key, int(ok), attempts, duration_ms, error),
        )
        if cur.rowcount == 1:
            return
    raise StoreError("more than 1000 poll attempts recorded within one second")


def slot_of(t: float, interval: int) -> int:
    return int(t // interval) * interval


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


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def _mount_point(directory: Path) -> Path:
    """The mount point of the filesystem holding ``directory`` (named in disk-full errors)."""
    path = directory.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _cannot_open(exc: BaseException) -> bool:
    """SQLITE_CANTOPEN / SQLITE_READONLY: a permission or read-only-mount problem, typically."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).lower()
    return (
        code is not None and code & 0xFF in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY)
    ) or ("unable to open database" in text or "readonly database" in text)


def _is_corrupt(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).lower()
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
        "malformed" in text or "not a database" in text
    )


# ------------------------------------------------------------------ damaged -wal detection
#
# SQLite replays the -wal frame by frame and stops at the first frame whose salts or cumulative
# checksum do not match: everything after it is ignored *silently*, committed transactions
# included, and the next connection to close checkpoints what it read and deletes the -wal.
# A flipped bit in an early frame (an SD card, a bad sector) therefore loses every later
# commit, and ``PRAGMA integrity_check`` still says ok. The attempt log cannot see it either:
# a successful poll's attempt travels in its buffer row, in the same transaction, so both are
# dropped together. What does see it is the -wal itself (format: sqlite.org/fileformat.html,
# "WAL file format"): a frame carrying the header's salts (written in this generation of the
# log) that lies after the first broken frame and is a commit frame (non-zero "database size")
# is a transaction that was committed (with synchronous=FULL: fsynced) and that SQLite will not
# read. A torn write at the very end, the normal result of a crash mid-transaction, has no
# commit frame after it and is not flagged (a damaged *last* commit frame looks the same and
# cannot be told apart from it). Stale frames of an earlier generation carry other
# salts and are not counted.

WAL_MAGIC = (0x377F0682, 0x377F0683)  # checksums little-endian / big-endian
WAL_HEADER = 32
WAL_FRAME_HEADER = 24


@dataclass(frozen=True)
class WalDamage:
    """Committed transactions in a -wal that SQLite will skip (see the comment above)."""

    path: Path
    offset: int  # byte offset of the first broken frame
    frame: int  # its number, from 1
    lost_commits: int  # committed transactions after the break (each poll is one)
    lost_frames: int  # frames of this generation after the break

    def describe(self) -> str:
        return (
            f"{self.path}: frame {self.frame} (byte {self.offset}) is damaged, so SQLite "
            f"ignores the {self.lost_commits} committed transaction"
            f"{'s' if self.lost_commits != 1 else ''} ({self.lost_frames} frames) written after "
            "it: those samples and attempts are unreadable"
        )


def _wal_checksum(data: bytes, big_endian: bool, s0: int, s1: int) -> tuple[int, int]:
    import struct

    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    mask = 0xFFFFFFFF
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & mask
        s1 = (s1 + words[i + 1] + s0) & mask
    return s0, s1


def scan_wal(data: bytes, path: Path) -> WalDamage | None:
    import struct

    if len(data) < WAL_HEADER:
        return None
    magic, _version, page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:32])
    if magic not in WAL_MAGIC or page_size < 512 or page_size & (page_size - 1):
        return None  # not a log SQLite would read at all: integrity_check's business
    big = magic & 1 == 1
    if _wal_checksum(data[:24], big, 0, 0) != (c1, c2):
        return None  # a damaged header: SQLite ignores the whole -wal, nothing to count here
    s0, s1 = c1, c2
    size = WAL_FRAME_HEADER + page_size
    frames = (len(data) - WAL_HEADER) // size
    broken: tuple[int, int] | None = None
    lost_commits = lost_frames = torn = 0
    for n in range(frames):
        off = WAL_HEADER + n * size
        pgno, commit, fs1, fs2, f1, f2 = struct.unpack(">6I", data[off : off + 24])
        ours = (fs1, fs2) == (salt1, salt2)
        if broken is None:
            if ours and pgno:
                t0, t1 = _wal_checksum(data[off : off + 8], big, s0, s1)
                t0, t1 = _wal_checksum(data[off + 24 : off + size], big, t0, t1)
                if (t0, t1) == (f1, f2):
                    s0, s1 = t0, t1
                    continue
            # SQLite reads no further. Frames left over from an earlier generation carry other
            # salts and never count; a frame of this one after the break is a loss.
            broken = (off, n + 1)
            # The broken frame itself counts only if a commit follows it (below): alone at the
            # end it is a write torn by a crash, never acknowledged as committed.
            torn = int(ours and commit != 0)
            lost_frames += ours
            continue
        if ours:
            lost_frames += 1
            lost_commits += commit != 0
    if broken is None or lost_commits == 0:
        return None
    return WalDamage(path, broken[0], broken[1], lost_commits + torn, lost_frames)


def wal_damage(db: str | os.PathLike[str]) -> WalDamage | None:
    """Committed transactions in ``db``'s -wal that SQLite would silently skip, or None.

    Reads the file only (never opens SQLite, so nothing is checkpointed away first). Damage is
    confirmed by a second read that must agree, so a writer appending meanwhile is not
    mistaken for it. Cost: ~0.07 ms per frame; the -wal is usually absent when a run starts
    (the last connection to close checkpoints and deletes it).
    """
    path = Path(f"{os.fspath(db)}-wal")
    try:
        if os.stat(path).st_size <= WAL_HEADER:
            return None
        first = scan_wal(path.read_bytes(), path)
        if first is None:
            return None
        again = scan_wal(path.read_bytes(), path)
    except OSError:
        return None
    return first if first == again else None


DAMAGED_WAL = "-wal.damaged-"  # <db>-wal.damaged-<UTC stamp>: the evidence, kept for doctor


def damaged_wal_copies(db: str | os.PathLike[str]) -> list[Path]:
    """Copies of damaged -wal files kept by earlier runs (``Store`` makes them), oldest first."""
    p = Path(db)
    return sorted(p.parent.glob(f"{p.name}{DAMAGED_WAL}*"))


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
        self.quarantined: Path | None = None  # where a corrupt file found on open went
        self.conn = self._open(check)
        self._opened_identity = self._identity()

    # ----------------------------------------------------------------- opening

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.exists():
                raise StoreError(f"database {self.path} does not exist yet (run 'luxlog poll')")
            self._preflight()
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=10
            )
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                if _is_full(exc):
                    raise self._disk_full(exc) from exc
                raise StoreError(
                    f"cannot create the database directory {self.path.parent}: "
                    f"{exc.strerror or exc} (check cache_path)"
                ) from exc
            self._preflight()
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if not self.readonly:
                # auto_vacuum only takes effect before the first table exists, and issuing it
                # on an existing database costs ~12 KiB of writes per open (measured): SD cards.
                if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("PRAGMA journal_mode=WAL")
                # A read maps the -shm; fill its holes before anything is written.
                conn.execute("PRAGMA user_version").fetchone()
                self._reserve_shm()
            conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            conn.close()  # never leave a handle on a file that may be quarantined next
            raise
        return conn

    def _preflight(self) -> None:
        """Refuse to open when the wal-index (-shm) might not find the blocks it will touch.

        SQLite extends the -shm by writing one byte at the end of each 4 KiB page and then
        writes through a shared mapping. With 1 KiB filesystem blocks that allocates one block
        of four; a write to the others needs a free block, and on a full disk the kernel kills
        the process with SIGBUS (exit 135, nothing printed, mid-transaction), which Python
        cannot catch. The first connection of a run also truncates the -shm to 3 bytes and
        rebuilds it, so an -shm that is whole now is sparse again once SQLite has it. Hence:
        before SQLite sees the file, demand free space for every region the -shm may need
        (one per 4096 WAL frames, the WAL's current frames plus one auto-checkpoint's growth)
        plus a margin for this run's first WAL frames; less is a full disk, reported as such.
        ``_reserve_shm`` then fills the holes right after opening, so WAL growth cannot eat
        the blocks the mapping needs later. Measured on a 4 MB ext4 (1 KiB blocks): with
        10–32 KiB free, poll, flush and ``doctor --quick`` all died with SIGBUS before this.
        """
        try:
            wal = os.stat(f"{self.path}-wal").st_size
        except OSError:
            wal = 0
        frames = wal // (4096 + 24)
        need = SHM_REGION * (1 + (frames + WAL_GROWTH_FRAMES) // WAL_INDEX_FRAMES) + SHM_MARGIN
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return  # the open itself will say what is wrong with the directory
        if st.f_bavail * st.f_frsize < need:
            raise self._disk_full(None)

    def _reserve_shm(self) -> None:
        """Allocate the holes of the -shm SQLite has just mapped (see ``_preflight``).

        Uses SQLite's own descriptor, found in /proc/self/fd: opening and closing a second
        descriptor of the file would drop every POSIX lock this process holds on it, SQLite's
        included. Where /proc is missing this is skipped (``_preflight`` still applies).
        """
        shm = os.path.realpath(f"{self.path}-shm")
        try:
            st = os.stat(shm)
            if st.st_blocks * 512 >= st.st_size:
                return  # fully allocated (the usual case with 4 KiB blocks)
            fds = os.listdir("/proc/self/fd")
        except OSError:
            return
        for name in fds:
            try:
                if os.readlink(f"/proc/self/fd/{name}") != shm:
                    continue
                size = os.fstat(int(name)).st_size
                os.posix_fallocate(int(name), 0, size)
            except OSError as exc:
                if _is_full(exc):
                    raise self._disk_full(exc) from exc
                continue
            return

    def _keep_damaged_wal(self) -> None:
        """Before SQLite reads a damaged -wal (and, on close, deletes it), copy it aside.

        SQLite's own recovery drops the committed transactions after the damage without a
        word; the copy keeps the evidence (and the page images, for an expert to salvage)
        and makes ``doctor`` fail until someone has looked at it and removed it.
        """
        damage = wal_damage(self.path)
        if damage is None:
            return
        import shutil

        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = Path(f"{self.path}{DAMAGED_WAL}{stamp}")
        try:
            shutil.copy2(damage.path, target)
            kept = f"copied to {target}"
        except OSError as exc:
            kept = f"could not copy it aside: {exc.strerror or exc}"
        log.error("damaged -wal: %s; %s", damage.describe(), kept)

    def _open(self, check: bool) -> sqlite3.Connection:
        if not self.readonly:
            self._keep_damaged_wal()
        try:
            if check and self.path.exists():
                self._verify()
            conn = self._connect()
            try:
                if not self.readonly:
                    self._migrate(conn)
                else:
                    self._check_version(conn)
            except BaseException:
                # Close before a quarantine renames the file: a handle left to the garbage
                # collector could, on close, delete the *new* file's -wal by name.
                conn.close()
                raise
            return conn
        except sqlite3.DatabaseError as exc:
            if self._is_full(exc):
                raise self._disk_full(exc) from exc
            if not _is_corrupt(exc) or self.readonly:
                if self.readonly and _is_corrupt(exc):
                    raise StoreError(f"database {self.path} is corrupt: {exc}") from exc
                problem = self._access_problem() if _cannot_open(exc) else None
                if problem is not None:
                    raise StoreError(f"cannot open database {self.path}: {problem}") from exc
                raise StoreError(f"cannot open database {self.path}: {exc}") from exc
            moved = self.quarantined = self.quarantine(str(exc))
            log.error(
                "database %s failed its integrity check (%s); moved aside to %s, "
                "recording continues in a fresh file",
                self.path,
                exc,
                moved,
            )
            conn = self._connect()
            self._migrate(conn)
            return conn

    def _access_problem(self) -> str | None:
        """Why SQLite cannot open or write the files at ``path``, in words, or None.

        SQLite only says "unable to open database file" or "attempt to write a readonly
        database". It needs the database *and* the directory: every connection, a read-only
        one too, creates the -wal and -shm files next to the database. So, in order: a
        read-only mount, a directory this process cannot write, a file it cannot read and write.
        """
        directory = self.path.parent
        try:
            if os.statvfs(directory).f_flag & os.ST_RDONLY:
                return (
                    f"the filesystem mounted at {_mount_point(directory)} is read-only "
                    "(remount it read-write, or point cache_path at a writable volume)"
                )
            st = os.stat(directory)
        except OSError:
            return None
        who = f"uid {os.geteuid()}"
        if not os.access(directory, os.W_OK | os.X_OK):
            return (
                f"the directory {directory} is not writable by {who} (owner uid {st.st_uid}, "
                f"mode {st.st_mode & 0o7777:04o}): SQLite creates {self.path.name}-wal and "
                f"{self.path.name}-shm there; give {who} write access, or check cache_path"
            )
        for suffix in ("", "-wal", "-shm"):
            f = Path(f"{self.path}{suffix}")
            try:
                fst = os.stat(f)
            except OSError:
                continue
            if not os.access(f, os.R_OK | os.W_OK):
                return (
                    f"{f} is not readable and writable by {who} (owner uid {fst.st_uid}, "
                    f"mode {fst.st_mode & 0o7777:04o}); give {who} access, or check cache_path"
                )
        return None

    def _verify(self) -> None:
        """``PRAGMA quick_check`` on a read-only connection; raises DatabaseError if damaged.

        Read-only on purpose: closing the last read-write connection checkpoints the -wal
        into the main file and deletes it, which would rewrite the damaged file (and lose the
        -wal) just before it is quarantined. A read-only connection never writes either file.
        """
        self._preflight()
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if result != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {result}")

    def _quarantine_name(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        return target

    def quarantine(self, reason: str) -> Path:
        """Move the database and its -wal/-shm aside as ``<name>.corrupt-<UTC timestamp>``.

        All three are linked under the new name before any original goes, so a kill in
        between never separates the main file from its -wal (whose samples would be lost).
        """
        target = self._quarantine_name()
        moved = []
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                try:
                    os.link(src, Path(f"{target}{suffix}"))
                except OSError:  # a filesystem without hard links: rename instead
                    os.replace(src, Path(f"{target}{suffix}"))
                    continue
                moved.append(src)
        for src in moved:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(src)
        return target

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def abandon(self, reason: str) -> Path | None:
        """Quarantine a database found damaged while this store has it open.

        The files are copied aside under the write lock (no other process can commit or
        restart the -wal meanwhile) and *before* the connection closes (closing the last
        connection checkpoints the -wal into the main file and deletes it). They are removed
        only if the path still is the file this store opened: another process may already
        have quarantined it and started a fresh database there. Returns the quarantine path,
        or None when that happened (nothing is touched then).
        """
        import shutil

        opened = self._opened_identity
        if opened is None or self._identity() != opened:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            return None
        target = self._quarantine_name()
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("BEGIN IMMEDIATE")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                shutil.copy2(src, Path(f"{target}{suffix}"))
        still_ours = self._identity() == opened
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if still_ours:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
        return target

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this luxlog "
                f"supports ({SCHEMA_VERSION}); upgrade luxlog or point cache_path elsewhere"
            )
        return version

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._check_version(conn)
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](conn)
                log.info("database %s migrated to schema version %d", self.path, number + 1)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL): a second
            # ROLLBACK would fail and hide the cause ("cannot rollback - no transaction").
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    def _is_full(self, exc: BaseException) -> bool:
        """SQLITE_FULL/ENOSPC, or an I/O error while the filesystem has (almost) no space left.

        SQLite reports ENOSPC as SQLITE_FULL only on its main write path; growing the -shm
        file on open, for one, fails as a plain "disk I/O error".
        """
        if _is_full(exc):
            return True
        if not isinstance(exc, sqlite3.OperationalError):
            return False
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None or code & 0xFF != sqlite3.SQLITE_IOERR:
            return False
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize < LOW_SPACE_BYTES

    def _disk_full(self, exc: BaseException | None) -> DiskFullError:
        return DiskFullError(
            f"disk full: cannot write {self.path} (the filesystem mounted at "
            f"{_mount_point(self.path.parent)} has no space left); the database is intact, "
            "free some space and the next run will succeed"
        )

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (a signal too) rolls back."""
        if self.readonly:
            raise StoreError("store opened read-only")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._wrap(exc) from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error | OSError):
                raise self._wrap(exc) from exc
            raise

    def _wrap(self, exc: BaseException) -> StoreError:
        if self._is_full(exc):
            return self._disk_full(exc)
        if _is_corrupt(exc):
            return CorruptError(f"database {self.path} is corrupt: {exc}")
        return StoreError(f"database {self.path}: {exc}")

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
        with self.write() as conn:
            stored = False
            if not self._cached(conn, row.slot):
                blob, base = self._pack_for_buffer(conn, row, delta)
                stored = (
                    conn.execute(
                        "INSERT INTO buffer(slot, data, base, polled_ms, attempts, duration_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(slot) DO NOTHING",
                        (row.slot, blob, base, *polled),
                    ).rowcount
                    == 1
                )
            if attempt is not None and not stored:
                # a duplicate slot: the sample is dropped, but the attempt still happened
                _insert_attempt(conn, ms, True, attempt[0], polled[2] or 0, None)
            return stored

    @staticmethod
    def _pack_for_buffer(
        conn: sqlite3.Connection, row: Sample, delta: bool
    ) -> tuple[bytes, int | None]:
        full = pack_row(row)
        if not delta:
            return full, None
        keyframe = conn.execute(
            "SELECT slot, data FROM buffer WHERE base IS NULL AND slot < ? AND slot >= ? "
            "ORDER BY slot DESC LIMIT 1",
            (row.slot, row.slot - KEYFRAME_SPAN_SEC),
        ).fetchone()
        if keyframe is None:
            return full, None
        small = pack_delta(row, unpack_row(keyframe[0], keyframe[1]))
        if small is None or len(small) * 2 > len(full):
            return full, None
        return small, keyframe[0]

    @staticmethod
    def _resolve(
        conn: sqlite3.Connection, raw: list[tuple[int, bytes, int | None]]
    ) -> list[Sample]:
        """Buffer rows (slot, data, base) -> samples, fetching keyframes not among them."""
        full = {slot: unpack_row(slot, blob) for slot, blob, base in raw if base is None}
        missing = {ref for _, _, ref in raw if ref is not None and ref not in full}
        for ref in missing:
            hit = conn.execute(
                "SELECT data FROM buffer WHERE slot = ? AND base IS NULL", (ref,)
            ).fetchone()
            if hit is None:
                raise CorruptError(f"buffered sample references missing keyframe {ref}")
            full[ref] = unpack_row(ref, hit[0])
        out = []
        for slot, blob, base in raw:
            out.append(full[slot] if base is None else unpack_delta(slot, blob, full[base]))
        return out

    @staticmethod
    def _cached(conn: sqlite3.Connection, slot: int) -> bool:
        """Whether the cache already holds ``slot`` (one primary-key lookup; the chunk is
        decoded only when the slot lies inside its range, i.e. for a re-poll of old data)."""
        hit = conn.execute(
            "SELECT data FROM chunk WHERE bucket = ? AND first_slot <= ? AND last_slot >= ?",
            (slot // BUCKET_SEC * BUCKET_SEC, slot, slot),
        ).fetchone()
        return hit is not None and slot in chunk_slots(slot // BUCKET_SEC * BUCKET_SEC, hit[0])

    def add_rows(self, rows: Sequence[Sample], batch: int = 2000) -> int:
        """Buffer many samples, a bounded batch per transaction (imports, demo, benchmarks).

        Returns how many were new (a slot already buffered keeps its first sample).
        """
        added = 0
        for i in range(0, len(rows), batch):
            with self.write() as conn:
                for row in rows[i : i + batch]:
                    if self._cached(conn, row.slot):
                        continue  # already flushed: the first sample of a slot wins
                    cur = conn.execute(
                        "INSERT INTO buffer(slot, data) VALUES (?, ?) ON CONFLICT(slot) DO NOTHING",
                        (row.slot, pack_row(row)),
                    )
                    added += cur.rowcount
        return added

    def record_failure(
        self, attempts: int, duration: float, error: str, now: float | None = None
    ) -> None:
        ms = round((time.time() if now is None else now) * 1000)
        with self.write() as conn:
            _insert_attempt(conn, ms, False, attempts, round(duration * 1000), error[:500])

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

    # ----------------------------------------------------------------- flushing

    def flush(
        self,
        batch: int = FLUSH_BATCH,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> FlushResult:
        """Move buffered samples into the cache, one bounded transaction per batch.

        ``progress`` is called after each committed batch with the samples moved so far.
        """
        moved = dups = 0
        while True:
            if should_stop is not None and should_stop():
                break
            with self.write() as conn:
                rows = conn.execute(
                    "SELECT slot, data, base, polled_ms, attempts, duration_ms FROM buffer "
                    "ORDER BY slot LIMIT ?",
                    (batch,),
                ).fetchall()
                if not rows:
                    break
                samples = self._resolve(conn, [(r[0], r[1], r[2]) for r in rows])
                by_bucket: dict[int, list[Sample]] = {}
                for sample, (_, _, _, polled_ms, attempts, duration_ms) in zip(
                    samples, rows, strict=True
                ):
                    by_bucket.setdefault(sample.slot // BUCKET_SEC * BUCKET_SEC, []).append(sample)
                    if polled_ms is not None:
                        _insert_attempt(conn, polled_ms, True, attempts, duration_ms, None)
                for bucket, new in by_bucket.items():
                    dups += self._merge_chunk(conn, bucket, new)
                first, last = rows[0][0], rows[-1][0]
                # Samples left in the buffer whose keyframe moves now become full samples.
                moving = {sample.slot: sample for sample in samples}
                for slot, blob, base in conn.execute(
                    "SELECT slot, data, base FROM buffer WHERE slot > ? AND base <= ?",
                    (last, last),
                ).fetchall():
                    if base not in moving:
                        raise CorruptError(f"buffered sample {slot} lost its keyframe {base}")
                    kept = unpack_delta(slot, blob, moving[base])
                    conn.execute(
                        "UPDATE buffer SET data = ?, base = NULL WHERE slot = ?",
                        (pack_row(kept), slot),
                    )
                conn.execute("DELETE FROM buffer WHERE slot BETWEEN ? AND ?", (first, last))
            moved += len(rows)
            if progress is not None:
                progress(moved)
            if len(rows) < batch:
                break
        remaining = self.conn.execute("SELECT count(*) FROM buffer").fetchone()[0]
        self._reclaim()
        return FlushResult(moved - dups, remaining, dups)

    def _reclaim(self, threshold_pages: int = 256) -> None:
        """Give a large backlog's freed buffer pages back to the filesystem.

        In steady state the buffer reuses its few free pages; after flushing days of backlog
        the file would otherwise keep their size. ``executescript`` because ``execute`` runs
        ``incremental_vacuum`` for one page only.
        """
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        if free > threshold_pages:
            try:
                self.conn.executescript("PRAGMA incremental_vacuum")
            except sqlite3.Error as exc:
                raise self._wrap(exc) from exc

    def _merge_chunk(self, conn: sqlite3.Connection, bucket: int, new: list[Sample]) -> int:
        existing = conn.execute("SELECT data FROM chunk WHERE bucket = ?", (bucket,)).fetchone()
        merged: dict[int, Sample] = {}
        if existing is not None:
            merged = {r.slot: r for r in decode_chunk(bucket, existing[0])}
        dups = 0
        for row in new:
            if row.slot in merged:
                dups += 1  # the cache already holds this slot: the first sample wins
            else:
                merged[row.slot] = row
        rows = [merged[s] for s in sorted(merged)]
        conn.execute(
            "INSERT INTO chunk(bucket, n, first_slot, last_slot, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(bucket) DO UPDATE SET n=excluded.n, first_slot=excluded.first_slot, "
            "last_slot=excluded.last_slot, data=excluded.data",
            (bucket, len(rows), rows[0].slot, rows[-1].slot, encode_chunk(bucket, rows)),
        )
        return dups

    # ------------------------------------------------------------------ reading

    def iter_rows(self, start: float, end: float) -> Iterator[Sample]:
        """Raw samples with ``start <= slot < end`` in slot order, cache and buffer merged.

        Streams one chunk at a time, so memory stays flat however long the range.
        """
        lo, hi = int(start), int(end)
        if hi <= lo:
            return
        # Snapshot the buffer first (small), keyframes included, in one read transaction so
        # a concurrent flush cannot move a keyframe in between; the cache is read chunk by
        # chunk (a sample flushed meanwhile is then in both: the cache copy wins below).
        own = not self.conn.in_transaction  # inside a caller's transaction: read in it
        try:
            if own:
                self.conn.execute("BEGIN")
            raw = self.conn.execute(
                "SELECT slot, data, base FROM buffer WHERE slot >= ? AND slot < ? ORDER BY slot",
                (lo, hi),
            ).fetchall()
            buffered = self._resolve(self.conn, raw)
        finally:
            if own and self.conn.in_transaction:
                self.conn.execute("COMMIT")
        b = 0
        cur = self.conn.execute(
            "SELECT bucket, data FROM chunk WHERE bucket >= ? AND bucket < ? ORDER BY bucket",
            (lo // BUCKET_SEC * BUCKET_SEC, hi),
        )
        for bucket, blob in cur:
            for row in decode_chunk(bucket, blob):
                if row.slot < lo or row.slot >= hi:
                    continue
                while b < len(buffered) and buffered[b].slot < row.slot:
                    yield buffered[b]
                    b += 1
                if b < len(buffered) and buffered[b].slot == row.slot:
                    b += 1  # duplicate of a flushed slot: the cache wins
                yield row
        yield from buffered[b:]

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
        present: set[int] = set()
        lo, hi = int(start), int(end)
        for bucket, blob in self.conn.execute(
            "SELECT bucket, data FROM chunk WHERE bucket >= ? AND bucket < ?",
            (lo // BUCKET_SEC * BUCKET_SEC, hi),
        ):
            present.update(s for s in chunk_slots(bucket, blob) if lo <= s < hi)
        present.update(
            s
            for (s,) in self.conn.execute(
                "SELECT slot FROM buffer WHERE slot >= ? AND slot < ?", (lo, hi)
            )
        )
        return sorted(present)

    def buffered(self) -> int:
        """Samples waiting in the buffer."""
        (n,) = self.conn.execute("SELECT count(*) FROM buffer").fetchone()
        return int(n)

    def counts(self) -> dict[str, Any]:
        """Sizes for summaries and ``doctor``."""
        c = self.conn
        buffered, oldest = c.execute("SELECT count(*), min(slot) FROM buffer").fetchone()
        cached, first, last = c.execute(
            "SELECT coalesce(sum(n), 0), min(first_slot), max(last_slot) FROM chunk"
        ).fetchone()
        return {
            "buffered": buffered,
            "oldest_buffered": oldest,
            "cached": cached,
            "first_slot": first,
            "last_cached_slot": last,
            "schema_version": c.execute("PRAGMA user_version").fetchone()[0],
        }

    def last_success(self) -> int | None:
        """Epoch seconds of the last successful poll (flushed or still buffered)."""
        logged = self.conn.execute(
            "SELECT ms FROM attempts WHERE ok = 1 ORDER BY ms DESC LIMIT 1"
        ).fetchone()
        (buffered,) = self.conn.execute("SELECT max(polled_ms) FROM buffer").fetchone()
        candidates = [v for v in (logged[0] if logged else None, buffered) if v is not None]
        return max(candidates) // 1000 if candidates else None

    def attempts_since(self, since: float) -> list[tuple[int, bool, int, int, str | None]]:
        """Every poll attempt since ``since``: (epoch s, ok, attempts, duration ms, error)."""
        lo = int(since * 1000)
        logged = self.conn.execute(
            "SELECT ms, ok, attempts, duration_ms, error FROM attempts WHERE ms >= ?", (lo,)
        ).fetchall()
        buffered = self.conn.execute(
            "SELECT polled_ms, 1, attempts, duration_ms, NULL FROM buffer WHERE polled_ms >= ?",
            (lo,),
        ).fetchall()
        return [
            (ms // 1000, bool(ok), n, d, err) for ms, ok, n, d, err in sorted(logged + buffered)
        ]

    # ------------------------------------------------------------------ reports

    def record_report(
        self, kind: str, date: str, paths: Sequence[str], rows: int, expected: int, sha256: str
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO reports(kind, date, paths, rows, expected, sha256, written_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, date) DO UPDATE SET "
                "paths=excluded.paths, rows=excluded.rows, expected=excluded.expected, "
                "sha256=excluded.sha256, written_at=excluded.written_at",
                (kind, date, "\n".join(paths), rows, expected, sha256, int(time.time())),
            )

    def reports(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT kind, date, paths, rows, expected, sha256, written_at FROM reports"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            args = (kind,)
        keys = ("kind", "date", "paths", "rows", "expected", "sha256", "written_at")
        return [
            dict(zip(keys, r, strict=True)) for r in self.conn.execute(sql + " ORDER BY date", args)
        ]

    # ------------------------------------------------------------------ pruning

    def prune(self, before: dt.datetime | float) -> PruneResult:
        """Delete cached samples (and attempt records) older than ``before``.

        Never touches the buffer: unflushed samples are the ones not yet safe in the cache.
        The file shrinks through incremental vacuum; the bytes freed are measured.
        """
        limit = int(to_epoch(before, "before"))
        size_before = self._file_size()
        deleted = 0
        with self.write() as conn:
            (whole,) = conn.execute(
                "SELECT coalesce(sum(n), 0) FROM chunk WHERE last_slot < ?", (limit,)
            ).fetchone()
            conn.execute("DELETE FROM chunk WHERE last_slot < ?", (limit,))
            deleted += whole
            partial = conn.execute(
                "SELECT bucket, data FROM chunk WHERE first_slot < ? AND last_slot >= ?",
                (limit, limit),
            ).fetchall()
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
            self.conn.executescript("PRAGMA incremental_vacuum;")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise self._wrap(exc) from exc
        return PruneResult(deleted, max(0, size_before - self._file_size()), attempts)

    def _file_size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def quick_check(self) -> str:
        result: str = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        return result
