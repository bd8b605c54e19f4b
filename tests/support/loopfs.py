"""Small loop-mounted ext4 filesystems, for faults only a real block filesystem shows.

tmpfs allocates in whole pages and never leaves a mapped file half-backed; an ext4 image with
1 KiB blocks (what ``mkfs.ext4`` picks for small filesystems, as on some SD-card partitions)
does, which is how SQLite's ``-shm`` mapping ends in SIGBUS on a nearly full disk.

    with loop_fs(tmp_path, size_kib=4096) as mnt:      # 4 MB ext4, 1 KiB blocks
        fill(mnt, leave_kib=16)                        # leave 16 KiB for unprivileged writes
        ...

Needs root, ``mkfs.ext4``, ``mount -o loop``; ``loop_fs`` skips the test with the reason when
any of them is missing (fails it in CI: ``requires.skip_or_fail``). Unmounting (lazily if
busy) and detaching the loop device happen even when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support.requires import skip_or_fail


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)


def unavailable() -> str | None:
    """Why a loop filesystem cannot be mounted here, or None."""
    if os.geteuid() != 0:
        return "mounting a loop filesystem needs root"
    for tool in ("mkfs.ext4", "mount", "umount", "losetup"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@contextlib.contextmanager
def loop_fs(
    tmp_path: Path, size_kib: int = 4096, block_size: int = 1024, name: str = "loopfs"
) -> Iterator[Path]:
    """Make an ext4 image of ``size_kib`` with ``block_size`` blocks, mount it, yield the mount.

    The root directory is world-writable (sticky, like /tmp), so tests may also write to it
    as an unprivileged user.
    """
    reason = unavailable()
    if reason:
        skip_or_fail(reason)
    image = tmp_path / f"{name}.img"
    mnt = tmp_path / name
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(size_kib * 1024)
    made = _run("mkfs.ext4", "-q", "-F", "-b", str(block_size), "-m", "0", str(image))
    if made.returncode != 0:
        skip_or_fail(f"mkfs.ext4 failed: {made.stderr.strip()}")
    mounted = _run("mount", "-o", "loop", str(image), str(mnt))
    if mounted.returncode != 0:
        skip_or_fail(f"cannot loop-mount an ext4 image here: {mounted.stderr.strip()}")
    device = _run("findmnt", "-n", "-o", "SOURCE", str(mnt)).stdout.strip()
    try:
        os.chmod(mnt, 0o1777)
        (mnt / "lost+found").rmdir()
        yield mnt
    finally:
        if _run("umount", str(mnt)).returncode != 0:
            _run("umount", "-l", str(mnt))
        if device.startswith("/dev/loop"):
            _run("losetup", "-d", device)  # usually detached by umount already (autoclear)
        with contextlib.suppress(OSError):
            image.unlink()


def free_kib(directory: Path) -> int:
    """KiB an unprivileged process may still write on the filesystem holding ``directory``."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize // 1024


def fill(directory: Path, leave_kib: int, name: str = "filler") -> Path:
    """Fill the filesystem holding ``directory`` so that ``leave_kib`` KiB stay free.

    Writes real zeros (no holes), fsynced, so the free count is what the kernel reports.
    Returns the filler file: unlink it to free the space again.
    """
    filler = directory / name
    with open(filler, "ab", buffering=0) as f:
        while (spare := free_kib(directory) - leave_kib) > 0:
            try:
                f.write(b"\0" * min(spare, 256) * 1024)
            except OSError:
                break
            os.fsync(f.fileno())
    return filler
