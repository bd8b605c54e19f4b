"""What lets a request in and what every response carries (``luxlog serve``).

* **Bind**: loopback by default; any other address needs a token or an explicit ``--no-auth``
  (``bind_is_loopback`` decides, without a DNS lookup: a name other than ``localhost`` counts
  as not loopback).
* **Methods**: GET and HEAD only; anything else is 405, also on paths that do not exist, so
  nothing can probe for a writable route.
* **Token** (when set): ``Authorization: Bearer <token>`` or the cookie ``luxlog_token`` (the
  login page's script sets it), compared in constant time. The login page and ``/static/`` are
  open (they hold no data); the API answers 401 JSON, a page redirects to ``/login``.
* **Host** (no token and no ``--no-auth``, i.e. a loopback bind): the ``Host`` header must name a
  loopback address or ``localhost``, else 403, so a web page the user visits cannot read the
  dashboard through a DNS name rebound to 127.0.0.1. With a token any name works (the token
  keeps others out), so ``http://raspberrypi.local:8080`` does.
* **Headers** on every response, errors included: a CSP without inline scripts, nosniff, no
  referrer, no framing; ``Cache-Control: no-store`` for ``/api/``.
* **Errors**: an exception in a handler is logged as one line and answered 500 JSON, never a
  traceback (neither to the client nor in the server's log).

A plain ASGI middleware (no ``BaseHTTPMiddleware``): it wraps ``send`` and never buffers a body.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("luxlog.web")

ALLOWED_METHODS = ("GET", "HEAD")
COOKIE = "luxlog_token"
OPEN_PATHS = ("/login",)
OPEN_PREFIXES = ("/static/",)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def bind_is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere; ask for a token


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def host_of(scope: Scope) -> str | None:
    """The name in the request's ``Host`` header, without its port (None: no header)."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"host":
            text = value.decode("latin-1").strip()
            if text.startswith("["):
                return text[1 : text.find("]")] if "]" in text else text
            return text.rpartition(":")[0] if text.count(":") == 1 else text
    return None


def token_of(scope: Scope) -> str | None:
    """The token a request carries: the bearer header, else the cookie."""
    cookie = None
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
        elif name == b"cookie":
            cookie = value.decode("latin-1")
    if cookie is None:
        return None
    jar: SimpleCookie = SimpleCookie()
    with contextlib.suppress(CookieError):  # a malformed header: no token from it
        jar.load(cookie)
    morsel = jar.get(COOKIE)
    return str(morsel.value) if morsel is not None else None


def _json(status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": message}).encode()
    return status, [(b"content-type", b"application/json")], body


class Guard:
    """The middleware: methods, token, headers and the last-resort error answer."""

    def __init__(self, app: ASGIApp, token: str | None = None, any_host: bool = False) -> None:
        """``any_host``: without a token, answer any ``Host`` (``--no-auth``)."""
        self.app = app
        self.token = token.encode() if token else None
        self.any_host = any_host or self.token is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = [(b"cache-control", b"no-store")] if is_api(path) else []
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *HEADERS, *extra]
            await send(message)

        refused = self._refusal(scope, path)
        if refused is not None:
            await _answer(send_with_headers, *refused)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            log.error("%s %s failed: %s: %s", scope["method"], path, type(exc).__name__, exc)
            if not started:
                await _answer(send_with_headers, *_json(500, "internal error (see the log)"))

    def _refusal(self, scope: Scope, path: str) -> tuple[int, list[Any], bytes] | None:
        if scope["method"] not in ALLOWED_METHODS:
            status, headers, body = _json(405, f"method {scope['method']} not allowed: read-only")
            return status, [*headers, (b"allow", b"GET, HEAD")], body
        host = host_of(scope)
        if not self.any_host and host is not None and not bind_is_loopback(host):
            return _json(
                403,
                f"Host {host[:60]!r} refused: without serve_token only localhost and loopback "
                "addresses are answered; set serve_token (or pass --no-auth)",
            )
        if self.token is None or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        given = token_of(scope)
        if given is not None and hmac.compare_digest(given.encode(), self.token):
            return None
        if is_api(path):
            status, headers, body = _json(
                401, "a token is required (Authorization: Bearer <token>, or the login page)"
            )
            return status, [*headers, (b"www-authenticate", b"Bearer")], body
        return 303, [(b"location", b"/login")], b""


async def _answer(send: Any, status: int, headers: list[Any], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
