"""The ``push`` line of ``doctor`` (only with ``push_url`` set): site, last push, backlog.

Read-only and offline: it reads the local push marks (``store.pushed``), never the central
server (``luxlog push`` says when that cannot be reached). The backlog is what ``prune`` keeps
back, so an old backlog is also a disk that fills up.
"""

from __future__ import annotations

from luxlog.config import Config
from luxlog.doctor.diagnosis import FAIL, OK, WARN, Check
from luxlog.push.identity import shown_url, site_of, target_of
from luxlog.store import Store, pushed
from luxlog.text import format_utc

PUSH_WARN_SEC = 3600  # push runs every 5 minutes: an hour behind means it is failing
PUSH_FAIL_SEC = 86_400  # a day: prune is holding samples back for it


def check_push(cfg: Config, store: Store, now: float) -> Check:
    site, server = site_of(cfg), shown_url(cfg)
    with store.db.reading():
        backlog = pushed.backlog(store.conn, target_of(cfg))
        last = pushed.last_run(store.conn, target_of(cfg))
    when = "never pushed" if last is None else f"last push {format_utc(last)}"
    if backlog.oldest is None:
        return Check("push", OK, f"site {site}, {when}: every cached sample is in {server}")
    age = now - backlog.oldest
    text = (
        f"site {site}, {when}: {backlog.samples} cached samples not yet in {server}, the oldest "
        f"from {format_utc(backlog.oldest)}"
    )
    if age > PUSH_FAIL_SEC:
        return Check("push", FAIL, f"{text}: is 'luxlog push' running? prune keeps them")
    if age > PUSH_WARN_SEC:
        return Check("push", WARN, f"{text}: is 'luxlog push' running?")
    return Check("push", OK, text)
