"""Disk usage as df computes it, the disk-almost-full warning, and the one disk-full error."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxlog import disk
from luxlog.cli import app
from luxlog.config import Config, load_config
from luxlog.disk import (
    DiskUsage,
    disk_full_error,
    disk_usage,
    is_disk_full,
    warn_if_full,
)
from luxlog.errors import DiskFullError
from luxlog.simulator import Simulator
from luxlog.text import format_bytes
from support.fullfs import small_tmpfs


@pytest.fixture(autouse=True)
def fresh_run() -> Iterator[None]:
    disk.forget_warnings()
    yield
    disk.forget_warnings()


@pytest.fixture
def cfg(write_config: Callable[..., Path], tmp_path: Path) -> Config:
    return load_config(write_config(output_dirs=[str(tmp_path / "a"), str(tmp_path / "b")]))


def fixed(used: int, avail: int, mount: str = "/srv") -> Callable[[Path], DiskUsage]:
    return lambda path: DiskUsage(path, mount, used, avail)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_89_99_percent_is_ok_and_90_00_percent_warns(cfg: Config, caplog):
    with caplog.at_level(logging.WARNING, logger="luxlog.disk"):
        assert warn_if_full(cfg, usage=fixed(8999, 1001)) == []
        assert warnings(caplog) == []
        full = warn_if_full(cfg, usage=fixed(9000, 1000))
    assert len(full) == 1  # three paths, one filesystem: one entry, one warning
    [line] = warnings(caplog)
    assert "mounted at /srv) is 90.0 % used (limit disk_max_percent 90 %)" in line
    assert str(cfg.output_dirs[0]) in line


def test_the_warning_is_logged_once_per_run_per_filesystem(cfg: Config, caplog):
    def two_filesystems(path: Path) -> DiskUsage:
        mount = "/data" if path == cfg.cache_path.parent else "/logs"
        return DiskUsage(path, mount, 95, 5)

    with caplog.at_level(logging.WARNING, logger="luxlog.disk"):
        warn_if_full(cfg, usage=two_filesystems)
        warn_if_full(cfg, usage=two_filesystems)
    assert len(warnings(caplog)) == 2
    assert {"/data", "/logs"} == {
        m for m in ("/data", "/logs") if any(m in w for w in warnings(caplog))
    }


def test_a_long_running_poller_is_warned_again_hourly_and_when_the_disk_fills_again(
    cfg: Config, caplog: pytest.LogCaptureFixture
):
    clock = [0.0]

    def warn(used: int) -> None:
        warn_if_full(cfg, usage=fixed(used, 100 - used), clock=lambda: clock[0])

    with caplog.at_level(logging.WARNING, logger="luxlog.disk"):
        warn(95)
        clock[0] = disk.WARN_AGAIN_SEC - 1
        warn(95)
        assert len(warnings(caplog)) == 1  # not every poll
        clock[0] = disk.WARN_AGAIN_SEC
        warn(95)
        assert len(warnings(caplog)) == 2  # still full an hour later: said again
        warn(50)
        warn(95)
        assert len(warnings(caplog)) == 3  # freed, then full again: said at once


def test_an_unreadable_usage_is_not_a_failure(cfg: Config):
    def broken(path: Path) -> DiskUsage:
        raise PermissionError(errno.EACCES, "denied")

    assert warn_if_full(cfg, usage=broken) == []


def test_real_usage_matches_df_for_an_existing_and_a_missing_path(tmp_path: Path):
    for _ in range(50):  # other processes write too: compare within a quiet moment
        before = os.statvfs(tmp_path)
        u = disk_usage(tmp_path)
        st = os.statvfs(tmp_path)
        if st == before:
            break
    assert u.used == (st.f_blocks - st.f_bfree) * st.f_frsize
    assert u.avail == st.f_bavail * st.f_frsize
    assert 0.0 <= u.percent <= 100.0
    assert Path(u.mount).is_dir() and Path(u.mount).is_absolute()
    missing = disk_usage(tmp_path / "not" / "yet")
    assert missing.mount == u.mount and missing.path == tmp_path / "not" / "yet"


def test_an_empty_filesystem_counts_as_full():
    assert DiskUsage(Path("/"), "/", 0, 0).percent == 100.0
    assert DiskUsage(Path("/"), "/", 0, 0).at_or_above(90)


def test_enospc_and_edquot_become_a_message_naming_the_filesystem(tmp_path: Path):
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(PermissionError(errno.EACCES, "denied"))
    error = disk_full_error(tmp_path / "x.csv", fixed(99, 1))
    assert isinstance(error, DiskFullError)
    assert str(error).startswith(f"disk full: cannot write {tmp_path / 'x.csv'}: ")
    assert "the filesystem mounted at /srv (99.0 % used, 1 B free) has no space left" in str(error)


def test_sizes_read_like_df_h():
    assert [format_bytes(n) for n in (0, 812, 3_400_000, 2.5e9, 7e12, 3e15)] == [
        "0 B",
        "812 B",
        "3.4 MB",
        "2.5 GB",
        "7.0 TB",
        "3.0 PB",
    ]


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "tiny") as mnt:
        yield mnt


def test_a_real_full_filesystem_is_named_and_warned_about(
    tiny_tmpfs: Path, write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
):
    target = tiny_tmpfs / "2026-03-01_daily.csv"
    with pytest.raises(OSError) as info, target.open("wb") as f:
        for _ in range(100):
            f.write(b"x" * 4096)
            f.flush()
    assert info.value.errno == errno.ENOSPC and is_disk_full(info.value)
    message = str(disk_full_error(target))
    assert f"the filesystem mounted at {tiny_tmpfs} (100.0 % used, 0 B free)" in message

    cfg = load_config(write_config(output_dirs=[str(tiny_tmpfs)]))
    with caplog.at_level(logging.WARNING, logger="luxlog.disk"):
        assert [u.mount for u in warn_if_full(cfg)] == [str(tiny_tmpfs)]
    assert any(f"mounted at {tiny_tmpfs}" in w for w in warnings(caplog))


@pytest.mark.parametrize("command", [["poll", "--once"], ["flush"], ["report"], ["prune"]])
def test_every_command_warns_once_when_a_filesystem_is_over_the_limit(
    sim: Simulator, write_config: Callable[..., Path], command: list[str]
) -> None:
    # any real filesystem is more than 0.001 % used: the limit is crossed without filling one
    write_config(host="127.0.0.1", port=sim.port, disk_max_percent=0.001)
    disk.forget_warnings()
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "disk almost full" in line]
    assert len(warnings) == len({line.split("mounted at ")[1].split(")")[0] for line in warnings})
    assert warnings and "WARNING" in warnings[0] and "disk_max_percent" in warnings[0]
