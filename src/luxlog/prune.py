"""Retention: delete report CSVs and cached samples past their age, and count what was freed.

Rules, each for a reason:

* **By the date in the file name, never by mtime.** Copying, restoring a backup or a NAS sync
  rewrites mtimes (1970, the future); the name is what the report was *about*. A file dated D
  is expired when D is before ``today - days`` with today taken in the configured time zone:
  with 30 days, on 2026-03-01 the file ``2026-01-30_daily.csv`` stays and ``2026-01-29`` goes.
* **Only luxlog's own names**, as ``report_files.parse_report_name`` reads them (the report
  owns its naming): ``notes.csv``, ``2026-01-01_daily.csv.bak`` or ``2026-1-1_daily.csv`` are
  never touched.
* **Regular files only; symlinks stay.** luxlog never creates a symlink (reports appear by
  rename), so a link named like a report was put there by someone: it is neither followed nor
  deleted, and its target is never touched. Directories named like reports are skipped too.
* **The newest report of each kind in each directory always survives**, whatever the clock
  says: a clock that jumps years ahead must not wipe the archive.
* **Stray temp files** the report writer left behind after a kill (``.<report name>.tmp-<pid>``,
  see ``report_files.temp_name``) are removed once older than ``TEMP_MAX_AGE_SEC`` by mtime
  (here mtime is right: it says whether a writer may still be busy with the file), so a
  running report is not disturbed.
* **Bytes freed are allocated bytes** (``st_blocks * 512`` of the deleted files), what ``df``
  will show coming back, not the apparent size.
* **Cached samples** older than ``db_retention_days`` go through ``Store.prune``, which never
  touches the buffer (unflushed samples). The cut-off is taken from the earlier of the clock and
  the newest cached sample, so here too a clock far ahead cannot empty the cache.
* **"Today" is never later than the data.** Report files, too, are judged against the earlier
  of the clock and the newest stored sample (cache or buffer; ``Store.newest_slot``): a clock three
  months ahead (NTP not yet synced after a power cut) cannot expire a single file. The price is
  harmless: while polling is stopped, files stay until samples arrive again.

``prune_csv`` is also run by ``report`` after writing; ``prune`` runs both parts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from luxlog.config import Config
from luxlog.errors import LuxlogError
from luxlog.report_files import TEMP_NAME, parse_report_name
from luxlog.store import PruneResult, Store, to_epoch
from luxlog.text import format_bytes, format_utc

log = logging.getLogger("luxlog.prune")

TEMP_MAX_AGE_SEC = 3600  # a report run is killed by `timeout` long before this

DAY_SEC = 86_400
# A clock more than this past the newest sample is not trusted to say a window has closed
# (report) and is reported by doctor: polling stopped that long, or the clock jumped ahead.
CLOCK_AHEAD_MAX_SEC = DAY_SEC


@dataclass
class DirPruneResult:
    """What prune did (or would do, on a dry run) in one output directory."""

    path: Path
    deleted: list[Path] = field(default_factory=list)  # expired report files
    temp_deleted: list[Path] = field(default_factory=list)  # stray temp files
    bytes_freed: int = 0
    kept: int = 0  # report files kept (in the window, or the newest of their kind)
    protected: list[Path] = field(default_factory=list)  # expired but newest of their kind
    missing: bool = False  # the directory does not exist (nothing to do)
    errors: list[str] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.deleted) + len(self.temp_deleted)


@dataclass
class CsvPruneResult:
    dirs: list[DirPruneResult]
    cutoff: dt.date  # report files dated before this are expired
    dry_run: bool = False

    @property
    def files(self) -> int:
        return sum(d.files for d in self.dirs)

    @property
    def bytes_freed(self) -> int:
        return sum(d.bytes_freed for d in self.dirs)

    @property
    def errors(self) -> list[str]:
        return [e for d in self.dirs for e in d.errors]


@dataclass
class PruneSummary:
    csv: CsvPruneResult
    db: PruneResult | None  # None: no database yet
    db_cutoff: float | None = None  # epoch: cached samples before this are deleted
    dry_run: bool = False


def _now_epoch(now: dt.datetime | float) -> float:
    return to_epoch(now, "now")


def read_newest_slot(cfg: Config) -> int | None:
    """``Store.newest_slot`` of the configured database, opened read-only; None when there is none
    yet or it cannot be read (then the clock alone decides, as before)."""
    if not cfg.cache_path.exists():
        return None
    try:
        with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True) as store:
            return store.newest_slot()
    except (LuxlogError, sqlite3.Error) as exc:
        log.debug("cannot read the newest sample of %s: %s", cfg.cache_path, exc)
        return None


def anchor(cfg: Config, now: float, newest: int | None) -> float:
    """ "Now" for retention: the earlier of the clock and the end of the newest sample's slot,
    so a clock far in the future cannot expire anything."""
    return now if newest is None else min(now, newest + cfg.interval_sec)


def csv_cutoff(
    cfg: Config, now: dt.datetime | float, days: int | None = None, newest: int | None = None
) -> dt.date:
    """Report files dated before this local date are expired (``newest``: the newest sample's
    slot, which caps "today" when the clock is ahead of the data)."""
    keep = cfg.retention_days if days is None else days
    if keep < 0:
        raise ValueError(f"days: {keep} is negative")
    today = dt.datetime.fromtimestamp(anchor(cfg, _now_epoch(now), newest), cfg.tz).date()
    return today - dt.timedelta(days=keep)


def _allocated(st: os.stat_result) -> int:
    return st.st_blocks * 512


def _prune_dir(path: Path, cutoff: dt.date, now: float, dry_run: bool, verb: str) -> DirPruneResult:
    result = DirPruneResult(path)
    reports: list[tuple[str, dt.date, Path, os.stat_result]] = []
    temps: list[tuple[Path, os.stat_result]] = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                # Regular files only, judged without following links: a symlink named like a
                # report is someone else's and its target may be outside the directory.
                if not entry.is_file(follow_symlinks=False):
                    continue
                parsed = parse_report_name(entry.name)
                if parsed is not None:
                    reports.append((*parsed, Path(entry.path), entry.stat(follow_symlinks=False)))
                elif TEMP_NAME.fullmatch(entry.name):
                    temps.append((Path(entry.path), entry.stat(follow_symlinks=False)))
    except FileNotFoundError:
        result.missing = True
        return result
    except NotADirectoryError:
        result.errors.append(
            f"{path}: output directory is not a directory (a file, or under one); move it away "
            "or fix output_dirs"
        )
        return result
    except OSError as exc:
        result.errors.append(f"{path}: cannot list ({exc.strerror or exc})")
        return result

    newest: dict[str, dt.date] = {}
    for kind, date, _, _ in reports:
        newest[kind] = max(date, newest.get(kind, date))

    doomed: list[tuple[Path, os.stat_result, list[Path]]] = []
    for kind, date, file, st in sorted(reports, key=lambda r: (r[1], r[0])):
        if date >= cutoff:
            result.kept += 1
        elif date == newest[kind]:
            result.kept += 1
            result.protected.append(file)
        else:
            doomed.append((file, st, result.deleted))
    for file, st in sorted(temps):
        if now - st.st_mtime > TEMP_MAX_AGE_SEC:
            doomed.append((file, st, result.temp_deleted))

    for file, st, bucket in doomed:
        if not dry_run:
            try:
                file.unlink()
            except FileNotFoundError:
                continue  # another prune (or report) got there first: nothing freed by us
            except OSError as exc:
                result.errors.append(f"{file}: cannot delete ({exc.strerror or exc})")
                continue
        bucket.append(file)
        result.bytes_freed += _allocated(st)
        log.debug("%s %s", verb, file)
    return result


def prune_csv(
    cfg: Config,
    now: dt.datetime | float,
    days: int | None = None,
    dry_run: bool = False,
    newest: int | Literal["read"] | None = "read",
) -> CsvPruneResult:
    """Delete expired report CSVs (and stale temp files) in every output directory.

    ``days`` overrides ``retention_days``; ``dry_run`` only lists what would go. Logs one line
    per directory. Problems in one directory (permissions) are collected in ``errors`` and the
    other directories are still pruned. ``newest`` is the newest sample's slot (by default read
    from the database): "today" is never later than it.
    """
    t = _now_epoch(now)
    if newest == "read":
        newest = read_newest_slot(cfg)
    cutoff = csv_cutoff(cfg, t, days, newest)
    if newest is not None and t > newest + cfg.interval_sec + CLOCK_AHEAD_MAX_SEC:
        log.info(
            "the clock (%s) is ahead of the newest sample (%s): retention counts from the "
            "newest sample",
            format_utc(t),
            format_utc(newest),
        )
    verb = "would delete" if dry_run else "deleted"
    results: list[DirPruneResult] = []
    seen: set[Path] = set()
    for path in cfg.output_dirs:
        key = Path(os.path.abspath(path))
        if key in seen:
            continue  # the same directory listed twice
        seen.add(key)
        r = _prune_dir(path, cutoff, t, dry_run, verb)
        results.append(r)
        if r.missing:
            log.info("%s: does not exist yet, nothing to prune", path)
            continue
        extra = f", {len(r.temp_deleted)} stale temp files" if r.temp_deleted else ""
        kept = f"{r.kept} kept"
        if r.protected:
            kept += f" ({len(r.protected)} past retention kept as the newest of their kind)"
        log.info(
            "%s: %s %d report files dated before %s%s, %s freed, %s",
            path,
            verb,
            len(r.deleted),
            cutoff.isoformat(),
            extra,
            format_bytes(r.bytes_freed),
            kept,
        )
        for error in r.errors:
            log.error("%s", error)
    return CsvPruneResult(results, cutoff, dry_run)


def db_cutoff(cfg: Config, now: float, newest_slot: int | None) -> float:
    """Epoch before which cached samples go: retention counted back from the earlier of the
    clock and the newest sample, so a clock far in the future cannot empty the cache."""
    return anchor(cfg, now, newest_slot) - cfg.db_retention_days * DAY_SEC


def unpushed_guard(cfg: Config, store: Store, cutoff: float) -> float:
    """With ``push_url`` set, the cut-off moved back to the oldest sample not yet pushed:
    prune never deletes what the central database does not have yet."""
    if not cfg.push_url:
        return cutoff
    from luxlog.push.identity import shown_url, target_of
    from luxlog.store import pushed

    with store.db.reading():
        first = pushed.first_unpushed(store.conn, target_of(cfg))
    if first is None or first >= cutoff:
        return cutoff
    log.warning(
        "%s: keeping the samples from %s on: not yet pushed to %s (has 'luxlog push' run?)",
        cfg.cache_path,
        format_utc(first),
        shown_url(cfg),
    )
    return float(first)


def push_target(cfg: Config) -> str | None:
    if not cfg.push_url:
        return None
    from luxlog.push.identity import target_of

    return target_of(cfg)


def prune_db(
    cfg: Config, now: dt.datetime | float, dry_run: bool = False
) -> tuple[PruneResult | None, float | None]:
    """Delete cached samples (and attempt records) past ``db_retention_days``.

    Returns (result, cut-off), or (None, None) when there is no database yet (prune never
    creates one). A dry run opens the database read-only and counts the cached slots before the
    cut-off (``bytes_freed`` is 0: it cannot be known without deleting).
    """
    t = _now_epoch(now)
    if not cfg.cache_path.exists():
        log.info("database %s does not exist yet, nothing to prune", cfg.cache_path)
        return None, None
    with Store(cfg.cache_path, interval=cfg.interval_sec, readonly=dry_run) as store:
        counts = store.counts()
        cutoff = unpushed_guard(cfg, store, db_cutoff(cfg, t, counts.last_cached_slot))
        if dry_run:
            # slots() merges cache and buffer; prune never touches the buffer, so when buffered
            # samples older than the cut-off exist (a flush backlog longer than the retention)
            # this count is an upper bound: say so rather than guess.
            result = PruneResult(len(store.slots(0, cutoff)), 0, 0)
            oldest = counts.oldest_buffered
            if oldest is not None and oldest < cutoff:
                log.warning(
                    "%s: unflushed samples older than the cut-off exist; they are kept, so "
                    "fewer than %d samples would go (flush them first)",
                    cfg.cache_path,
                    result.samples,
                )
        else:
            # the guard again inside the deleting transaction: an import may file older
            # samples between unpushed_guard's read and the delete
            result = store.prune(cutoff, push_target(cfg))
    log.info(
        "%s: %s %d cached samples before %s, %s freed",
        cfg.cache_path,
        "would delete" if dry_run else "deleted",
        result.samples,
        format_utc(cutoff),
        format_bytes(result.bytes_freed),
    )
    return result, cutoff


def prune(
    cfg: Config,
    now: dt.datetime | float,
    days: int | None = None,
    dry_run: bool = False,
) -> PruneSummary:
    """Both parts: report CSVs in every output directory, then the database cache."""
    csv = prune_csv(cfg, now, days=days, dry_run=dry_run)
    db, cutoff = prune_db(cfg, now, dry_run=dry_run)
    return PruneSummary(csv, db, cutoff, dry_run)
