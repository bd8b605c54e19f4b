"""The dashboard's day and week pages in headless Chromium: time until the charts are drawn.

A week of simulated samples at 30 s (20,160, ``Model.raw_sample``) is stored and flushed into a
temporary database, ``luxlog serve --port 0`` runs over it (a child process), and Debian's
``/usr/bin/chromium`` (Playwright, no downloaded browser) opens ``/day?date=D&days=1`` and
``…&days=7`` in a fresh browser context each time (cold cache: the page, uPlot, the API answer
all fetched again). The figure is the wall time from ``page.goto`` to the chart container's
``data-ready="1"`` (set after uPlot drew every series), median of ``repeats``; the target is
≤ 1 s on the build machine. The day page plots all 2,880 samples; the week page 2,000 buckets
with min/max bands (the server down-samples).

Runs from ``bench/run.py`` (step "web pages"), or alone: ``python bench/web_pages.py``.
Without chromium or playwright the figure says "not run" instead of failing the bench.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
INTERVAL = 30
DAY = 86_400
END = dt.datetime(2025, 1, 13, tzinfo=dt.UTC)  # the week ends at midnight UTC on this date
TARGET_S = 1.0


def fill_week(db: Path, samples: int) -> None:
    """``samples`` simulated samples at 30 s ending at ``END``, flushed into ``db``."""
    from luxlog.simulator import Model
    from luxlog.store import Store

    model = Model("v3.78")
    start = int(END.timestamp()) - samples * INTERVAL
    rows = [model.raw_sample(start + i * INTERVAL) for i in range(samples)]
    with Store(db, interval=INTERVAL) as store:
        store.conn.execute("PRAGMA synchronous=OFF")  # set-up only
        store.add_rows(rows)
        store.flush()


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """``luxlog serve --port 0`` on ``config``; yields its URL, stops it with SIGTERM."""
    env = {**os.environ, "LUXLOG_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "luxlog", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=20)
        words = line[0].split() if line else []
        if len(words) < 2 or not words[1].startswith("http://"):
            raise RuntimeError(f"luxlog serve did not start: {line}")
        yield words[1].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


API_TIME = (
    "Math.max(0, ...performance.getEntriesByType('resource')"
    ".filter(e => e.name.includes('/api/series')).map(e => e.responseEnd - e.startTime)) / 1000"
)


def page_ready_seconds(
    browser: Any, url: str, path: str, selector: str = "#chart-temps", token: str | None = None
) -> tuple[float, float]:
    """Seconds from navigation to ``selector``'s data-ready in a fresh (cold) context, and the
    part of it the page waited for /api/series (the browser's resource timing)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    if token is not None:  # a server with serve_token: the login page's cookie
        context.add_cookies([{"name": "luxlog_token", "value": token, "url": url}])
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url + path)
        page.wait_for_selector(f"{selector}[data-ready='1']", timeout=30_000)
        ready = time.perf_counter() - t0
        return ready, float(page.evaluate(API_TIME))
    finally:
        context.close()


def measure(
    browser: Any, url: str, repeats: int, date: str
) -> dict[str, list[tuple[float, float]]]:
    """Day and week page times, interleaved, after one unmeasured warm-up of each."""
    paths = {"day": f"/day?date={date}&days=1", "week": f"/day?date={date}&days=7"}
    for path in paths.values():
        page_ready_seconds(browser, url, path)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in paths}
    for _ in range(repeats):
        for kind, path in paths.items():
            times[kind].append(page_ready_seconds(browser, url, path))
    return times


def web_pages_figures(
    figure: Callable[..., Any], work: Path, repeats: int = 5, samples: int = 7 * DAY // INTERVAL
) -> list[Any]:
    """The day-page and week-page figures (``figure`` is bench/run.py's Figure)."""
    target = f"≤ {TARGET_S:g} s"
    if not os.path.exists(CHROMIUM):
        return [figure("day/week page ready", f"not run ({CHROMIUM} missing)", target, None)]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [figure("day/week page ready", "not run (playwright missing)", target, None)]
    work.mkdir(parents=True, exist_ok=True)
    config = work / "web.yaml"
    config.write_text(
        f"cache_path: {work / 'web.db'}\ninterval_sec: {INTERVAL}\ntimezone: UTC\n"
        f"output_dirs: [{work / 'logs'}]\n"
    )
    fill_week(work / "web.db", samples)
    date = (END - dt.timedelta(days=1)).date().isoformat()
    with serving(config) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            times = measure(browser, url, repeats, date)
        finally:
            browser.close()
    out = []
    for kind, what in (("day", "2,880 samples"), ("week", "20,160 samples in 2,000 buckets")):
        med = statistics.median(t for t, _ in times[kind])
        api = statistics.median(a for _, a in times[kind])
        out.append(
            figure(
                f"{kind} page ready in Chromium ({what}, 6 series)",
                f"{med:.2f} s (of which /api/series {api:.2f} s; median of {repeats}, cold)",
                target,
                med <= TARGET_S,
                {
                    "seconds": [round(t, 3) for t, _ in times[kind]],
                    "api_seconds": [round(a, 3) for _, a in times[kind]],
                    "samples": samples,
                },
            )
        )
    return out


def main() -> int:
    from dataclasses import dataclass, field

    @dataclass
    class Figure:
        figure: str
        value: str
        target: str
        ok: bool | None
        data: dict[str, Any] = field(default_factory=dict)

    with tempfile.TemporaryDirectory(prefix="luxlog-web-") as tmp:
        for f in web_pages_figures(Figure, Path(tmp)):
            print(f"{f.figure}: {f.value} (target {f.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
