"""A loopback TCP proxy that forwards to a server and can cut or hold the connection.

``cut_after``: once that many bytes went from the client to the server (counted over all
connections), both sides of every connection are closed, as a dropped network would (the
client sees the connection reset mid-stream). ``hold_after``: forwarding stops there instead
(``held`` is set), so a test can do something to the server at a known point of the client's
stream (stop it) before ``release`` resumes or ``close`` drops the connections.
Threads, one pair per connection; 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class Proxy:
    def __init__(
        self, port: int, *, cut_after: int | None = None, hold_after: int | None = None
    ) -> None:
        self.target = ("127.0.0.1", port)
        self.cut_after, self.hold_after = cut_after, hold_after
        self.sent = 0  # client -> server bytes forwarded
        self.cut = threading.Event()
        self.held = threading.Event()
        self._resume = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _budget(self, n: int) -> int:
        """How many of ``n`` client bytes may pass now (0: stop here)."""
        with self._lock:
            limit = min(x for x in (self.cut_after, self.hold_after, 1 << 62) if x is not None)
            allowed = max(0, min(n, limit - self.sent))
            self.sent += allowed
            return allowed

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream:
                    allowed = self._budget(len(data))
                    if allowed:
                        dst.sendall(data[:allowed])
                    if allowed < len(data):
                        self._stop_here(dst, data[allowed:])
                        return
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def _stop_here(self, dst: socket.socket, rest: bytes) -> None:
        if self.cut_after is not None and self.sent >= self.cut_after:
            self.cut.set()
            self.close()
            return
        self.held.set()
        self._resume.wait(30)
        if not self._closed:  # released: the rest and everything after pass unchecked
            self.hold_after = None
            dst.sendall(rest)

    def release(self) -> None:
        self._resume.set()

    def close(self) -> None:
        self._closed = True
        self._resume.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
