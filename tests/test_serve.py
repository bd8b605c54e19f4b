"""``luxlog serve``: the bind rule, the token key, a real server over HTTP stopped by SIGTERM.

No test sends anything to an address other than 127.0.0.1: the non-loopback rule is tested on
the pure decision function and on the command refusing before it binds anything.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import Config, load_config
from luxlog.errors import ConfigError, WebError
from luxlog.web.security import bind_is_loopback
from luxlog.web.server import check_bind, url_of
from support.fill import fill
from support.requires import skip_or_fail

DAY = 1_795_993_200  # 2026-11-30 00:00 Europe/Berlin
TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("127.255.255.254", True), ("::1", True),
     ("[::1]", True), ("localhost", True), ("LOCALHOST", True), ("0.0.0.0", False),
     ("", False)],
)  # fmt: skip
def test_only_loopback_binds_are_open_without_a_token(host: str, loopback: bool) -> None:
    assert bind_is_loopback(host) is loopback


def test_a_non_loopback_bind_needs_a_token_or_no_auth_which_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(WebError, match=r"^--host 0\.0\.0\.0 is not a loopback address: set"):
        check_bind("0.0.0.0", None, no_auth=False)
    check_bind("0.0.0.0", TOKEN, no_auth=False)
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="luxlog.web"):
        check_bind("0.0.0.0", None, no_auth=True)
    assert [r.getMessage() for r in caplog.records] == [
        "serving 0.0.0.0 without authentication (--no-auth): anyone who can reach it reads "
        "your heat pump's data"
    ]
    check_bind("127.0.0.1", None, no_auth=True)  # loopback: no warning
    assert len(caplog.records) == 1


def test_the_command_refuses_a_non_loopback_bind_without_a_token_before_binding(
    isolated: Path,
) -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "luxlog: --host 0.0.0.0 is not a loopback address: set serve_token (LUXLOG_SERVE_TOKEN) "
        "so the dashboard asks for it, or pass --no-auth to serve it to anyone who can reach it"
    ]
    assert result.stdout == ""


def test_a_taken_port_is_one_line(isolated: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"luxlog: cannot listen on 127.0.0.1:{port}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_urls_name_the_bound_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert url_of(s) == f"http://127.0.0.1:{s.getsockname()[1]}/"
    with socket.socket(socket.AF_INET6) as s6:
        try:
            s6.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        assert url_of(s6) == f"http://[::1]:{s6.getsockname()[1]}/"


# ------------------------------------------------------------------ serve_token


def test_serve_token_is_checked_and_never_quoted_back(isolated: Path) -> None:
    env = {"LUXLOG_SERVE_TOKEN": "short-secret"}
    with pytest.raises(ConfigError) as bad:
        load_config(None, environ=env)
    assert str(bad.value).startswith("serve_token: must be 16..256 characters of A-Z a-z 0-9")
    assert "(got 12 characters)" in str(bad.value) and "short-secret" not in str(bad.value)
    with pytest.raises(ConfigError, match=r"\(got 24 characters\)"):
        load_config(None, environ={"LUXLOG_SERVE_TOKEN": "has spaces in it 01234567"[:24]})
    (isolated / "config.yaml").write_text("serve_token: 12345\n")
    with pytest.raises(ConfigError, match=r"serve_token: must be .*\(got int\)"):
        load_config(None)
    (isolated / "config.yaml").unlink()
    cfg = load_config(None, environ={"LUXLOG_SERVE_TOKEN": TOKEN})
    assert cfg.serve_token == TOKEN and TOKEN not in repr(cfg)
    assert "serve_token='***'" in repr(cfg) and "serve_token=None" in repr(Config())
    assert load_config(None, environ={"LUXLOG_SERVE_TOKEN": ""}).serve_token is None


# ------------------------------------------------------------------ a real server


def _env(db: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LUXLOG_CACHE_PATH": str(db), "LUXLOG_TIMEZONE": "Europe/Berlin",
            **extra}  # fmt: skip


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def _start(procs: list[subprocess.Popen[str]], env: dict[str, str], *prefix: str) -> str:
    """Start ``luxlog serve --port 0`` and return the URL it announces."""
    p = subprocess.Popen(
        [*prefix, sys.executable, "-m", "luxlog", "serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    procs.append(p)
    assert p.stdout is not None
    line = p.stdout.readline()  # the server prints it once it listens
    assert line.startswith("serving http://127.0.0.1:"), _rest(p.stderr)
    assert line.endswith(" (read-only; Ctrl-C stops)\n")
    return line.split()[1]


def _rest(stream: IO[str] | None) -> str:
    return "" if stream is None else stream.read()


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read())


def test_serve_answers_over_http_and_sigterm_stops_it_cleanly(
    isolated: Path, started: list[subprocess.Popen[str]]
) -> None:
    db = isolated / "data" / "luxlog.db"
    rows = fill(db, DAY, n=20, flush=True)
    url = _start(started, _env(db))
    status, doc = _get(url + "api/now")
    assert status == 200 and doc["epoch"] == rows[-1].slot and doc["firmware"] == "V3.78"
    status, series = _get(url + "api/series?from=2026-11-30&names=ID_WEB_Temperatur_TA&points=2880")
    assert status == 200 and series["t"] == [r.slot for r in rows]
    p = started[0]
    p.send_signal(signal.SIGTERM)
    assert p.wait(8) == 143
    err = _rest(p.stderr)
    assert (
        "Traceback" not in err and err.strip().splitlines()[-1] == "luxlog: interrupted by SIGTERM"
    )


def test_serve_works_on_a_read_only_directory(
    isolated: Path, started: list[subprocess.Popen[str]]
) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip_or_fail("needs root and setpriv(1) to run luxlog without CAP_DAC_OVERRIDE")
    data = isolated / "data"
    db = data / "luxlog.db"
    rows = fill(db, DAY, n=20, flush=True)
    fill(db, DAY + 20 * 30, n=2)  # and polls in the journal
    for f in data.iterdir():
        f.chmod(0o444)
    data.chmod(0o555)
    before = sorted(p.name for p in data.iterdir())
    drop = "-dac_override,-dac_read_search"
    try:
        url = _start(started, _env(db), "setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}")
    except AssertionError:
        err = _rest(started[0].stderr)
        if "setpriv" in err and "Operation not permitted" in err:
            skip_or_fail(f"setpriv cannot drop capabilities here: {err.strip()}")
        raise
    status, doc = _get(url + "api/now")
    assert status == 200 and doc["epoch"] == rows[-1].slot + 2 * 30
    checks = {c["name"]: c["status"] for c in doc["checks"]}  # type: ignore[union-attr]
    assert checks["database"] == "ok"  # a read-only mount is no failure for the server
    status, series = _get(url + "api/series?from=2026-11-30&names=ID_WEB_Temperatur_TA&points=2880")
    assert status == 200 and len(series["t"]) == 22
    assert sorted(p.name for p in data.iterdir()) == before


def test_without_the_web_extra_serve_says_which_to_install(isolated: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['luxlog', 'serve']; "
        "from luxlog.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=8, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "luxlog: luxlog serve needs the web extra: pip install 'luxlog[web]'"
    ]
