"""``luxlog push`` against a real PostgreSQL: central == local, sample for sample, exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxlog import prune
from luxlog.cli import app
from luxlog.columns import select
from luxlog.config import load_config
from luxlog.export.values import value_of
from luxlog.store import Store
from support.central import central_samples, fetch, local_samples, scalar
from support.fill import fill, model_rows

BASE = 1_700_000_000 // 86400 * 86400  # a UTC midnight
SITE = "house-1"


@pytest.fixture
def push_config(write_config: Callable[..., Path], pg_url: str) -> Callable[..., Path]:
    def make(**values: object) -> Path:
        settings: dict[str, object] = {"interval_sec": 30, "site": SITE, "push_url": pg_url}
        settings.update(values)
        return write_config(**settings)

    return make


def push(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["push", *args])
    return result.exit_code, result.stdout, result.stderr


def test_push_sends_every_sample_lossless_then_nothing_again(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config(push_batch=100))
    fill(cfg, BASE, n=400, flush=True)
    code, out, err = push("--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["samples"] == result["inserted"] == 400 and result["batches"] == 4
    assert result["site"] == SITE and result["duplicates"] == 0 and result["migrated"] == 1
    assert result["high_water"] == BASE + 399 * 30
    assert central_samples(pg_url, SITE) == local_samples(cfg.cache_path)
    code, out, err = push("--json")
    again = json.loads(out)
    assert code == 0 and again["samples"] == 0 and again["batches"] == 0 and again["migrated"] == 0
    assert scalar(pg_url, "SELECT count(*) FROM samples") == 400


def test_push_sends_older_samples_imported_after_the_last_push(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config())
    fill(cfg, BASE + 7200, n=60, step=60, flush=True)  # every other slot of an hour
    assert push()[0] == 0
    # an import of older history: into chunks before the mark, and into the pushed chunk
    with Store(cfg.cache_path, interval=30) as store:
        store.add_rows(
            model_rows(BASE, n=240) + model_rows(BASE + 7230, n=60, step=60, interval=30)
        )
        store.flush()
    code, out, err = push("--json")
    assert code == 0, err
    result = json.loads(out)  # the grown chunk goes again whole: the server skips its 60
    assert (result["samples"], result["inserted"], result["duplicates"]) == (360, 300, 60)
    assert central_samples(pg_url, SITE) == local_samples(cfg.cache_path)


def test_push_leaves_unflushed_samples_for_the_next_run(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config())
    fill(cfg, BASE, n=60, flush=True)
    fill(cfg, BASE + 1800, n=10)  # still in the poll journal
    code, out, _ = push("--json")
    assert code == 0
    assert json.loads(out)["samples"] == 60 and json.loads(out)["waiting"] == 10
    with Store(cfg.cache_path, interval=30) as store:
        store.flush()
    out = push("--json")[1]
    assert json.loads(out)["samples"] == 10  # only the new ones of the grown chunk
    assert central_samples(pg_url, SITE) == local_samples(cfg.cache_path)


def test_readings_view_decodes_as_luxlog_does(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config())
    rows = fill(cfg, BASE, n=20, flush=True)
    assert push()[0] == 0
    import psycopg

    names = ["ID_WEB_Temperatur_TVL", "ID_WEB_Temperatur_TA", "ID_WEB_Freq_VD", "ID_WEB_WP_BZ_akt"]
    columns = {c.name: c for c in select(names).resolve(rows[0].calculations)}
    with psycopg.connect(pg_url) as conn:
        for name in names:
            got = conn.execute(
                "SELECT extract(epoch FROM time)::bigint, value FROM readings "
                "WHERE site = %s AND name = %s ORDER BY time",
                (SITE, name),
            ).fetchall()
            column = columns[name]
            expected = [
                (row.slot, value_of(column, row.calculations[column.index])) for row in rows
            ]
            if column.labels:  # the view carries the code; luxlog's label is for that code
                assert [column.labels.get(int(v), v) for _, v in got] == [v for _, v in expected]
            else:
                assert got == expected, name
        units = dict(conn.execute("SELECT name, unit FROM sensors").fetchall())
    assert units["ID_WEB_Temperatur_TVL"] == "°C"


def test_push_records_the_site_and_its_daily_figures(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config(timezone="UTC", interval_sec=600))
    fill(cfg, BASE, n=2 * 144 + 40, flush=True)  # two days closed (6 h of padding), one open
    assert push()[0] == 0
    (site,) = fetch(
        pg_url,
        "SELECT firmware, extract(epoch FROM first_seen), extract(epoch FROM last_seen), "
        "last_push IS NOT NULL FROM sites WHERE site = %s",
        SITE,
    )
    days = fetch(
        pg_url, "SELECT day::text, coverage_pct FROM daily WHERE site = %s ORDER BY day", SITE
    )
    assert site is not None
    firmware, first, last, pushed = site
    assert firmware.startswith("V3.78") and pushed
    assert (first, last) == (BASE, BASE + (2 * 144 + 39) * 600)
    assert [(d[0], d[1]) for d in days] == [("2023-11-14", 100.0), ("2023-11-15", 100.0)]


def test_a_day_pushed_open_gets_its_figures_after_a_gap_of_days(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    """Day 1 is pushed while open; polling then stops for two days. The next push's samples
    start on day 4, yet they close day 1 (and the hours of day 2): both get their figures."""
    cfg = load_config(push_config(timezone="UTC", interval_sec=600))
    fill(cfg, BASE, n=144 + 30, flush=True)  # day 1 and 5 h of day 2: day 1 still open
    assert push()[0] == 0
    assert scalar(pg_url, "SELECT count(*) FROM daily") == 0
    fill(cfg, BASE + 3 * 86400, n=50, flush=True)  # day 4, 8 h: days 1 and 2 closed
    assert push()[0] == 0
    days = fetch(pg_url, "SELECT day::text FROM daily WHERE site = %s ORDER BY day", SITE)
    assert [d[0] for d in days] == ["2023-11-14", "2023-11-15"]
    fill(cfg, BASE + 6 * 86400, n=50, flush=True)  # another gap: now after a day held
    assert push()[0] == 0
    days = fetch(pg_url, "SELECT day::text FROM daily WHERE site = %s ORDER BY day", SITE)
    assert [d[0] for d in days] == ["2023-11-14", "2023-11-15", "2023-11-17"]


def test_prune_keeps_unpushed_samples_while_push_url_is_set(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config(interval_sec=600, db_retention_days=1))
    fill(cfg, BASE, n=3 * 144, flush=True)  # three days: two of them past retention
    result = CliRunner().invoke(app, ["prune", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"]["samples"] == 0
    assert "not yet pushed to postgresql://postgres@127.0.0.1:" in result.stderr
    assert push()[0] == 0
    result = CliRunner().invoke(app, ["prune", "--json"])
    assert json.loads(result.stdout)["database"]["samples"] > 100
    # a chunk cut in the middle loses its mark: its rest is sent again, the server skips it
    with Store(cfg.cache_path, interval=600) as store:
        store.prune(BASE + 2 * 86400 + 1800)
    code, out, _ = push("--json")
    again = json.loads(out)
    assert code == 0 and again["inserted"] == 0 and again["samples"] == again["duplicates"] == 3
    assert push("--json")[1].count('"samples": 0') == 1


def test_prune_keeps_samples_an_import_files_after_its_guard_was_read(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    """prune reads the unpushed guard, then deletes in a transaction of its own; an import of
    older samples in between must not be deleted unpushed: the delete looks again."""
    cfg = load_config(push_config(interval_sec=600, db_retention_days=1))
    fill(cfg, BASE + 2 * 86400, n=144, flush=True)
    assert push()[0] == 0
    with Store(cfg.cache_path, interval=600) as store:
        cutoff = prune.unpushed_guard(cfg, store, BASE + 2 * 86400)  # all pushed: unchanged
        assert cutoff == BASE + 2 * 86400
        store.add_rows(model_rows(BASE, n=144, step=600))  # the import, in between
        store.flush()
        result = store.prune(cutoff, prune.push_target(cfg))
        assert result.samples == 0 and len(store.slots(0, cutoff)) == 144
    assert push()[0] == 0
    assert central_samples(pg_url, SITE) == local_samples(cfg.cache_path)


def test_doctor_names_the_site_and_the_push_backlog(
    push_config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(push_config(interval_sec=600))
    fill(cfg, BASE, n=30, flush=True)

    def lines() -> dict[str, tuple[str, str]]:
        result = CliRunner().invoke(app, ["doctor", "--quick", "--json"])
        return {c["name"]: (c["status"], c["detail"]) for c in json.loads(result.stdout)["checks"]}

    before = lines()
    assert f"site {SITE}," in before["config"][1]
    status, detail = before["push"]
    assert status == "FAIL" and detail.startswith(f"site {SITE}, never pushed: 30 cached samples")
    assert push()[0] == 0
    status, detail = lines()["push"]
    assert status == "ok" and "last push 20" in detail and "every cached sample is in" in detail
