"""Progress bars: on a terminal (a real pseudo-terminal as stderr) and never when piped."""

from __future__ import annotations

import datetime as dt
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from luxlog.cli import app, run
from luxlog.progress import on_terminal, progress
from luxlog.store import Store
from support.fill import model_rows

SRC = str(Path(__file__).resolve().parent.parent / "src")
BERLIN = ZoneInfo("Europe/Berlin")


def run_luxlog(*args: str, tty: bool) -> tuple[int, str, str]:
    """``luxlog ARGS`` in a subprocess with stderr a pseudo-terminal (``tty``) or a pipe;
    returns the exit code, stdout and what reached stderr."""
    env = {**os.environ, "PYTHONPATH": SRC, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "luxlog", *args]
    if not tty:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=8)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read() if proc.stdout else ""
    code = proc.wait(timeout=8)
    return code, out, b"".join(chunks).decode("utf-8", "replace")


def test_on_terminal_is_true_for_a_pty_and_false_for_a_pipe_or_file(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as term:
        assert on_terminal(term)
    os.close(master)
    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:
        assert not on_terminal(pipe)
    os.close(read)
    with open(tmp_path / "log", "w") as f:
        assert not on_terminal(f)
    steps: list[int] = []
    with progress("x", 3, show=False) as advance:
        advance(3)  # a no-op when not shown
        steps.append(3)
    assert steps == [3]


def test_a_weekly_report_shows_a_bar_on_a_terminal_and_none_when_piped(
    write_config: Callable[..., Path], isolated: Path
) -> None:
    # a week at 120 s: 5,040 slots expected, over the bar's threshold (the bar is sized by
    # the slots a window should hold); a sample every 10 min keeps the test quick
    write_config(interval_sec=120)
    start = dt.datetime(2026, 1, 5, 7, tzinfo=BERLIN)  # a Monday: the weekly window's start
    with Store(isolated / "data" / "luxlog.db", interval=120) as store:
        store.add_rows(model_rows(start, start + dt.timedelta(days=7), step=600, interval=120))
    args = ("report", "--date", "2026-01-12", "--weekly", "--output")
    code, out, err = run_luxlog(*args, str(isolated / "tty"), tty=True)
    assert code == 0, err
    assert out.startswith("wrote 1 report (2026-01-12_weekly.csv)")  # stdout: the summary only
    assert "writing reports" in err
    # not a terminal (CliRunner's stderr, as a pipe): the same run shows no bar
    piped = CliRunner().invoke(app, [*args, str(isolated / "pipe")])
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.startswith("wrote 1 report (2026-01-12_weekly.csv)")
    assert "writing reports" not in piped.stderr and "\x1b[" not in piped.stderr
    tty_csv = (isolated / "tty" / "2026-01-12_weekly.csv").read_bytes()
    assert tty_csv == (isolated / "pipe" / "2026-01-12_weekly.csv").read_bytes()


def test_the_demo_shows_its_fill_on_a_terminal(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    master, slave = pty.openpty()
    seen: list[bytes] = []

    def drain() -> None:  # a full pty would block the writer
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            seen.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(slave, "w") as term:
        monkeypatch.setattr(sys, "stderr", term)  # the person's terminal, in-process
        code = run(["demo", "--days", "1", "--output", str(isolated / "d")])
        monkeypatch.undo()
    reader.join(timeout=5)
    os.close(master)
    err = b"".join(seen).decode("utf-8", "replace")
    assert code == 0, err
    assert "filling simulated days" in err and "flushing" in err
    assert "filling simulated days" not in capsys.readouterr().out
