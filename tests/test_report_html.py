"""``html_reports``: the self-contained ``YYYY-MM-DD_<kind>.html`` beside each report CSV.

Written atomically in every output directory, recorded with the CSV, the same bytes on a re-run,
expired by prune like the CSVs; nothing fetched from anywhere (no src/href, a CSP forbidding it);
not imported at all (nor any web framework) by a report run without it. The browser side (its
charts drawn from file:// with the network blocked) is in test_web_browser.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from typer.testing import CliRunner

from luxlog import report_html
from luxlog.cli import app
from luxlog.config import load_config
from luxlog.errors import ConfigError, ReportError
from luxlog.prune import prune_csv
from luxlog.report_files import TEMP_NAME, parse_report_name, report_name
from luxlog.store import Store
from luxlog.web.series import series
from support.fill import fill

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)  # a Wednesday, after 07:00
DAY = dt.date(2026, 11, 25)


@pytest.fixture
def config(write_config: Callable[..., Path], isolated: Path) -> Path:
    path = write_config(
        interval_sec=900,
        html_reports=True,
        output_dirs=[str(isolated / "logs"), str(isolated / "nas")],
    )
    start = dt.datetime(2026, 11, 16, 7, tzinfo=BERLIN)
    fill(load_config(path, environ={}), start, NOW, flush=True)
    return path


def invoke(*args: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return CliRunner().invoke(app, ["report", *args])


def scripts_of(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>", page)


def test_report_writes_an_html_twin_of_each_csv_in_every_directory(
    config: Path, isolated: Path
) -> None:
    result = invoke("--config", str(config), "--date", DAY.isoformat(), "--daily", "--weekly")
    assert result.exit_code == 0, result.output
    for directory in ("logs", "nas"):
        names = sorted(p.name for p in (isolated / directory).iterdir())
        assert "2026-11-25_daily.html" in names and "2026-11-25_weekly.html" in names
        assert "2026-11-25_daily.csv" in names
    with Store(isolated / "data" / "luxlog.db", readonly=True) as store:
        (daily,) = [r for r in store.reports("daily") if r.date == DAY.isoformat()]
    recorded = daily.paths.split("\n")
    assert str(isolated / "logs" / "2026-11-25_daily.html") in recorded
    assert str(isolated / "nas" / "2026-11-25_daily.html") in recorded
    assert (isolated / "logs" / "2026-11-25_daily.html").read_bytes() == (
        isolated / "nas" / "2026-11-25_daily.html"
    ).read_bytes()


def test_the_html_is_self_contained_and_carries_the_windows_series(
    config: Path, isolated: Path
) -> None:
    assert invoke("--config", str(config), "--date", DAY.isoformat()).exit_code == 0
    page = (isolated / "logs" / "2026-11-25_daily.html").read_text("utf-8")
    assert not re.search(r"<(script|img|link|iframe)[^>]*\b(src|href)=", page)
    assert "http://" not in page.replace("http://www.w3.org", "")  # SVG namespace only
    assert "default-src 'none'" in page and "connect-src 'none'" in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)[1]  # type: ignore[index]
    assert "unsafe-inline" not in csp
    for tag in ("script", "style"):  # each inline element allowed by its hash, nothing else
        inlined = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        allowed = re.search(rf"{tag}-src ([^;]*);", csp)[1].split()  # type: ignore[index]
        digests = [hashlib.sha256(text.encode()).digest() for text in inlined]
        assert allowed == [f"'sha256-{base64.b64encode(d).decode()}'" for d in digests]
        assert len(inlined) >= 2
    assert scripts_of(page) == [
        '<script type="application/json" id="report-data">',
        "<script>", "<script>", "<script>",
    ]  # fmt: skip
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    cfg = load_config(config, environ={})
    start = int(dt.datetime(2026, 11, 24, 7, tzinfo=BERLIN).timestamp())
    end = int(dt.datetime(2026, 11, 25, 7, tzinfo=BERLIN).timestamp())
    with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
        assert data == series(store, cfg, start, end, points=3000)
    assert len(data["t"]) == 24 * 4
    assert '<th class="num">2026-11-24</th>' in page  # the figures of the day it ends on
    assert "compressor starts" in page


def test_a_rerun_writes_the_same_bytes(config: Path, isolated: Path) -> None:
    assert invoke("--config", str(config), "--date", DAY.isoformat()).exit_code == 0
    first = (isolated / "logs" / "2026-11-25_daily.html").read_bytes()
    assert invoke("--config", str(config), "--date", DAY.isoformat()).exit_code == 0
    assert (isolated / "logs" / "2026-11-25_daily.html").read_bytes() == first


def test_the_weekly_html_shows_seven_days_of_figures(config: Path, isolated: Path) -> None:
    assert invoke("--config", str(config), "--date", "2026-11-23", "--weekly").exit_code == 0
    page = (isolated / "logs" / "2026-11-23_weekly.html").read_text("utf-8")
    days = re.findall(r'<th class="num">(2026-11-\d\d)</th>', page)
    assert days == [f"2026-11-{d}" for d in range(16, 23)]


def modules_after_report(config: Path, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that `luxlog report --date` imported."""
    probe = (
        "import sys, atexit, json; atexit.register(lambda: print(json.dumps(sorted("
        "m for m in sys.modules "
        f"if m.startswith({prefixes!r})))));"
        "from luxlog.cli import main; sys.argv = ['luxlog', 'report', '--date', '2026-11-24'];"
        "main()"
    )
    env = {**os.environ, "LUXLOG_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=8,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_without_html_reports_no_html_and_no_web_module_is_imported(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    path = write_config(interval_sec=900)
    fill(load_config(path, environ={}), dt.datetime(2026, 11, 23, 7, tzinfo=BERLIN), NOW)
    web = ("luxlog.report_html", "luxlog.web", "starlette", "uvicorn")
    assert modules_after_report(path, web) == []
    assert sorted(p.name for p in (isolated / "logs").iterdir()) == ["2026-11-24_daily.csv"]


def test_with_html_reports_the_run_imports_no_web_framework(config: Path) -> None:
    found = modules_after_report(config, ("luxlog.report_html", "starlette", "uvicorn", "httpx"))
    assert found == ["luxlog.report_html"]


def test_prune_expires_html_reports_like_the_csvs(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    cfg = load_config(write_config(retention_days=5), environ={})
    logs = isolated / "logs"
    logs.mkdir()
    for day in (dt.date(2026, 11, 1), dt.date(2026, 11, 20), dt.date(2026, 11, 24)):
        for suffix in ("csv", "html"):
            (logs / report_name("daily", day, suffix)).write_text("x")
    (logs / "notes.html").write_text("mine")
    (logs / ".2026-11-01_daily.html.tmp-999999").write_text("left by a kill")
    os.utime(logs / ".2026-11-01_daily.html.tmp-999999", (0, 0))
    result = prune_csv(cfg, NOW.timestamp(), newest=None)
    assert sorted(p.name for p in logs.iterdir()) == [
        "2026-11-20_daily.csv", "2026-11-20_daily.html",
        "2026-11-24_daily.csv", "2026-11-24_daily.html", "notes.html",
    ]  # fmt: skip
    assert result.files == 3  # two reports and the stale temp file


def test_report_names_know_the_html_twin() -> None:
    assert report_name("weekly", DAY, "html") == "2026-11-25_weekly.html"
    assert parse_report_name("2026-11-25_weekly.html") == ("weekly", DAY)
    assert parse_report_name("2026-11-25_weekly.htm") is None
    assert TEMP_NAME.fullmatch(".2026-11-25_daily.html.tmp-42")
    with pytest.raises(ValueError, match="suffix"):
        report_name("daily", DAY, "pdf")


def test_html_reports_reads_true_and_false_words(write_config: Callable[..., Path]) -> None:
    path = write_config()
    assert load_config(path, environ={}).html_reports is False
    assert load_config(path, environ={"LUXLOG_HTML_REPORTS": "yes"}).html_reports is True
    assert load_config(path, environ={"LUXLOG_HTML_REPORTS": "0"}).html_reports is False
    with pytest.raises(ConfigError, match="html_reports: 'maybe' is not true or false"):
        load_config(path, environ={"LUXLOG_HTML_REPORTS": "maybe"})


def test_a_missing_asset_is_one_line_naming_the_fix() -> None:
    with pytest.raises(ReportError, match=r"nope\.js is missing .*make vendor"):
        report_html.asset("nope.js")
    report_html.check_assets()  # the built package has every file


def test_inlined_text_cannot_close_its_element_and_json_cannot_either() -> None:
    with pytest.raises(ReportError, match="</script>"):
        report_html._inline("var a = '</SCRIPT>';", "script")
    text = report_html._json({"header": "</script><b>&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"header": "</script><b>&"}


def test_the_figures_table_escapes_and_says_when_no_day_is_summarised() -> None:
    assert "No day" in report_html.figures_table([])
