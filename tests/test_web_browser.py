"""The dashboard in a real browser: headless Chromium (Debian's) against `luxlog serve`.

One server (a subprocess on a free loopback port, with a token) over a database filled from the
simulator's model, and one browser, per module. Each page loads without console errors, its
charts are drawn (a screenshot of the chart is not blank) from exactly the points the API
returned, the date controls and zoom work, the token is enforced, a non-GET is refused, and the
HTML report draws its charts from file:// with every network request blocked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from luxlog.config import load_config
from luxlog.report import window
from luxlog.report_html import render
from luxlog.store import Store
from support.fill import fill
from support.png import distinct_colours
from support.requires import skip_or_fail

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from web_pages import ARGS, CHROMIUM, page_ready_seconds, serving

TOKEN = "browser-test-token-0123456789"
INTERVAL = 180  # three days are 1,440 samples: quick to fill; a week (3,360 slots) is down-sampled
FIRST = dt.date(2026, 11, 24)  # the data covers FIRST .. FIRST + 2 days, UTC
DAY = "2026-11-25"
WAIT_MS = 5000

pytestmark = pytest.mark.slow


def _playwright() -> Any:
    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    return sync_playwright


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Future[Any]]]:
    """A config over three simulated days: (its directory, the fill running in a thread, so
    Chromium and the server start meanwhile; the server opens the database per request)."""
    root = tmp_path_factory.mktemp("web")
    config = root / "config.yaml"
    config.write_text(
        f"cache_path: {root / 'luxlog.db'}\ninterval_sec: {INTERVAL}\ntimezone: UTC\n"
        f"output_dirs: [{root / 'logs'}]\nserve_token: {TOKEN}\nhtml_reports: true\n"
    )
    start = dt.datetime.combine(FIRST, dt.time(), tzinfo=dt.UTC)
    cfg = load_config(config, environ={})
    with ThreadPoolExecutor(1) as pool:
        yield root, pool.submit(fill, cfg, start, start + dt.timedelta(days=3), flush=True)


@pytest.fixture(scope="module")
def site(data: tuple[Path, Future[Any]]) -> Iterator[dict[str, Any]]:
    """`luxlog serve` on the filled database: {"url", "config", "dir"}."""
    root, filling = data
    config = root / "config.yaml"
    with serving(config) as url:  # bench/web_pages.py's: `luxlog serve --port 0`, SIGTERM
        filling.result()
        yield {"url": url, "config": config, "dir": root}


@pytest.fixture(scope="module")
def browser(data: tuple[Path, Future[Any]]) -> Iterator[Any]:
    with _playwright()() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A page with its console errors and page errors collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser: Any, site: dict[str, Any]) -> Iterator[Page]:
    """A fresh context logged in (the cookie the login page sets) with the UTC time zone."""
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, timezone_id="UTC", base_url=site["url"]
    )
    context.add_cookies([{"name": "luxlog_token", "value": TOKEN, "url": site["url"]}])
    context.set_default_timeout(WAIT_MS)
    p = Page(context.new_page())
    yield p
    context.close()


def chart_drawn(p: Page, selector: str) -> int:
    """Wait for the chart in ``selector``; the distinct colours of its canvas screenshot."""
    p.page.wait_for_selector(f"{selector}[data-ready='1']")
    return distinct_colours(p.page.locator(f"{selector} canvas").screenshot())


def plotted(p: Page, selector: str) -> dict[str, Any]:
    """What uPlot holds for the chart: x values and each series' length."""
    result: dict[str, Any] = p.page.eval_on_selector(
        selector,
        "el => ({points: Number(el.dataset.points), x: el.luxChart.data[0],"
        " lengths: el.luxChart.data.map(d => d.length), series: el.luxChart.series.length - 1,"
        " xmin: el.luxChart.scales.x.min, xmax: el.luxChart.scales.x.max})",
    )
    return result


def open_series(p: Page, path: str) -> dict[str, Any]:
    """Go to ``path`` and return the /api/series answer the page fetched."""
    with p.page.expect_response(lambda r: "/api/series" in r.url) as answer:
        p.page.goto(path)
    body: dict[str, Any] = answer.value.json()
    return body


# ----------------------------------------------------------------------------------- pages


def test_now_page_shows_the_latest_values_checks_and_errors(page: Page) -> None:
    page.page.goto("/")
    page.page.wait_for_selector("#values[data-ready='1']")
    values = page.page.locator("#values tbody tr")
    assert values.count() > 10
    assert "Outdoor temperature" in page.page.locator("#values").inner_text()
    assert page.page.locator("#mode").inner_text() not in ("", "–")
    assert "compressor" in page.page.locator("#status").inner_text()
    assert page.page.locator("#checks li").count() >= 3
    assert page.errors == []


def test_day_page_plots_every_point_the_api_returned(page: Page) -> None:
    api = open_series(page, f"/day?date={DAY}&days=1")
    assert not api["downsampled"] and len(api["t"]) == 86400 // INTERVAL
    assert chart_drawn(page, "#chart-temps") > 20  # lines, bands, axes: far from blank
    shown = plotted(page, "#chart-temps")
    assert shown["points"] == len(api["t"]) == len(shown["x"])
    assert shown["x"] == api["t"]
    assert shown["series"] == len(api["names"])
    assert set(shown["lengths"]) == {len(api["t"])}
    assert page.page.locator("#legend .legend-item").count() >= 2  # a mode band + compressor
    assert page.errors == []


def test_week_page_draws_the_downsampled_week_with_its_buckets(page: Page) -> None:
    api = open_series(page, f"/day?date={DAY}&days=7")
    assert api["downsampled"] and "min" in api and "max" in api
    assert chart_drawn(page, "#chart-temps") > 20
    assert plotted(page, "#chart-temps")["x"] == api["t"]
    assert "down-sampled" in page.page.locator("#range").inner_text()
    assert page.page.locator("#heading").inner_text() == f"Week ending {DAY}"
    assert page.errors == []


def test_date_picker_and_previous_next_change_the_range_and_the_chart(page: Page) -> None:
    first = open_series(page, f"/day?date={DAY}&days=1")
    page.page.wait_for_selector("#chart-temps[data-ready='1']")
    with page.page.expect_response(lambda r: "/api/series" in r.url) as answer:
        page.page.fill("#date", "2026-11-26")
    picked = answer.value.json()
    page.page.wait_for_selector("#chart-temps[data-ready='1']")
    assert page.page.url.endswith("/day?date=2026-11-26&days=1")
    assert picked["from"] == "2026-11-26T00:00:00Z" and picked["t"] != first["t"]
    assert plotted(page, "#chart-temps")["x"] == picked["t"]
    with page.page.expect_response(lambda r: "/api/series" in r.url) as answer:
        page.page.click("#prev")
    page.page.wait_for_selector("#chart-temps[data-ready='1']")
    assert answer.value.json()["from"] == "2026-11-25T00:00:00Z"
    assert page.page.url.endswith(f"/day?date={DAY}&days=1")
    with page.page.expect_response(lambda r: "/api/series" in r.url) as answer:
        page.page.click("#span-week")
    assert answer.value.json()["from"] == "2026-11-19T00:00:00Z"
    assert page.page.url.endswith(f"/day?date={DAY}&days=7")
    assert page.errors == []


def test_times_and_today_are_the_configured_zones_not_the_browsers(
    browser: Any, site: dict[str, Any]
) -> None:
    """The server's days are local days of `timezone` (UTC here); a browser far east or west
    (its date differs from UTC's now) still opens today's UTC day, labelled in UTC."""
    utc = dt.datetime.now(dt.UTC)
    zone, shift = ("Pacific/Kiritimati", 1) if utc.hour >= 10 else ("Pacific/Pago_Pago", -1)
    context = browser.new_context(timezone_id=zone, locale="en-US", base_url=site["url"])
    context.add_cookies([{"name": "luxlog_token", "value": TOKEN, "url": site["url"]}])
    context.set_default_timeout(WAIT_MS)
    p = Page(context.new_page())
    try:
        p.page.goto("/day")
        p.page.wait_for_selector("#chart-temps[data-ready='1']")
        assert p.page.url.endswith(f"/day?date={utc.date().isoformat()}&days=1")
        browser_day = p.page.evaluate("new Date().getDate()")
        assert browser_day == (utc + dt.timedelta(days=shift)).day  # the zones do differ
        p.page.goto(f"/day?date={DAY}&days=1")
        p.page.wait_for_selector("#chart-temps[data-ready='1']")
        assert p.page.locator("#range").inner_text().startswith("11/25/2026, 12:00:00 AM – ")
        first = p.page.eval_on_selector(  # the legend's time of the first sample (00:00 UTC)
            "#chart-temps",
            "el => { const u = el.luxChart; u.setCursor({left: u.valToPos(u.data[0][0], 'x'),"
            " top: 10}); return el.querySelector('.u-legend .u-series .u-value').textContent; }",
        )
        assert first == "2026-11-25 12:00am", first
        assert p.errors == []
    finally:
        context.close()


def test_dragging_across_the_plot_zooms_the_x_scale_and_reset_restores_it(page: Page) -> None:
    page.page.goto(f"/day?date={DAY}&days=1")
    page.page.wait_for_selector("#chart-temps[data-ready='1']")
    before = plotted(page, "#chart-temps")
    box = page.page.locator("#chart-temps .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.page.mouse.up()
    zoomed = plotted(page, "#chart-temps")
    assert before["xmin"] < zoomed["xmin"] < zoomed["xmax"] < before["xmax"]
    width = zoomed["xmax"] - zoomed["xmin"]
    assert 0.1 < width / (before["xmax"] - before["xmin"]) < 0.3
    page.page.click("#pan-right")
    panned = plotted(page, "#chart-temps")
    assert panned["xmin"] > zoomed["xmin"]
    assert panned["xmax"] - panned["xmin"] == pytest.approx(width)
    page.page.click("#reset-zoom")
    reset = plotted(page, "#chart-temps")
    assert (reset["xmin"], reset["xmax"]) == (before["xmin"], before["xmax"])
    assert page.errors == []


def test_summary_page_draws_its_charts_and_table(page: Page) -> None:
    with page.page.expect_response(lambda r: "/api/summary" in r.url) as answer:
        page.page.goto("/summary?by=day")
    periods = answer.value.json()["periods"]
    first = next(i for i, p in enumerate(periods) if p["coverage_pct"])
    periods = periods[first:]  # the page starts at the first day with data
    assert chart_drawn(page, "#chart-energy") > 5
    assert chart_drawn(page, "#chart-starts") > 5
    page.page.wait_for_selector("#chart-cop[data-ready='1']")
    assert int(page.page.get_attribute("#chart-energy", "data-points")) == len(periods)
    assert page.page.locator("#table tbody tr").count() == len(periods)
    assert DAY in page.page.locator("#table").inner_text()
    assert page.errors == []


def test_summary_page_switches_to_months_and_back_with_the_url(page: Page) -> None:
    page.page.goto("/summary?by=year")
    page.page.wait_for_selector("#chart-energy[data-ready='1']")
    assert "2026" in page.page.locator("#table").inner_text()
    with page.page.expect_response(lambda r: "/api/summary" in r.url) as answer:
        page.page.click("[data-by='month']")
    assert answer.value.json()["by"] == "month"
    page.page.wait_for_selector("#table >> text=2026-11")
    assert page.page.url.endswith("/summary?by=month")
    assert page.errors == []


def test_health_page_shows_polls_per_day_backlog_and_disk(page: Page) -> None:
    page.page.goto("/health")
    assert chart_drawn(page, "#chart-coverage") > 5
    assert page.page.locator("#days tbody tr").count() >= 1
    assert "used" in page.page.locator("#disk").inner_text()
    assert page.page.locator("#backlog").inner_text().strip() != ""
    assert page.errors == []


# -------------------------------------------------------------------------------- security


def test_without_the_cookie_pages_go_to_login_and_logging_in_opens_them(
    browser: Any, site: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=site["url"], timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    p = Page(context.new_page())
    try:
        assert p.page.request.get("/api/now").status == 401
        p.page.goto(f"/day?date={DAY}")
        assert p.page.url == site["url"] + "/login"
        p.page.fill("#token", TOKEN)
        p.page.click("button[type=submit]")
        p.page.wait_for_selector("#values[data-ready='1']")
        assert p.page.url == site["url"] + "/"
        cookie = next(c for c in context.cookies() if c["name"] == "luxlog_token")
        assert cookie["value"] == TOKEN and cookie["sameSite"] == "Strict"
        assert p.errors == []
    finally:
        context.close()


def test_a_wrong_token_stays_on_the_login_page(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(base_url=site["url"])
    context.set_default_timeout(WAIT_MS)
    p = Page(context.new_page())
    try:
        p.page.goto("/login")
        p.page.fill("#token", "wrong-token-0123456789")
        with p.page.expect_navigation():
            p.page.click("button[type=submit]")
        p.page.wait_for_url("**/login")
    finally:
        context.close()


def test_a_post_is_refused_with_405(page: Page) -> None:
    for path in ("/", "/api/now", "/day"):
        assert page.page.request.post(path, data="x").status == 405
    assert page.page.request.get("/api/now").status == 200


def test_the_bench_times_a_page_until_its_chart_is_drawn(
    browser: Any, site: dict[str, Any]
) -> None:
    ready, api = page_ready_seconds(browser, site["url"], f"/day?date={DAY}", token=TOKEN)
    assert 0 < api < ready


# ----------------------------------------------------------------------------- HTML report


def test_the_html_report_draws_its_charts_from_file_with_no_network(
    browser: Any, site: dict[str, Any]
) -> None:
    cfg = load_config(site["config"], environ={})
    day = dt.date.fromisoformat(DAY)
    w = window("daily", day, cfg)  # what `report` writes for the day (test_report_html.py)
    with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
        page = render(cfg, store, "daily", day, w.start_epoch, w.end_epoch, 1)
    report = site["dir"] / f"{DAY}_daily.html"
    report.write_bytes(page)
    context = browser.new_context(timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    requests: list[str] = []

    def block(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    context.route("**/*", block)
    p = Page(context.new_page())
    try:
        p.page.goto(report.as_uri())
        assert chart_drawn(p, "#chart-temps") > 20
        data = json.loads(p.page.locator("#report-data").text_content())
        assert plotted(p, "#chart-temps")["x"] == data["t"] and len(data["t"]) > 0
        assert requests == [] and p.errors == []
    finally:
        context.close()


def test_the_png_check_tells_a_blank_image_from_a_chart(page: Page) -> None:
    page.page.goto("/login")  # below the form: plain page background
    blank = page.page.screenshot(clip={"x": 100, "y": 600, "width": 400, "height": 200})
    assert distinct_colours(blank) == 1
