"""Opening the SQLite file: connect, verify, migrate, quarantine, transactions, error kinds.

Connections: WAL, ``synchronous=FULL``, ``busy_timeout`` 10 s, and every write transaction
starts with ``BEGIN IMMEDIATE`` (a deferred read-then-write fails at once with "database is
locked" when another process committed in between, ignoring the busy timeout). SQLite's
errors become the ``StoreError`` family here, and nowhere else: a full disk (through
``disk.disk_full_error``, the one disk-full message), a damaged file (``CorruptError``), a file
that cannot be opened (the reason in words).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from luxlog.disk import disk_full_error, is_disk_full, mount_point
from luxlog.errors import CorruptError, DiskFullError, MissingDatabaseError, StoreError
from luxlog.store.migrations import check_version, migrate
from luxlog.store.wal import keep_damaged_wal
from luxlog.text import file_stamp

log = logging.getLogger("luxlog.store")

TYPE_CHECKING = False  # `typing` costs ~5 ms per process on the poll path
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
LOW_SPACE_BYTES = 1 << 20  # an I/O error with less free space than this is a full disk
# The -shm (wal-index) grows in 32 KiB regions, one per 4096 WAL frames. SQLite creates them
# sparse (one byte at the end of each 4 KiB page) and then writes through a shared mapping: on
# a filesystem with 1 KiB blocks a write to a hole needs a block, and on a full disk the kernel
# answers with SIGBUS, which kills the process (exit 135) mid-transaction. See ``_preflight``.
SHM_REGION = 32 * 1024
WAL_INDEX_FRAMES = 4096
WAL_GROWTH_FRAMES = 1000  # SQLite's auto-checkpoint: the WAL rarely grows further in one run
SHM_MARGIN = 32 * 1024  # WAL frames and the first pages of a new database


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return is_disk_full(exc)


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


def _first_line(text: str) -> str:
    """A (quick_check) report as one log line: its first problem and how many there were.

    quick_check answers up to 100 rows, some spanning lines; the ``*** in database main ***``
    headers name no problem. One event per log line.
    """
    lines = [x for x in text.splitlines() if x.strip() and not x.strip().startswith("***")]
    if len(lines) <= 1:
        return " ".join(text.split())
    return f"{lines[0].strip()} (and {len(lines) - 1} more problems)"


class Database:
    """One SQLite file opened for luxlog: verified, migrated, quarantined when damaged."""

    def __init__(
        self, path: Path, *, check: bool = False, readonly: bool = False, snapshot: bool = False
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.snapshot = snapshot
        self.quarantined: Path | None = None  # where a corrupt file found on open went
        self.conn = self._open(check)
        self._opened_identity = self._identity()

    # ----------------------------------------------------------------- opening

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.exists():
                raise MissingDatabaseError(f"database {self.path} does not exist yet")
            self._preflight()
            conn = sqlite3.connect(self._readonly_uri(), uri=True, isolation_level=None, timeout=10)
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                if _is_full(exc):
                    raise self._disk_full() from exc
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

    def _readonly_uri(self) -> str:
        """``mode=ro``; with ``snapshot``, in a directory this process cannot write (a read-only
        mount, as ``luxlog serve``'s container has), also ``immutable=1``: a WAL reader needs a
        -shm it can create there, so SQLite could not open the file at all. Immutable reads the
        file as the last checkpoint left it (every luxlog process checkpoints when it closes;
        newer polls are in the journal), without locks: a read that meets a checkpoint may fail
        once. Without ``snapshot`` (doctor) such a directory is the error it is for a writer."""
        if not self.snapshot or os.access(self.path.parent, os.W_OK):
            return f"file:{self.path}?mode=ro"
        return f"file:{self.path}?mode=ro&immutable=1"

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
            raise self._disk_full()

    def _reserve_shm(self) -> None:
        """Allocate the holes of the -shm SQLite has just mapped (see ``_preflight``).

        Uses SQLite's own descriptor, found in /proc/self/fd: opening and closing a second
        descriptor of the file would drop every POSIX lock this process holds on it, SQLite's
        included. Where /proc is missing this is skipped (``_preflight`` still applies).

        Only when free space is low (below ``LOW_SPACE_BYTES``), the one case it protects:
        where the filesystem cannot allocate, glibc emulates ``posix_fallocate`` by writing
        zero bytes into the file, here one that other processes have mapped. A filesystem that
        refuses (EOPNOTSUPP, EINVAL, ENOSYS) is skipped quietly.
        """
        shm = os.path.realpath(f"{self.path}-shm")
        try:
            st = os.stat(shm)
            if st.st_blocks * 512 >= st.st_size:
                return  # fully allocated (the usual case with 4 KiB blocks)
            fs = os.statvfs(shm)
            if fs.f_bavail * fs.f_frsize >= LOW_SPACE_BYTES:
                return  # the holes will find blocks: nothing to protect against
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
                    raise self._disk_full() from exc
                if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    return  # cannot reserve here: _preflight's free-space demand still holds
                continue
            return

    def _open(self, check: bool) -> sqlite3.Connection:
        if not self.readonly:
            keep_damaged_wal(self.path)
        try:
            if check and self.path.exists():
                self._verify()
            conn = self._connect()
            try:
                if not self.readonly:
                    migrate(conn, self.path)
                else:
                    check_version(conn, self.path)
            except BaseException:
                # Close before a quarantine renames the file: a handle left to the garbage
                # collector could, on close, delete the *new* file's -wal by name.
                conn.close()
                raise
            return conn
        except sqlite3.DatabaseError as exc:
            if self._means_full(exc):
                raise self._disk_full() from exc
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
                _first_line(str(exc)),
                moved,
            )
            return self._fresh()

    def _fresh(self) -> sqlite3.Connection:
        """Connect and migrate the fresh file after a quarantine, errors in the family."""
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise self.wrap(exc) from exc
        try:
            migrate(conn, self.path)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self.wrap(exc) from exc
            raise
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
                    f"the filesystem mounted at {mount_point(directory)} is read-only "
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
            result = "\n".join(str(row[0]) for row in conn.execute("PRAGMA quick_check"))
        finally:
            conn.close()
        if result != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {_first_line(result)}")

    def _quarantine_name(self) -> Path:
        stamp = file_stamp()
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

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ transactions

    def _means_full(self, exc: BaseException) -> bool:
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

    def _disk_full(self) -> DiskFullError:
        return disk_full_error(self.path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (a signal too) rolls back."""
        if self.readonly:
            raise StoreError("store opened read-only")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.wrap(exc) from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error | OSError):
                raise self.wrap(exc) from exc
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """A read: SQLite's errors become the ``StoreError`` family, as in ``transaction``.

        A page damaged after the open's checks shows only when a read reaches it.
        """
        try:
            yield
        except sqlite3.Error as exc:
            raise self.wrap(exc) from exc

    def read_all(self, rows: Iterable[T]) -> Iterator[T]:
        """``rows`` (a lazy read) under ``reading``: the error comes from the iteration."""
        with self.reading():
            yield from rows

    def wrap(self, exc: BaseException) -> StoreError:
        if self._means_full(exc):
            return self._disk_full()
        if _is_corrupt(exc):
            return CorruptError(f"database {self.path} is corrupt: {exc}")
        return StoreError(f"database {self.path}: {exc}")

    def file_size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def quick_check(self) -> str:
        result: str = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        return result
