"""Values of compose files and the ``.env`` files they read."""

from __future__ import annotations

import re


def duration(value: str | int) -> float:
    """Seconds of a compose duration (``1m30s``, ``90s``) or a plain number."""
    if isinstance(value, int):
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", value)
    assert "".join(n + u for n, u in parts) == value, f"not a compose duration: {value!r}"
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    return sum(float(n) * scale[u] for n, u in parts)


def env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines, blank lines and ``#`` comments skipped (no quoting, as compose)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out
