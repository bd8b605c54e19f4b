"""The central side of a push: one batch in one transaction, exactly once.

COPY (binary) into a session-local staging table, then ``INSERT … SELECT … ON CONFLICT (site,
time) DO NOTHING`` and the ``sites`` row, all in one transaction: the server has either all of
a batch or none of it, and a batch sent again (the local mark is written only after this
commit, so a kill in between re-sends it) adds nothing. ``time`` travels as the slot's epoch
seconds and becomes a ``timestamptz`` on the server.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Any

from luxlog.decode import firmware_version
from luxlog.sample import Sample

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS luxlog_staging (slot bigint, stat integer, "
    "parameters bytea, calculations bytea, visibilities bytea) ON COMMIT DELETE ROWS"
)
_INSERT = (
    "INSERT INTO samples(site, time, stat, parameters, calculations, visibilities) "
    "SELECT %s, to_timestamp(slot), stat, parameters, calculations, visibilities "
    "FROM luxlog_staging ORDER BY slot ON CONFLICT (site, time) DO NOTHING"
)
_SITE = (
    "INSERT INTO sites AS s(site, firmware, first_seen, last_seen, last_push) "
    "VALUES (%s, %s, to_timestamp(%s), to_timestamp(%s), now()) "
    "ON CONFLICT (site) DO UPDATE SET "
    "firmware = CASE WHEN s.last_seen IS NULL OR excluded.last_seen >= s.last_seen "
    "THEN coalesce(excluded.firmware, s.firmware) ELSE s.firmware END, "
    "first_seen = least(s.first_seen, excluded.first_seen), "
    "last_seen = greatest(s.last_seen, excluded.last_seen), last_push = now()"
)
_TYPES = ["int8", "int4", "bytea", "bytea", "bytea"]

_SWAP = sys.byteorder == "little"


def wire_int32(values: Sequence[int]) -> bytes:
    """A block as on the wire: big-endian int32 per value."""
    block = array("i", values)
    if _SWAP:
        block.byteswap()
    return block.tobytes()


def wire_int8(values: Sequence[int]) -> bytes:
    """Visibilities as on the wire: one signed byte per value."""
    return array("b", values).tobytes()


def prepare(conn: Any) -> None:
    """Once per connection: the staging table (emptied by every commit)."""
    conn.execute(_STAGING)


def send_batch(conn: Any, site: str, samples: Sequence[Sample]) -> int:
    """Store ``samples`` centrally in one transaction; returns how many were new."""
    newest = samples[-1] if samples else None
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY luxlog_staging FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_TYPES)
            for s in samples:
                copy.write_row(
                    (
                        s.slot,
                        s.stat,
                        wire_int32(s.parameters),
                        wire_int32(s.calculations),
                        wire_int8(s.visibilities),
                    )
                )
        cur.execute(_INSERT, (site,))
        inserted = max(int(cur.rowcount), 0)
        if newest is not None:
            firmware = firmware_version(newest.calculations) or None
            first = min(s.slot for s in samples)
            cur.execute(_SITE, (site, firmware, first, max(s.slot for s in samples)))
    return inserted


def touch_site(conn: Any, site: str) -> None:
    """``last_push`` of a run that had nothing new (the site is alive and reaching us)."""
    conn.execute(
        "INSERT INTO sites(site, last_push) VALUES (%s, now()) "
        "ON CONFLICT (site) DO UPDATE SET last_push = now()",
        (site,),
    )


_DAILY = (
    "INSERT INTO daily(site, day, timezone, coverage_pct, heat_total_kwh, elec_total_kwh, "
    "cop_total, compressor_starts, defrosts, figures, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, now()) "
    "ON CONFLICT (site, day) DO UPDATE SET timezone = excluded.timezone, "
    "coverage_pct = excluded.coverage_pct, heat_total_kwh = excluded.heat_total_kwh, "
    "elec_total_kwh = excluded.elec_total_kwh, cop_total = excluded.cop_total, "
    "compressor_starts = excluded.compressor_starts, defrosts = excluded.defrosts, "
    "figures = excluded.figures, updated_at = now() "
    "WHERE daily.figures IS DISTINCT FROM excluded.figures"
)


def send_days(conn: Any, site: str, timezone: str, days: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Upsert the Insight figures of ``days`` ((ISO date, ``Period.to_json()``)): a day's
    figures change until it is complete, so the newest computation wins."""
    import json

    rows = [
        (
            site,
            day,
            timezone,
            f.get("coverage_pct"),
            f.get("heat_total_kwh"),
            f.get("elec_total_kwh"),
            f.get("cop_total"),
            f.get("compressor_starts"),
            f.get("defrosts"),
            json.dumps(f, sort_keys=True),
        )
        for day, f in days
    ]
    if not rows:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(_DAILY, rows)
