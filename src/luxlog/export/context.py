"""What every format's writer gets: the ``Context`` and the ``Writer`` signature.

Its own module so the format modules need not import the package that loads them by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from zoneinfo import ZoneInfo

from luxlog.columns import Column
from luxlog.sample import Sample


@dataclass(frozen=True)
class Context:
    """What a writer needs besides rows and columns."""

    tz: ZoneInfo
    dialect: str = "excel"
    interval: int = 30
    start: int = 0
    end: int = 0
    site: str = "luxlog"  # influx's site tag


class Writer(Protocol):
    def __call__(
        self, rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context
    ) -> int: ...
