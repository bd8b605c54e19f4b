"""Health checks for ``luxlog doctor``: each returns a ``Check``; nothing here prints.

Doctor is read-only toward everything. It never writes to the controller (the client has no
write), opens the database with ``readonly=True`` (``mode=ro``: it neither migrates nor
quarantines, even a corrupt file), and tests output directories with an anonymous temporary
file that disappears when closed, so it leaves nothing behind.

A check that raises becomes a ``FAIL`` line with the error, so one broken part (a corrupt
database, an unreadable directory) never hides the others. When the configuration itself is
invalid, only the ``config`` line is produced: every other check needs it.

The checks live one module per group (``configuration``, ``controller``, ``database``,
``filesystems``), with ``Check`` and ``Diagnosis`` in ``diagnosis``; ``run_checks`` here fixes
the order of the lines.

Thresholds, and why:

* last poll older than ``3 × interval_sec``: FAIL (one or two missed slots happen; three in a
  row mean polling has stopped); more than one interval in the future: FAIL naming this host's
  clock (a poll may finish while doctor runs, hence the slack);
* this host's clock behind the newest sample (by more than an interval), or more than
  ``CLOCK_AHEAD_MAX_SEC`` (a day) ahead of it: warn (``host clock``; report then holds back the
  windows after the data, and retention counts from the newest sample);
* controller clock drift above ``CLOCK_WARN_SEC`` (a minute): warn (FHEM calls ≤ 2 s normal;
  the CSV timestamps are this host's, so drift only matters for the controller's own logs);
* oldest unflushed sample older than ``BACKLOG_FAIL_SEC``: FAIL, above ``BACKLOG_WARN_SEC``:
  warn (flush runs every few minutes);
* a due report still missing ``REPORT_GRACE_SEC`` after its window closed: FAIL (``report``
  runs every 15 minutes, so a freshly closed window is not yet a problem);
* disk usage at or above ``disk_max_percent``: FAIL.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from luxlog.config import Config, load_config
from luxlog.disk import UsageFn, disk_usage
from luxlog.doctor.configuration import check_config, check_schedule
from luxlog.doctor.controller import check_controller
from luxlog.doctor.database import store_checks
from luxlog.doctor.diagnosis import FAIL, OK, WARN, Check, Diagnosis, _guard
from luxlog.doctor.filesystems import _output_checks, check_disk
from luxlog.errors import ConfigError
from luxlog.store import to_epoch

__all__ = [
    "FAIL",
    "OK",
    "WARN",
    "Check",
    "Diagnosis",
    "check_config",
    "check_schedule",
    "diagnose",
    "run_checks",
]


def run_checks(
    cfg: Config,
    now: float | dt.datetime | None = None,
    *,
    quick: bool = False,
    usage: UsageFn = disk_usage,
) -> Diagnosis:
    """Every check for a loaded config; ``quick`` skips the controller and integrity check."""
    t = time.time() if now is None else to_epoch(now, "now")
    checks = [check_config(cfg)]
    if not quick:
        checks += _guard("controller", lambda: check_controller(cfg))
    checks.append(check_schedule(cfg))
    checks += store_checks(cfg, t, quick)
    checks += _guard("disk", lambda: check_disk(cfg, usage))
    for path in cfg.output_dirs:
        checks += _guard(f"output {path}", functools.partial(_output_checks, path))
    return Diagnosis(checks)


def diagnose(
    config: Path | None = None,
    now: float | dt.datetime | None = None,
    *,
    quick: bool = False,
    usage: UsageFn = disk_usage,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Diagnosis:
    """Load the configuration and run every check; an invalid config is the one FAIL line."""
    try:
        cfg = load_config(config, overrides, environ)
    except ConfigError as exc:
        return Diagnosis([Check("config", FAIL, str(exc))])
    return run_checks(cfg, now, quick=quick, usage=usage)
