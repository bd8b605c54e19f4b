"""The local side of a push: the cached samples not yet delivered, in batches, oldest first.

Reads the cache chunks ``store.pushed`` lists as pending and cuts them into batches of at most
``size`` samples; each batch carries the marks to record once the server has committed it.
Samples still in the poll journal or the buffer table are not sent: they go with the first
push after the next ``flush`` (every 5 minutes in the shipped crontab), so a push never races a
flush for the same slot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from luxlog.push.wire import Row, chunk_rows
from luxlog.store import pushed


@dataclass
class Batch:
    samples: list[Row] = field(default_factory=list)
    # bucket -> (samples of the chunk up to the last slot of it in this batch, that slot)
    marks: dict[int, tuple[int, int]] = field(default_factory=dict)

    def mark_rows(self) -> list[tuple[int, int, int]]:
        return [(bucket, n, upto) for bucket, (n, upto) in self.marks.items()]


def batches(conn: sqlite3.Connection, target: str, size: int) -> Iterator[Batch]:
    """Pending samples in slot order, ``size`` at a time (no cursor stays open across a
    ``yield``: the caller writes its marks in between)."""
    batch = Batch()
    for p in pushed.pending(conn, target):
        row = conn.execute("SELECT data FROM chunk WHERE bucket = ?", (p.bucket,)).fetchone()
        if row is None:
            continue  # pruned since the list was read
        samples = chunk_rows(p.bucket, row[0])
        start = p.start([s.slot for s in samples])
        for i in range(start, len(samples)):
            batch.samples.append(samples[i])
            batch.marks[p.bucket] = (i + 1, samples[i].slot)
            if len(batch.samples) >= size:
                yield batch
                batch = Batch()
    if batch.samples:
        yield batch
