"""When ``flush`` last ran ``PRAGMA quick_check``: the mtime of ``<database>.checked``."""

from __future__ import annotations

import os
import time
from pathlib import Path

# ``check`` (flush opens with it) runs ``PRAGMA quick_check`` at most this often: it reads the
# whole file, and flush runs every few minutes, to find damage that is rare. A database found
# damaged by any later read still fails that command; ``doctor`` checks on its own.
CHECK_EVERY_SEC = 86_400


def check_due(path: Path) -> bool:
    """Whether ``quick_check`` is due: never checked, or last checked a day ago (or "later")."""
    try:
        checked = os.stat(f"{path}.checked").st_mtime
    except OSError:
        return True
    now = time.time()
    return not 0 <= now - checked < CHECK_EVERY_SEC


def mark_checked(path: Path) -> None:
    """Remember the check (the stamp's mtime; one inode update a day, no data)."""
    stamp = f"{path}.checked"
    try:
        os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        os.utime(stamp)
    except OSError:
        pass  # no stamp: the next open checks again, which is only slower
