"""``--format dump``: openDTA's DUMP file, for DtaGui (tinkostuff/opendta-code,
``doc/dump_format.txt``).

A bzip2-compressed text file, one sample per line, ``index=value`` pairs separated by commas:
the first line holds every calculation (3004 block) of the first sample, each later line only
the indices whose value changed since the line before. Values are the raw integers as the
controller sent them (openDTA decodes them itself); the controller's clock is calculation 134
(``AktuelleTimeStamp``). A value luxlog holds no number for (the "no value" marker of a sample
stored through ``Store.add``) is left out; the format has no way to say a value went missing, so
a reader keeps the previous one. Column selection does not apply: DUMP is the whole block.
"""

from __future__ import annotations

import bz2
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from luxlog.columns import Column
from luxlog.decode import ABSENT
from luxlog.export.context import Context
from luxlog.sample import Sample


def lines(rows: Iterable[Sample]) -> Iterable[str]:
    """The text lines (with their newline) of a DUMP of ``rows``."""
    prev: tuple[int, ...] = ()
    for row in rows:
        calcs = row.calculations
        n = len(prev)
        pairs = [
            f"{i}={v}" for i, v in enumerate(calcs) if v != ABSENT and (i >= n or prev[i] != v)
        ]
        yield ",".join(pairs) + "\n"
        prev = calcs


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    packer = bz2.BZ2Compressor(9)
    n = 0
    for text in lines(rows):
        out.write(packer.compress(text.encode("ascii")))
        n += 1
    out.write(packer.flush())
    return n
