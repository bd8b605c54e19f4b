"""Helpers shared by the storage tests (plain functions, no fixtures)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from luxlog.codec import chunk_slots
from luxlog.store import journal


def stored_slot_counts(db: Path | sqlite3.Connection) -> dict[int, int]:
    """How often each slot is physically stored: buffer rows, cache chunk entries and, for a
    database given by path, the poll journal's samples (each slot once: reads keep the first)."""
    counts: dict[int, int] = {}
    if isinstance(db, Path) and not db.exists():  # only polls so far: the journal alone
        return {slot: 1 for slot in journal.read(journal.journal_path(db)).slots()}
    conn = sqlite3.connect(db) if isinstance(db, Path) else db
    try:
        for (slot,) in conn.execute("SELECT slot FROM buffer"):
            counts[slot] = counts.get(slot, 0) + 1
        for bucket, blob in conn.execute("SELECT bucket, data FROM chunk"):
            for slot in chunk_slots(bucket, blob):
                counts[slot] = counts.get(slot, 0) + 1
        if isinstance(db, Path):
            for slot in journal.read(journal.journal_path(db)).slots():
                counts[slot] = counts.get(slot, 0) + 1
        return counts
    finally:
        if conn is not db:
            conn.close()
