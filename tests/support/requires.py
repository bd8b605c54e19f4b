"""Skip a test whose environment is missing, except in CI, where that is a failure.

The root, mount and namespace tests (loop and tmpfs filesystems, a silent resolver, dropped
capabilities) prove the failure modes only a real kernel shows. A laptop without root skips
them with the reason; CI (``CI=true``, as GitHub Actions and most CI systems set it) runs as
root, so a skip there would hide that they stopped running: it fails instead.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_or_fail(reason: str) -> NoReturn:
    """``pytest.skip(reason)``, or ``pytest.fail`` when the environment variable CI is true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)
