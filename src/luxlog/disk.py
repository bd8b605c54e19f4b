"""Disk usage as ``df`` computes it, the "disk almost full" warning, and the disk-full error.

Usage is ``used / (used + available)`` of the filesystem holding a path, where *available* is
what an unprivileged process may still write (``f_bavail``), so the reserved root blocks count
as neither: exactly ``df``'s Use% (which rounds up for display; we compare unrounded).

The usage function is injectable (``usage=``) so tests can put a filesystem at exactly 89.99 %
or 90.00 % without filling a disk. A path that does not exist yet (an output directory that
``report`` will create) is judged by its nearest existing ancestor, which is where it will live.

A filesystem is named by its mount point, found by walking up while ``st_dev`` stays the same;
a bind mount of a directory of the same filesystem is therefore named by the outer mount point,
which is still the filesystem that is full.

Every write that fails for lack of space (a CSV, the database) becomes ``disk_full_error``: one
message, whoever hits it. The warning is logged once per filesystem per run, and a long-running
process (``poll`` without ``--once``) repeats it every ``WARN_AGAIN_SEC`` and as soon as a
filesystem fills up again after it had dropped below the limit.
"""

from __future__ import annotations

import errno
import os
import time

from luxlog.errors import DiskFullError
from luxlog.logs import Logger
from luxlog.text import format_bytes

# On the poll path (``warn_if_full``): no pathlib (~5 ms per cron poll). The walks below work
# on text; the ``Path`` functions other modules use are thin wrappers made when called.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from luxlog.config import Config

log = Logger("luxlog.disk")  # logging is imported only for a record it emits

# ENOSPC: no space left; EDQUOT: the user's quota is exhausted, which looks the same to the user.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
WARN_AGAIN_SEC = 3600  # a long-running poller repeats the warning hourly while it holds


class DiskUsage:
    """Usage of the filesystem holding ``path`` (bytes), mounted at ``mount``.

    A plain slotted class: a frozen dataclass costs every cron poll ~0.5 ms to build.
    """

    __slots__ = ("avail", "mount", "path", "used")

    def __init__(self, path: Path | str, mount: str, used: int, avail: int) -> None:
        self.path = path
        self.mount = mount
        self.used = used
        self.avail = avail

    def _key(self) -> tuple[Path | str, str, int, int]:
        return (self.path, self.mount, self.used, self.avail)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, DiskUsage) else NotImplemented

    def __hash__(self) -> int:  # as the frozen dataclass's
        return hash(self._key())

    def __repr__(self) -> str:
        return "DiskUsage(path={!r}, mount={!r}, used={!r}, avail={!r})".format(*self._key())

    @property
    def percent(self) -> float:
        total = self.used + self.avail
        return 100.0 * self.used / total if total else 100.0

    def at_or_above(self, max_percent: float) -> bool:
        # Integer-side comparison: 8999/10000 is 89.99 %, and 9000/10000 is exactly 90 %
        # without the float rounding of 100 * used / total.
        total = self.used + self.avail
        return total == 0 or self.used * 100 >= max_percent * total


if TYPE_CHECKING:
    UsageFn = Callable[[Path], DiskUsage]


def __getattr__(name: str) -> object:
    """``UsageFn`` at run time (doctor imports it), made only when asked for: it needs pathlib."""
    if name == "UsageFn":
        from collections.abc import Callable
        from pathlib import Path

        return Callable[[Path], DiskUsage]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ``Path.exists()`` answers False for these and raises any other error (as pathlib does).
_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno in _MISSING_ERRNOS:
            return False
        raise
    except ValueError:
        return False
    return True


def _existing_ancestor(path: str) -> str:
    p = os.path.abspath(path)
    while not _exists(p) and p != os.path.dirname(p):
        p = os.path.dirname(p)
    return p


def _mount_point(path: str) -> str:
    p = os.path.realpath(_existing_ancestor(path))
    dev = os.stat(p).st_dev
    while p != (parent := os.path.dirname(p)):
        try:
            if os.stat(parent).st_dev != dev:
                break
        except OSError:  # pragma: no cover - an unreadable parent: stop here
            break
        p = parent
    return p


def existing_ancestor(path: Path | str) -> Path:
    """``path`` itself or the nearest ancestor that exists (a missing dir lives there)."""
    from pathlib import Path

    return Path(_existing_ancestor(os.fspath(path)))


def mount_point(path: Path | str) -> str:
    """The mount point of the filesystem holding ``path`` (walk up while st_dev is equal)."""
    return _mount_point(os.fspath(path))


def disk_usage(path: Path | str) -> DiskUsage:
    """df-style usage of the filesystem holding ``path`` (or its nearest existing ancestor).

    ``path`` is kept as given: the poll path passes text, everything else a ``Path``.
    """
    where = _existing_ancestor(os.fspath(path))
    st = os.statvfs(where)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return DiskUsage(path, _mount_point(where), used, avail)


def watched_texts(cfg: Config) -> list[str]:
    """Every output directory and the directory holding the database, without repeats."""
    paths: list[str] = []
    for p in (*cfg.output_dirs_text, os.path.dirname(cfg.cache_path_text) or "."):
        if p not in paths:
            paths.append(p)
    return paths


def watched_paths(cfg: Config) -> list[Path]:
    """``watched_texts`` as ``Path`` objects."""
    from pathlib import Path

    return [Path(p) for p in watched_texts(cfg)]


_warned: dict[str, float] = {}  # mount point -> clock() when this process last warned


def forget_warnings() -> None:
    """Forget which filesystems were warned about (a new run; for tests)."""
    _warned.clear()


def warn_if_full(
    cfg: Config, usage: UsageFn = disk_usage, clock: Callable[[], float] = time.monotonic
) -> list[DiskUsage]:
    """Log one WARNING per filesystem at or above ``disk_max_percent`` (see the module doc).

    Returns the full filesystems (one entry per filesystem, first path seen). A path whose
    usage cannot be read is skipped: this is a warning, never a reason for a command to fail.
    """
    full: list[DiskUsage] = []
    seen: set[str] = set()
    now = clock()
    for path in watched_texts(cfg):
        try:
            u = disk_usage(path) if usage is disk_usage else usage(_as_path(path))
        except OSError as exc:
            log.debug("cannot read disk usage of %s: %s", path, exc)
            continue
        if u.mount in seen:
            continue
        seen.add(u.mount)
        if not u.at_or_above(cfg.disk_max_percent):
            _warned.pop(u.mount, None)  # below the limit again: warn when it next fills up
            continue
        if isinstance(u.path, str):  # the text the poll path measured: callers get a Path
            u = DiskUsage(_as_path(u.path), u.mount, u.used, u.avail)
        full.append(u)
        last = _warned.get(u.mount)
        if last is None or now - last >= WARN_AGAIN_SEC:
            _warned[u.mount] = now
            log.warning(
                "disk almost full: the filesystem holding %s (mounted at %s) is %.1f %% used "
                "(limit disk_max_percent %g %%), %s free",
                path,
                u.mount,
                u.percent,
                cfg.disk_max_percent,
                format_bytes(u.avail),
            )
    return full


def _as_path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def disk_full_error(path: Path, usage: UsageFn = disk_usage) -> DiskFullError:
    """The error for a write to ``path`` that failed for lack of space, naming the filesystem."""
    try:
        u = usage(path)
        where = f"the filesystem mounted at {u.mount} ({u.percent:.1f} % used, "
        where += f"{format_bytes(u.avail)} free)"
    except OSError:  # pragma: no cover - statvfs failing right after ENOSPC
        where = f"the filesystem holding {existing_ancestor(path)}"
    return DiskFullError(
        f"disk full: cannot write {path}: {where} has no space left; free some space and run again"
    )


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC or EDQUOT: no space left for this process, whichever limit it hit."""
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS
