"""The JSON and CSV endpoints of ``luxlog serve`` (``/api/…``), thin over the data functions.

Each request opens the database read-only in a worker thread (Starlette's threadpool: SQLite
blocks), asks ``now``/``series``/``health``/the summary for a plain object and closes it, so a
database replaced by a restore or created by the first flush is simply picked up. A bad
parameter is a ``QueryError`` (400), a database that cannot be read a ``StoreError`` (503);
both answer ``{"error": "<one line>"}``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from luxlog.config import Config
from luxlog.errors import LuxlogError, QueryError, StoreError
from luxlog.store import Store
from luxlog.store.journal import journal_path
from luxlog.web import health as health_data
from luxlog.web import now as now_data
from luxlog.web import series as series_data
from luxlog.web import summary as summary_data

T = TypeVar("T")
CHECKS_TTL_SEC = 20.0  # doctor's checks cost tens of ms; a page refreshing every few s reuses them


def open_store(cfg: Config) -> Store | None:
    """The database read-only, or None when no poll has run yet (no file, no journal)."""
    if not cfg.cache_path.exists() and not os.path.exists(journal_path(cfg.cache_path)):
        return None
    return Store(cfg.cache_path, interval=cfg.interval_sec, readonly=True, snapshot=True)


def _required(cfg: Config) -> Store:
    store = open_store(cfg)
    if store is None:
        raise StoreError(f"no database at {cfg.cache_path} yet: has 'luxlog poll' run?")
    return store


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def csv_response(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


class Api:
    """The endpoints, over one configuration; keeps doctor's checks for ``CHECKS_TTL_SEC``."""

    def __init__(self, cfg: Config, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self._checks: tuple[float, list[dict[str, str]]] | None = None
        self._lock = threading.Lock()

    async def _run(self, fn: Callable[[], T]) -> T | JSONResponse:
        try:
            return await run_in_threadpool(fn)
        except QueryError as exc:
            return error(400, str(exc))
        except LuxlogError as exc:
            return error(503, str(exc))

    def _checks_now(self, at: float) -> list[dict[str, str]]:
        with self._lock:
            if self._checks is None or not 0 <= at - self._checks[0] < CHECKS_TTL_SEC:
                self._checks = (at, now_data.checks(self.cfg, at))
            return self._checks[1]

    def _now(self) -> dict[str, Any]:
        at = self.clock()
        found = self._checks_now(at)
        store = open_store(self.cfg)
        if store is None:
            return now_data.now(None, self.cfg, at, found)
        with store:
            return now_data.now(store, self.cfg, at, found)

    async def now(self, request: Request) -> Response:
        result = await self._run(self._now)
        return result if isinstance(result, Response) else JSONResponse(result)

    def _series(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        tz = self.cfg.tz
        lo, hi = series_data.parse_range(
            q.get("from"), q.get("to"), tz, dt.datetime.fromtimestamp(self.clock(), tz)
        )
        names = series_data.parse_names(q.get("names"))
        points = series_data.parse_points(q.get("points"))
        with _required(self.cfg) as store:
            return series_data.series(store, self.cfg, lo, hi, names, points)

    async def series(self, request: Request) -> Response:
        result = await self._run(lambda: self._series(request))
        return result if isinstance(result, Response) else JSONResponse(result)

    async def series_csv(self, request: Request) -> Response:
        result = await self._run(lambda: self._series(request))
        if isinstance(result, Response):
            return result
        text = series_data.to_csv(result, self.cfg.tz)
        return csv_response(text, f"luxlog-series-{result['from'][:10]}.csv")

    def _summary(self, request: Request) -> summary_data.Summary:
        q = request.query_params
        today = dt.datetime.fromtimestamp(self.clock(), self.cfg.tz).date()
        query = summary_data.parse(q.get("by"), q.get("from"), q.get("to"), today)
        with _required(self.cfg) as store:
            return summary_data.summary(store, self.cfg, query)

    async def summary(self, request: Request) -> Response:
        result = await self._run(lambda: self._summary(request))
        return result if isinstance(result, Response) else JSONResponse(result.as_dict())

    async def summary_csv(self, request: Request) -> Response:
        result = await self._run(lambda: self._summary(request))
        if isinstance(result, Response):
            return result
        return csv_response(result.csv(), f"luxlog-summary-{result.by}.csv")

    def _health(self, request: Request) -> dict[str, Any]:
        days = health_data.parse_days(request.query_params.get("days"))
        store = open_store(self.cfg)
        if store is None:
            return health_data.health(None, self.cfg, days, self.clock())
        with store:
            return health_data.health(store, self.cfg, days, self.clock())

    async def health(self, request: Request) -> Response:
        result = await self._run(lambda: self._health(request))
        return result if isinstance(result, Response) else JSONResponse(result)
