"""Checks of the loaded configuration: ``config`` and ``schedule``."""

from __future__ import annotations

from luxlog.columns import select
from luxlog.config import Config
from luxlog.doctor.diagnosis import FAIL, OK, WARN, Check
from luxlog.errors import ConfigError


def check_config(cfg: Config) -> Check:
    try:
        # load_config checks only the glob syntax (the poll path has no decoder); the names
        # are resolved as report resolves them, so doctor fails before report would.
        select(cfg.columns)
    except ConfigError as exc:
        return Check("config", FAIL, str(exc))
    sources = ", ".join(cfg.sources) if cfg.sources else "defaults only (no file, no LUXLOG_*)"
    where = f"{cfg.host}:{cfg.port}" if cfg.host else f"no host, port {cfg.port}"
    from luxlog.push.identity import site_of  # several heat pumps: say which one this is

    detail = (
        f"valid ({sources}); site {site_of(cfg)}, {where}, every {cfg.interval_sec} s, "
        f"timezone {cfg.zone_name}"
    )
    if not cfg.timezone and cfg.zone_name in ("UTC", "Etc/UTC"):
        # Containers run in UTC: without LUXLOG_TIMEZONE, 07:00 and the CSV times are UTC.
        return Check(
            "config",
            WARN,
            detail + " (the system's; set timezone / LUXLOG_TIMEZONE for local report windows)",
        )
    return Check("config", OK, detail)


# The cron wrapper of `poll --once` (crontab, README): `timeout -s TERM -k 2 <interval - 3>`,
# so the job, SIGKILL included, ends 1 s before the next tick (supercronic skips a tick while a
# job runs). The poll's own deadline must fire well before that SIGTERM, or a dead controller
# ends every poll as "interrupted" instead of with its real error: it needs the process
# start-up (before the deadline clock starts) and the failure's record, 1 s on a small board.
WRAPPER_BELOW_INTERVAL_SEC = 3
WRAPPER_HEADROOM_SEC = 1.0


def check_schedule(cfg: Config) -> Check:
    """Warn when the interval leaves the poll deadline too close to the cron wrapper's bound.

    Doctor cannot read the crontab in use; it checks the documented rule for this interval.
    """
    bound = cfg.interval_sec - WRAPPER_BELOW_INTERVAL_SEC
    deadline = cfg.poll_deadline
    wrapper = f"timeout -s TERM -k 2 {bound} (interval - {WRAPPER_BELOW_INTERVAL_SEC} s)"
    if bound - deadline < WRAPPER_HEADROOM_SEC:
        return Check(
            "schedule",
            WARN,
            f"interval_sec {cfg.interval_sec}: the poll deadline ({deadline:g} s) is less than "
            f"{WRAPPER_HEADROOM_SEC:g} s below the cron wrapper's bound, {wrapper}: a "
            "controller that does not answer ends the poll by SIGTERM (recorded as "
            "interrupted) instead of its own deadline; use interval_sec >= 20",
        )
    return Check(
        "schedule",
        OK,
        f"poll deadline {deadline:g} s, {bound - deadline:g} s below the cron wrapper for "
        f"every {cfg.interval_sec} s: {wrapper}",
    )
