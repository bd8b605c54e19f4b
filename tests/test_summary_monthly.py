"""``YYYY-MM_monthly-summary.csv`` written by scheduled report runs, in the CSV dialect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.store import Store
from luxlog.summary.periods import day_window
from support.clock import clock_at
from support.insight import HEATING, Script, store_samples

TZ = ZoneInfo("Europe/Berlin")
H = 3600
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def test_a_report_run_writes_the_month_so_far_in_the_dialect_and_expires_old_months(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    config = write_config(csv_dialect="excel-de")
    logs = isolated / "logs"
    logs.mkdir()
    (logs / "2026-08_monthly-summary.csv").write_text("old\r\n")  # ended before the cut-off
    (logs / "2026-10_monthly-summary.csv").write_text("kept\r\n")
    runs = [(day_window(d, TZ)[0] + 6 * H, day_window(d, TZ)[0] + 8 * H, HEATING) for d in (D1, D2)]
    lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D2, TZ)[1] + 8 * H
    (isolated / "data").mkdir()
    with Store(isolated / "data" / "luxlog.db", interval=10) as store:
        store_samples(store, Script(runs=runs).sample, lo, hi, 300)
    with clock_at(dt.datetime(2026, 11, 3, 8, tzinfo=TZ)):
        result = CliRunner().invoke(app, ["report", "--config", str(config)])
    assert result.exit_code == 0, result.output
    text = (logs / "2026-11_monthly-summary.csv").read_bytes().decode("utf-8-sig")
    header, day1, day2 = text.split("\r\n")[:3]
    assert header.split(";")[:5] == ["period", "start", "end", "coverage_pct", "heat_heating_kwh"]
    assert day1.split(";")[0] == "2026-11-01" and day2.split(";")[0] == "2026-11-02"
    assert day1.split(";")[3:5] == ["100,0", "12,0"]
    assert sorted(p.name for p in logs.glob("*monthly*")) == [
        "2026-10_monthly-summary.csv", "2026-11_monthly-summary.csv",
    ]  # fmt: skip
