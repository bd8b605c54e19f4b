"""Progress for long work, on a terminal only: a person watching sees how far it has got.

Shown on stderr, and only when stderr is a terminal (``luxlog … | tee``, cron and Docker logs
get none of it): stdout keeps the one summary line for scripts, and a log file never fills
with redraws. rich is imported only when a bar is actually shown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[[int], None]


def on_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is a terminal a person is watching."""
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


@contextmanager
def progress(description: str, total: int, *, show: bool | None = None) -> Iterator[Advance]:
    """A bar of ``total`` steps on stderr, or a no-op; yields ``advance(n)``."""
    if not (on_terminal() if show is None else show):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
