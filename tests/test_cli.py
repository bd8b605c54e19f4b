"""The CLI entry point: the fast path for ``poll --once`` behaves exactly like the Typer app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from luxlog.cli import _fast_poll_args, run
from luxlog.simulator import Simulator

SRC = str(Path(__file__).resolve().parent.parent / "src")
PROBE = (
    "import atexit, sys; from luxlog.cli import main; "
    "atexit.register(lambda: print('typer loaded' if 'typer' in sys.modules else 'no typer', "
    "file=sys.stderr)); sys.argv = ['luxlog', *sys.argv[1:]]; main()"
)


def luxlog_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": SRC, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=full, timeout=8
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["poll", "--once"], {"once": True}),
        (["-v", "poll", "--once", "--port", "8888"], {"once": True, "verbose": True, "port": 8888}),
        (["poll", "--host=h", "--once", "-c", "x.yaml"], {"once": True, "host": "h"}),
        (["--quiet", "poll", "--once", "--port=1"], {"once": True, "quiet": True, "port": 1}),
    ],
)
def test_plain_poll_once_command_lines_take_the_fast_path(
    args: list[str], expected: dict[str, object]
) -> None:
    opts = _fast_poll_args(args)
    assert opts is not None
    for key, value in expected.items():
        assert opts[key] == value


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["poll"],
        ["poll", "--help"],
        ["poll", "--once", "--port", "abc"],
        ["poll", "--once", "--port"],
        ["poll", "--once", "--host", "--port"],
        ["poll", "--once", "--once"],
        ["poll", "--once=1"],
        ["poll", "--once", "--unknown"],
        ["-v", "-v", "poll", "--once"],
        ["flush"],
    ],
)
def test_anything_else_goes_to_the_typer_app(args: list[str]) -> None:
    assert _fast_poll_args(args) is None


def test_the_fast_path_stores_a_sample_without_loading_typer(
    sim: Simulator, sim_config: Path
) -> None:
    result = luxlog_main("poll", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stored sample ")
    assert "no typer" in result.stderr


def test_the_fast_path_and_the_typer_app_fail_alike(
    make_sim: Callable[..., Simulator],
    write_config: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim(faults={"refuse"})
    write_config(host="127.0.0.1", port=sim.port, retries=0)
    fast = luxlog_main("poll", "--once")
    code = run(["poll", "--once"])
    slow_err = capsys.readouterr().err
    assert fast.returncode == code == 1
    first = [line for line in fast.stderr.splitlines() if line.startswith("luxlog: ")]
    assert len(first) == 1 and first[0].split(" in ")[0] in slow_err


def test_the_fast_path_reports_config_errors_with_exit_2(write_config: Callable[..., Path]) -> None:
    write_config(host="127.0.0.1", port=0)
    result = luxlog_main("poll", "--once")
    assert result.returncode == 2
    assert "port: 0 is out of range" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unusable_cache_path_is_one_clear_line_not_a_traceback(isolated: Path) -> None:
    (isolated / "file").write_text("x")  # cache_path below a regular file
    result = luxlog_main(
        "poll", "--once", "--host", "127.0.0.1", "--port", "1",
        env={"LUXLOG_CACHE_PATH": str(isolated / "file" / "db"), "LUXLOG_RETRIES": "0"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot create the database directory" in result.stderr and "cache_path" in result.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["poll", "--bogus"]) == 2
    assert "No such option" in capsys.readouterr().err


def store_one_sample(cache_path: Path) -> None:
    import time

    from luxlog.store import Store

    with Store(cache_path) as store:
        store.add(time.time() - 86400, {"ID_WEB_Temperatur_TVL": 35.0})


@pytest.mark.parametrize("days", ["1000000", "36501", "0"])
def test_prune_days_beyond_100_years_exits_2_naming_the_allowed_range(
    days: str, write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    write_config()
    assert run(["prune", "--days", days]) == 2
    err = capsys.readouterr().err
    assert f"Invalid value for '--days': {days} is out of range (allowed 1..36500)" in err
    assert "Traceback" not in err


def test_the_largest_allowed_retention_does_not_overflow(
    write_config: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(retention_days=36500, db_retention_days=36500)
    store_one_sample(isolated / "data" / "luxlog.db")
    assert run(["prune"]) == 0
    assert run(["prune", "--days", "36500", "--dry-run"]) == 0
    assert "0 cached samples" in capsys.readouterr().out


@pytest.mark.parametrize("date", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_report_date_outside_2000_to_2099_exits_2_naming_the_allowed_range(
    date: str,
    write_config: Callable[..., Path],
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config()
    store_one_sample(isolated / "data" / "luxlog.db")
    assert run(["report", "--date", date]) == 2
    err = capsys.readouterr().err
    assert (
        f"Invalid value for '--date': {date} is out of range (allowed 2000-01-01..2099-12-31)"
        in err
    )
    assert "Traceback" not in err


def test_report_dates_at_the_ends_of_the_range_get_past_the_range_check(
    write_config: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config()
    store_one_sample(isolated / "data" / "luxlog.db")
    out = isolated / "out"
    assert run(["report", "--date", "2000-01-01", "--weekly", "--output", str(out)]) == 0
    assert run(["report", "--date", "2099-12-31", "--output", str(out)]) == 2
    assert "has not closed yet" in capsys.readouterr().err


def _with_closed(stream: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``luxlog ARGS`` with ``stream`` ("stdout"/"stderr") a pipe whose reader is gone,
    as in ``luxlog poll --once | true``; returns the exit code and what the other stream got."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before luxlog writes a byte
    other = subprocess.PIPE
    streams = {"stdout": write_end, "stderr": other} if stream == "stdout" else {
        "stdout": other, "stderr": write_end}  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, "-m", "luxlog", *args],
            env={**os.environ, "PYTHONPATH": SRC, **(env or {})},
            text=True,
            timeout=8,
            check=False,
            **streams,  # type: ignore[call-overload]
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr if stream == "stdout" else done.stdout


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_closed_pipe_costs_the_output_not_the_sample_nor_a_traceback(
    sim: Simulator, sim_config: Path, stream: str
) -> None:
    from luxlog.store import Store

    # -v: the poll logs on stderr before and after storing; the summary goes to stdout
    code, other = _with_closed(stream, "-v", "poll", "--once")
    assert code == 0, other
    assert "Traceback" not in other and "Broken pipe" not in other
    with Store(Path("data/luxlog.db"), readonly=True) as store:
        assert store.counts().buffered == 1  # the work is kept
    # the Typer path (flush, doctor) too, and their exit codes stay theirs
    code, other = _with_closed(stream, "flush")
    assert (code, "Traceback" in other) == (0, False), other
    code, other = _with_closed(stream, "doctor", "--quick")
    assert "Traceback" not in other
    assert code == 0, other


def test_an_error_line_to_a_closed_stderr_keeps_its_exit_code(
    write_config: Callable[..., Path],
) -> None:
    write_config(host="127.0.0.1", port=0)
    assert _with_closed("stderr", "poll", "--once")[0] == 2
    assert _with_closed("stderr", "flush", "--bogus")[0] == 2
