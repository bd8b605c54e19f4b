"""``luxlog serve``'s app through Starlette's TestClient: every endpoint, bad inputs, security.

The database is real, filled from the simulator's model (``support.fill``) or with named values
through ``Store.add`` where a test needs exact values (a spike, mode changes).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from luxlog.config import Config
from luxlog.show import as_dict, stored
from luxlog.store import Store
from luxlog.summary import summarize
from luxlog.summary.render import to_csv
from support.fill import fill

with warnings.catch_warnings():  # Starlette >= 1.1 prefers httpx2 for its TestClient
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

    from luxlog.web.app import create_app
    from luxlog.web.security import CSP, Guard

DAY = 1_795_993_200  # 2026-11-30 00:00 Europe/Berlin (23:00 UTC the day before)
TOKEN = "s3cret-token-0123456789"
LOCAL = "http://127.0.0.1"  # the Host a loopback server without a token answers
CHART = ["ID_WEB_Temperatur_TVL", "ID_WEB_Temperatur_TRL", "ID_WEB_Sollwert_TRL_HZ",
         "ID_WEB_Temperatur_TA", "ID_WEB_Temperatur_TBW", "ID_WEB_Einst_BWS_akt"]  # fmt: skip


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return Config(cache_path=str(tmp_path / "data" / "luxlog.db"), timezone="Europe/Berlin")


Client = Callable[..., TestClient]


@pytest.fixture
def client(cfg: Config, tmp_path: Path) -> Client:
    """A TestClient over ``cfg`` with a tiny static dir and the clock at ``now``."""
    static = tmp_path / "static"
    static.mkdir(exist_ok=True)
    (static / "now.html").write_text("<h1>now</h1>")
    (static / "login.html").write_text("<h1>login</h1>")
    (static / "app.js").write_text("console.log(1)")
    (tmp_path / "config.py").write_text("SECRET = 1")  # beside static/: must never be served

    def make(now: float = DAY + 12 * 3600, config: Config | None = None, **kw: Any) -> TestClient:
        app = create_app(config or cfg, static_dir=static, clock=lambda: now, **kw)
        return TestClient(app, base_url=LOCAL, raise_server_exceptions=False)

    return make


def filled(cfg: Config, start: int = DAY, n: int = 240, **kw: Any) -> list[Any]:
    return fill(cfg, start, n=n, flush=True, **kw)


def add(cfg: Config, t: int, **values: float) -> None:
    with Store(cfg.cache_path) as store:
        store.add(t, values)


def flush(cfg: Config) -> None:
    with Store(cfg.cache_path) as store:
        store.flush()


# ------------------------------------------------------------------ /api/now


def test_now_is_the_newest_sample_as_show_stored_decodes_it(cfg: Config, client: Client) -> None:
    rows = filled(cfg, n=20)
    newest = rows[-1].slot
    doc = client(now=newest + 12.5).get("/api/now").json()
    shown = as_dict(stored(cfg))
    assert doc["epoch"] == newest == shown["epoch"] and doc["time"] == shown["time"]
    assert doc["age_s"] == 12.5 and doc["firmware"] == "V3.78"
    assert doc["site"] == "local-luxlog"  # as luxlog push names it: <host>-<database stem>
    named = client(now=newest + 12.5, config=cfg.replace(site="house-7")).get("/api/now").json()
    assert named["site"] == "house-7"
    assert {v["name"]: v["value"] for v in doc["values"]} == shown["values"]
    assert {v["name"]: v["header"] for v in doc["values"]} == shown["headers"]
    units = {v["name"]: v["unit"] for v in doc["values"]}
    assert units["ID_WEB_Temperatur_TVL"] == "°C" and units["ID_WEB_WP_BZ_akt"] is None
    assert doc["mode"] == shown["values"]["ID_WEB_WP_BZ_akt"]
    assert doc["compressor"] is (shown["values"]["ID_WEB_VD1out"] == 1)
    names = [c["name"] for c in doc["checks"]]
    assert names[:2] == ["database", "wal"] and "last poll" in names
    assert {c["status"] for c in doc["checks"]} <= {"ok", "warn", "fail"}
    assert all(set(e) == {"time", "code", "text"} for e in doc["errors"])
    times = [e["time"] for e in doc["errors"]]
    assert times == sorted(times, reverse=True) and len(times) == 5  # the simulator's ring
    assert {"code": 721, "text": "low-pressure switch-off"}.items() <= doc["errors"][0].items()


def test_now_without_a_database_answers_no_sample_and_the_failing_check(
    client: Client,
) -> None:
    r = client().get("/api/now")
    assert r.status_code == 200
    doc = r.json()
    assert doc["time"] is None and doc["values"] == [] and doc["errors"] == []
    assert doc["mode"] is None and doc["compressor"] is None and doc["age_s"] is None
    assert doc["checks"][0]["name"] == "database" and doc["checks"][0]["status"] == "fail"


def test_now_reads_polls_still_in_the_journal(cfg: Config, client: Client) -> None:
    filled(cfg, n=5)
    newest = fill(cfg, DAY + 5 * 30, n=3)[-1]  # journal only, not flushed
    assert client().get("/api/now").json()["epoch"] == newest.slot


def test_before_the_first_flush_the_journal_is_all_there_is(cfg: Config, client: Client) -> None:
    from luxlog.store import journal
    from support.fill import model_rows

    rows = model_rows(DAY, n=4)  # polls only, as the poll writes them: no database file yet
    cfg.cache_path.parent.mkdir(parents=True)
    records = [journal.sample_record(r, r.slot * 1000, 1, 300) for r in rows]
    journal.append_many(journal.journal_path(cfg.cache_path), records)
    c = client()
    assert c.get("/api/now").json()["epoch"] == rows[-1].slot
    doc = c.get("/api/series?names=ID_WEB_Temperatur_TA&points=2880").json()
    assert doc["t"] == [r.slot for r in rows]
    assert c.get("/api/health").json()["backlog"]["buffered"] == 4
    assert not cfg.cache_path.exists()


def test_a_state_the_sample_does_not_hold_is_null(cfg: Config, client: Client) -> None:
    add(cfg, DAY, ID_WEB_Temperatur_TVL=30.0)  # no mode, no compressor, no error ring
    doc = client().get("/api/now").json()
    assert doc["mode"] is None and doc["compressor"] is None and doc["errors"] == []
    assert doc["values"] == [
        {"name": "ID_WEB_Temperatur_TVL", "header": "Flow temperature TVL (°C)", "unit": "°C",
         "value": 30.0}
    ]  # fmt: skip


# ------------------------------------------------------------------ /api/series


def test_series_defaults_to_today_and_the_chart_set_with_the_stored_values(
    cfg: Config, client: Client
) -> None:
    rows = filled(cfg, n=120)
    c = client()
    default = c.get("/api/series").json()
    assert default["from"] == "2026-11-29T23:00:00Z" and default["to"] == "2026-11-30T23:00:00Z"
    assert default["timezone"] == "Europe/Berlin"  # the charts label their times in it
    assert default["names"] == CHART  # V3.78 sends no heat output / power input
    # a day holds 2,880 slots, more than the default 2,000 points: 60 s buckets
    assert default["downsampled"] is True and default["step_s"] == 60
    assert default["t"] == [r.slot for r in rows[::2]]
    doc = c.get("/api/series?points=2880").json()
    assert doc["downsampled"] is False and doc["step_s"] == 30 and "min" not in doc
    assert doc["t"] == [r.slot for r in rows]
    with Store(cfg.cache_path, readonly=True) as store:
        decoded = [v for _, v in store.query(DAY, DAY + 3600)]
    for name in CHART:
        assert doc["series"][name] == [d[name] for d in decoded]
    assert doc["units"]["ID_WEB_Temperatur_TA"] == "°C"
    assert doc["headers"]["ID_WEB_Temperatur_TVL"] == "Flow temperature TVL (°C)"


def test_series_names_heat_output_and_power_where_the_firmware_sends_them(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=10, profile="v3.92")
    doc = client().get("/api/series").json()
    assert doc["names"] == [*CHART, "Heat_Output", "AC_Power_Input"]
    assert doc["units"]["Heat_Output"] == "W" and doc["headers"]["AC_Power_Input"] == (
        "Electrical power input (W)"
    )
    assert all(isinstance(v, int | float) for v in doc["series"]["AC_Power_Input"])


def test_series_of_chosen_names_keeps_a_name_without_values_as_nulls(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=4)
    q = "/api/series?names=ID_WEB_Temperatur_TA,Heat_Output&from=2026-11-30&points=2880"
    doc = client().get(q).json()
    assert doc["names"] == ["ID_WEB_Temperatur_TA", "Heat_Output"]
    assert doc["series"]["Heat_Output"] == [None] * 4


def test_a_gap_longer_than_two_intervals_is_a_null_row_at_its_midpoint(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=3)  # 00:00:00 … 00:01:00
    filled(cfg, DAY + 120, n=2)  # 00:02:00: one missing slot is no gap
    filled(cfg, DAY + 600, n=2)  # 00:10:00: a gap
    doc = client().get("/api/series?names=ID_WEB_Temperatur_TVL&points=2880").json()
    t, tvl = doc["t"], doc["series"]["ID_WEB_Temperatur_TVL"]
    assert t == [DAY, DAY + 30, DAY + 60, DAY + 120, DAY + 150, DAY + 375, DAY + 600, DAY + 630]
    assert [i for i, v in enumerate(tvl) if v is None] == [5]


def test_every_gap_of_a_sparse_series_is_its_own_null_row_in_every_column(
    cfg: Config, client: Client
) -> None:
    """Polls every 90 s on a 30 s grid: each step is a gap, and every column (values, min,
    max) gets its null at the same place (built in one pass, not one insert per gap)."""
    rows = fill(cfg, DAY, n=40, step=90, flush=True)
    q = "names=ID_WEB_Temperatur_TVL,ID_WEB_Temperatur_TA"
    doc = client().get(f"/api/series?{q}&points=2880").json()
    slots = [r.slot for r in rows]
    middles = [(a + b) // 2 for a, b in itertools.pairwise(slots)]
    assert doc["t"] == sorted(slots + middles)
    for values in doc["series"].values():
        assert [v is None for v in values] == [i % 2 == 1 for i in range(len(doc["t"]))]
    down = client().get(f"/api/series?{q}&points=1440").json()  # 60 s buckets: every 3rd empty
    assert down["downsampled"] and down["step_s"] == 60
    empty = [DAY + 120 + 180 * k for k in range(19)]  # 02:00, 05:00, … up to the last sample
    assert sorted(set(down["t"]) - set(empty)) == [DAY + 60 * (s // 60 - DAY // 60) for s in slots]
    for key in ("series", "min", "max"):
        for values in down[key].values():
            assert [t for t, v in zip(down["t"], values, strict=True) if v is None] == empty


def test_a_gap_across_midnight_is_a_gap_in_a_two_day_range(cfg: Config, client: Client) -> None:
    filled(cfg, DAY - 600, n=10)  # 23:50 … 23:54:30 on the 29th (local)
    filled(cfg, DAY + 600, n=10)  # from 00:10 on the 30th
    q = "from=2026-11-29&to=2026-11-30&names=ID_WEB_Temperatur_TA&points=5760"
    doc = client().get(f"/api/series?{q}")
    body = doc.json()
    nulls = [t for t, v in zip(body["t"], body["series"]["ID_WEB_Temperatur_TA"], strict=True)
             if v is None]  # fmt: skip
    assert nulls == [(DAY - 600 + 9 * 30 + DAY + 600) // 2]
    assert body["from"] == "2026-11-28T23:00:00Z" and body["to"] == "2026-11-30T23:00:00Z"


def test_down_sampling_keeps_a_spike_in_its_bucket_max(cfg: Config, client: Client) -> None:
    with Store(cfg.cache_path) as store:
        for i in range(400):
            spike = 300 <= i < 301
            store.add(DAY + 30 * i, {"ID_WEB_Temperatur_TVL": 80.0 if spike else 30.0 + i % 2})
        store.flush()
    doc = client().get("/api/series?names=ID_WEB_Temperatur_TVL&points=40").json()
    assert doc["downsampled"] is True
    width = doc["step_s"]
    assert width % 30 == 0 and 86400 / width <= 40 and len(doc["t"]) <= 40
    spike_bucket = doc["t"].index(DAY + (300 * 30 // width) * width)
    high, low = doc["max"]["ID_WEB_Temperatur_TVL"], doc["min"]["ID_WEB_Temperatur_TVL"]
    mean = doc["series"]["ID_WEB_Temperatur_TVL"]
    assert high[spike_bucket] == 80.0 and low[spike_bucket] == 30.0
    assert mean[spike_bucket] < 40 and max(h for i, h in enumerate(high) if i != spike_bucket) == 31
    assert doc["t"] == sorted(doc["t"]) and doc["t"][0] == DAY


def test_an_empty_bucket_between_full_ones_is_a_gap_when_down_sampled(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=600)  # 00:00 … 05:00
    filled(cfg, DAY + 8 * 3600, n=600)  # 08:00 … 13:00
    doc = client().get("/api/series?names=ID_WEB_Temperatur_TA&points=100").json()
    assert doc["downsampled"] and doc["step_s"] == 870  # 29 intervals: 86400 / 870 < 100
    values = doc["series"]["ID_WEB_Temperatur_TA"]
    gaps = [t for t, v in zip(doc["t"], values, strict=True) if v is None]
    assert len(gaps) == 1 and DAY + 5 * 3600 <= gaps[0] < DAY + 8 * 3600
    assert doc["min"]["ID_WEB_Temperatur_TA"][doc["t"].index(gaps[0])] is None


def test_bands_are_the_mode_runs_and_compressor_its_runs(cfg: Config, client: Client) -> None:
    modes = [0, 0, 4, 4, 1, 1, 5, 5, 3, 7]  # heating, defrost, hot water, idle, evu, cooling
    comp = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
    with Store(cfg.cache_path) as store:
        for i, (m, c) in enumerate(zip(modes, comp, strict=True)):
            store.add(DAY + 30 * i, {"ID_WEB_WP_BZ_akt": m, "ID_WEB_VD1out": c})
        store.add(DAY + 30 * 20, {"ID_WEB_WP_BZ_akt": 0, "ID_WEB_VD1out": 1})  # after a gap
    doc = client().get("/api/series").json()
    assert doc["bands"] == [
        {"kind": "heating", "from": DAY, "to": DAY + 60},
        {"kind": "defrost", "from": DAY + 60, "to": DAY + 120},
        {"kind": "hot_water", "from": DAY + 120, "to": DAY + 180},
        {"kind": "evu", "from": DAY + 240, "to": DAY + 270},
        {"kind": "cooling", "from": DAY + 270, "to": DAY + 300},  # ends an interval on: a gap
        {"kind": "heating", "from": DAY + 600, "to": DAY + 630},
    ]
    assert doc["compressor"] == [
        {"from": DAY, "to": DAY + 90},
        {"from": DAY + 120, "to": DAY + 180},
        {"from": DAY + 600, "to": DAY + 630},
    ]


def test_series_csv_has_a_column_per_name_and_empty_cells_for_nulls(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=2)
    filled(cfg, DAY + 300, n=1)
    r = client().get("/api/series.csv?names=ID_WEB_Temperatur_TA,Heat_Output&points=2880")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.split("\r\n")
    assert lines[0] == "time,epoch,ID_WEB_Temperatur_TA,Heat_Output"
    assert lines[1].startswith(f"2026-11-30T00:00:00+01:00,{DAY},") and lines[1].endswith(",")
    assert lines[3] == f"2026-11-30T00:02:45+01:00,{DAY + 165},,"  # the gap row
    assert len(lines) == 6 and lines[-1] == ""


def test_down_sampled_csv_adds_min_and_max_columns(cfg: Config, client: Client) -> None:
    filled(cfg, n=100)
    r = client().get("/api/series.csv?names=ID_WEB_Temperatur_TA&points=10")
    header = r.text.split("\r\n")[0]
    assert (
        header
        == "time,epoch,ID_WEB_Temperatur_TA,ID_WEB_Temperatur_TA_min,ID_WEB_Temperatur_TA_max"
    )


def test_series_without_a_database_is_503_with_one_line(client: Client) -> None:
    r = client().get("/api/series")
    assert r.status_code == 503
    assert r.json()["error"].startswith("no database at ") and "luxlog poll" in r.json()["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "from: '2026-13-01' is not a date"),
        ("from=yesterday", "from: 'yesterday' is not a date"),
        ("to=2026-11-31T25:00", "to: '2026-11-31T25:00' is not a date"),
        ("from=2026-12-02&to=2026-12-01", "from must be before to"),
        ("from=2026-11-30T10:00&to=2026-11-30T10:00", "from must be before to"),
        ("from=2020-01-01&to=2026-01-01", "the range is 2193 days; at most 400 at once"),
        ("from=1900-01-01", "from: 1900-01-01 is out of range"),
        ("names=ID_WEB_Temperatur_TVL,nope", "names: unknown sensor 'nope'"),
        ("names=ID_WEB_Firmware", "names: unknown sensor 'ID_WEB_Firmware'"),
        ("points=5", "points: '5' is not a whole number in 10..10000"),
        ("points=20000", "points: '20000' is not a whole number in 10..10000"),
        ("points=-1", "points: '-1' is not a whole number"),
        ("points=1e3", "points: '1e3' is not a whole number"),
        ("points=%C2%B2", "points: '²' is not a whole number"),  # a digit int() refuses
    ],
)
def test_bad_series_queries_are_400_with_one_line(
    cfg: Config, client: Client, query: str, message: str
) -> None:
    filled(cfg, n=2)
    for path in ("/api/series", "/api/series.csv"):
        r = client().get(f"{path}?{query}")
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error.startswith(message) and "\n" not in error


def test_too_many_names_are_refused(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    from luxlog.columns import known_names

    names = ",".join(list(known_names())[:33])
    r = client().get(f"/api/series?names={names}")
    assert r.status_code == 400 and r.json()["error"] == "names: 33 names; at most 32 at once"


def test_only_from_or_only_to_means_the_day_after_or_before(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    c = client()
    after = c.get("/api/series?from=2026-11-30T06:00").json()
    assert (after["from"], after["to"]) == ("2026-11-30T05:00:00Z", "2026-12-01T05:00:00Z")
    before = c.get("/api/series?to=2026-11-30").json()
    assert (before["from"], before["to"]) == ("2026-11-29T23:00:00Z", "2026-11-30T23:00:00Z")


# ------------------------------------------------------------------ /api/summary


def test_summary_is_luxlog_summary_json_and_csv(cfg: Config, client: Client) -> None:
    import datetime as dt

    filled(cfg, DAY + 6 * 3600, n=6 * 120)  # 06:00 … 12:00 local
    c = client(now=DAY + 3 * 86400)
    doc = c.get("/api/summary?by=day&from=2026-11-30&to=2026-11-30").json()
    with Store(cfg.cache_path, readonly=True) as store:
        first = dt.date(2026, 11, 30)
        periods = summarize(store, first, first, "day", cfg.tz)
    assert doc == {"by": "day", "periods": [json.loads(json.dumps(periods[0].to_json()))]}
    assert doc["periods"][0]["coverage_pct"] == 25.0
    csv = c.get("/api/summary.csv?by=day&from=2026-11-30&to=2026-11-30")
    assert csv.text == to_csv(periods) and csv.headers["content-type"].startswith("text/csv")


def test_summary_defaults_to_the_last_31_days_and_whole_periods(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=2)
    c = client()
    days = c.get("/api/summary").json()
    assert days["by"] == "day" and len(days["periods"]) == 31
    assert days["periods"][-1]["period"] == "2026-11-30"
    months = c.get("/api/summary?by=month").json()["periods"]
    assert [p["period"] for p in months][:2] == ["2025-11", "2025-12"] and len(months) == 13
    weeks = c.get("/api/summary?by=week&to=2026-11-30").json()["periods"]
    assert weeks[-1]["period"] == "2026-W49" and len(weeks) == 13


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("by=bogus", "by: 'bogus' is not one of day, week, month, year, season"),
        ("from=2026-11", "from: '2026-11' is not a date (YYYY-MM-DD)"),
        ("to=30.11.2026", "to: '30.11.2026' is not a date (YYYY-MM-DD)"),
        ("from=2026-12-01&to=2026-11-30", "from (2026-12-01) is after to (2026-11-30)"),
        ("from=2024-01-01&to=2026-01-01", "the range is 732 days; at most 400 by day"),
        ("by=month&from=2000-01-01&to=2026-01-01", "the range is 9498 days; at most 3660 by month"),
    ],
)
def test_bad_summary_queries_are_400(cfg: Config, client: Client, query: str, message: str) -> None:
    filled(cfg, n=2)
    for path in ("/api/summary", "/api/summary.csv"):
        r = client().get(f"{path}?{query}")
        assert r.status_code == 400 and r.json() == {"error": message}


# ------------------------------------------------------------------ /api/health


def test_health_counts_slots_failures_and_gaps_per_local_day(cfg: Config, client: Client) -> None:
    filled(cfg, DAY - 3600, n=120, attempt=(1, 0.4))  # the 29th from 23:00 local
    filled(cfg, DAY, n=40, attempt=(1, 0.4))  # 00:00 … 00:19:30 on the 30th
    filled(cfg, DAY + 1800, n=20, attempt=(1, 0.4))  # 00:30 … 00:39:30: a 10 min gap
    now = DAY + 3600
    with Store(cfg.cache_path) as store:
        store.record_failure(3, 1.5, "connect: refused", now=DAY + 1200)
        store.record_report("daily", "2026-11-29", ["/logs/2026-11-29_daily.csv"], 100, 120, "ab")
        store.record_report("weekly", "2026-11-23", [], 0, 20160, "")
    doc = client(now=now).get("/api/health?days=2").json()
    assert doc["days"] == [
        {"date": "2026-11-29", "expected": 120, "ok": 120, "failed": 0, "coverage_pct": 100.0,
         "longest_gap_min": 0.0},
        {"date": "2026-11-30", "expected": 120, "ok": 60, "failed": 1, "coverage_pct": 50.0,
         "longest_gap_min": 20.0},  # 00:40 until now (01:00); the other gap is 10 min
    ]  # fmt: skip
    assert doc["backlog"] == {"buffered": 0, "oldest": None, "age_s": None}
    assert doc["last_poll"]["time"] == "2026-11-29T23:39:30Z"
    assert doc["last_poll"]["last_error"] == "connect: refused"
    assert doc["last_poll"]["last_attempt_ok"] is True
    windows = {r["window"]: r["file"] for r in doc["reports"]}
    assert windows == {"daily 2026-11-29": "/logs/2026-11-29_daily.csv", "weekly 2026-11-23": None}
    disk = doc["disk"]
    assert disk["total_bytes"] >= disk["free_bytes"] > 0 and 0 <= disk["used_pct"] <= 100


def test_health_shows_the_backlog_of_unflushed_polls(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    fill(cfg, DAY + 60, n=3)  # journal
    doc = client(now=DAY + 300).get("/api/health").json()
    assert doc["backlog"] == {"buffered": 3, "oldest": "2026-11-29T23:01:00Z", "age_s": 240.0}
    assert len(doc["days"]) == 7 and doc["days"][0]["expected"] == 0
    assert doc["days"][0]["coverage_pct"] is None  # before the first sample


def test_health_without_a_database_and_bad_days(client: Client) -> None:
    c = client()
    doc = c.get("/api/health").json()
    assert doc["days"] == [] and doc["last_poll"]["time"] is None and doc["disk"]["path"]
    for bad in ("0", "91", "x", "%C2%B2"):
        r = c.get(f"/api/health?days={bad}")
        assert r.status_code == 400 and r.json()["error"].startswith("days: ")


# ------------------------------------------------------------------ pages, methods, headers


def test_pages_and_static_files_are_served_from_the_static_dir(client: Client) -> None:
    c = client()
    assert c.get("/").text == "<h1>now</h1>"
    assert c.get("/").headers["content-type"] == "text/html; charset=utf-8"
    assert c.get("/static/app.js").text == "console.log(1)"
    missing = c.get("/day")
    assert missing.status_code == 404 and "day.html" in missing.text
    head = c.head("/")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path",
    ["/static/../config.py", "/static/%2e%2e/config.py", "/static/..%2fconfig.py",
     "/static/%2e%2e%2fconfig.py", "/static//etc/passwd", "/static/../../etc/passwd"],
)  # fmt: skip
def test_no_path_leaves_the_static_dir(client: Client, path: str) -> None:
    r = client().get(path)
    assert r.status_code == 404 and "SECRET" not in r.text


def test_static_without_a_static_dir_is_404(cfg: Config, tmp_path: Path) -> None:
    app = create_app(cfg, static_dir=tmp_path / "nowhere")
    r = TestClient(app, base_url=LOCAL).get("/static/app.js")
    assert r.status_code == 404 and r.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/now", "/", "/static/app.js", "/no/such/path"])
def test_anything_but_get_and_head_is_405(client: Client, method: str, path: str) -> None:
    r = client(token=TOKEN).request(method, path)
    assert r.status_code == 405
    assert r.json() == {"error": f"method {method} not allowed: read-only"}
    assert r.headers["allow"] == "GET, HEAD" and r.headers["x-frame-options"] == "DENY"


def test_unknown_api_paths_are_json_404_and_other_paths_plain(client: Client) -> None:
    c = client()
    r = c.get("/api/nope")
    assert r.status_code == 404 and r.json() == {"error": "no such API path: /api/nope"}
    other = c.get("/nope")
    assert other.status_code == 404 and other.text == "Not Found"


def test_every_response_carries_the_security_headers(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    c = client()
    for path in ("/", "/static/app.js", "/api/now", "/api/series?from=x", "/api/nope", "/nope"):
        h = c.get(path).headers
        assert h["content-security-policy"] == CSP, path
        assert "'unsafe-inline'" not in CSP and "script-src 'self';" in CSP
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"
        assert (h.get("cache-control") == "no-store") is path.startswith("/api/")


# ------------------------------------------------------------------ token


def test_a_token_is_required_for_the_api_and_the_pages(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    c = client(token=TOKEN)
    r = c.get("/api/now")
    assert r.status_code == 401 and r.json()["error"].startswith("a token is required")
    assert r.headers["www-authenticate"] == "Bearer" and r.headers["cache-control"] == "no-store"
    page = c.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert page.headers["content-security-policy"] == CSP
    assert c.get("/login").text == "<h1>login</h1>"  # open: it asks for the token
    assert c.get("/static/app.js").status_code == 200  # open: holds no data


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 401),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Cookie": f"luxlog_token={TOKEN}"}, 200),
        ({"Cookie": f"theme=dark; luxlog_token={TOKEN}"}, 200),
        ({"Cookie": "luxlog_token=wrong-token-0123456789"}, 401),
        ({"Cookie": f"other={TOKEN}"}, 401),
        ({"Cookie": 'luxlog_token="unterminated'}, 401),
    ],
)
def test_the_token_is_taken_from_the_header_or_the_cookie(
    cfg: Config, client: Client, headers: dict[str, str], status: int
) -> None:
    filled(cfg, n=2)
    assert client(token=TOKEN).get("/api/now", headers=headers).status_code == status


def test_the_configured_token_applies_unless_no_auth(cfg: Config, client: Client) -> None:
    filled(cfg, n=2)
    with_token = cfg.replace(serve_token=TOKEN)
    assert client(config=with_token).get("/api/now").status_code == 401
    ok = client(config=with_token).get("/api/now", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert client(config=with_token, no_auth=True).get("/api/now").status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8080", 200),
        ("localhost:8080", 200),
        ("LOCALHOST", 200),
        ("[::1]:8080", 200),
        ("127.0.0.1.nip.io", 403),
        ("rebound.example:8080", 403),
        ("[::ffff:7f00:1]x", 403),
    ],
)
def test_without_a_token_only_loopback_host_names_are_answered(
    cfg: Config, client: Client, host: str, status: int
) -> None:
    """DNS rebinding: a page on another site whose name now points at 127.0.0.1 must not read
    the dashboard of a server without a token."""
    filled(cfg, n=2)
    r = client().get("/api/now", headers={"Host": host})
    assert r.status_code == status, host
    if status == 403:
        assert "set serve_token" in r.json()["error"] and r.headers["content-security-policy"]
        assert client().get("/", headers={"Host": host}).status_code == 403


def test_with_a_token_or_no_auth_any_host_name_is_answered(cfg: Config, client: Client) -> None:
    """http://raspberrypi.local:8080 works when a token is set (the token keeps others out)."""
    filled(cfg, n=2)
    pi = {"Host": "raspberrypi.local:8080"}
    assert client(token=TOKEN).get("/api/now", headers=pi).status_code == 401
    bearer = {**pi, "Authorization": f"Bearer {TOKEN}"}
    assert client(token=TOKEN).get("/api/now", headers=bearer).status_code == 200
    assert client(token=TOKEN).get("/login", headers=pi).status_code == 200
    assert client(no_auth=True).get("/api/now", headers=pi).status_code == 200


# ------------------------------------------------------------------ errors, read-only


def test_an_exception_in_a_handler_is_one_log_line_and_a_json_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    r = TestClient(Guard(broken), base_url=LOCAL, raise_server_exceptions=False).get("/api/x")
    assert r.status_code == 500 and r.json() == {"error": "internal error (see the log)"}
    assert r.headers["content-security-policy"] == CSP
    assert [rec.getMessage() for rec in caplog.records] == ["GET /api/x failed: RuntimeError: boom"]


def test_a_damaged_database_is_a_503_line(cfg: Config, client: Client) -> None:
    cfg.cache_path.parent.mkdir(parents=True)
    cfg.cache_path.write_bytes(b"this is not a database" * 100)
    r = client().get("/api/series")
    assert r.status_code == 503 and "\n" not in r.json()["error"]
    assert r.json()["error"].startswith(f"database {cfg.cache_path}") or "cannot open" in r.text


EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _state(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


def test_serving_never_writes_the_database_or_the_journal(cfg: Config, client: Client) -> None:
    filled(cfg, n=240, attempt=(1, 0.3))
    fill(cfg, DAY + 240 * 30, n=5)  # and some polls in the journal
    before = _state(cfg.cache_path.parent)
    c = client()
    paths = ["/api/now", "/api/series", "/api/series.csv", "/api/summary", "/api/summary.csv",
             "/api/health", "/api/series?points=10"]  # fmt: skip
    for path in paths:
        assert c.get(path).status_code == 200, path
    after = _state(cfg.cache_path.parent)
    # SQLite opens a WAL database read-only with its -shm index (and an empty -wal): no data
    assert after.pop("luxlog.db-wal", (EMPTY_SHA, 0))[0] == EMPTY_SHA
    after.pop("luxlog.db-shm", None)
    assert after == before and set(before) == {"luxlog.db", "luxlog.db.journal"}


def test_serving_never_checkpoints_a_writers_wal(cfg: Config, client: Client) -> None:
    """A poll holds the database open with frames in its -wal: the server reads them (the new
    sample is in the answer) and moves none of them into the database file."""
    filled(cfg, n=240)
    with Store(cfg.cache_path) as writer:  # as a running poll/flush: the -wal has frames
        writer.add(DAY + 240 * 30, {"ID_WEB_Temperatur_TVL": 41.5})
        writer.flush()
        files = [cfg.cache_path, cfg.cache_path.with_name("luxlog.db-wal")]
        before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        assert files[1].stat().st_size > 0
        doc = client().get("/api/series?names=ID_WEB_Temperatur_TVL&points=2880").json()
        assert doc["t"][-1] == DAY + 240 * 30 and doc["series"]["ID_WEB_Temperatur_TVL"][-1] == 41.5
        assert client().get("/api/summary").status_code == 200
        after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        assert after == before


# ------------------------------------------------------------------ the column reader


def test_iter_calculations_is_iter_rows_picked_through_cache_table_and_journal(
    cfg: Config,
) -> None:
    from luxlog.codec import pick_calculations
    from support.fill import model_rows

    indices = [10, 15, 80, 44, 268, 5000]  # 268: only v3.92 sends it; 5000: beyond every block
    old = model_rows(DAY, n=50)  # V3.78 …
    new = model_rows(DAY + 50 * 30, n=50, profile="v3.92")  # … then a firmware update mid-hour
    with Store(cfg.cache_path) as store:
        store.add_rows(old + new)
        store.flush()
        store.add_rows(model_rows(DAY + 100 * 30, n=10))  # the buffer table
        fill(store, DAY + 110 * 30, n=10)  # the journal
        fill(store, DAY + 40 * 30, n=1)  # a journal record of a slot the cache holds
        expected = [(s.slot, pick_calculations(s.calculations, indices))
                    for s in store.iter_rows(DAY + 30, DAY + 119 * 30)]  # fmt: skip
        got = list(store.iter_calculations(DAY + 30, DAY + 119 * 30, indices))
        assert list(store.iter_calculations(DAY + 60, DAY + 60, indices)) == []
    assert got == expected and len(got) == 118
    assert {v[4] for _, v in got[:49]} == {-(2**31)} and got[60][1][4] != -(2**31)
    assert {v[5] for _, v in got} == {-(2**31)}


def test_a_chunk_a_flush_rewrote_is_decoded_again_never_served_stale(
    cfg: Config, client: Client
) -> None:
    filled(cfg, n=10)  # 00:00 … 00:04:30, one chunk
    c = client()
    q = "/api/series?names=ID_WEB_Temperatur_TA&points=2880"
    assert len(c.get(q).json()["t"]) == 10
    filled(cfg, DAY + 600, n=10)  # the same hour: the flush rewrites that chunk
    assert len(c.get(q).json()["t"]) == 21  # and a gap row between


def test_the_decoded_chunks_kept_are_bounded_and_keyed_by_their_bytes(cfg: Config) -> None:
    from luxlog.store.cache import _Decoded

    rows = filled(cfg, n=3 * 120)  # three hours: three chunks
    kept = _Decoded(size=2)
    with Store(cfg.cache_path, readonly=True) as store:
        chunks = store.conn.execute("SELECT bucket, data FROM chunk ORDER BY bucket").fetchall()
    first = [kept.rows(b, blob, [15]) for b, blob in chunks]
    assert [r[0] for part in first for r in part] == [r.slot for r in rows]
    again = kept.rows(*chunks[2], [15])
    assert again is first[2]  # kept: the same list
    assert kept.rows(*chunks[0], [15]) is not first[0]  # evicted: decoded again, equal
    assert kept.rows(*chunks[0], [15]) == first[0] and len(kept._rows) == 2
    assert kept.rows(*chunks[0], [15, 10]) != first[0]  # other calculations, another entry
