"""``--format sqlite``: a plain database for Datasette, Grafana's SQLite data source, ``sqlite3``.

``samples(time TEXT, <one column per selected value>)``, ``time`` the UTC slot as ISO 8601
(``2026-11-26T07:00:30Z``, what Grafana parses as a time column), indexed; values typed as in
the other typed formats (REAL, INTEGER, TEXT for states, 0/1 for switches), NULL when missing.
``sensors(name, unit, description)`` says what each column is. The file is built in a
temporary directory (no journal: nothing to recover if it dies half-way) and then copied to the
output, so ``-o`` gets it atomically like every format and ``-`` works too. The live database
stays compact; this is a copy to read.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from luxlog.columns import DEFAULT, Column, base_field
from luxlog.decode import ABSENT
from luxlog.export.context import Context
from luxlog.export.values import BOOL, FLOAT, INT, kind_of, typed
from luxlog.sample import Sample
from luxlog.text import format_utc

BATCH = 5000
SQL_TYPES = {FLOAT: "REAL", INT: "INTEGER", BOOL: "INTEGER"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def description(column: Column) -> str:
    curated = {c.index: c.header for c in DEFAULT}
    return curated.get(column.index, column.header)


def _create(conn: sqlite3.Connection, columns: Sequence[Column]) -> None:
    defs = ", ".join(f"{_quote(c.name)} {SQL_TYPES.get(kind_of(c), 'TEXT')}" for c in columns)
    conn.execute(f"CREATE TABLE samples (time TEXT NOT NULL{', ' if defs else ''}{defs})")
    conn.execute("CREATE TABLE sensors (name TEXT PRIMARY KEY, unit TEXT, description TEXT)")
    conn.executemany(
        "INSERT INTO sensors VALUES (?, ?, ?)",
        [(c.name, base_field(c.index).unit, description(c)) for c in columns],
    )


def _fill(conn: sqlite3.Connection, rows: Iterable[Sample], columns: Sequence[Column]) -> int:
    plan = [(c, kind_of(c)) for c in columns]
    marks = ", ".join("?" * (len(columns) + 1))
    insert = f"INSERT INTO samples VALUES ({marks})"
    batch: list[list[object]] = []
    n = 0
    for row in rows:
        calcs = row.calculations
        size = len(calcs)
        batch.append(
            [format_utc(row.slot)]
            + [typed(c, k, calcs[c.index] if c.index < size else ABSENT) for c, k in plan]
        )
        if len(batch) == BATCH:
            conn.executemany(insert, batch)
            n += len(batch)
            batch = []
    conn.executemany(insert, batch)
    return n + len(batch)


def write(rows: Iterable[Sample], columns: Sequence[Column], out: BinaryIO, ctx: Context) -> int:
    with tempfile.TemporaryDirectory(prefix="luxlog-export-") as tmp:
        path = Path(tmp) / "export.db"
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            _create(conn, columns)
            n = _fill(conn, rows, columns)
            # the index after the rows: one sort instead of a B-tree update per row
            conn.execute("CREATE INDEX samples_time ON samples(time)")
            conn.execute("COMMIT")
        finally:
            conn.close()
        with path.open("rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
    return n
