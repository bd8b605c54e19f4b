"""A far side whose TCP port behaves as if filtered: connects get no answer at all.

Only 127.0.0.1 is used (the project's network rule). A listener that never accepts and whose
accept queue is already full makes Linux drop further SYNs, so ``connect`` hangs exactly as
it does towards a firewalled port, with no packet leaving the machine.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def filtered_port() -> Iterator[int]:
    """Yield a 127.0.0.1 port on which a new connection is never answered."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Fill the accept queue (backlog 0 still admits one or two): non-blocking connects
        # until one does not complete at once.
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fillers.append(s)
            s.settimeout(0.2)
            try:
                s.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:  # pragma: no cover - a kernel that never drops SYNs
            raise RuntimeError("could not fill the accept queue")
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()
