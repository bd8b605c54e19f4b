"""A real full filesystem: a tiny tmpfs, filled to the last block (needs root and mount(8)).

Used where a write must fail with a real ENOSPC from the kernel, not a faked errno. Skips the
test with the reason when it cannot mount (not root, no mount(8), a container without the
capability); CI runs as root, and there it fails instead (``requires.skip_or_fail``). A
loop-mounted variant lives in ``loopfs``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support.requires import skip_or_fail


@contextlib.contextmanager
def small_tmpfs(mnt: Path, size: str = "64k") -> Iterator[Path]:
    """Mount a ``size`` tmpfs at ``mnt`` (created), yield it; unmount (lazily) afterwards."""
    mnt.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        skip_or_fail("a small filesystem needs root and mount(8) to mount a tmpfs")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        timeout=5,
    )
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=5)


@contextlib.contextmanager
def full_tmpfs(mnt: Path, size: str = "64k") -> Iterator[Path]:
    """Mount a ``size`` tmpfs at ``mnt`` (created), fill it until ENOSPC, yield it; unmount."""
    with small_tmpfs(mnt, size):
        fill_up(mnt / ".filler")
        yield mnt


def fill_up(path: Path) -> None:
    """Write ``path`` until the filesystem holding it has no block left."""
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        with contextlib.suppress(OSError):  # the last partial block, byte by byte
            while f.write(b"\0"):
                pass
