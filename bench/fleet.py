"""A simulated fleet pushing into one PostgreSQL (issue 16): ingest rate, bytes, Grafana query.

N sites (default 200), each a local luxlog database holding one day of the simulator's samples
(2,880 at 30 s, all three blocks), push concurrently into one fresh PostgreSQL server started
for the run (``initdb`` in a temporary directory, PostgreSQL's durable defaults: fsync on).
The raw samples are built once from the simulator's model and filed into one database, which
is copied per site (same slots: each site is the same day at another place); every site has
its own config (``site``, ``cache_path``, ``push_url``) and runs the real ``luxlog.push.run.push``
in a pool of worker processes (each push its own connection, as a site would), so the
benchmark measures luxlog's client path and the server together, on one machine.

Figures: samples/s over the whole fleet (first push started to last commit), server-side
bytes per sample (``pg_total_relation_size`` of samples, its TOAST and index, ÷ samples), and
the Grafana-style query "one name, one site, one week" against the ``readings`` view on the
loaded server (one more site holds a whole week), median of many after a warm-up.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # support.postgres: the tests' server fixture, reused

DAY = 2880
START = 1_767_225_600  # 2026-01-01 00:00 UTC
QUERY = (
    "SELECT time, value FROM readings WHERE site = %s AND name = %s "
    "AND time >= to_timestamp(%s) AND time < to_timestamp(%s) ORDER BY time"
)
QUERY_NAME = "ID_WEB_Temperatur_TVL"


def build_site_db(path: Path, samples: int) -> int:
    """One local database of ``samples`` simulated samples at 30 s (raw blocks from the model),
    flushed, with its per-day table as a site's flushes keep it."""
    from luxlog.simulator import Model
    from luxlog.store import Store

    model = Model("v3.78")
    rows = [model.raw_sample(START + i * 30) for i in range(samples)]
    with Store(path, interval=30) as store:
        store.conn.execute("PRAGMA synchronous=OFF")  # set-up only
        store.add_rows(rows, batch=DAY)
        store.flush()
        store.update_daily("UTC")  # what a site's flush keeps (report seeds the zone)
    return len(rows)


def _push_site(args: tuple[str, str, str]) -> tuple[int, float]:
    site, db, url = args
    from luxlog.config import Config
    from luxlog.push.run import push

    cfg = Config(site=site, cache_path=db, push_url=url, timezone="UTC", push_batch=2000)
    result = push(cfg)
    return result.inserted, result.seconds


def _warm(_: int) -> None:
    import luxlog.push.run  # noqa: F401  the imports, before the clock starts


_PREBUILT: list[tuple[int, bytes]] = []  # (samples, COPY stream) per batch, made before the clock
_PLACEHOLDER = "site-?????"  # as long as every site name of the run: swapped in by replace


def _prebuild(db: str) -> None:
    """Every batch of the template database as a COPY stream for a placeholder site: what a
    client's payload work makes, done once per worker before the clock starts."""
    import sqlite3

    from luxlog.push.wire import chunk_rows, direct_stream

    rows = []
    with sqlite3.connect(db) as conn:
        for bucket, blob in conn.execute("SELECT bucket, data FROM chunk ORDER BY bucket"):
            rows += chunk_rows(bucket, blob)
    _PREBUILT[:] = [
        (len(rows[i : i + 2000]), direct_stream(_PLACEHOLDER, rows[i : i + 2000]))
        for i in range(0, len(rows), 2000)
    ]


def _send_prebuilt(args: tuple[str, str]) -> int:
    """One site's samples as one push sends them (a connection, a transaction and a binary
    COPY per batch of 2,000), from the prebuilt streams: the only client work left is a
    ``bytes.replace`` of the site name and the socket writes."""
    import psycopg

    from luxlog.push.send import _DIRECT

    site, url = args
    assert len(site) == len(_PLACEHOLDER)  # the field's length prefix stays right
    sent = 0
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for n, stream in _PREBUILT:
            with conn.transaction(), cur.copy(_DIRECT) as copy:
                copy.write(stream.replace(_PLACEHOLDER.encode(), site.encode()))
            sent += n
    return sent


def server_cpu(data: Path) -> float:
    """CPU seconds of the server so far: the postmaster's own and its reaped children's (every
    backend of a finished connection), from /proc (``utime stime cutime cstime``)."""
    pid = (data / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def query_times(conn: Any, queries: int) -> tuple[list[float], int]:
    """Wall times of the week query with every row sent to the client (``COPY … TO STDOUT``,
    as text: what a driver receives, without the cost of making Python objects of 20,160
    rows, which Grafana's Go driver does not pay either); 5 warm-up runs are not counted."""
    from psycopg import sql

    lo, hi = START, START + 7 * 86400
    params = ("week", QUERY_NAME, lo, hi)
    query = sql.SQL(QUERY.replace("%s", "{}")).format(*(sql.Literal(v) for v in params))
    copy = sql.SQL("COPY ({}) TO STDOUT").format(query)
    times, rows = [], 0
    for i in range(queries + 5):
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy(copy) as out:
            rows = sum(bytes(block).count(b"\n") for block in out)
        if i >= 5:
            times.append(time.perf_counter() - t)
    return times, rows


def _initialize(warm: Any, arg: Any, ready: Any) -> None:
    warm(arg)
    ready.wait(timeout=300)


def _pushes(
    ctx: Any, workers: int, data: Path, func: Any, jobs: list[Any], warm: Any, arg: Any
) -> tuple[list[Any], float, float]:
    """``func`` over ``jobs`` in a pool of ``workers`` (each warmed by ``warm(arg)`` before the
    clock): the results, the wall time and the server's CPU seconds over it."""
    # every worker warms itself once in its initializer (a pool.map of warm-ups may give two
    # to one worker and none to another), and the clock waits for all of them
    ready = ctx.Barrier(workers + 1)
    pool = ctx.Pool(workers, initializer=_initialize, initargs=(warm, arg, ready))
    try:
        ready.wait(timeout=300)
        cpu0, t0 = server_cpu(data), time.perf_counter()
        results = pool.map(func, jobs, chunksize=1)
        wall = time.perf_counter() - t0
    finally:
        pool.close()  # not terminate(): workers end on their own, nothing is killed
        pool.join()
    return results, wall, server_cpu(data) - cpu0  # every push has disconnected by now


def fleet(
    sites: int = 200,
    workers: int = 8,
    queries: int = 50,
    per_site: int = DAY,
    week: int = 7 * DAY,
    server: Any = None,
) -> dict[str, Any]:
    """``server``: a running ``support.postgres.Server`` to use (a fresh database on it, as
    the smoke test does); by default a fresh durable server is started for the run."""
    from support.postgres import Server, find_bindir

    bindir = find_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL server binary (initdb)"}
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="luxlog-fleet-"))
    root.chmod(0o755)  # the server runs as postgres when this runs as root
    own = server is None
    try:
        if own:
            (root / "pg").mkdir()
            server = Server(bindir, root / "pg")
            server.init(durable=True)
            server.start()
        url = server.url() if own else server.url(server.create_database())
        dbs = root / "sites"
        dbs.mkdir()
        template = dbs / "template.db"
        build_site_db(template, per_site)
        week_db = dbs / "week.db"
        build_site_db(week_db, week)
        jobs = []
        for i in range(sites):
            path = dbs / f"site-{i:05d}.db"
            shutil.copyfile(template, path)
            jobs.append((f"site-{i:05d}", str(path), url))
        _push_site(("schema", str(root / "none.db"), url))  # the schema, once, before the clock
        ctx = multiprocessing.get_context("fork")
        results, wall, server_sec = _pushes(ctx, workers, server.data, _push_site, jobs, _warm, 0)
        inserted = sum(r[0] for r in results)
        _push_site(("week", str(week_db), url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE samples")
            size = conn.execute("SELECT pg_total_relation_size('samples')").fetchone()[0]
            heap = conn.execute("SELECT pg_relation_size('samples')").fetchone()[0]
            total = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
            times, rows = query_times(conn, queries)
        # the server's side alone: the same fleet again as other sites, from COPY streams the
        # workers built before the clock (fleet clients are separate machines in reality)
        raw = [(f"site-r{i:04d}", url) for i in range(sites)]
        sent, raw_wall, raw_cpu = _pushes(
            ctx, workers, server.data, _send_prebuilt, raw, _prebuild, str(template)
        )
        return {
            "sites": sites,
            "workers": workers,
            "samples_per_site": per_site,
            "inserted": inserted,
            "expected": sites * per_site,
            "wall_sec": round(wall, 2),
            "samples_per_sec": round(inserted / wall),
            "server_cpu_sec": round(server_sec, 1),
            "server_samples_per_cpu_sec": round(inserted / server_sec) if server_sec else None,
            "cpus": os.cpu_count(),
            "bytes_per_sample": round(size / total),
            "heap_bytes_per_sample": round(heap / total),
            "total_bytes": size,
            "rows_in_samples": total,
            "query_rows": rows,
            "week_samples": week,
            "query_median_ms": round(statistics.median(times) * 1000, 2),
            "query_max_ms": round(max(times) * 1000, 2),
            "server_only_samples": sum(sent),
            "server_only_wall_sec": round(raw_wall, 2),
            "server_only_samples_per_sec": round(sum(sent) / raw_wall),
            "server_only_cpu_sec": round(raw_cpu, 1),
        }
    finally:
        if own and server is not None:
            server.stop("fast")
        shutil.rmtree(root, ignore_errors=True)


def fleet_figures(figure: Any, sites: int = 200, queries: int = 50, **options: Any) -> list[Any]:
    """run.py's rows (``figure``: its Figure class); ``options``: ``fleet``'s keywords."""
    found = fleet(sites, queries=queries, **options)
    if "skipped" in found:
        return [figure("fleet push into one PostgreSQL", f"not measured: {found['skipped']}",
                       "≥ 20,000 samples/s", None, found)]  # fmt: skip
    complete = found["inserted"] == found["expected"]
    return [
        figure(
            f"fleet push: {found['sites']} sites × {found['samples_per_site']} samples, "
            f"{found['workers']} concurrent pushes",
            f"{found['samples_per_sec']:,} samples/s ({found['wall_sec']} s)"
            + ("" if complete else " — INCOMPLETE"),
            "≥ 20,000 samples/s",
            complete and found["samples_per_sec"] >= 20_000,
            found,
        ),
        figure(
            "fleet push: the server's share (PostgreSQL CPU per sample, clients excluded)",
            f"{found['server_samples_per_cpu_sec'] or 0:,} samples per server CPU-second "
            f"({found['server_cpu_sec']} s for {found['inserted']:,})",
            "(informational)",
            None,
        ),
        figure(
            "fleet ingest, the server's side alone (prebuilt COPY streams, client work excluded)",
            f"{found['server_only_samples_per_sec']:,} samples/s "
            f"({found['server_only_wall_sec']} s for {found['server_only_samples']:,})",
            "(informational, not the target figure)",
            None,
        ),
        figure(
            "central bytes per sample (samples table, TOAST, index)",
            f"{found['bytes_per_sample']:,} B (heap {found['heap_bytes_per_sample']:,} B)",
            "(informational)",
            None,
        ),
        figure(
            "Grafana query: one name, one site, one week (readings view)",
            f"{found['query_median_ms']} ms median ({found['query_rows']} rows)",
            "≤ 50 ms",
            found["query_median_ms"] <= 50,
        ),
    ]


if __name__ == "__main__":
    import json

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(json.dumps(fleet(n), indent=2))
