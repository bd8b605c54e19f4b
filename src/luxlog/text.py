"""Text for people: UTC timestamps, durations and byte sizes, each written one way everywhere.

Only ``time`` is imported: ``poller`` formats its summary line with this module on the light
poll path.
"""

from __future__ import annotations

import time


def format_utc(t: float) -> str:
    """``2026-03-01T07:00:30Z``: an epoch as UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def file_stamp(t: float | None = None) -> str:
    """``20260301T070030Z``: an epoch (default now) as UTC, compact, for file names."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def format_duration(sec: float) -> str:
    """``45 s``, ``12 min``, ``1 h 30 min``, ``2 d 4 h`` (the sign is dropped: callers say
    "ago", "ahead" or "behind")."""
    s = round(abs(sec))
    if s < 120:
        return f"{s} s"
    m = round(s / 60)
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def format_bytes(n: float) -> str:
    """Human size with decimal units, like the summaries: ``0 B``, ``812 B``, ``3.4 MB``."""
    if abs(n) < 1000:
        return f"{int(n)} B"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        n /= 1000
        if abs(n) < 1000 or unit == "PB":
            break
    return f"{n:.1f} {unit}"
