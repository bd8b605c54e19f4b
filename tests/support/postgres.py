"""A real PostgreSQL for the push tests: one server per session, a fresh database per test.

``initdb`` + ``pg_ctl`` in a temporary directory, listening on a free 127.0.0.1 port (and a
Unix socket in the same directory), stopped at the end of the session. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (``runuser``); as anyone else
it runs directly. Debian keeps the binaries in /usr/lib/postgresql/<version>/bin, off PATH:
that is searched too. No binary: ``skip_or_fail`` (a skip, or a failure under CI=true).

Authentication: ``trust`` for every user but ``pwuser``, who needs its password
(``scram-sha-256``): the wrong-password test. Durability is switched off (fsync,
full_page_writes): these tests kill clients and stop the server, never the machine.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.requires import skip_or_fail

PASSWORD_USER = "pwuser"
PASSWORD = "s3cret-Pa55"
_counter = itertools.count()


def find_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.data = root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def init(self, durable: bool = False) -> None:
        """``durable``: PostgreSQL's defaults (fsync on), as a benchmark must measure."""
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        hba = self.data / "pg_hba.conf"
        hba.write_text(
            f"local all all trust\nhost all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 300\n"
                "password_encryption = 'scram-sha-256'\n"
            )
            if not durable:
                f.write("fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n")

    def start(self) -> None:
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True)

    def create_database(self) -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    pytest.importorskip("psycopg")
    bindir = find_bindir()
    if bindir is None:
        skip_or_fail("no PostgreSQL server binary (initdb): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="luxlog-pg-"))
    server = Server(bindir, root)
    try:
        server.init()
        server.start()
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_db(pg_server: Server) -> str:
    """A fresh, empty database's name."""
    return pg_server.create_database()


@pytest.fixture
def pg_url(pg_server: Server, pg_db: str) -> str:
    return pg_server.url(pg_db)
