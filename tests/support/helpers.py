"""Helpers shared by the storage tests (plain functions, no fixtures)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from luxlog.codec import chunk_slots


def stored_slot_counts(db: Path | sqlite3.Connection) -> dict[int, int]:
    """How often each slot is physically stored (buffer rows plus cache chunk entries)."""
    conn = sqlite3.connect(db) if isinstance(db, Path) else db
    try:
        counts: dict[int, int] = {}
        for (slot,) in conn.execute("SELECT slot FROM buffer"):
            counts[slot] = counts.get(slot, 0) + 1
        for bucket, blob in conn.execute("SELECT bucket, data FROM chunk"):
            for slot in chunk_slots(bucket, blob):
                counts[slot] = counts.get(slot, 0) + 1
        return counts
    finally:
        if conn is not db:
            conn.close()
