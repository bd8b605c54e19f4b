"""A report window's rows as CSV text: the columns the window stands for, the cells, the bytes.

*Columns* are chosen from the whole window, not its first sample (``window_layout``): the
calculations-block length most samples have (a lone short or long block cannot change it), and
within it every index that some sample holds a value for.

Rows stream from ``Store.iter_rows`` straight into the file while the bytes are hashed
(``write_csv``); memory stays flat however long the window. The content depends only on the
rows, the columns and the dialect, so a re-run produces identical bytes (same sha256).

**Dialects** are judged by what a spreadsheet does on a double-click, checked against real
LibreOffice (tests/test_spreadsheet.py). LibreOffice's import dialog ticks comma, semicolon
*and* tab as separators by default, so every cell holding one of them is quoted, in every
dialect: an unquoted decimal comma (``1,7``) would split the cell and shift every later
column; a quoted one is still read as a number (the dialog's "quoted field as text" is off).
``excel`` and ``excel-de`` start with a UTF-8 BOM: without it Excel and LibreOffice's dialog
take the bytes as the system's 8-bit charset and show ``Â°C``. ``plain`` is ``excel`` without
the BOM, for scripts and tools that do not strip one.

**Time columns.** ``local time`` (``2026-11-30 07:00:00``) is the form Excel, LibreOffice
(with "detect special numbers") and pandas read as a date-time; ``timestamp`` keeps ISO 8601
with the UTC offset, the only one that tells the repeated autumn hour apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, cast
from zoneinfo import ZoneInfo

from luxlog.columns import Column
from luxlog.decode import ABSENT
from luxlog.sample import Sample

# utf-8-sig writes the BOM that makes Excel and LibreOffice's dialog read UTF-8
ENCODINGS = {"excel": "utf-8-sig", "excel-de": "utf-8-sig", "plain": "utf-8"}
DELIMITERS = {"excel": ",", "excel-de": ";", "plain": ","}
DECIMALS = {"excel": ".", "excel-de": ",", "plain": "."}
TIME_HEADERS = ("local time", "timestamp")
# LibreOffice's import dialog splits on all three by default, whatever the file's separator
# Rows written are reported to a progress bar in steps of this many (a weekly report at 30 s
# has 20,160 rows; a call per row would cost more than the bar is worth).
PROGRESS_EVERY = 500
# Set by a command that shows progress (``watching_rows``); a ContextVar so the report logic
# between the command and this renderer needs no UI parameter.
_ROW_PROGRESS: ContextVar[Callable[[int], None] | None] = ContextVar("row_progress", default=None)
_QUOTE_IF = re.compile('[,;\t"\r\n]')


@dataclass
class RenderStats:
    """What went into one file: rows, and the gaps between them (for the coverage line)."""

    rows: int = 0
    first_slot: int | None = None
    longest_gap: int = 0  # seconds without a sample
    gap_start: int | None = None  # epoch where that gap starts

    def _gap(self, start: int, end: int) -> None:
        if end - start > self.longest_gap:
            self.longest_gap, self.gap_start = end - start, start


@contextmanager
def watching_rows(advance: Callable[[int], None]) -> Iterator[None]:
    """Within this block every rendered CSV reports its rows to ``advance(n)``."""
    token = _ROW_PROGRESS.set(advance)
    try:
        yield
    finally:
        _ROW_PROGRESS.reset(token)


def local_timestamp(slot: int, tz: ZoneInfo) -> str:
    """ISO 8601 local time with its UTC offset: the repeated hour is told apart by it."""
    return dt.datetime.fromtimestamp(slot, tz).isoformat(timespec="seconds")


def time_cells(slot: int, tz: ZoneInfo) -> tuple[str, str]:
    """The two time columns: local ``YYYY-MM-DD HH:MM:SS`` and ISO 8601 with the offset."""
    when = dt.datetime.fromtimestamp(slot, tz)
    return when.strftime("%Y-%m-%d %H:%M:%S"), when.isoformat(timespec="seconds")


def quote(cell: str) -> str:
    """``cell`` as a CSV field: quoted (quotes doubled) when it holds a separator of any
    dialect, a quote or a line break."""
    if _QUOTE_IF.search(cell) is None:
        return cell
    return '"' + cell.replace('"', '""') + '"'


def csv_line(cells: Iterable[str], delimiter: str) -> str:
    """One CSV record, CRLF-terminated as RFC 4180 has it."""
    return delimiter.join(map(quote, cells)) + "\r\n"


def window_layout(rows: Iterable[Sample]) -> tuple[int, ...] | None:
    """Calculations standing for the whole window when choosing its columns (None: no rows).

    The block length is the one most samples have (ties: the longer), so one odd sample, a
    controller answering 3004 with 5 values, cannot strip the file down to timestamps; an index
    counts as sent when any sample holds a value there. Only "sent or not" is used by
    ``Selection.resolve``, so the values are placeholders (0) or ``ABSENT``.
    """
    lengths: dict[int, int] = {}
    sent: set[int] = set()
    for row in rows:
        calcs = row.calculations
        lengths[len(calcs)] = lengths.get(len(calcs), 0) + 1
        if ABSENT in calcs:
            sent.update(i for i, v in enumerate(calcs) if v != ABSENT)
        else:
            sent.update(range(len(calcs)))
    if not lengths:
        return None
    length = max(lengths, key=lambda n: (lengths[n], n))
    return tuple(0 if i in sent else ABSENT for i in range(length))


def render_csv(
    rows: Iterable[Sample],
    columns: Sequence[Column],
    out: TextIO,
    tz: ZoneInfo,
    dialect: str = "excel",
    interval: int = 30,
    start: int | None = None,
    end: int | None = None,
) -> RenderStats:
    """Write the header and one line per row to the text stream ``out``, streaming.

    ``start``/``end`` (epoch) let the stats count the gaps at the window's edges too.
    """
    if dialect not in DELIMITERS:
        raise ValueError(f"unknown csv dialect {dialect!r} (one of {', '.join(DELIMITERS)})")
    decimal, delimiter = DECIMALS[dialect], DELIMITERS[dialect]
    out.write(csv_line([*TIME_HEADERS, *(c.header for c in columns)], delimiter))
    stats = RenderStats()
    prev_end = start
    advance = _ROW_PROGRESS.get()
    for row in rows:
        calcs = row.calculations
        n = len(calcs)
        out.write(
            csv_line(
                [
                    *time_cells(row.slot, tz),
                    *(c.cell(calcs[c.index] if c.index < n else ABSENT, decimal) for c in columns),
                ],
                delimiter,
            )
        )
        if prev_end is not None:
            stats._gap(prev_end, row.slot)
        if stats.first_slot is None:
            stats.first_slot = row.slot
        stats.rows += 1
        prev_end = row.slot + interval
        if advance is not None and stats.rows % PROGRESS_EVERY == 0:
            advance(PROGRESS_EVERY)
    if advance is not None:
        advance(stats.rows % PROGRESS_EVERY)
    if end is not None and prev_end is not None:
        stats._gap(prev_end, end)
    return stats


class _HashingWriter(io.RawIOBase):
    """Raw binary sink that hashes every byte on its way to the file."""

    def __init__(self, f: BinaryIO) -> None:
        super().__init__()
        self.f = f
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self.f.write(data)
        self.sha.update(data)
        return len(data)


def write_csv(
    f: BinaryIO,
    rows: Iterable[Sample],
    columns: Sequence[Column],
    tz: ZoneInfo,
    dialect: str,
    interval: int,
    start: int,
    end: int,
) -> tuple[RenderStats, str]:
    """``render_csv`` into the binary file ``f`` in the dialect's encoding; returns the stats
    and the sha256 of the bytes written."""
    sink = _HashingWriter(f)
    buffered = io.BufferedWriter(cast(Any, sink), 1 << 16)
    text = io.TextIOWrapper(buffered, encoding=ENCODINGS[dialect], newline="")
    stats = render_csv(rows, columns, text, tz, dialect, interval, start, end)
    text.flush()
    buffered.flush()
    text.detach()
    return stats, sink.sha.hexdigest()
