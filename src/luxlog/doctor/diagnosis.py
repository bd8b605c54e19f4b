"""The result of a check (``Check``), of all checks (``Diagnosis``), and their shared helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from luxlog.errors import LuxlogError

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"ok": bool, "checks": [{"name", "status", "detail"}]}``."""
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def _guard(name: str, fn: Callable[[], list[Check]]) -> list[Check]:
    """Run a check; an error it raises is that check's FAIL line, not the end of doctor."""
    try:
        return fn()
    except (LuxlogError, sqlite3.Error, OSError) as exc:
        return [Check(name, FAIL, str(exc) or type(exc).__name__)]
