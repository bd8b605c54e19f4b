"""Damaged -wal detection: committed transactions SQLite would skip without a word.

SQLite replays the -wal frame by frame and stops at the first frame whose salts or cumulative
checksum do not match: everything after it is ignored *silently*, committed transactions
included, and the next connection to close checkpoints what it read and deletes the -wal.
A flipped bit in an early frame (an SD card, a bad sector) therefore loses every later
commit, and ``PRAGMA integrity_check`` still says ok. The attempt log cannot see it either:
a successful poll's attempt travels in its buffer row, in the same transaction, so both are
dropped together. What does see it is the -wal itself (format: sqlite.org/fileformat.html,
"WAL file format"): a frame carrying the header's salts (written in this generation of the
log) that lies after the first broken frame and is a commit frame (non-zero "database size")
is a transaction that was committed (with synchronous=FULL: fsynced) and that SQLite will not
read. A torn write at the very end, the normal result of a crash mid-transaction, has no
commit frame after it and is not flagged (a damaged *last* commit frame looks the same and
cannot be told apart from it). Stale frames of an earlier generation carry other
salts and are not counted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from luxlog.text import file_stamp

log = logging.getLogger("luxlog.store")

WAL_MAGIC = (0x377F0682, 0x377F0683)  # checksums little-endian / big-endian
WAL_HEADER = 32
WAL_FRAME_HEADER = 24


@dataclass(frozen=True)
class WalDamage:
    """Committed transactions in a -wal that SQLite will skip (see the module docstring)."""

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


def keep_damaged_wal(db: Path) -> None:
    """Before SQLite reads a damaged -wal (and, on close, deletes it), copy it aside.

    SQLite's own recovery drops the committed transactions after the damage without a
    word; the copy keeps the evidence (and the page images, for an expert to salvage)
    and makes ``doctor`` fail until someone has looked at it and removed it.
    """
    damage = wal_damage(db)
    if damage is None:
        return
    import shutil

    stamp = file_stamp()
    target = Path(f"{db}{DAMAGED_WAL}{stamp}")
    try:
        shutil.copy2(damage.path, target)
        kept = f"copied to {target}"
    except OSError as exc:
        kept = f"could not copy it aside: {exc.strerror or exc}"
    log.error("damaged -wal: %s; %s", damage.describe(), kept)
