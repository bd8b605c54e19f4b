"""``--format raw``: every stored sample exactly as received, lossless, one JSON line each.

``{"slot": 1764140430, "stat": 0, "parameters": […], "calculations": […], "visibilities":
[…]}``: the slot (UTC epoch seconds), the controller's ``stat`` word and the three blocks as
the integer lists the controller sent (the "no value" marker of a value a ``Store.add`` caller
did not give included). ``luxlog import --format raw`` reads it back bit-identically: the same
slots and blocks, so a second export produces the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import BinaryIO

from luxlog.columns import Column
from luxlog.export.context import Context
from luxlog.sample import Sample


def _ints(block: tuple[int, ...]) -> str:
    return ",".join(map(str, block))


def line(row: Sample) -> bytes:
    """One sample's line: what ``json.dumps(…, separators=(",", ":"))`` writes, built directly
    (no dict per sample: a year is a million lines)."""
    return (
        f'{{"slot":{row.slot},"stat":{row.stat},"parameters":[{_ints(row.parameters)}],'
        f'"calculations":[{_ints(row.calculations)}],"visibilities":[{_ints(row.visibilities)}]}}\n'
    ).encode()


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    n = 0
    for row in rows:
        out.write(line(row))
        n += 1
    return n
