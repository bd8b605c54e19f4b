"""``luxlog backup``: SQLite's online backup of a live database, real files, real writers."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxlog.backup import backup, default_name
from luxlog.cli import app
from luxlog.errors import LuxlogError, StoreError
from luxlog.store import Store
from support.fill import fill, model_rows

START = 1_790_000_010  # on the 30 s grid


def db_of(isolated: Path) -> Path:
    return isolated / "data" / "luxlog.db"


def test_the_copy_is_one_verified_file_with_every_sample(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    fill(db_of(isolated), START, n=40, flush=True)
    fill(db_of(isolated), START + 40 * 30, n=5)  # some still in the buffer (and the -wal)
    dest = isolated / "copy.db"
    result = CliRunner().invoke(app, ["backup", str(dest)])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith(f"backed up {db_of(isolated)} to {dest} (")
    assert "quick_check ok" in line
    size = dest.stat().st_size
    assert f"{size / 1000:.1f} kB" in line
    # one self-contained file: no -wal needed, none left behind
    assert not Path(f"{dest}-wal").exists()
    conn = sqlite3.connect(dest)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    with Store(db_of(isolated), readonly=True) as live, Store(dest, readonly=True) as copy:
        assert list(copy.iter_rows(0, 2e9)) == list(live.iter_rows(0, 2e9))
        assert copy.counts().buffered == 5
    assert [p.name for p in isolated.glob(".copy.db.tmp-*")] == []


def test_a_copy_taken_while_a_writer_adds_rows_is_consistent(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    db = db_of(isolated)
    fill(db, START, n=10)
    rows = model_rows(START + 10 * 30, n=300)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with Store(db) as store:
            for row in rows:
                if stop.is_set():
                    break
                store.add_row(row)  # one committed transaction per sample, as a poll does
                written.append(row.slot)

    thread = threading.Thread(target=writer)
    thread.start()
    counts = []
    try:
        for n in range(5):
            result = backup(db, isolated / f"copy{n}.db")
            with Store(result.dest, readonly=True) as copy:
                slots = [r.slot for r in copy.iter_rows(0, 2e9)]
            # a snapshot: a gap-free prefix of what the writer committed, nothing torn
            assert slots == [START + 30 * i for i in range(len(slots))]
            counts.append(len(slots))
    finally:
        stop.set()
        thread.join(timeout=8)
    assert counts == sorted(counts) and counts[0] >= 10
    assert len(written) > 0


def test_a_directory_dest_gets_a_time_stamped_name(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    fill(db_of(isolated), START, n=3)
    backups = isolated / "backups"
    backups.mkdir()
    result = CliRunner().invoke(app, ["backup", str(backups), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    dest = Path(doc["dest"])
    assert dest.parent == backups and dest.name.startswith("luxlog-") and dest.suffix == ".db"
    assert doc["bytes"] == dest.stat().st_size and doc["quick_check"] == "ok"
    assert default_name(0) == "luxlog-19700101T000000Z.db"


def test_an_existing_file_is_kept_unless_forced(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    fill(db_of(isolated), START, n=3)
    dest = isolated / "old.db"
    dest.write_bytes(b"precious")
    refused = CliRunner().invoke(app, ["backup", str(dest)])
    assert refused.exit_code == 1
    assert dest.read_bytes() == b"precious"
    forced = CliRunner().invoke(app, ["backup", str(dest), "--force"])
    assert forced.exit_code == 0, forced.output
    with Store(dest, readonly=True) as copy:
        assert copy.counts().buffered == 3


def test_refusals_are_one_line_each(write_config: Callable[..., Path], isolated: Path) -> None:
    write_config()
    db = db_of(isolated)
    with pytest.raises(LuxlogError, match="no database at .* check cache_path"):
        backup(db, isolated / "x.db")
    assert not db.exists()  # a backup never creates the database it copies
    fill(db, START, n=1)
    with pytest.raises(LuxlogError, match="is the database itself"):
        backup(db, db)
    with pytest.raises(LuxlogError, match="does not exist; create it first"):
        backup(db, isolated / "missing" / "x.db")
    result = CliRunner().invoke(app, ["backup", str(db)])
    assert result.exit_code == 1


def test_a_damaged_database_gives_no_backup_and_says_so(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config()
    db = db_of(isolated)
    fill(db, START, n=600)  # buffered: the middle of the file is live b-tree pages
    with Store(db) as store:  # fold the -wal into the file so the damage below is in it
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    middle = (len(data) // 2) // 4096 * 4096
    data[middle : middle + 4 * 4096] = b"\xa5" * (4 * 4096)
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="fails quick_check"):
        backup(db, isolated / "copy.db")
    assert not (isolated / "copy.db").exists()
    assert list(isolated.glob(".copy.db.tmp-*")) == []
