"""``--format ndjson``: one JSON object per sample, for jq, scripts and log shippers.

``{"time": "2026-11-26T07:00:30Z", "ID_WEB_Temperatur_TVL": 35.4, "ID_WEB_WP_BZ_akt":
"heating", …}``: ``time`` is the sample's slot in UTC, values are keyed by luxtronik name in
luxtronik's unit (see ``export.values``), a missing value is ``null`` so every line has the
same keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from luxlog.columns import Column
from luxlog.export.context import Context
from luxlog.export.values import values_of
from luxlog.sample import Sample
from luxlog.text import format_utc


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    cols = list(columns)
    names = [c.name for c in cols]
    n = 0
    for row in rows:
        record: dict[str, object] = {"time": format_utc(row.slot)}
        record.update(zip(names, values_of(cols, row.calculations), strict=True))
        out.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        n += 1
    return n
