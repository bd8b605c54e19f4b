"""``luxlog import --format raw``: read back ``luxlog export --format raw`` (see export.raw).

Every line must be one object with the slot, the stat word and the three blocks as lists of
integers; a line that is not is an error naming its number, before anything of a later batch
is stored (batches already stored stay: re-running after fixing the file adds the rest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from luxlog.errors import SourceError
from luxlog.sample import Sample

INT32 = (-(2**31), 2**31 - 1)
INT8 = (-128, 127)  # visibilities are one signed byte on the wire


def _block(
    record: dict[str, object], key: str, bounds: tuple[int, int], where: str, n: int
) -> tuple[int, ...]:
    value = record.get(key)
    lo, hi = bounds
    if not isinstance(value, list) or not all(type(v) is int and lo <= v <= hi for v in value):
        raise SourceError(f"{where}: line {n}: {key!r} is not a list of integers in {lo}..{hi}")
    return tuple(value)


def parse_line(text: bytes, where: str, n: int) -> Sample:
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{where}: line {n}: not JSON ({exc.args[0][:80]})") from None
    if not isinstance(record, dict):
        raise SourceError(f"{where}: line {n}: not a JSON object")
    slot, stat = record.get("slot"), record.get("stat")
    if type(slot) is not int or type(stat) is not int:
        raise SourceError(f"{where}: line {n}: 'slot' and 'stat' must be integers")
    return Sample(
        slot,
        stat,
        _block(record, "parameters", INT32, where, n),
        _block(record, "calculations", INT32, where, n),
        _block(record, "visibilities", INT8, where, n),
    )


def read(f: BinaryIO, where: str) -> Iterator[Sample]:
    """The samples of a raw export (``where``: its name in messages), in file order (blank
    lines are skipped)."""
    for n, text in enumerate(f, 1):
        if text.strip():
            yield parse_line(text, where, n)
