"""The SQLite buffer table: bulk loads, and the polls of luxlog versions before the journal.

Polls now go to the journal (``journal.py``); this table keeps what ``add_rows`` loads in bulk
(a journal block per sample would be 4 KiB each) and what an older luxlog buffered here, and
``flush`` moves it into the cache first. Its format is unchanged:

A sample is zlib-packed in full, or, for a poll within ``KEYFRAME_SPAN_SEC`` of the newest
full sample of the buffer (its keyframe, ``base``), as the lossless difference to it: ~60–100
bytes instead of ~800, so the buffer grows by a page far less often. Measured with a poll/flush
cycle as in production (distinct slots, a flush every 10 polls): 26.9 -> 19.6 KiB written per
poll. Two polls of the same slot keep the first (``INSERT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import sqlite3

from luxlog.codec import pack_delta, pack_row, unpack_delta, unpack_row
from luxlog.errors import CorruptError
from luxlog.sample import Sample

# A poll is stored against the newest full sample of the buffer when that is at most this old
# (and the difference is small); otherwise it is stored in full and becomes the next keyframe.
KEYFRAME_SPAN_SEC = 1800

# (polled ms, attempts, duration ms) of the successful attempt that read a sample, or Nones
Polled = tuple[int | None, int | None, int | None]


def insert(conn: sqlite3.Connection, row: Sample, polled: Polled, delta: bool) -> bool:
    """Buffer ``row`` unless its slot is buffered already; True when it was stored."""
    blob, base = pack_for_buffer(conn, row, delta)
    cur = conn.execute(
        "INSERT INTO buffer(slot, data, base, polled_ms, attempts, duration_ms) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(slot) DO NOTHING",
        (row.slot, blob, base, *polled),
    )
    return cur.rowcount == 1


def pack_for_buffer(conn: sqlite3.Connection, row: Sample, delta: bool) -> tuple[bytes, int | None]:
    """The stored form of ``row``: (blob, keyframe slot), or (full blob, None)."""
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


def resolve(conn: sqlite3.Connection, raw: list[tuple[int, bytes, int | None]]) -> list[Sample]:
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


def rebase(conn: sqlite3.Connection, last: int, moving: dict[int, Sample]) -> None:
    """Samples kept in the buffer whose keyframe (at or before ``last``) leaves become full."""
    for slot, blob, base in conn.execute(
        "SELECT slot, data, base FROM buffer WHERE slot > ? AND base <= ?",
        (last, last),
    ).fetchall():
        if base not in moving:
            raise CorruptError(f"buffered sample {slot} lost its keyframe {base}")
        kept = unpack_delta(slot, blob, moving[base])
        conn.execute(
            "UPDATE buffer SET data = ?, base = NULL WHERE slot = ?", (pack_row(kept), slot)
        )


def holds_slot(conn: sqlite3.Connection, slot: int) -> bool:
    """Whether the SQLite buffer table holds ``slot``."""
    return conn.execute("SELECT 1 FROM buffer WHERE slot = ?", (slot,)).fetchone() is not None


def buffered(conn: sqlite3.Connection) -> int:
    """Samples waiting in the buffer."""
    (n,) = conn.execute("SELECT count(*) FROM buffer").fetchone()
    return int(n)
