"""The poll journal: an append-only file beside the database, one self-checking record a block.

SD cards die of small writes, and a SQLite commit costs a poll ~120 KiB at the block device (the
-wal's growth and its ext4 journal, fsyncs of the directory, unlinks). A poll therefore writes
one record with one ``pwrite`` into a preallocated file and one ``fdatasync``: no SQLite, no
directory change, no allocation in steady state (``<database>.journal``).

Layout: 4 KiB blocks; a record starts on a block boundary and fills whole blocks (a sample
packs to ~800 bytes: one block). A power loss tears at most the block being written, which was
never acknowledged; no earlier record shares a block with it. A record is ``HEAD`` (magic,
kind, blocks, payload length, slot, polled ms, attempts, duration ms), the CRC-32 of the head
and the payload, then the payload: a packed sample (``codec.pack_row``) or, for a failed
attempt, its error text. All-zero blocks are free space; anything else that does not check
out is damage, skipped and reported by position (never a crash, never silent).

Polls and ``flush`` serialise with ``flock`` on the file (readers take it shared). A slot already
in the journal keeps its first sample (the poll's attempt is still recorded). ``flush`` moves the
records into the cache (idempotently: a record already there is a no-op) and then truncates the
file and preallocates it again, under the lock; see ``cache.flush_journal``.

This module is on the light poll path: no ``logging``, ``pathlib``, ``dataclasses``, ``typing``.
"""

from __future__ import annotations

import os
import struct
import time
import zlib

from luxlog.errors import StoreError
from luxlog.sample import Sample

BLOCK = 4096
# Preallocated ahead of the polls: 256 blocks (1 MiB) hold ~2 h of 30 s polls, so in steady
# state (a flush every few minutes) a poll never allocates; a backlog grows it a MiB at a time.
PREALLOC_BLOCKS = 256
MAGIC = b"LXJ1"
# Record kinds: a polled sample (its attempt inside); an attempt alone; and, first in a journal
# ``flush`` has reset, the newest slot it moved (a poll of that slot again is a duplicate: the
# poll path cannot ask the cache, it may not open SQLite).
SAMPLE, ATTEMPT, MOVED = 1, 2, 3
# magic, kind, ok, blocks, payload length, slot, polled ms, attempts, duration ms; then CRC-32
HEAD = struct.Struct("<4sBBHIqqII")
CRC = struct.Struct("<I")
HEADER_BYTES = HEAD.size + CRC.size
POLL_LOCK_SEC = 5.0  # a flush holds the lock for milliseconds (its last, short batch)
READ_LOCK_SEC = 10.0
FLUSH_LOCK_SEC = 20.0
_ZERO = bytes(BLOCK)


def journal_path(database: str | os.PathLike[str]) -> str:
    """The journal beside ``database``: ``<database>.journal``."""
    return f"{os.fspath(database)}.journal"


class Record:
    """One record: a sample (``sample`` set, ok) or an attempt alone (ok or its ``error``)."""

    __slots__ = ("attempts", "blob", "block", "duration_ms", "kind", "ok", "polled_ms", "slot")

    def __init__(
        self,
        kind: int,
        slot: int,
        polled_ms: int,
        attempts: int,
        duration_ms: int,
        ok: bool,
        blob: bytes,
        block: int = -1,
    ) -> None:
        self.kind = kind
        self.slot = slot
        self.polled_ms = polled_ms
        self.attempts = attempts
        self.duration_ms = duration_ms
        self.ok = ok
        self.blob = blob  # packed sample, or the error text (UTF-8)
        self.block = block  # its position in the file, in blocks

    @property
    def has_attempt(self) -> bool:
        """A poll's record (a sample loaded by ``add`` or an import carries no attempt)."""
        return self.kind == ATTEMPT or self.attempts > 0

    @property
    def error(self) -> str | None:
        return None if self.ok else self.blob.decode("utf-8", "replace")

    def sample(self) -> Sample:
        from luxlog.codec import unpack_row

        return unpack_row(self.slot, self.blob)

    def encode(self) -> bytes:
        head = HEAD.pack(
            MAGIC,
            self.kind,
            int(self.ok),
            -(-(HEADER_BYTES + len(self.blob)) // BLOCK),
            len(self.blob),
            self.slot,
            self.polled_ms,
            self.attempts,
            self.duration_ms,
        )
        body = head + CRC.pack(zlib.crc32(self.blob, zlib.crc32(head))) + self.blob
        return body + bytes(-len(body) % BLOCK)


def sample_record(row: Sample, polled_ms: int, attempts: int, duration_ms: int) -> Record:
    from luxlog.codec import pack_row

    return Record(SAMPLE, row.slot, polled_ms, attempts, duration_ms, True, pack_row(row))


def attempt_record(
    polled_ms: int, ok: bool, attempts: int, duration_ms: int, error: str | None
) -> Record:
    text = (error or "")[:500].encode("utf-8") if not ok else b""
    return Record(ATTEMPT, 0, polled_ms, attempts, duration_ms, ok, text)


class Damage:
    """A block that is neither free nor a record: where, and why."""

    __slots__ = ("block", "reason")

    def __init__(self, block: int, reason: str) -> None:
        self.block = block
        self.reason = reason

    def describe(self, path: str) -> str:
        return (
            f"poll journal {path}: block {self.block} (byte {self.block * BLOCK}) is damaged "
            f"({self.reason}); skipped, the records around it are intact"
        )


class Scan:
    """What a journal holds: its records in file order, damaged blocks, the next free block."""

    __slots__ = ("damage", "end", "records")

    def __init__(self, records: list[Record], damage: list[Damage], end: int) -> None:
        self.records = records
        self.damage = damage
        self.end = end

    def slots(self) -> set[int]:
        return {r.slot for r in self.records if r.kind == SAMPLE}

    def moved(self) -> int | None:
        """The newest slot the last flush moved into the cache (see ``MOVED``), or None."""
        return max((r.slot for r in self.records if r.kind == MOVED), default=None)

    def newest(self) -> int | None:
        """The newest sample's slot, or the newest the last flush moved; None: neither."""
        return max((r.slot for r in self.records if r.kind in (SAMPLE, MOVED)), default=None)

    def samples(self) -> dict[int, Record]:
        """Sample records by slot; the first record of a slot wins."""
        out: dict[int, Record] = {}
        for r in self.records:
            if r.kind == SAMPLE and r.slot not in out:
                out[r.slot] = r
        return out


def scan(data: bytes) -> Scan:
    """Parse the journal's bytes: every record that checks out, every damaged block."""
    records: list[Record] = []
    damage: list[Damage] = []
    end = 0
    n = _used_blocks(data)
    i = 0
    while i < n:
        off = i * BLOCK
        block = data[off : off + BLOCK]
        if block == _ZERO[: len(block)]:
            i += 1
            continue
        end = i + 1  # never append over a damaged block: it is evidence until flush
        record, reason = _parse(data, off, i)
        if record is None:
            damage.append(Damage(i, reason))
            i += 1
            continue
        records.append(record)
        i += max(1, -(-(HEADER_BYTES + len(record.blob)) // BLOCK))
        end = i
    return Scan(records, damage, end)


def _used_blocks(data: bytes) -> int:
    """Blocks up to the last one that is not all zeros: the preallocated tail is skipped
    from the end a block at a time (a ``memcmp`` each; a forward scan of a MiB of free
    blocks cost every poll and every read ~1 ms)."""
    n = -(-len(data) // BLOCK)
    while n:
        block = data[(n - 1) * BLOCK : n * BLOCK]
        if block != _ZERO[: len(block)]:
            break
        n -= 1
    return n


def _parse(data: bytes, off: int, index: int) -> tuple[Record | None, str]:
    if len(data) - off < HEADER_BYTES:
        return None, "short: the file ends inside its header"
    magic, kind, ok, blocks, length, slot, ms, attempts, dur = HEAD.unpack_from(data, off)
    if magic != MAGIC or kind not in (SAMPLE, ATTEMPT, MOVED):
        return None, "not a record header"
    start = off + HEADER_BYTES
    if start + length > len(data) or blocks != -(-(HEADER_BYTES + length) // BLOCK):
        return None, f"short: {length} payload bytes announced, the file ends first"
    (crc,) = CRC.unpack_from(data, off + HEAD.size)
    blob = data[start : start + length]
    if zlib.crc32(blob, zlib.crc32(data[off : off + HEAD.size])) != crc:
        return None, "bad CRC"
    return Record(kind, slot, ms, attempts, dur, bool(ok), blob, index), ""


# ---------------------------------------------------------------------------- file access


def _lock(fd: int, op: int, seconds: float, path: str) -> None:
    """``flock`` with a bound: a poll must never outlive its slot waiting for a lock."""
    import fcntl

    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"poll journal {path} stayed locked by another process for {seconds:.0f} s "
                    "(a flush or poll still running? check for a hung luxlog process)"
                ) from None
            time.sleep(0.005)


def _fail(exc: OSError, path: str, doing: str) -> StoreError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        from pathlib import Path

        from luxlog.disk import disk_full_error

        return disk_full_error(Path(path))
    return StoreError(
        f"cannot {doing} the poll journal {path}: {exc.strerror or exc} "
        "(check cache_path and its directory's permissions)"
    )


_TAIL_CHUNK = 16 * BLOCK


def _read_all(fd: int) -> bytes:
    """The journal's bytes as ``scan`` needs them: the used blocks and one chunk past them.

    The preallocated free tail (all zeros, ~1 MiB after a flush) is found from the end a chunk
    at a time rather than read whole: reading the whole file cost every poll ~1 MiB of peak RSS.
    ``scan`` ignores zero blocks after the last used one; the extra chunk keeps the bytes a
    record may still reach into there (its last block all zeros), as when the file was read whole.
    """
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = (end - 1) // _TAIL_CHUNK * _TAIL_CHUNK
        used = _used_blocks(os.pread(fd, end - start, start))
        if used:
            return os.pread(fd, min(size, start + used * BLOCK + _TAIL_CHUNK), 0)
        end = start
    return b""


def append(
    path: str, record: Record, lock_seconds: float = POLL_LOCK_SEC, sync: bool = True
) -> bool:
    """Append one record durably: one ``pwrite``, one ``fdatasync``.

    A sample whose slot the journal already holds is not written; its attempt is recorded on
    its own instead (the first sample of a slot wins). Returns whether the sample was stored.
    """
    fd = _open_for_append(path)
    try:
        created = os.fstat(fd).st_size == 0
        _lock(fd, _exclusive(), lock_seconds, path)
        found = scan(_read_all(fd))
        report_damage(path, found.damage)
        stored = True
        if record.kind == SAMPLE and (record.slot in found.slots() or record.slot == found.moved()):
            if not record.has_attempt:
                return False
            stored = False
            record = attempt_record(record.polled_ms, True, record.attempts, record.duration_ms, "")
        _write(fd, path, found.end, record.encode(), sync)
        if created and sync:
            _sync_directory(path)
        return stored
    finally:
        os.close(fd)  # closing drops the lock


def _open_for_append(path: str) -> int:
    """Open (or create, with its directory, as the database's would be) the journal."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise _fail(exc, path, "open") from exc
    import errno

    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(
                f"cannot create the database directory {directory}: {exc.strerror or exc} "
                "(check cache_path)"
            ) from exc
        raise _fail(exc, path, "create") from exc  # ENOSPC, EDQUOT: the disk-full line
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise _fail(exc, path, "open") from exc


def _exclusive() -> int:
    import fcntl

    return fcntl.LOCK_EX


def _write(fd: int, path: str, block: int, data: bytes, sync: bool = True) -> None:
    offset = block * BLOCK
    try:
        size = os.fstat(fd).st_size
        if offset + len(data) > size:
            _grow(fd, size, offset + len(data) - size)
        os.pwrite(fd, data, offset)
        if sync:  # off only where durability is not the point (test set-up, like synchronous=OFF)
            os.fdatasync(fd)
    except OSError as exc:
        raise _fail(exc, path, "write") from exc


def _grow(fd: int, size: int, need: int) -> None:
    """Allocate ahead, so the next polls overwrite allocated blocks (no extent or bitmap
    change, no size change for ``fdatasync`` to commit); on a nearly full disk, just ``need``."""
    import errno

    try:
        os.posix_fallocate(fd, size, max(PREALLOC_BLOCKS * BLOCK, need))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or need >= PREALLOC_BLOCKS * BLOCK:
            raise
        os.posix_fallocate(fd, size, need)


def _sync_directory(path: str) -> None:
    """Make the journal's directory entry durable (once: the file is never removed)."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_many(path: str, records: list[Record]) -> None:
    """Append records with one write and one sync (set-up of tests and benchmarks; no dedupe)."""
    fd = _open_for_append(path)
    try:
        _lock(fd, _exclusive(), READ_LOCK_SEC, path)
        end = scan(_read_all(fd)).end
        _write(fd, path, end, b"".join(r.encode() for r in records))
    finally:
        os.close(fd)


def read(path: str, lock_seconds: float = READ_LOCK_SEC) -> Scan:
    """The journal's records under a shared lock (an empty scan when there is no journal)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return Scan([], [], 0)
    except OSError as exc:
        raise _fail(exc, path, "read") from exc
    try:
        _lock(fd, fcntl.LOCK_SH, lock_seconds, path)
        found = scan(_read_all(fd))
    finally:
        os.close(fd)
    report_damage(path, found.damage)
    return found


def report_damage(path: str, damage: list[Damage]) -> None:
    """One ERROR line per damaged block (``logging`` is imported only when there is one)."""
    if not damage:
        return
    from luxlog.logs import Logger

    log = Logger("luxlog.store")
    for d in damage:
        log.error("%s", d.describe(path))


class Locked:
    """The journal held exclusively (``flush``): read it, and reset it once its records moved."""

    def __init__(self, path: str, lock_seconds: float = FLUSH_LOCK_SEC) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            _lock(self.fd, _exclusive(), lock_seconds, path)
        except BaseException:
            os.close(self.fd)
            raise

    def scan(self) -> Scan:
        return scan(_read_all(self.fd))

    def keep_damaged(self) -> str:
        """Copy the journal aside before a reset drops damaged blocks (the evidence)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = f"{self.path}.damaged-{stamp}"
        with open(target, "wb") as out:
            size = os.fstat(self.fd).st_size  # the whole file, free tail and all: evidence
            out.write(os.pread(self.fd, size, 0) if size else b"")
            out.flush()
            os.fsync(out.fileno())
        return target

    def reset(self, newest: int | None) -> None:
        """Empty the journal, preallocated again, keeping only the ``newest`` slot moved.

        Only after its records are committed in the cache: a crash before the truncate is
        durable leaves them to be moved again (a no-op).
        """
        try:
            os.ftruncate(self.fd, 0)
            os.posix_fallocate(self.fd, 0, PREALLOC_BLOCKS * BLOCK)
            if newest is not None:
                os.pwrite(self.fd, Record(MOVED, newest, 0, 0, 0, True, b"").encode(), 0)
            os.fsync(self.fd)
        except OSError as exc:
            raise _fail(exc, self.path, "reset") from exc

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Locked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
