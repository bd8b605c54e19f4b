"""A DNS resolver that never answers, for tests of name resolution under a deadline.

``run_with_blackhole_dns(script)`` runs a Python script in fresh mount and network namespaces
(``unshare -m -n``, root only) in which ``/etc/resolv.conf`` names 127.0.0.1 and a UDP socket on
127.0.0.1:53 reads every query and never replies: glibc's ``getaddrinfo`` then waits its full
timeouts (5 s per try and server: 10 s on this project's CI image, ~34 s in the issue's
set-up). Nothing leaves the namespace; its only interface is its own loopback.

``BLACKHOLE_NAME`` resolves nowhere else either: it is in no ``/etc/hosts`` and ``.test`` is
reserved (RFC 2606).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from support.requires import skip_or_fail

BLACKHOLE_NAME = "heatpump.luxlog.test"

# Runs inside the namespaces: loopback up, the silent server, resolv.conf bind-mounted over
# the real one, then the test's script as a child process whose output and code are passed on.
_ORCHESTRATOR = """
import os, socket, subprocess, sys, threading
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 53))
queries = []

def swallow():
    while True:
        queries.append(server.recv(4096))  # read every query, answer none

threading.Thread(target=swallow, daemon=True).start()
resolv = os.path.join(os.environ["BLACKHOLE_DIR"], "resolv.conf")
with open(resolv, "w") as f:
    f.write("nameserver 127.0.0.1\\n")
subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
child = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True)
sys.stdout.write(child.stdout)
sys.stderr.write(child.stderr)
sys.stderr.write(f"blackhole: {len(queries)} queries swallowed\\n")
sys.exit(child.returncode)
"""


def unavailable_reason() -> str | None:
    """Why the namespaces cannot be made here (skip reason), or None when they can."""
    if not sys.platform.startswith("linux"):
        return "needs Linux namespaces"
    if os.geteuid() != 0:
        return "needs root for unshare -m -n and mount --bind (CI runs as root)"
    for tool in ("unshare", "mount", "ip"):
        if shutil.which(tool) is None:
            return f"needs the {tool} command"
    probe = subprocess.run(
        ["unshare", "-m", "-n", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"unshare -m -n is not permitted here: {probe.stderr.strip()}"
    return None


def require_namespaces() -> None:
    """Skip the test (fail it in CI) when the namespaces cannot be made here."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)


def run_with_blackhole_dns(
    script: str, workdir: Path, env: dict[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (Python source) where every DNS query goes unanswered."""
    full_env = dict(os.environ if env is None else env)
    full_env["BLACKHOLE_DIR"] = str(workdir)
    return subprocess.run(
        ["unshare", "-m", "-n", sys.executable, "-c", _ORCHESTRATOR, textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=workdir,
        timeout=timeout,
        check=False,
    )
