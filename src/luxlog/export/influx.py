"""``--format influx``: InfluxDB line protocol, for ``influx write``, Telegraf, VictoriaMetrics,
QuestDB.

One line per sample: measurement ``luxtronik``, tag ``site``, one field per value by luxtronik
name (float, ``123i`` integers, ``true``/``false``, states as quoted strings), nanosecond
timestamp. Escaping follows the line-protocol reference: in the measurement commas and spaces,
in tag keys, tag values and field keys commas, equals signs and spaces are backslash-escaped
(a backslash there stays as it is); in string field values double quotes and backslashes. A
missing value is left out; a sample with no value at all has no line (the protocol needs a
field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import BinaryIO

from luxlog.columns import Column
from luxlog.decode import ABSENT
from luxlog.export.context import Context
from luxlog.export.values import BOOL, FLOAT, INT, kind_of, typed
from luxlog.sample import Sample

MEASUREMENT = "luxtronik"
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})


def escape_key(text: str) -> str:
    """A tag key, tag value or field key (a backslash stays as it is: the spec escapes none)."""
    return text.translate(_KEY)


def string_field(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field_value(kind: str, value: object) -> str:
    if kind == BOOL:
        return "true" if value else "false"
    if kind == INT:
        return f"{value}i"
    if kind == FLOAT:
        return repr(value)
    return string_field(str(value))


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    prefix = f"{MEASUREMENT.translate(_MEASUREMENT)},site={escape_key(ctx.site)} "
    plan = [(c, kind_of(c), escape_key(c.name) + "=") for c in columns]
    n = 0
    for row in rows:
        calcs = row.calculations
        size = len(calcs)
        fields = []
        for c, kind, key in plan:
            value = typed(c, kind, calcs[c.index] if c.index < size else ABSENT)
            if value is not None:
                fields.append(key + field_value(kind, value))
        if fields:
            out.write(f"{prefix}{','.join(fields)} {row.slot * 1_000_000_000}\n".encode())
            n += 1
    return n
