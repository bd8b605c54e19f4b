"""The per-day table: kept up to date by flush, outliving pruned samples, rebuilt on demand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from luxlog.sample import Sample
from luxlog.store import Store
from luxlog.summary.periods import day_window
from support.insight import HEATING, Script, store_samples

TZ = ZoneInfo("Europe/Berlin")
D1, D2, D3 = dt.date(2026, 1, 15), dt.date(2026, 1, 16), dt.date(2026, 1, 17)
H = 3600


def days_stored(store: Store) -> list[str]:
    return [d for (d,) in store.conn.execute("SELECT day FROM daily ORDER BY day")]


def script() -> Script:
    runs = [(day_window(d, TZ)[0] + 6 * H, day_window(d, TZ)[0] + 8 * H, HEATING)
            for d in (D1, D2, D3)]  # fmt: skip
    return Script(runs=runs)


def test_store_summary_returns_typed_periods_for_local_days(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db", interval=300) as store:
        lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D2, TZ)[1] + 6 * H
        store_samples(store, script().sample, lo, hi, 300)
        (p,) = store.summary(D1, D2, timezone="Europe/Berlin")
        (week,) = store.summary(D1, D3, by="week", timezone="Europe/Berlin")
        aware = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
        assert store.summary(aware, aware, timezone="Europe/Berlin") == []
    assert (p.period, p.heat_heating_kwh, p.cop_heating) == ("2026-01-15", 12.0, 3.0)
    assert (week.period, week.days, week.heat_heating_kwh) == ("2026-W03", 2, 24.0)


def test_flush_stores_closed_days_for_the_zones_the_table_holds(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db", interval=300) as store:
        lo = day_window(D1, TZ)[0] - 6 * H
        store_samples(store, script().sample, lo, day_window(D1, TZ)[1] + 7 * H, 300)
        assert days_stored(store) == []  # no zone known yet: flush cannot know what a day is
        assert store.update_daily("Europe/Berlin") == 2  # the report run seeds the zone
        assert days_stored(store) == ["2026-01-14", "2026-01-15"]
        store_samples(
            store, script().sample, day_window(D1, TZ)[1] + 7 * H, day_window(D2, TZ)[1] + 7 * H, 60
        )  # fmt: skip  (flushes)
        assert days_stored(store) == ["2026-01-14", "2026-01-15", "2026-01-16"]


def test_a_day_outlives_its_pruned_samples_and_a_rebuild_keeps_it(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db", interval=300) as store:
        lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D3, TZ)[1] + 6 * H
        store_samples(store, script().sample, lo, hi, 300)
        before = store.summary(D1, D3, timezone="Europe/Berlin")
        store.prune(day_window(D3, TZ)[0])  # D1's and D2's samples go
        assert list(store.iter_rows(lo, day_window(D2, TZ)[1] - 6 * H)) == []
        assert store.summary(D1, D3, timezone="Europe/Berlin") == before
        from luxlog.summary import summarize

        rebuilt = summarize(store, D1, D2, "day", TZ, rebuild=True)
    assert [p.heat_heating_kwh for p in rebuilt] == [12.0, 12.0]


def test_samples_added_later_re_derive_a_stored_day(tmp_path: Path) -> None:
    s = script()
    lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D1, TZ)[1] + 6 * H
    with Store(tmp_path / "t.db", interval=300) as store:
        gap = (day_window(D1, TZ)[0] + 5 * H, day_window(D1, TZ)[0] + 9 * H)
        rows = [s.sample(t) for t in range(lo, hi, 300)]
        store_samples(store, [r for r in rows if not gap[0] <= r.slot < gap[1]])
        (p,) = store.summary(D1, D2, timezone="Europe/Berlin")
        assert p.coverage_pct == 83.33 and days_stored(store) == ["2026-01-15"]
        store_samples(store, [r for r in rows if gap[0] <= r.slot < gap[1]])  # an import
        (p,) = store.summary(D1, D2, timezone="Europe/Berlin")
    assert p.coverage_pct == 100.0 and p.heat_heating_kwh == 12.0


def test_a_decoder_fix_re_derives_the_past(tmp_path: Path) -> None:
    s = script()
    lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D1, TZ)[1] + 6 * H
    with Store(tmp_path / "t.db", interval=300) as store:
        store_samples(store, s.sample, lo, hi, 300)
        store.summary(D1, D2, timezone="Europe/Berlin")
        # a row written by an older computation (version 0) with a wrong figure
        store.conn.execute(
            "UPDATE daily SET version = 0, figures = replace(figures, '\"value\":12.0', "
            "'\"value\":99.0')"
        )
        (p,) = store.summary(D1, D2, timezone="Europe/Berlin")
    assert p.heat_heating_kwh == 12.0


def test_an_open_day_is_computed_but_not_stored(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db", interval=300) as store:
        lo = day_window(D1, TZ)[0] - 6 * H
        rows = [script().sample(t) for t in range(lo, day_window(D1, TZ)[1] + H, 300)]
        store.add_rows(rows)  # still in the buffer: the day's padded window is not flushed
        (p,) = store.summary(D1, D2, timezone="Europe/Berlin")
        assert p.heat_heating_kwh == 12.0 and days_stored(store) == []
        assert isinstance(rows[0], Sample)


def test_days_before_the_first_sample_read_no_samples_and_sum_the_same(tmp_path: Path) -> None:
    """A dashboard's five-year view mostly precedes the data: those days cost index look-ups,
    not a read of the samples (nor of the poll journal), and the figures do not change."""
    with Store(tmp_path / "t.db", interval=300) as store:
        lo, hi = day_window(D1, TZ)[0] - 6 * H, day_window(D2, TZ)[1] + 6 * H
        store_samples(store, script().sample, lo, hi, 300)
        early = dt.date(2025, 11, 1)
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        (empty,) = store.summary(early, dt.date(2025, 12, 1), by="month",
                                 timezone="Europe/Berlin")  # fmt: skip
        store.conn.set_trace_callback(None)
        reads = [s for s in statements if "data FROM chunk" in s or "data, base FROM" in s]
        assert reads == [] and empty.heat_heating_kwh is None and empty.coverage_pct == 0
        whole = store.summary(early, D2, by="month", timezone="Europe/Berlin")
        days = store.summary(early, D2, timezone="Europe/Berlin")
    assert [p.period for p in whole] == ["2025-11", "2025-12", "2026-01"]
    assert whole[-1].days == 15  # `to` is exclusive in Store.summary: D1 is the last day
    assert [(p.period, p.heat_heating_kwh) for p in days if p.heat_heating_kwh] == [
        ("2026-01-15", 12.0)
    ]
    assert len(days) == 76 and all(p.coverage_pct == 0 for p in days[:-2])
