"""Filesystem checks: disk usage and writable output directories."""

from __future__ import annotations

import tempfile
from pathlib import Path

from luxlog.config import Config
from luxlog.disk import UsageFn, existing_ancestor, watched_paths
from luxlog.doctor.diagnosis import FAIL, OK, Check
from luxlog.text import format_bytes


def check_disk(cfg: Config, usage: UsageFn) -> list[Check]:
    checks = []
    for path in watched_paths(cfg):
        name = f"disk {path}"
        try:
            u = usage(path)
        except OSError as exc:
            checks.append(Check(name, FAIL, f"cannot read disk usage: {exc}"))
            continue
        text = (
            f"{u.percent:.1f} % used on the filesystem mounted at {u.mount}, "
            f"{format_bytes(u.avail)} free (limit {cfg.disk_max_percent:g} %)"
        )
        checks.append(Check(name, FAIL if u.at_or_above(cfg.disk_max_percent) else OK, text))
    return checks


def _can_create_in(directory: Path) -> str | None:
    """None when a file can be created in ``directory``; else the reason.

    An anonymous temporary file (O_TMPFILE on Linux, else created and unlinked at once) proves
    it for real, read-only mounts and ACLs included, and leaves nothing behind.
    """
    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_output_dir(path: Path) -> Check:
    name = f"output {path}"
    if path.is_dir():
        reason = _can_create_in(path)
        if reason is None:
            return Check(name, OK, "writable")
        return Check(name, FAIL, f"not writable ({reason})")
    if path.exists() or path.is_symlink():
        return Check(name, FAIL, "exists but is not a directory")
    parent = existing_ancestor(path)
    if not parent.is_dir():
        return Check(name, FAIL, f"cannot be created: {parent} is not a directory")
    reason = _can_create_in(parent)
    if reason is None:
        return Check(name, OK, f"does not exist yet; report will create it in {parent}")
    return Check(name, FAIL, f"does not exist and cannot be created in {parent} ({reason})")


def _output_checks(path: Path) -> list[Check]:
    return [check_output_dir(path)]
