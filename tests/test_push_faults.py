"""``luxlog push`` under faults, against a real PostgreSQL: kill -9 at random instants, the
server stopped mid-push, the connection cut mid-COPY, a wrong password, a server that is not
PostgreSQL, a newer central schema, the extra missing. Each ends with one clear line and, once
the fault is gone, the central data equal to the local data, sample for sample."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from luxlog.cli import app, get_app
from luxlog.config import load_config
from luxlog.errors import run_mapped
from luxlog.push import schema
from support.central import central_samples, local_samples, scalar
from support.fill import fill
from support.postgres import PASSWORD, PASSWORD_USER, Server
from support.proxy import Proxy

BASE = 1_700_000_000 // 3600 * 3600
SITE = "faulty"


@pytest.fixture
def config(write_config: Callable[..., Path], pg_url: str) -> Callable[..., Path]:
    def make(path: Path | None = None, **values: object) -> Path:
        settings: dict[str, object] = {
            "interval_sec": 30, "site": SITE, "push_url": pg_url, "push_batch": 10,
        }  # fmt: skip
        settings.update(values)
        return write_config(path, **settings)

    return make


def push(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["push", *args])
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]  # nothing else on stderr
    assert len(lines) == 1 and lines[0].startswith("luxlog: "), err
    return lines[0]


def assert_equal_after_clean_run(path: Path, url: str, site: str = SITE, *args: str) -> None:
    code, _, err = push(*args)
    assert code == 0, err
    local = local_samples(path)
    assert central_samples(url, site) == local
    assert scalar(url, "SELECT count(*) FROM samples WHERE site = %s", site) == len(local)


def _forked_push(command: Any, config: Path) -> int:
    """``luxlog push --config config`` in a forked child, through ``command`` (the CLI's click
    command, built once by the parent: Typer builds it anew on every call of the app)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is killed or leaves through os._exit
        code = 3
        sys.settrace(None)  # coverage's tracer: a child's data is never saved (os._exit)
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            args = ["push", "--config", str(config)]
            code = run_mapped(lambda: command.main(args, "luxlog", standalone_mode=False) or 0)
        finally:
            os._exit(code)
    return pid


def _kill_after(pid: int, watch: Any, site: str, target: int, rng: random.Random) -> bool:
    """SIGKILL ``pid`` once the server holds ``target`` samples of ``site`` (polled on the
    ``watch`` connection, bounded) and a random moment more (mid-COPY, between the commit and
    the local mark …), or, with ``target`` 0, a random moment after the start (connecting,
    migrating, the first batches); True if it was still running then."""
    deadline = time.monotonic() + 5
    while target and time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False  # finished (and reaped) before it got there
        if _held(watch, site) >= target:
            break
        time.sleep(0.002)  # polling interval: leave the child and the server the CPU
    # a random instant after the event, not a wait for one
    time.sleep(rng.uniform(0.0, 0.005) if target else rng.uniform(0.0, 0.06))
    os.kill(pid, signal.SIGKILL)  # not yet reaped: still our child, running or a zombie
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def _held(watch: Any, site: str) -> int:
    return int(watch.execute("SELECT count(*) FROM samples WHERE site = %s", (site,)).fetchone()[0])


def test_kill_9_at_random_instants_never_loses_or_doubles_a_sample(
    config: Callable[..., Path], pg_url: str, isolated: Path
) -> None:
    """Each run is a forked CLI process (imports and caches warmed once in this process),
    killed with SIGKILL a random moment after the server reached a random number of samples,
    or (every other run) at a random moment of its first 60 ms, so the kills land all over
    a push, however fast this machine is. Once a site is nearly all there, the same database
    pushes again as a new site (a new push target: everything pending again), so the number
    of kills never depends on this machine's speed; then a clean run of every site, each
    equal to the local data."""
    total = 100
    cfg = load_config(config(push_batch=5))
    fill(cfg, BASE, n=total, flush=True)
    import psycopg

    import luxlog.commands.push
    import luxlog.push.run  # noqa: F401  imported once here, not in every child

    command = typer.main.get_command(get_app())  # built once here, not in every child
    rng = random.Random(16)
    sites: list[str] = []
    killed, counted, runs = 0, 0, 0
    with psycopg.connect(pg_url, autocommit=True) as watch:
        schema.migrate(watch, "central")  # the count the kills wait for needs the table
        schema.sync_sensors(watch)
        while killed < 20 and runs < 80:
            if not sites or _held(watch, sites[-1]) > total - 30:
                sites.append(f"{SITE}-{len(sites)}")
                path = config(isolated / f"{sites[-1]}.yaml", site=sites[-1], push_batch=5)
            runs += 1
            held = _held(watch, sites[-1])
            target = held + rng.randint(1, 10) if runs % 2 else 0  # every other run
            ended = _kill_after(_forked_push(command, path), watch, sites[-1], target, rng)
            killed += ended
            counted += ended and target > 0
        # counted: killed with samples committed and more to come (mid-way)
        assert killed >= 20 and counted >= 8, (killed, counted)
    for site in sites:
        path = config(isolated / f"{site}.yaml", site=site)
        assert_equal_after_clean_run(cfg.cache_path, pg_url, site, "--config", str(path))
    code, out, _ = push("--json", "--config", str(path))
    assert code == 0 and '"samples": 0' in out
    assert scalar(pg_url, "SELECT count(*) FROM samples") == total * len(sites)


def test_two_pushes_at_once_neither_lose_nor_double_a_sample(
    config: Callable[..., Path], pg_url: str
) -> None:
    """No lock: two pushes of one site at once (a manual run beside cron's) both send every
    batch; the primary key keeps one copy of each and both end well."""
    path = config(push_batch=10)
    cfg = load_config(path)
    fill(cfg, BASE, n=200, flush=True)
    import luxlog.commands.push
    import luxlog.push.run  # noqa: F401  imported once here, not in every child

    command = typer.main.get_command(get_app())
    children = [_forked_push(command, path) for _ in range(2)]
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert codes == [0, 0]
    assert_equal_after_clean_run(cfg.cache_path, pg_url)


def test_a_connection_cut_mid_copy_is_one_line_and_the_next_run_completes(
    config: Callable[..., Path], pg_server: Server, pg_db: str, pg_url: str, isolated: Path
) -> None:
    cfg = load_config(config())
    fill(cfg, BASE, n=5, flush=True)
    assert push()[0] == 0  # schema and sensors in place: the next stream is mostly COPY
    fill(cfg, BASE + 3600, n=200, flush=True)
    with Proxy(pg_server.port, cut_after=30_000) as proxy:
        via = config(isolated / "via-proxy.yaml", push_url=proxy.url(pg_db))
        code, _, err = push("--config", str(via))
        assert proxy.cut.is_set()
    assert code == 1
    line = one_line(err)
    assert line.startswith(f"luxlog: push to postgresql://postgres@127.0.0.1:{proxy.port}/")
    assert line.endswith("(the next run retries)")
    assert 5 <= scalar(pg_url, "SELECT count(*) FROM samples") < 205
    assert_equal_after_clean_run(cfg.cache_path, pg_url)


def test_the_server_stopped_mid_push_is_one_line_and_the_next_run_completes(
    config: Callable[..., Path], pg_server: Server, pg_db: str, pg_url: str, isolated: Path
) -> None:
    cfg = load_config(config())
    fill(cfg, BASE, n=5, flush=True)
    assert push()[0] == 0
    fill(cfg, BASE + 3600, n=200, flush=True)
    with Proxy(pg_server.port, hold_after=40_000) as proxy:
        path = config(isolated / "via-proxy.yaml", push_url=proxy.url(pg_db))
        child = subprocess.Popen(
            [sys.executable, "-m", "luxlog", "push", "--config", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proxy.held.wait(20), "the push never got that far"
            pg_server.stop("immediate")  # mid-COPY, as a crash or a failover would
            proxy.release()
            _, err = child.communicate(timeout=30)
        finally:
            pg_server.start()
    assert child.returncode == 1
    assert "failed:" in one_line(err)
    assert_equal_after_clean_run(cfg.cache_path, pg_url)


def test_a_wrong_password_is_one_line_without_the_password(
    config: Callable[..., Path], pg_server: Server, pg_db: str, isolated: Path
) -> None:
    url = f"postgresql://{PASSWORD_USER}:Wr0ng-Secret@127.0.0.1:{pg_server.port}/{pg_db}"
    config(push_url=url)
    code, out, err = push()
    assert code == 1
    line = one_line(err)
    assert "password authentication failed" in line and "Wr0ng-Secret" not in out + err
    assert f"{PASSWORD_USER}:***@127.0.0.1" in line
    # the right password from a file (its newline stripped) works; a wrong one is not shown
    secret = isolated / "pw"
    plain = f"postgresql://{PASSWORD_USER}@127.0.0.1:{pg_server.port}/{pg_db}"
    for text, expected in (("An0ther-Wrong\n", 1), (f"{PASSWORD}\n", 0)):
        secret.write_text(text)
        config(push_url=plain, push_password_file=str(secret))
        code, out, err = push()
        assert code == expected, err
        assert "An0ther-Wrong" not in out + err and PASSWORD not in out + err


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://u:Pa%zzSecret@127.0.0.1:{port}/db", "Pa%zzSecret"),
        ("postgresql://u@127.0.0.1:{port}/db?password=Se%zzCret", "Se%zzCret"),
        ("postgresql://u:Secret4@[127.0.0.1:{port}/db", "Secret4"),
    ],
)
def test_a_url_libpq_cannot_parse_is_one_line_without_its_password(
    config: Callable[..., Path], pg_server: Server, url: str, secret: str
) -> None:
    """libpq echoes the token it cannot parse (a bad percent-escape in the password), or the
    whole URL: the message must still not show the password."""
    config(push_url=url.format(port=pg_server.port))
    code, out, err = push()
    assert code == 1
    line = one_line(err)
    assert "failed:" in line and "***" in line
    assert secret not in out + err and secret.replace("%zz", "") not in out + err


def test_sigterm_mid_copy_exits_143_with_one_line_and_the_next_run_completes(
    config: Callable[..., Path], pg_server: Server, pg_db: str, pg_url: str, isolated: Path
) -> None:
    """The crontab's ``timeout`` stops a push with SIGTERM, here while the server does not read
    (the COPY blocked in the driver): exit 143 and one line, not a driver error about the
    busy connection psycopg then tries to roll back on."""
    cfg = load_config(config(push_batch=500))
    fill(cfg, BASE, n=5, flush=True)
    assert push()[0] == 0
    fill(cfg, BASE + 3600, n=300, flush=True)
    with Proxy(pg_server.port, hold_after=40_000) as proxy:
        path = config(isolated / "via-proxy.yaml", push_url=proxy.url(pg_db), push_batch=500)
        child = subprocess.Popen(
            [sys.executable, "-m", "luxlog", "push", "--config", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proxy.held.wait(20), "the push never got that far"
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 143, err
    assert one_line(err) == "luxlog: interrupted by SIGTERM"
    assert scalar(pg_url, "SELECT count(*) FROM samples") == 5
    assert_equal_after_clean_run(cfg.cache_path, pg_url)


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A TCP server that answers anything with an HTTP error and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.mark.parametrize("ssl", ["prefer", "disable"])
def test_a_server_that_is_not_postgresql_is_one_line(
    config: Callable[..., Path], garbage_port: int, ssl: str
) -> None:
    config(push_url=f"postgresql://luxlog@127.0.0.1:{garbage_port}/fleet?sslmode={ssl}")
    code, _, err = push()
    assert code == 1
    assert one_line(err).startswith(f"luxlog: push to postgresql://luxlog@127.0.0.1:{garbage_port}")


def test_nothing_listening_is_one_line(config: Callable[..., Path]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        config(push_url=f"postgresql://luxlog@127.0.0.1:{port}/fleet")
        code, _, err = push()
    assert code == 1 and "Connection refused" in one_line(err)


def test_a_newer_central_schema_is_refused_before_anything_is_written(
    config: Callable[..., Path], pg_url: str
) -> None:
    cfg = load_config(config())
    fill(cfg, BASE, n=20, flush=True)
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        schema.migrate(conn, "central")
        conn.execute("INSERT INTO luxlog_schema(version) VALUES (%s)", (schema.VERSION + 1,))
    code, _, err = push()
    assert code == 1
    assert f"schema version {schema.VERSION + 1}, newer than this luxlog knows" in one_line(err)
    assert scalar(pg_url, "SELECT count(*) FROM samples") == 0
    assert scalar(pg_url, "SELECT count(*) FROM sites") == 0


def test_two_sites_migrating_at_once_apply_each_step_once(pg_url: str) -> None:
    import psycopg

    conns = [psycopg.connect(pg_url, autocommit=True) for _ in range(4)]
    applied: list[int] = []
    barrier = threading.Barrier(len(conns))

    def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> None:
        barrier.wait(10)
        applied.append(schema.migrate(conn, "central"))

    threads = [threading.Thread(target=migrate, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for c in conns:
        c.close()
    assert sorted(applied) == [0, 0, 0, schema.VERSION]
    assert scalar(pg_url, "SELECT count(*) FROM luxlog_schema") == schema.VERSION


def test_init_timescale_without_the_extension_is_one_line(config: Callable[..., Path]) -> None:
    config()
    code, _, err = push("--init-timescale")
    assert code == 1
    assert "TimescaleDB extension is not available" in one_line(err)


def test_a_missing_push_extra_is_one_line_naming_it(config: Callable[..., Path]) -> None:
    path = config()
    blocked = (
        "import sys; sys.modules['psycopg'] = None; sys.argv = ['luxlog', 'push', '--config', "
        f"{str(path)!r}]; from luxlog.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        "luxlog: luxlog push needs the push extra: pip install 'luxlog[push]'"
    )


def test_a_deferred_stop_cuts_first_and_raises_only_when_checked() -> None:
    """The push's signal regime: the stop is noted and the client cut, never raised inside the
    driver (where it left psycopg waiting on its own lock); ``check`` raises it."""
    from luxlog.errors import Interrupted
    from luxlog.signals import DeferredStop

    before = signal.getsignal(signal.SIGTERM)
    cuts: list[int] = []
    with DeferredStop(lambda: cuts.append(1)) as stop:
        stop.check()  # nothing yet
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert cuts == [1, 1] and stop.signum == signal.SIGTERM  # the first stop is the one
        with pytest.raises(Interrupted) as raised:
            stop.check()
    assert raised.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
