"""Clock jumps: run code with this host's clock far off, the way a box boots after a power
cut before NTP has synced (months ahead, or back in 1970).

``time-machine`` moves ``time.time()`` and ``datetime.now()`` for the code under test in this
process (CliRunner included); nothing of luxlog is replaced. ``tick=False`` keeps the clock
still, so a test's expectations do not depend on how long it runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import time_machine


@contextmanager
def clock_at(when: dt.datetime) -> Iterator[time_machine.Traveller]:
    """This host's clock reads ``when`` (aware) inside the block."""
    if when.tzinfo is None:
        raise ValueError(f"clock_at: naive datetime {when.isoformat()}")
    with time_machine.travel(when, tick=False) as traveller:
        yield traveller


@contextmanager
def clock_jumped(true_now: dt.datetime, ahead: dt.timedelta) -> Iterator[time_machine.Traveller]:
    """The clock reads ``true_now + ahead`` (negative: behind) inside the block."""
    with clock_at(true_now + ahead) as traveller:
        yield traveller


MONTHS_3 = dt.timedelta(days=91)  # "three months ahead": the real case
