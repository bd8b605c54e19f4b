"""``YYYY-MM-DD_<kind>.html``: a report window's charts and figures in one self-contained file.

With ``html_reports: true`` the report run writes this file beside each daily and weekly CSV
(same name, ``.html``; placed atomically in every output directory, recorded with the CSV in
the ledger, expired by ``prune`` like it). It opens from a NAS share or a mail attachment with
no server and no network: uPlot, the dashboard's ``charts.js`` and CSS, and the data (the
``/api/series`` object of the window from ``luxlog.web.series``, as JSON in a
``<script type="application/json">``) are all inlined, and a ``Content-Security-Policy`` meta
tag forbids every fetch, so a copy that someone edits cannot phone home either; it allows
scripts and styles by the SHA-256 of each inlined element only (no ``'unsafe-inline'``), so
markup smuggled into the file through the data could not run or style anything. The window's
figures (``Store.summary`` of the local days it ends on) are a plain HTML table, readable even
with scripts off.

Nothing of the web server is imported (``luxlog.web.series`` imports no web framework), and the
report run imports this module only when ``html_reports`` is on. The bytes depend only on the
data: a re-run for the same window writes the same file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from luxlog.config import Config
from luxlog.errors import ReportError
from luxlog.store import Store
from luxlog.summary.periods import Period
from luxlog.summary.render import cell  # ~estimated, partial*, n/a: as `luxlog summary`

# inlined in this order; vendor/ is built by `make vendor` (the Dockerfile's node stage)
SCRIPTS = ("vendor/uPlot.iife.min.js", "charts.js", "report.js")
STYLES = ("vendor/uPlot.min.css", "app.css")
# script-src/style-src: the hashes of exactly the inlined elements (no 'unsafe-inline')
CSP = (
    "default-src 'none'; script-src {scripts}; style-src {styles}; "
    "img-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)
# a day at 30 s (2,880 samples) is drawn whole, like the dashboard's day page; a week in buckets
POINTS = {True: 3000, False: 2000}
# (row header, Period field, decimals)
FIGURES: tuple[tuple[str, str, int], ...] = (
    ("coverage %", "coverage_pct", 1),
    ("heat kWh", "heat_total_kwh", 1),
    ("electricity kWh", "elec_total_kwh", 2),
    ("COP", "cop_total", 2),
    ("COP heating", "cop_heating", 2),
    ("COP hot water", "cop_dhw", 2),
    ("compressor starts", "compressor_starts", 0),
    ("compressor hours", "compressor_hours", 1),
    ("mean run min", "mean_run_min", 0),
    ("defrosts", "defrosts", 0),
    ("outdoor min °C", "outdoor_min_c", 1),
    ("outdoor mean °C", "outdoor_mean_c", 1),
    ("outdoor max °C", "outdoor_max_c", 1),
    ("longest gap min", "longest_gap_min", 0),
)


def asset(name: str) -> str:
    """The text of ``luxlog/web/static/<name>``; a ReportError naming the fix when missing."""
    try:
        return resources.files("luxlog").joinpath("web/static", name).read_text("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ReportError(
            f"html_reports: {name} is missing from the luxlog package (a source checkout builds "
            "it with `make vendor`); rebuild, or set html_reports: false"
        ) from None


def check_assets() -> None:
    """Fail before any file is written when the package lacks a file the report inlines."""
    for name in (*SCRIPTS, *STYLES):
        asset(name)


def _inline(text: str, tag: str) -> str:
    """``text`` inside ``<tag>``: HTML ends a raw-text element at the first ``</tag``."""
    if f"</{tag}" in text.lower():
        raise ReportError(f"html_reports: an inlined asset contains </{tag}> and cannot be inlined")
    return f"<{tag}>\n{text}\n</{tag}>"


def csp_hash(element: str) -> str:
    """The CSP source that allows exactly this inline element (``_inline``'s output)."""
    content = element[element.index(">") + 1 : element.rindex("</")]
    digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode()
    return f"'sha256-{digest}'"


def _assets(names: Sequence[str], tag: str) -> tuple[str, str]:
    """The inlined elements of ``names`` and their CSP sources."""
    elements = [_inline(asset(name), tag) for name in names]
    return "\n".join(elements), " ".join(csp_hash(e) for e in elements)


def _json(data: Any) -> str:
    """JSON safe inside ``<script>``: <, > and & escaped as \\u escapes (still the same JSON)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def figures_table(periods: Sequence[Period]) -> str:
    """One row per figure, one column per local day (escaped HTML)."""
    if not periods:
        return '<p class="muted">No day of this window is summarised yet.</p>'
    head = "".join(f'<th class="num">{html.escape(p.period)}</th>' for p in periods)
    rows = [f"<tr><th></th>{head}</tr>"]
    for label, key, decimals in FIGURES:
        cells = "".join(
            f'<td class="num">{html.escape(cell(p, key, decimals))}</td>' for p in periods
        )
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    return f'<table class="report-figures">{"".join(rows)}</table>'


def _local(epoch: int, cfg: Config) -> str:
    return dt.datetime.fromtimestamp(epoch, cfg.tz).isoformat(timespec="minutes")


def render(
    cfg: Config, store: Store, kind: str, date: dt.date, start: int, end: int, days: int
) -> bytes:
    """The whole file for the ``kind`` window ``[start, end)`` named after ``date``.

    ``days``: the local days before ``date`` whose figures the table shows (1 or 7).
    """
    from luxlog.web.series import series

    payload = series(store, cfg, start, end, points=POINTS[days == 1])
    periods = store.summary(date - dt.timedelta(days=days), date, "day", timezone=cfg.zone_name)
    title = f"luxlog {kind} report {date.isoformat()}"
    window = f"{_local(start, cfg)} – {_local(end, cfg)} ({cfg.zone_name})"
    styles, style_src = _assets(STYLES, "style")
    scripts, script_src = _assets(SCRIPTS, "script")
    csp = CSP.format(scripts=script_src, styles=style_src)
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
{styles}
</head>
<body data-page="report">
<header><span class="brand">luxlog</span>
<span>{html.escape(kind)} report {date.isoformat()}</span></header>
<main>
<h1>{html.escape(title)}</h1>
<p class="muted">Window {html.escape(window)}. Drag across a chart to zoom in, double-click to
zoom out. Shaded bands: operating mode; green strip: compressor running; gaps: missing polls.</p>
<h2>Figures</h2>
<div class="panel scroll">{figures_table(periods)}</div>
<h2>Charts</h2>
<div id="legend" class="legend"></div>
<div id="chart-temps" class="chart"></div>
<div id="chart-power" class="chart" hidden></div>
<script type="application/json" id="report-data">{_json(payload)}</script>
{scripts}
</main>
</body>
</html>
"""
    return page.encode("utf-8")
