"""``counts()`` on a year of hour chunks (issue 12 item 3) vs the whole-table scan it replaced.

The year database from ``bench/.cache/`` when one for this schema is cached; otherwise a
synthetic cache of the same shape: 8,760 hour chunks of 120 samples, each ~2 KB of blob (the size
of a real chunk), so the old scan reads as many pages as on a real year. Both sides run
interleaved in one process on a warm page cache; medians of ``repeats`` calls each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

YEAR_HOURS = 365 * 24
BUCKET = 3600
START = 1_704_067_200  # 2024-01-01T00:00Z

# What counts() ran before schema 5: every chunk row read to sum ``n``.
SCAN = (
    "SELECT count(*), min(slot) FROM buffer",
    "SELECT coalesce(sum(n), 0), min(first_slot), max(last_slot) FROM chunk",
    "PRAGMA user_version",
)


def synthetic_cache(path: Path, hours: int = YEAR_HOURS, blob: int = 2000) -> Path:
    """A cache of ``hours`` chunks (120 samples each, ``blob`` bytes of data), made by SQL."""
    from luxlog.store import Store

    with Store(path) as store, store.transaction() as conn:
        conn.execute(
            "WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k + 1 < ?) "
            "INSERT INTO chunk(bucket, n, first_slot, last_slot, data) "
            "SELECT ? + k * ?, 120, ? + k * ?, ? + k * ? + 3570, randomblob(?) FROM h",
            (hours, START, BUCKET, START, BUCKET, START, BUCKET, blob),
        )
    return path


def _timed(fn: Callable[[], Any], runs: list[float]) -> None:
    """Append the milliseconds one call of ``fn`` takes to ``runs``."""
    t0 = time.perf_counter()
    fn()
    runs.append((time.perf_counter() - t0) * 1000)


def counts_figures(
    figure: Callable[..., Any],
    work: Path,
    repeats: int = 51,
    year: Path | None = None,
    hours: int = YEAR_HOURS,
) -> list[Any]:
    """One figure: ``counts()`` on a year vs the old scan on it, and on a 3-chunk cache."""
    from luxlog.store import Store

    work.mkdir(parents=True, exist_ok=True)
    db = year if year is not None else synthetic_cache(work / "counts-year.db", hours)
    small = synthetic_cache(work / "counts-small.db", 3)
    new: list[float] = []
    old: list[float] = []
    tiny: list[float] = []
    with Store(db, readonly=True) as big, Store(small, readonly=True) as few:
        chunks = big.conn.execute("SELECT count(*) FROM chunk").fetchone()[0]
        scan = lambda: [big.conn.execute(q).fetchone() for q in SCAN]  # noqa: E731
        for _ in range(repeats):
            _timed(big.counts, new)
            _timed(scan, old)
            _timed(few.counts, tiny)
    n, o, t = (statistics.median(x) for x in (new, old, tiny))
    source = "the cached year database" if year is not None else "synthetic, ~2 KB each"
    return [
        figure(
            f"`counts()` on {chunks:,} hour chunks ({source})",
            f"{n:.3f} ms (the scan it replaced: {o:.2f} ms, {o / n:.0f}×; on 3 chunks: {t:.3f} ms)",
            "O(1): as on 3 chunks",
            n <= 2 * t + 0.05,
            {"ms": n, "scan_ms": o, "ms_3_chunks": t, "chunks": chunks, "runs": new},
        )
    ]
