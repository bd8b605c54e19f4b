"""Read the central database of ``luxlog push`` back, to compare it with the local store."""

from __future__ import annotations

import sys
from array import array
from typing import Any

from luxlog.sample import Sample
from luxlog.store import Store


def _ints(blob: bytes, code: str) -> tuple[int, ...]:
    values = array(code)
    values.frombytes(blob)
    if code == "i" and sys.byteorder == "little":
        values.byteswap()
    return tuple(values)


def fetch(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def central_samples(url: str, site: str) -> list[Sample]:
    """The site's samples as the server holds them, decoded from the wire bytes."""
    rows = fetch(
        url,
        "SELECT extract(epoch FROM time)::bigint, stat, parameters, calculations, visibilities "
        "FROM samples WHERE site = %s ORDER BY time",
        site,
    )
    return [
        Sample(int(t), stat, _ints(p, "i"), tuple(c), _ints(v, "b")) for t, stat, p, c, v in rows
    ]


def local_samples(path: Any) -> list[Sample]:
    with Store(path) as store:
        return list(store.iter_rows(0, 2**40))


def scalar(url: str, sql: str, *params: Any) -> Any:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
