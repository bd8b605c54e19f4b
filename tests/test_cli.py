"""The CLI entry point: the fast path for ``poll --once`` behaves exactly like the Typer app."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer.main
from typer.testing import CliRunner

from luxlog import fastpath
from luxlog.cli import app, run
from luxlog.errors import run_mapped
from luxlog.fastpath import parse_args
from luxlog.simulator import Simulator
from support.fill import fill

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
    opts = parse_args(args)
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
    assert parse_args(args) is None


def typer_options(command: Any) -> dict[str, tuple[str, bool]]:
    """option -> (parameter name, is a flag), as the Typer command declares them."""
    return {
        opt: (param.name, param.is_flag)
        for param in command.params
        for opt in (*param.opts, *param.secondary_opts)
    }


def test_the_fast_path_accepts_exactly_the_options_of_the_typer_poll_command() -> None:
    root = typer.main.get_command(app)
    poll = root.commands["poll"]  # type: ignore[attr-defined]
    flags = fastpath.FLAGS
    # --version and completion end the run without a poll: they are the Typer app's alone
    typer_only = set(fastpath.TYPER_ONLY_ROOT_OPTIONS)
    assert typer_only <= set(typer_options(root))
    assert {o: v for o, v in typer_options(root).items() if o not in typer_only} == {
        o: (n, n in flags) for o, n in fastpath.ROOT_OPTIONS.items()
    }
    assert typer_options(poll) == {o: (n, n in flags) for o, n in fastpath.POLL_OPTIONS.items()}
    # every option of the command at once: the fast path reads the values as Typer converts them
    line = ["--once", "--config", "c.yaml", "--host", "h", "--port", "8888", "--json"]
    opts = parse_args(["-v", "-q", "poll", *line])
    assert opts is not None
    root_params = root.make_context("luxlog", ["-v", "-q", "poll"]).params
    assert root_params == {"version": None, **{k: opts[k] for k in ("verbose", "quiet")}}
    # click consumes the list it parses: give it a copy
    params = poll.make_context("poll", [*line]).params
    # typer < 0.29 turns the string into a Path in its wrapper, 0.29's click type already
    params["config"] = Path(params["config"])
    assert params == {k: opts.get(k) for k in ("once", "config", "host", "port", "json_output")}
    # and anything the command does not declare goes to the Typer app
    for extra in (["--help"], ["--bogus"], ["--json"], ["-x"], ["--once"]):
        assert parse_args(["poll", *line, *extra]) is None


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

    def lines(err: str) -> list[str]:  # the elapsed time masked: the rest must match exactly
        return [
            re.sub(r" in \d+\.\d s: ", " in <elapsed> s: ", line)
            for line in err.splitlines()
            if line.startswith("luxlog: ")
        ]

    assert len(lines(fast.stderr)) == 1 and lines(fast.stderr) == lines(slow_err)


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


def test_the_one_error_map_gives_a_bug_exit_3_with_one_traceback_and_ctrl_c_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def bug() -> int:
        raise RuntimeError("boom")

    def ctrl_c() -> int:
        raise KeyboardInterrupt

    assert run_mapped(bug) == 3
    err = capsys.readouterr().err
    assert err.startswith("luxlog: internal error") and err.count("Traceback") == 1
    assert "RuntimeError: boom" in err
    assert run_mapped(ctrl_c) == 130
    assert capsys.readouterr().err == "luxlog: interrupted by SIGINT\n"


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    for option in ("--version", "-V"):
        assert run([option]) == 0
        assert capsys.readouterr().out == f"luxlog {version('luxlog')}\n"
    assert parse_args(["--version", "poll", "--once"]) is None


def test_bare_luxlog_prints_the_usage_and_exits_0_a_wrong_command_exits_2() -> None:
    bare = luxlog_main()
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.startswith("Usage: luxlog [OPTIONS] COMMAND [ARGS]...")
    assert "report" in bare.stdout and "--install-completion" in bare.stdout
    wrong = luxlog_main("bogus")
    assert wrong.returncode == 2
    assert "No such command 'bogus'" in wrong.stderr


def test_shell_completion_is_typers_own_and_completes_commands_and_options() -> None:
    script = luxlog_main("--show-completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "_LUXLOG_COMPLETE=complete_bash" in script.stdout
    for words, cword, expected in (("luxlog fl", "1", "flush"), ("luxlog poll --o", "2", "--once")):
        env = {"_LUXLOG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        done = luxlog_main(env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [expected]


def test_simulate_help_names_the_fault_placeholder_not_a_python_type() -> None:
    result = CliRunner().invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    assert "--fault <fault>" in result.stdout
    assert "list[" not in result.stdout


def test_poll_once_json_is_one_object_on_both_paths(sim: Simulator, sim_config: Path) -> None:
    fast = luxlog_main("poll", "--once", "--json")
    assert fast.returncode == 0, fast.stderr
    assert "no typer" in fast.stderr  # --json stays on the light path
    first = json.loads(fast.stdout)
    assert set(first) == {
        "slot",
        "slot_epoch",
        "stored",
        "calculations",
        "attempts",
        "duration_sec",
    }
    assert first["stored"] is True and first["calculations"] == 232 and first["attempts"] == 1
    assert first["slot"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first["slot_epoch"]))
    # the Typer path (-v -v is not a fast-path line) prints the same object
    slow = CliRunner().invoke(app, ["poll", "--once", "--json", "--port", str(sim.port)])
    assert slow.exit_code == 0, slow.output
    assert set(json.loads(slow.stdout)) == set(first)


def test_poll_json_without_once_is_a_usage_error(sim_config: Path) -> None:
    assert run(["poll", "--json"]) == 2


def test_flush_report_prune_json_are_one_object_each(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    write_config(retention_days=2)
    runner = CliRunner()
    empty = runner.invoke(app, ["flush", "--json"])
    assert json.loads(empty.stdout) == {
        "moved": 0, "remaining": 0, "duplicates": 0, "database": False
    }  # fmt: skip
    start = dt.datetime(2026, 1, 14, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    fill(isolated / "data" / "luxlog.db", start, n=3, step=10)
    flushed = runner.invoke(app, ["flush", "--json"])
    assert flushed.exit_code == 0, flushed.output
    assert json.loads(flushed.stdout) == {
        "moved": 3, "remaining": 0, "duplicates": 0, "database": True
    }  # fmt: skip
    out = isolated / "out"
    day = "2026-01-15"
    reported = runner.invoke(app, ["report", "--date", day, "--output", str(out), "--json"])
    assert reported.exit_code == 0, reported.output
    doc = json.loads(reported.stdout)
    assert doc["ok"] is True and len(doc["written"]) == 1
    written = doc["written"][0]
    assert written["name"] == f"{day}_daily.csv" and written["rows"] == 3
    assert written["paths"] == [str(out / f"{day}_daily.csv")]
    pruned = runner.invoke(app, ["prune", "--dry-run", "--json"])
    assert pruned.exit_code == 0, pruned.output
    doc = json.loads(pruned.stdout)
    assert doc["dry_run"] is True and doc["files"] == 0 and doc["errors"] == []
    assert doc["database"] == {"samples": 0, "attempts": 0, "bytes_freed": 0}
