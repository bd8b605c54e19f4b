"""``/api/series`` for a week and the server's memory (issue 17): ``web_api_figures``.

A week of simulated samples at 30 s (20,160) from the ``v3.92`` profile, whose chart set is
eight series (flow, return and its target, outdoor, hot water and its target, heat output,
power input), flushed into a database in a temporary directory. ``luxlog serve --port 0`` runs
on it as a child process (the venv's console script, as a user starts it); the figure is the
median wall time of ``GET /api/series?from=…&to=…`` for that week over real HTTP on loopback,
the whole answer read (what the week page asks: the default ``points``, down-sampled with
min/max), after the first request, which is reported apart: the server keeps the chunks it
decoded (``store.cache.DECODED``), so the first request of a range decodes and later ones
only aggregate. Memory is the server's resident set
(``/proc/<pid>/status`` ``VmRSS``, and the peak ``VmHWM``) after those requests. Also reported:
the same request for one day at full resolution (``points=2880``: 2,880 rows, not
down-sampled) and the week at ``points=10000``.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

WEEK_START = 1_795_993_200  # 2026-11-30 00:00 Europe/Berlin: the week is 7 whole local days
INTERVAL = 30
MIB = 1024 * 1024
TARGET_SEC = 0.2
TARGET_RSS_MIB = 80


def week_db(path: Path, samples: int) -> Path:
    """``samples`` simulated samples every 30 s from ``WEEK_START``, flushed."""
    from luxlog.simulator import Model
    from luxlog.store import Store

    model = Model("v3.92")
    rows = [model.raw_sample(WEEK_START + INTERVAL * i) for i in range(samples)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with Store(path) as store:
        store.conn.execute("PRAGMA synchronous=OFF")  # set-up only
        store.add_rows(rows)
        store.flush()
    return path


def _serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).parent / "luxlog"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "luxlog"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXLOG_")}
    env.update(LUXLOG_CACHE_PATH=str(db), LUXLOG_TIMEZONE="Europe/Berlin")
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise RuntimeError(f"luxlog serve did not start: {line}{proc.communicate()[1]}")
    return proc, line.split()[1]


def _timed_get(url: str) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    wall = time.perf_counter() - t0
    return wall, json.loads(body)


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu(pid: int) -> float:
    """The process's user + system CPU seconds so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_get(
    url: str, repeats: int, pid: int
) -> tuple[float, dict[str, Any], list[float], float]:
    """Median wall time, the answer, every wall time (the first, cold one not in the median),
    the server's CPU per request."""
    cold, doc = _timed_get(url)  # the server decodes the range's chunks (and keeps them)
    walls = [cold]
    cpu = _cpu(pid)
    for _ in range(repeats):
        wall, doc = _timed_get(url)
        walls.append(wall)
    return statistics.median(walls[1:]), doc, walls, (_cpu(pid) - cpu) / repeats


def web_api_figures(
    figure: Callable[..., Any], work: Path, samples: int, repeats: int
) -> list[Any]:
    """The figures (``figure`` is bench/run.py's ``Figure``)."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        why = "not measured (the web extra is not installed: pip install 'luxlog[web]')"
        return [
            figure("/api/series, a week (8 series)", why, f"≤ {TARGET_SEC * 1000:.0f} ms", None)
        ]
    db = week_db(work / "web" / "luxlog.db", samples)
    days = max(1, samples * INTERVAL // 86400)
    end = WEEK_START + days * 86400
    proc, base = _serve(db)
    try:
        week = f"{base}api/series?from={_iso(WEEK_START)}&to={_iso(end)}"
        # imports and first-use set-up, on a day before the data: nothing decoded yet
        _timed_get(f"{base}api/series?from={_iso(WEEK_START - 86400)}&to={_iso(WEEK_START)}")
        med, doc, walls, cpu = _median_get(week, repeats, proc.pid)
        fine, fine_doc, _, _ = _median_get(week + "&points=10000", max(1, repeats // 2), proc.pid)
        day_end = min(end, WEEK_START + 86400)
        day, day_doc, _, _ = _median_get(
            f"{base}api/series?from={_iso(WEEK_START)}&to={_iso(day_end)}&points=2880",
            repeats,
            proc.pid,
        )
        rss = _status_kib(proc.pid, "VmRSS") / 1024
        peak = _status_kib(proc.pid, "VmHWM") / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    series = len(doc["names"])
    data = {"samples": samples, "series": series, "rows": len(doc["t"]), "walls": walls,
            "server_cpu_s": cpu,
            "points_10000_s": fine, "points_10000_rows": len(fine_doc["t"]), "day_s": day,
            "day_rows": len(day_doc["t"]), "rss_mib": rss, "peak_rss_mib": peak}  # fmt: skip
    return [
        figure(
            f"/api/series, a week ({samples:,} samples × {series} series, "
            f"down-sampled to {len(doc['t'])} rows)",
            f"{med * 1000:.0f} ms, first request {walls[0] * 1000:.0f} ms (server CPU "
            f"{cpu * 1000:.0f} ms; points=10000: "
            f"{fine * 1000:.0f} ms, {len(fine_doc['t'])} rows; a day at 30 s, "
            f"{len(day_doc['t'])} rows: {day * 1000:.0f} ms)",
            f"≤ {TARGET_SEC * 1000:.0f} ms",
            med <= TARGET_SEC,
            data,
        ),
        figure(
            "luxlog serve RSS after serving it",
            f"{rss:.0f} MiB (peak {peak:.0f} MiB)",
            f"≤ {TARGET_RSS_MIB} MiB",
            peak <= TARGET_RSS_MIB,
            data,
        ),
    ]


def _iso(epoch: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
