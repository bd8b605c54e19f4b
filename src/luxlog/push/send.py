"""The central side of a push: one batch in one transaction, exactly once.

Binary COPY straight into ``samples`` (the fast path: a batch of new samples), or, when the
primary key refuses one, COPY into a session-local staging table and ``INSERT … SELECT … ON
CONFLICT (site, time) DO NOTHING``; then the ``sites`` row, all in one transaction: the server
has either all of a batch or none of it, and a batch sent again (the local mark is written
only after this commit, so a kill in between re-sends it) adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from luxlog.decode import firmware_version
from luxlog.push.connect import driver
from luxlog.push.wire import Row, calculations_of, copy_stream, direct_stream

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS luxlog_staging (slot bigint, stat integer, "
    "parameters bytea, calculations integer[], visibilities bytea) ON COMMIT DELETE ROWS",
    # staged as sent: compressing here too would double the server's work
    "ALTER TABLE luxlog_staging ALTER parameters SET STORAGE EXTERNAL, "
    "ALTER calculations SET STORAGE EXTERNAL, ALTER visibilities SET STORAGE EXTERNAL",
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
_STAGE = "COPY luxlog_staging FROM STDIN (FORMAT BINARY)"
_DIRECT = (
    "COPY samples (site, time, stat, parameters, calculations, visibilities) "
    "FROM STDIN (FORMAT BINARY)"
)


def prepare(conn: Any) -> None:
    """Once per connection: the staging table (emptied by every commit), kept in memory."""
    conn.execute("SET temp_buffers = '64MB'")  # before the session's first temp table use
    for statement in _STAGING:
        conn.execute(statement)


def send_batch(conn: Any, site: str, samples: Sequence[Row]) -> int:
    """Store ``samples`` centrally in one transaction; returns how many were new.

    The usual batch holds no sample the server has: it is copied straight into ``samples``
    (the primary key refuses any duplicate). Only when that fails on a duplicate (a batch sent
    again after a kill, a chunk re-sent after an import) is it rolled back to the savepoint and
    sent through the staging table, skipping what the server holds. Either way one transaction.
    """
    if not samples:
        return 0
    psycopg = driver()
    newest = max(samples, key=lambda s: s.slot)
    with conn.transaction(), conn.cursor() as cur:
        try:
            with conn.transaction(), cur.copy(_DIRECT) as copy:  # a savepoint
                copy.write(direct_stream(site, samples))
            inserted = len(samples)
        except psycopg.errors.UniqueViolation:
            with cur.copy(_STAGE) as copy:
                copy.write(copy_stream(samples))
            cur.execute(_INSERT, (site,))
            inserted = max(int(cur.rowcount), 0)
        firmware = firmware_version(calculations_of(newest)) or None
        first = min(s.slot for s in samples)
        cur.execute(_SITE, (site, firmware, first, newest.slot))
    return inserted


def touch_site(conn: Any, site: str) -> None:
    """``last_push`` of a run that had nothing new (the site is alive and reaching us)."""
    conn.execute(
        "INSERT INTO sites(site, last_push) VALUES (%s, now()) "
        "ON CONFLICT (site) DO UPDATE SET last_push = now()",
        (site,),
    )


def newest_day(conn: Any, site: str) -> Any:
    """The site's newest day with figures centrally (a ``datetime.date``), or None."""
    return conn.execute("SELECT max(day) FROM daily WHERE site = %s", (site,)).fetchone()[0]


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


def send_days(
    conn: Any, site: str, timezone: str, days: Sequence[tuple[str, dict[str, Any]]]
) -> None:
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
