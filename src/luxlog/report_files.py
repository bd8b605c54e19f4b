"""Report file names, and placing a file atomically in every output directory.

**Names.** ``REPORT_NAME`` is the one place that says what a report file is called
(``YYYY-MM-DD_<kind>.csv`` for every kind in ``REPORT_KINDS``); ``prune`` deletes only names it
matches, so ``notes.csv`` or ``2026-01-01_daily.csv.bak`` are never touched. With
``html_reports`` each report also has a ``.html`` twin (``report_html``), named and expired alike.

**Placement.** A file is produced into the temp file ``.<name>.tmp-<pid>`` of the first output
directory, fsynced, renamed into place and the directory fsynced, so a reader (or a
``kill -9``) sees no file or the whole file. The other directories get a copy of those bytes,
the same way. A failed directory is retried once, then logged with the OS error (ENOSPC names
the full filesystem); the other directories still get their file.

Stray temp files from a killed run are removed at the start of the next run when the process
that wrote them is gone (``prune`` removes any older than an hour as well).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from luxlog.disk import disk_full_error, is_disk_full
from luxlog.errors import OutputDirError

log = logging.getLogger("luxlog.report")

# Every report kind luxlog writes; add a kind here and prune, report and doctor all know it.
REPORT_KINDS: tuple[str, ...] = ("daily", "weekly")
_KINDS = "|".join(REPORT_KINDS)
# .csv, and .html beside it with html_reports (report_html): the same window, expired together
REPORT_SUFFIXES: tuple[str, ...] = ("csv", "html")
_SUFFIXES = "|".join(REPORT_SUFFIXES)
REPORT_NAME = re.compile(
    rf"(?P<date>\d{{4}}-\d{{2}}-\d{{2}})_(?P<kind>{_KINDS})\.(?P<suffix>{_SUFFIXES})"
)
TEMP_NAME = re.compile(
    rf"\.(?P<report>\d{{4}}-\d{{2}}-\d{{2}}_(?:{_KINDS})\.(?:{_SUFFIXES}))\.tmp-\d+"
)

T = TypeVar("T")


def report_name(kind: str, date: dt.date, suffix: str = "csv") -> str:
    """``2026-03-01_daily.csv`` (or ``.html``): the file name of a report (the one naming rule)."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r} (one of {', '.join(REPORT_KINDS)})")
    if suffix not in REPORT_SUFFIXES:
        raise ValueError(f"unknown report suffix {suffix!r} (one of {_SUFFIXES})")
    return f"{date.isoformat()}_{kind}.{suffix}"


def temp_name(final_name: str, pid: int | None = None) -> str:
    """The temp file the report writer renames into place: ``.<final>.tmp-<pid>``."""
    return f".{final_name}.tmp-{os.getpid() if pid is None else pid}"


def parse_report_name(name: str) -> tuple[str, dt.date] | None:
    """(kind, date) of a report file name, or None when it is not one of luxlog's names."""
    m = REPORT_NAME.fullmatch(name)
    if m is None:
        return None
    try:
        return m["kind"], dt.date.fromisoformat(m["date"])
    except ValueError:  # 2026-02-30: shaped like a date, but not one
        return None


def unique_dirs(dirs: Iterable[Path]) -> list[Path]:
    """``dirs`` without repeats of the same directory (by absolute path), in order."""
    out: list[Path] = []
    seen: set[str] = set()
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ------------------------------------------------------------------------------ one file


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(directory: Path, name: str, produce: Callable[[BinaryIO], T]) -> T:
    """Create ``directory/name`` whole or not at all: temp file, fsync, rename, dir fsync."""
    make_output_dir(directory)
    tmp = directory / temp_name(name)
    try:
        with open(tmp, "wb") as f:
            result = produce(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)
    return result


def make_output_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) when missing; a file in the way is named plainly
    instead of mkdir's bare "File exists" / "Not a directory"."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next(
            (p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None
        )
        if blocker is None:
            raise
        what = "a file" if blocker.is_file() else "not a directory"
        if blocker == directory:
            text = f"output directory {directory} exists but is {what}, not a directory"
        else:
            text = f"cannot create output directory {directory}: {blocker} is {what}"
        raise OutputDirError(f"{text}; move it away or fix output_dirs") from exc


def _describe_error(target: Path, exc: OSError) -> str:
    """The reason a write of the report file ``target`` failed, for the log and the summary."""
    if is_disk_full(exc):
        return str(disk_full_error(target))
    if isinstance(exc, OutputDirError):
        return str(exc)
    return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")


def _copy_from(source: Path, f: BinaryIO) -> None:
    with open(source, "rb") as s:
        shutil.copyfileobj(s, f, 1 << 16)


# ------------------------------------------------------------------------------ every directory


@dataclass(frozen=True)
class DirFailure:
    """A directory that did not get its file, after the retry."""

    directory: Path
    error: str
    disk_full: bool = False


@dataclass
class Placement(Generic[T]):
    """Where one file landed: what producing it returned (None: no directory could be
    written), the paths written, and the directories that failed."""

    result: T | None = None
    paths: list[Path] = field(default_factory=list)
    failed: list[DirFailure] = field(default_factory=list)


def place(dirs: Sequence[Path], name: str, produce: Callable[[BinaryIO], T]) -> Placement[T]:
    """Write ``name`` to every directory: ``produce`` it into the first that takes it, copy
    those bytes into the others; each directory is retried once."""
    out: Placement[T] = Placement()
    source: Path | None = None
    for directory in dirs:
        for attempt in (1, 2):
            try:
                if source is None:
                    out.result = atomic_write(directory, name, produce)
                    source = directory / name
                else:
                    atomic_write(directory, name, functools.partial(_copy_from, source))
                out.paths.append(directory / name)
                break
            except OSError as exc:
                reason = _describe_error(directory / name, exc)
                if attempt == 1:
                    log.warning(
                        "%s: writing to %s failed (%s); retrying once", name, directory, reason
                    )
                    continue
                log.error("%s: could not write to %s: %s", name, directory, reason)
                out.failed.append(DirFailure(directory, reason, is_disk_full(exc)))
    return out


# ------------------------------------------------------------------------------ leftovers


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this run has written nothing yet: a file with our pid is a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def remove_stray_temps(dirs: Iterable[Path]) -> list[Path]:
    """Delete luxlog temp files whose writer is gone (a report killed mid-write).

    "Gone" is judged by pid in this pid namespace: one luxlog (one container) per output
    directory is assumed. Two loggers sharing a directory could remove each other's
    in-flight temp file; the rename of the other writer then fails and it retries once.
    """
    removed: list[Path] = []
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # missing or unreadable: the write itself will report it
        for entry in entries:
            if not TEMP_NAME.fullmatch(entry.name):
                continue
            pid = int(entry.name.rsplit("-", 1)[1])
            if _alive(pid):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # a clean-up: it must not stop the reports being written
                log.warning("cannot remove stray temp file %s: %s", entry.path, exc.strerror)
                continue
            removed.append(Path(entry.path))
            log.info("removed stray temp file %s (left by a killed report run)", entry.path)
    return removed
