"""Run the app under uvicorn: the bind rule, the listening socket, a clean stop.

The socket is bound here, before uvicorn starts, so ``--port 0`` has a real port to announce
and a refused bind or a taken port is one ``WebError`` line, not uvicorn's log and exit. uvicorn
handles SIGTERM/SIGINT itself (it stops accepting, finishes the requests in hand) and then
re-raises the signal, which ``luxlog.signals`` turns into exit 143/130 like every command.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from luxlog.config import Config
from luxlog.errors import WebError
from luxlog.web import EXTRA_HINT

log = logging.getLogger("luxlog.web")


def check_bind(host: str, token: str | None, no_auth: bool) -> None:
    """A non-loopback bind needs a token or an explicit ``--no-auth`` (see ``security``)."""
    from luxlog.web.security import bind_is_loopback

    if bind_is_loopback(host) or token or no_auth:
        if no_auth and not bind_is_loopback(host):
            log.warning(
                "serving %s without authentication (--no-auth): anyone who can reach it reads "
                "your heat pump's data",
                host,
            )
        return
    raise WebError(
        f"--host {host} is not a loopback address: set serve_token (LUXLOG_SERVE_TOKEN) so the "
        "dashboard asks for it, or pass --no-auth to serve it to anyone who can reach it"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: a free one); uvicorn accepts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # from here on connections queue: the announced URL answers
    except OSError as exc:
        sock.close()
        raise WebError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    cfg: Config,
    host: str,
    port: int,
    *,
    no_auth: bool = False,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve until SIGTERM/SIGINT (which end as ``Interrupted`` via ``luxlog.signals``)."""
    try:
        import uvicorn

        from luxlog.web.app import create_app
    except ImportError:
        raise WebError(EXTRA_HINT) from None
    check_bind(host, cfg.serve_token, no_auth)
    app = create_app(cfg, no_auth=no_auth)
    sock = bind(host, port)
    with sock:
        # log_config None: keep luxlog's one-line logging; uvicorn's own lines at warning only
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
            )
        )
        uv = logging.getLogger("uvicorn")
        uv.handlers, uv.propagate = logging.getLogger("luxlog").handlers, False
        on_ready(url_of(sock))
        server.run(sockets=[sock])
