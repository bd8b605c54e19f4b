"""A consistent copy of the live database, taken while polls keep writing.

SQLite's online backup API (``Connection.backup``) copies the pages of one read transaction:
in WAL mode a reader sees one snapshot and never blocks the writers, so the copy is consistent
(every committed poll up to the snapshot, nothing half-written) and ``poll`` keeps storing
meanwhile. Copying the files instead (``cp luxlog.db``) can catch the database between a
``-wal`` checkpoint's page writes, and misses what is still only in the ``-wal``.

The source is opened read-only on a connection of its own (never through ``Store``: a backup
must not migrate, repair or quarantine what it copies). The copy is written to a temporary
file next to the destination, switched to ``journal_mode=DELETE`` so it is one self-contained
file (no ``-wal`` to forget), checked with ``PRAGMA quick_check``, fsynced and renamed into
place: the destination is either absent or a verified copy, never a torn one.

Samples polled since the last flush live in the poll journal beside the database
(``<cache_path>.journal``), not in it: they are read first and added to the copy's buffer
table, so the copy holds every acknowledged sample in one file. Reading the journal before the
snapshot means a flush in between can only make a sample appear twice (the copy keeps one:
``add_rows`` skips slots already stored), never lose it. The attempts of those polls stay in
the journal (only their samples are copied).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from luxlog.errors import LuxlogError, StoreError
from luxlog.report_files import _fsync_dir  # the one directory fsync (atomic placement)
from luxlog.sample import Sample
from luxlog.store import Store

BUSY_TIMEOUT_MS = 10_000  # DESIGN §2.4: a writer may hold the lock for a moment


@dataclass(frozen=True)
class BackupResult:
    source: Path
    dest: Path
    size: int  # bytes of the copy
    pages: int
    duration: float  # seconds


def default_name(now: float) -> str:
    """``luxlog-20261202T061500Z.db``: sorts by time, never collides within a second."""
    return "luxlog-" + dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ".db"


def resolve_dest(source: Path, dest: Path, now: float, force: bool) -> Path:
    """The file to write: ``dest`` itself, or a time-stamped name inside it when it is a
    directory. Refuses the database itself and, without ``force``, an existing file."""
    target = dest / default_name(now) if dest.is_dir() else dest
    if target.resolve() == source.resolve():
        raise LuxlogError(f"backup: {target} is the database itself; give another DEST")
    if target.exists() and not force:
        raise LuxlogError(f"backup: {target} exists; remove it, give another DEST or use --force")
    if not target.parent.is_dir():
        raise LuxlogError(f"backup: directory {target.parent} does not exist; create it first")
    return target


def _open_source(source: Path) -> sqlite3.Connection:
    if not source.exists():
        # Creating an empty database here would hide a mistyped cache_path.
        raise LuxlogError(
            f"backup: no database at {source} (has 'luxlog poll' run? check cache_path)"
        )
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"backup: cannot read {source}: {exc}") from exc
    return conn


def _journaled(source: Path) -> list[Sample]:
    """The samples waiting in the poll journal, oldest first (empty: no journal)."""
    from luxlog.store import journal

    found = journal.read(journal.journal_path(source)).samples()
    return [found[slot].sample() for slot in sorted(found)]


def _verify(copy: sqlite3.Connection) -> None:
    try:
        problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:  # damage bad enough that the check cannot walk it
        problems = [str(exc)]
    if problems != ["ok"]:
        shown = "; ".join(str(p) for p in problems[:3])
        raise StoreError(
            f"backup: the copy fails quick_check ({shown}): the database itself is damaged; "
            "run 'luxlog doctor'"
        )


def backup(source: Path, dest: Path, *, force: bool = False) -> BackupResult:
    """Copy ``source`` consistently to ``dest`` (a file, or a directory to put one in)."""
    started = time.monotonic()
    target = resolve_dest(source, dest, time.time(), force)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    src = _open_source(source)
    try:
        pending = _journaled(source)  # before the snapshot: see the module docstring
        with contextlib.closing(sqlite3.connect(tmp)) as copy:
            # pages=-1: one step, one read snapshot; WAL readers do not block the pollers
            src.backup(copy, pages=-1)
            _verify(copy)  # before Store opens it: a damaged copy is reported, not repaired
        if pending:
            with Store(tmp) as store:
                store.add_rows(pending)
        with contextlib.closing(sqlite3.connect(tmp)) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            _verify(copy)
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise StoreError(f"backup: copying {source} to {target} failed: {exc}") from exc
    except OSError as exc:
        raise LuxlogError(f"backup: cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        src.close()
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
    size = target.stat().st_size
    return BackupResult(source, target, size, pages, time.monotonic() - started)
