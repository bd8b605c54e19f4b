"""One ``luxlog push``: schema, then every pending sample in batches, then the daily figures.

Exactly once, whatever happens: each batch is one central transaction keyed by ``(site,
time)`` (``send``), and its local marks are written only after that commit (``store.pushed``).
A kill, a dropped connection or a server restart between the two costs a re-send that the
server skips. Any central error ends the run with one ``PushError`` line (exit 1); what was
committed stays committed and marked, and the next run carries on from there.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from luxlog import signals
from luxlog.config import Config
from luxlog.errors import PushError
from luxlog.push import schema, send
from luxlog.push.connect import connect, cut, driver, mapped
from luxlog.push.identity import password, require_url, site_of, target_of
from luxlog.push.source import batches
from luxlog.store import Store, pushed

log = logging.getLogger("luxlog.push")


@dataclass(frozen=True)
class PushResult:
    site: str
    server: str  # the URL, password masked
    samples: int  # sent in this run
    inserted: int  # new centrally
    duplicates: int  # sent again, already held by the server (skipped)
    batches: int
    days: int  # daily rows upserted
    high_water: int | None  # the newest slot pushed in this run (epoch s)
    waiting: int  # in the poll journal / buffer: pushed after the next flush
    migrated: int  # central schema migrations applied by this run
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Progress:
    samples: int = 0
    inserted: int = 0
    batches: int = 0
    first: int | None = None
    last: int | None = None


def push(cfg: Config, *, init_timescale: bool = False) -> PushResult:
    started = time.monotonic()
    url = require_url(cfg)
    from luxlog.masking import mask_url, secrets_of

    shown, site, target, secret = mask_url(url), site_of(cfg), target_of(cfg), password(cfg)
    hidden = secrets_of(url, secret)  # never in a message, whatever the driver echoes
    driver()  # the missing extra is the first thing said
    conn = connect(url, shown, secret, hidden)
    with signals.DeferredStop(lambda: cut(conn)) as stop:
        try:
            migrated, progress, days, waiting = _work(
                conn, cfg, (site, target, shown), hidden, stop.check, init_timescale
            )
        except PushError:
            stop.check()  # the driver's error was the cut of a stop: the stop wins
            raise
        finally:
            conn.close()
        stop.check()
    return PushResult(
        site=site,
        server=shown,
        samples=progress.samples,
        inserted=progress.inserted,
        duplicates=progress.samples - progress.inserted,
        batches=progress.batches,
        days=days,
        high_water=progress.last,
        waiting=waiting,
        migrated=migrated,
        seconds=round(time.monotonic() - started, 3),
    )


def _work(
    conn: Any,
    cfg: Config,
    names: tuple[str, str, str],
    hidden: tuple[str, ...],
    check: Callable[[], None],
    init_timescale: bool,
) -> tuple[int, _Progress, int, int]:
    """Migrate, send the samples and the days' figures; (migrated, progress, days, waiting).
    ``check`` raises ``Interrupted`` once a stop arrived (between batches)."""
    site, target, shown = names
    with mapped(shown, hidden):
        migrated = schema.migrate(conn, shown)
        if init_timescale:
            schema.init_timescale(conn, shown)
        schema.sync_sensors(conn)
        send.prepare(conn)
    progress, days, waiting = _Progress(), 0, 0
    if cfg.cache_path.exists():
        with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
            _send_samples(conn, store, cfg, (site, target, shown), hidden, progress, check)
            days = _send_days(conn, store, cfg, site, shown, hidden, progress)
            waiting = store.counts().buffered
            with store.transaction() as local:
                pushed.record_run(local, target, time.time())
    else:
        log.warning("no database at %s yet: nothing to push (has 'luxlog poll' run?)",
                    cfg.cache_path)  # fmt: skip
    if not progress.samples:
        with mapped(shown, hidden):
            send.touch_site(conn, site)
    return migrated, progress, days, waiting


def _send_samples(
    conn: Any,
    store: Store,
    cfg: Config,
    names: tuple[str, str, str],
    hidden: tuple[str, ...],
    progress: _Progress,
    check: Callable[[], None],
) -> None:
    site, target, shown = names
    with store.transaction() as local:
        pushed.ensure(local)
    for batch in batches(store.conn, target, cfg.push_batch):
        with mapped(shown, hidden):
            inserted = send.send_batch(conn, site, batch.samples)
        # only now, after the central commit: a kill before this line re-sends the batch
        with store.transaction() as local:
            pushed.mark(local, target, batch.mark_rows())
        progress.samples += len(batch.samples)
        progress.inserted += inserted
        progress.batches += 1
        lo, hi = batch.samples[0].slot, batch.samples[-1].slot
        progress.first = lo if progress.first is None else min(progress.first, lo)
        progress.last = hi if progress.last is None else max(progress.last, hi)
        log.debug("batch %d: %d samples, %d new", progress.batches, len(batch.samples), inserted)
        check()  # a stop ends the run between batches (the one in hand is committed and marked)


def _send_days(
    conn: Any,
    store: Store,
    cfg: Config,
    site: str,
    shown: str,
    hidden: tuple[str, ...],
    progress: _Progress,
) -> int:
    """Upsert the figures of every closed local day the samples of this run touched (and the
    day before: a day's counters are read with hours of padding), and of every day after the
    newest one the server holds: a day pushed while open closes with the samples of a later
    run, which after a gap in polling (the pump off for days) start days after it. A day is
    closed once samples reach ``PAD_SEC`` past its end, as for the per-day table: its figures
    are then final unless older samples arrive (an import), which pushes them again. The open
    day is left out: its figures would be recomputed from all its samples on every push."""
    if progress.first is None or progress.last is None:
        return 0
    from luxlog.summary.day import PAD_SEC
    from luxlog.summary.periods import day_window

    tz = cfg.tz
    newest = store.newest_slot() or progress.last
    first = _date(progress.first, tz) - dt.timedelta(days=1)
    with mapped(shown, hidden):
        held = send.newest_day(conn, site)
    oldest = store.counts().first_slot or progress.first  # no day held yet: from the start
    after = held + dt.timedelta(days=1) if held else _date(oldest, tz) - dt.timedelta(days=1)
    first = min(first, after)
    last = _date(progress.last, tz)
    while last >= first and day_window(last, tz)[1] + PAD_SEC > newest + cfg.interval_sec:
        last -= dt.timedelta(days=1)
    if last < first:
        return 0
    periods = store.summary(first, last + dt.timedelta(days=1), by="day", timezone=cfg.zone_name)
    days = [(p.start[:10], p.to_json()) for p in periods if p.coverage_pct]
    with mapped(shown, hidden):
        send.send_days(conn, site, cfg.zone_name, days)
    return len(days)


def _date(slot: int, tz: dt.tzinfo) -> dt.date:
    return dt.datetime.fromtimestamp(slot, tz).date()
