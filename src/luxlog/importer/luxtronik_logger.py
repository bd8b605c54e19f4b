"""``luxlog import --format luxtronik-logger``: roelven/luxtronik-logger's ``cache.db``.

That logger keeps ``sensor_data(timestamp REAL PRIMARY KEY, data_json TEXT)``: per poll the
epoch time and one JSON object of every value python-luxtronik decoded, keyed
``calculations.<luxtronik name>`` (``calculations.<index>`` for indices luxtronik calls
``Unknown_…``), and the same for ``parameters.`` and ``visibilities.``. Each row becomes one
raw sample under its slot, its values converted back to integers where that is exact
(``importer.decoded``); a value that is not, or a key luxtronik does not know, is left absent
(the "no value" marker; visibilities, one byte each, end before the first one) and counted per
key. ``null`` (a value the controller did not send) is simply absent.

Speed: consecutive polls differ in a few dozen of ~1,800 values, so only the changed values
are converted: with the same keys in the same order as the row before (the logger always
writes them so), the two rows' values are compared slice by slice at C speed.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from luxlog.decode import ABSENT
from luxlog.errors import SourceError
from luxlog.importer.decoded import to_raw
from luxlog.sample import Sample
from luxlog.store import slot_of

BLOCKS = ("parameters", "calculations", "visibilities")
VISIBILITY = (-128, 127)  # one signed byte per visibility on the wire and in the store
Target = tuple[int, int, object]  # block, index, luxtronik datatype
Positions = list[tuple[int, int, int]]  # (block, index, raw)


@functools.cache
def targets() -> dict[str, Target]:
    """Every key that logger writes -> where its raw value goes, by luxtronik 0.3.x's tables."""
    from luxtronik.calculations import Calculations
    from luxtronik.parameters import Parameters
    from luxtronik.visibilities import Visibilities

    tables = (Parameters.parameters, Calculations.calculations, Visibilities.visibilities)
    out: dict[str, Target] = {}
    for block, (prefix, table) in enumerate(zip(BLOCKS, tables, strict=True)):
        for index, datatype in table.items():
            out[f"{prefix}.{index}"] = (block, index, datatype)
            if not datatype.name.startswith("Unknown"):
                out.setdefault(f"{prefix}.{datatype.name}", (block, index, datatype))
    return out


def _target(key: str) -> Target | None:
    hit = targets().get(key)
    if hit is not None:
        return hit
    prefix, _, rest = key.partition(".")
    if prefix in BLOCKS and rest.isdigit() and int(rest) < 10_000:
        from luxtronik.datatypes import Unknown

        # an index newer firmware sends and luxtronik 0.3.x does not define: a plain integer
        return BLOCKS.index(prefix), int(rest), Unknown(key)
    return None


class Assembler:
    """Rebuilds raw samples from one logger's rows, in time order; counts what it drops."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.blocks: tuple[list[int], list[int], list[int]] = ([], [], [])
        self.keys: tuple[str, ...] = ()  # the previous row's keys and values
        self.values: tuple[object, ...] = ()
        self.failing: set[str] = set()
        self.not_convertible: Counter[str] = Counter()

    def sample(self, slot: int, data: dict[str, object]) -> Sample:
        keys, values = tuple(data), tuple(data.values())
        if keys == self.keys:  # the usual case: the same keys in the same order as before
            for i in _changed(values, self.values):
                self._put(keys[i], values[i])
        else:
            self._rekey(data)
        self.keys, self.values = keys, values
        self.not_convertible.update(self.failing)
        p, c, v = (_trimmed(b) for b in self.blocks)
        if ABSENT in v:
            v = v[: v.index(ABSENT)]
        return Sample(slot, 0, p, c, v)

    def _rekey(self, data: dict[str, object]) -> None:
        prev = dict(zip(self.keys, self.values, strict=True))
        for key in prev.keys() - data.keys():
            self._put(key, None)
        for key, value in data.items():
            if key not in prev or prev[key] != value:
                self._put(key, value)

    def _put(self, key: str, value: object) -> None:
        target = _target(key)
        if target is None:
            if value is None:
                self.failing.discard(key)
            else:
                self.failing.add(key)  # a name luxtronik does not know
            return
        block, index, datatype = target
        raw = None if value is None else to_raw(datatype, value, self.tz)
        if isinstance(raw, list):  # the firmware string: one character per calculation
            for k, code in enumerate(raw):
                self._set(block, index + k, code)
        else:
            if block == 2 and raw is not None and not VISIBILITY[0] <= raw <= VISIBILITY[1]:
                raw = None
            self._set(block, index, ABSENT if raw is None else raw)
        if raw is None and value is not None:
            self.failing.add(key)
        else:
            self.failing.discard(key)

    def _set(self, block: int, index: int, raw: int) -> None:
        values = self.blocks[block]
        if index >= len(values):
            values.extend([ABSENT] * (index + 1 - len(values)))
        values[index] = raw


_STRIDE = 64


def _changed(values: tuple[object, ...], prev: tuple[object, ...]) -> list[int]:
    """Positions where ``values`` differs from ``prev`` (same length): slices are compared
    first, at C speed, and single values only inside the few slices that differ."""
    out: list[int] = []
    for j in range(0, len(values), _STRIDE):
        a, b = values[j : j + _STRIDE], prev[j : j + _STRIDE]
        if a != b:
            out.extend(j + i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return out


def _trimmed(values: list[int]) -> tuple[int, ...]:
    end = len(values)
    while end and values[end - 1] == ABSENT:
        end -= 1
    return tuple(values[:end])


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(f"{path}: no such file (the other logger's data/cache.db)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("SELECT timestamp, data_json FROM sensor_data LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise SourceError(
            f"{path}: not a luxtronik-logger cache.db (no sensor_data(timestamp, data_json): {exc})"
        ) from None
    return conn


def count_rows(path: Path) -> int:
    conn = _open(path)
    try:
        (n,) = conn.execute("SELECT count(*) FROM sensor_data").fetchone()
        return int(n)
    finally:
        conn.close()


def read(
    path: Path,
    interval: int,
    assembler: Assembler,
    unreadable: Callable[[float], None],
) -> Iterator[Sample]:
    """The samples of a cache.db in time order; a row whose JSON is not an object is passed to
    ``unreadable`` (its timestamp) and skipped."""
    conn = _open(path)
    try:
        cur = conn.execute("SELECT timestamp, data_json FROM sensor_data ORDER BY timestamp")
        for t, text in cur:
            try:
                data = json.loads(text)
            except (TypeError, ValueError):
                data = None
            if not isinstance(data, dict) or not isinstance(t, int | float):
                unreadable(t)
                continue
            yield assembler.sample(slot_of(t, interval), data)
    finally:
        conn.close()
