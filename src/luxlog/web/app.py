"""The Starlette application of ``luxlog serve``: routes, static pages, error answers.

``create_app`` builds it for one configuration. Pages are the static HTML files in the
package's ``static/`` directory (the front-end fetches its data from ``/api/``); ``/static/``
serves files under that directory only (Starlette's ``StaticFiles`` refuses any path that
leaves it). ``security.Guard`` wraps everything: methods, token, headers, last-resort errors.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from luxlog.config import Config
from luxlog.web import STATIC_DIR
from luxlog.web.api import Api
from luxlog.web.security import Guard, is_api

PAGES = {"/": "now.html", "/day": "day.html", "/summary": "summary.html",
         "/health": "health.html", "/login": "login.html"}  # fmt: skip


def _page(static_dir: Path, name: str) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        path = static_dir / name
        if not path.is_file():
            return PlainTextResponse(f"page {name} is not built into this install", 404)
        return FileResponse(path, media_type="text/html; charset=utf-8")

    return page


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if is_api(request.url.path):
        return JSONResponse({"error": f"no such API path: {request.url.path}"}, status)
    return PlainTextResponse("Not Found", status)


def create_app(
    config: Config,
    *,
    token: str | None = None,
    no_auth: bool = False,
    static_dir: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The app for ``config``. The token is ``token``, else ``config.serve_token``; none at
    all (or ``no_auth``) lets every request in (the command allows that on loopback only).
    ``clock``: "now" for the defaults (today), ages and the checks (tests pass a fixed one)."""
    static = STATIC_DIR if static_dir is None else static_dir
    api = Api(config, clock)
    routes: list[BaseRoute] = [
        Route(path, _page(static, name), methods=["GET"]) for path, name in PAGES.items()
    ]
    routes += [
        Route("/api/now", api.now, methods=["GET"]),
        Route("/api/series", api.series, methods=["GET"]),
        Route("/api/series.csv", api.series_csv, methods=["GET"]),
        Route("/api/summary", api.summary, methods=["GET"]),
        Route("/api/summary.csv", api.summary_csv, methods=["GET"]),
        Route("/api/health", api.health, methods=["GET"]),
    ]
    if static.is_dir():
        routes.append(Mount("/static", app=StaticFiles(directory=static), name="static"))
    secret = None if no_auth else (token or config.serve_token)
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=secret, any_host=no_auth)],
        exception_handlers={404: not_found},
    )
