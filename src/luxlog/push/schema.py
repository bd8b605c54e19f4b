"""The central schema: numbered migrations of its own, recorded in ``luxlog_schema``.

``MIGRATIONS[i]`` upgrades version i to i + 1 (append, never edit). Every push checks the
version first, without a lock (one query); only when it is behind does it take a
transaction-scoped advisory lock, so sites migrating at the same instant run each step once
(the second one waits, then finds the work done). A central schema newer than this luxlog
knows is refused before anything is written: an older luxlog must not write rows a newer
schema reads differently.

The blocks are stored lossless: ``calculations`` (what is decoded) as ``integer[]``, so
``calculations[i + 1]`` is calculation i and Grafana's reads cost one subscript per row;
``parameters`` and ``visibilities`` (1,075 and 327 values, rarely read) exactly as the
controller sent them on the wire (``bytea``: big-endian int32, one signed byte each), compact
to send and store, read in SQL with ``luxlog_int4``/``luxlog_int1`` (inlined SQL functions).
The ``readings`` view joins ``samples`` with ``sensors``, so fixing a row of ``sensors``
re-decodes every site's history at once, and no sample is exploded into a row per value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from luxlog.errors import PushError

LOCK_KEY = 0x6C75786C6F67  # "luxlog": pg_advisory_xact_lock's key for schema changes

_V1 = """
CREATE TABLE sites (
    site text PRIMARY KEY,
    firmware text,
    first_seen timestamptz,
    last_seen timestamptz,
    last_push timestamptz
);
CREATE TABLE samples (
    site text NOT NULL,
    time timestamptz NOT NULL,
    stat integer NOT NULL,
    parameters bytea NOT NULL,
    calculations integer[] NOT NULL,
    visibilities bytea NOT NULL,
    PRIMARY KEY (site, time)
);
-- Storage (measured, bench/fleet.py): parameters and visibilities compressed with lz4 where
-- the server has it (pglz costs the server ~0.7 ms per sample, lz4 a tenth). calculations
-- MAIN: kept inline and uncompressed whenever the row fits, so the readings of Grafana decode
-- without a TOAST fetch or a decompression per row.
ALTER TABLE samples ALTER COLUMN calculations SET STORAGE MAIN;
DO $$ BEGIN
    ALTER TABLE samples ALTER COLUMN parameters SET COMPRESSION lz4,
        ALTER COLUMN visibilities SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4 keeps pglz
END $$;
CREATE TABLE sensors (
    name text PRIMARY KEY,
    block text NOT NULL,
    index integer NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    divisor integer NOT NULL,
    temperature boolean NOT NULL,
    labels jsonb NOT NULL
);
CREATE TABLE daily (
    site text NOT NULL,
    day date NOT NULL,
    timezone text NOT NULL,
    coverage_pct double precision,
    heat_total_kwh double precision,
    elec_total_kwh double precision,
    cop_total double precision,
    compressor_starts integer,
    defrosts integer,
    figures jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, day)
);
CREATE TABLE luxlog_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE FUNCTION luxlog_int4(block bytea, idx integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN idx >= 0 AND octet_length(block) >= 4 * idx + 4 THEN
        (get_byte(block, 4 * idx) << 24) | (get_byte(block, 4 * idx + 1) << 16)
        | (get_byte(block, 4 * idx + 2) << 8) | get_byte(block, 4 * idx + 3) END
$$;
CREATE FUNCTION luxlog_int1(block bytea, idx integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN idx >= 0 AND octet_length(block) > idx THEN
        (get_byte(block, idx) # 128) - 128 END
$$;
CREATE VIEW readings AS
    SELECT s.site, s.time, x.name,
        CASE WHEN r.raw IS NULL OR r.raw = -2147483648 OR (x.temperature AND r.raw = -500)
            THEN NULL ELSE r.raw::double precision / x.divisor END AS value
    FROM samples s
    CROSS JOIN sensors x
    CROSS JOIN LATERAL (SELECT s.calculations[x.index + 1] AS raw) r
    WHERE x.block = 'calculations'
"""

MIGRATIONS: list[str] = [_V1]
VERSION = len(MIGRATIONS)

TIMESCALE = """
SELECT create_hypertable('samples', 'time', chunk_time_interval => INTERVAL '7 days',
    if_not_exists => TRUE, migrate_data => TRUE);
ALTER TABLE samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'site',
    timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('samples', compress_after => INTERVAL '7 days',
    if_not_exists => TRUE)
"""


def _statements(sql: str) -> list[str]:
    """Split at ``;`` outside ``$$`` bodies."""
    out, current, quoted = [], [], False
    for part in sql.split("$$"):
        if quoted:
            current.append(f"$${part}$$")
        else:
            pieces = part.split(";")
            current.append(pieces[0])
            for piece in pieces[1:]:
                out.append("".join(current))
                current = [piece]
        quoted = not quoted
    out.append("".join(current))
    return [s.strip() for s in out if s.strip()]


def current_version(conn: Any) -> int:
    exists = conn.execute("SELECT to_regclass('luxlog_schema') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM luxlog_schema").fetchone()[0])


def _refuse_newer(version: int, shown_url: str) -> None:
    if version > VERSION:
        raise PushError(
            f"the central database {shown_url} has schema version {version}, newer than this "
            f"luxlog knows ({VERSION}): upgrade luxlog on this site; nothing was written"
        )


def migrate(conn: Any, shown_url: str) -> int:
    """Bring the central schema to ``VERSION`` (idempotent, concurrency-safe); returns the
    number of migrations applied here."""
    version = current_version(conn)
    _refuse_newer(version, shown_url)
    if version == VERSION:
        return 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS luxlog_schema (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        version = current_version(conn)  # under the lock: another site may have done it
        _refuse_newer(version, shown_url)
        for number in range(version, VERSION):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute("INSERT INTO luxlog_schema(version) VALUES (%s)", (number + 1,))
        return VERSION - version


def _sensor_rows() -> list[tuple[Any, ...]]:
    from luxlog.decode import calculation_fields

    rows = []
    for index, f in sorted(calculation_fields().items()):
        if not f.numeric:
            continue
        labels = json.dumps({str(k): v for k, v in sorted(f.labels.items())})
        temperature = f.kind == "celsius"
        rows.append((f.name, "calculations", index, f.kind, f.unit, f.divisor, temperature, labels))
    return rows


def sync_sensors(conn: Any) -> bool:
    """Write luxlog's sensor definitions when the central ones differ (a fingerprint in
    ``luxlog_meta``: one read per push otherwise). Returns whether they were written."""
    rows = _sensor_rows()
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    held = conn.execute("SELECT value FROM luxlog_meta WHERE key = 'sensors'").fetchone()
    if held is not None and held[0] == digest:
        return False
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("DELETE FROM sensors WHERE block = 'calculations'")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO sensors(name, block, index, kind, unit, divisor, temperature, labels)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                rows,
            )
        conn.execute(
            "INSERT INTO luxlog_meta(key, value) VALUES ('sensors', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (digest,),
        )
    return True


def init_timescale(conn: Any, shown_url: str) -> None:
    """Make ``samples`` a hypertable with compression (segment by site, newest first) and a
    compression policy for chunks older than 7 days; a clear error without the extension."""
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if available is None:
        raise PushError(
            f"--init-timescale: the TimescaleDB extension is not available on {shown_url} "
            "(install it on the server, or push to plain PostgreSQL without --init-timescale)"
        )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        for statement in _statements(TIMESCALE):
            conn.execute(statement)
