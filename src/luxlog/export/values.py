"""One raw calculation -> the value the named formats (ndjson, parquet, influx) carry.

The same rules as a report cell (``columns.Column.cell``), as typed values instead of text:
the "no value" marker and a temperature's "not fitted" sentinel (−50.0 °C) are missing, a state
with a luxtronik label is the label, a scaled value is ``raw / divisor`` and an unscaled one
stays an ``int``.
"""

from __future__ import annotations

from luxlog.columns import Column, base_field
from luxlog.decode import ABSENT, SENTINEL_ABSENT_SENSOR

Value = int | float | str | None


def value_of(column: Column, raw: int) -> Value:
    if raw == ABSENT or (column.temperature and raw == SENTINEL_ABSENT_SENSOR):
        return None
    label = column.labels.get(raw)
    if label is not None:
        return label
    return raw if column.divisor == 1 else raw / column.divisor


def values_of(columns: list[Column] | tuple[Column, ...], calcs: tuple[int, ...]) -> list[Value]:
    n = len(calcs)
    return [value_of(c, calcs[c.index] if c.index < n else ABSENT) for c in columns]


# Typed formats (parquet, influx, sqlite) need one type per column for the whole file: a state
# column is text throughout (a code without a label is written as its number, as text).
STRING, BOOL, FLOAT, INT = "string", "bool", "float", "int"


def kind_of(column: Column) -> str:
    if column.labels:
        return STRING
    if base_field(column.index).kind == "boolean":
        return BOOL
    return FLOAT if column.divisor != 1 else INT


def typed(column: Column, kind: str, raw: int) -> Value | bool:
    """``raw`` as a value of the column's ``kind`` (None: missing)."""
    if raw == ABSENT or (column.temperature and raw == SENTINEL_ABSENT_SENSOR):
        return None
    if kind == STRING:
        return column.labels.get(raw, str(raw))
    if kind == BOOL:
        return raw != 0
    return raw / column.divisor if kind == FLOAT else raw
