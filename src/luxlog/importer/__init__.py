"""History in: samples from other sources stored as if polled (``luxlog import``).

A source is an iterator of ``Sample``s (``importer.raw``: luxlog's own ``export --format raw``;
``importer.luxtronik_logger``: roelven/luxtronik-logger's ``cache.db``). ``store_samples`` files
them under their slots in bounded transactions (``BATCH`` samples each, through the store's
façade), so an import holds the write lock for well under a second at a time, polls keep
working meanwhile, and a kill at any instant leaves whole batches: re-running the import stores
the rest, because a slot already stored keeps its sample and counts as a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from luxlog.sample import Sample
from luxlog.store import Store

BATCH = 2000  # samples per transaction: ~0.3 s of writing, a few MiB in memory


@dataclass(frozen=True)
class Stored:
    samples: int  # read from the source
    imported: int  # new slots stored
    duplicates: int  # slots already stored (kept as they were) or repeated in the source


def batches(samples: Iterable[Sample], size: int = BATCH) -> Iterator[list[Sample]]:
    it = iter(samples)
    while batch := list(islice(it, size)):
        yield batch


def store_samples(
    store: Store,
    samples: Iterable[Sample],
    progress: Callable[[int], None] | None = None,
) -> Stored:
    """Buffer every sample (a slot already stored keeps its sample), one batch a transaction."""
    read = imported = 0
    for batch in batches(samples):
        read += len(batch)
        # Not ``Store.add_raw`` (issue 13's one-sample API): that is one transaction per sample
        # and has no stat word, and a raw import must keep the stat and go 2,000 at a time.
        imported += store.add_rows(batch, batch=BATCH)
        if progress is not None:
            progress(read)
    return Stored(read, imported, read - imported)


def count_new(store: Store | None, samples: Iterable[Sample]) -> Stored:
    """What ``store_samples`` would do, without writing (``--dry-run``)."""
    read = new = 0
    seen: set[int] = set()
    for batch in batches(samples):
        read += len(batch)
        lo, hi = min(r.slot for r in batch), max(r.slot for r in batch) + 1
        present = set(store.slots(lo, hi)) if store is not None else set()
        for row in batch:
            if row.slot not in present and row.slot not in seen:
                seen.add(row.slot)
                new += 1
    return Stored(read, new, read - new)
