"""``--format csv``: the report's CSV (same header, cells and dialect), for any time range.

Rendering is ``report_csv.render_csv`` itself, never a copy, so an export and a daily report
of the same window hold the same cells.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from luxlog.columns import Column
from luxlog.export.context import Context
from luxlog.report_csv import ENCODINGS, render_csv
from luxlog.sample import Sample


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    text = io.TextIOWrapper(out, encoding=ENCODINGS[ctx.dialect], newline="", write_through=False)
    try:
        stats = render_csv(rows, columns, text, ctx.tz, ctx.dialect, ctx.interval)
        text.flush()
    finally:
        text.detach()  # the caller owns ``out``
    return stats.rows
