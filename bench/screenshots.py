"""README screenshots (docs/screenshots/*.png) of every dashboard page over the demo's data.

``make screenshots``: runs ``luxlog demo --output <tmp> --days 8`` (the simulator, a simulated
week of history, the reports), then ``luxlog serve`` over that database, and headless Chromium
(Debian's ``/usr/bin/chromium``) saves each page once its charts are drawn: now, day, week,
summary, health, and the self-contained HTML report opened from file://.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_pages import ARGS, CHROMIUM, serving

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}


def demo(base: Path) -> Path:
    """The demo's database and a config over it (with HTML reports); returns the config."""
    subprocess.run(
        [sys.executable, "-m", "luxlog", "demo", "--output", str(base), "--days", "8"],
        check=True, stdout=subprocess.DEVNULL, cwd=base,  # no ./config.yaml there: defaults
        env={k: v for k, v in os.environ.items() if not k.startswith("LUXLOG_")},
    )  # fmt: skip
    config = base / "web.yaml"
    config.write_text(
        f"cache_path: {base / 'data' / 'luxlog.db'}\ntimezone: UTC\nhtml_reports: true\n"
        f"output_dirs: [{base / 'logs'}]\n"
    )
    return config


def shoot(base: Path, config: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    env = {**os.environ, "LUXLOG_CONFIG": str(config)}
    subprocess.run(
        [sys.executable, "-m", "luxlog", "report", "--date", yesterday, "--output", str(base)],
        check=True, stdout=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    pages = [
        ("now", "/", "#values"),
        ("day", f"/day?date={yesterday}&days=1", "#chart-temps"),
        ("week", f"/day?date={yesterday}&days=7", "#chart-temps"),
        ("summary", "/summary?by=day", "#chart-energy"),
        ("health", "/health", "#chart-coverage"),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with serving(config) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC", locale="en-GB")
        page = context.new_page()
        for name, path, ready in pages:
            page.goto(url + path)
            page.wait_for_selector(f"{ready}[data-ready='1']", timeout=30_000)
            written.append(OUT / f"{name}.png")
            page.screenshot(path=written[-1])
        page.goto((base / f"{yesterday}_daily.html").as_uri())
        page.wait_for_selector("#chart-temps[data-ready='1']", timeout=30_000)
        written.append(OUT / "report.png")
        page.screenshot(path=written[-1], full_page=True)
        browser.close()
    return written


def main() -> int:
    if not os.path.exists(CHROMIUM):
        print(f"screenshots need {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="luxlog-shots-") as tmp:
        base = Path(tmp)
        for path in shoot(base, demo(base)):
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
