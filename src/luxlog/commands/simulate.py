"""``luxlog simulate``: serve a simulated controller for trying luxlog without a heat pump.

Binds the loopback address by default: the simulator answers anyone, and a real controller's
port 8889 has no authentication either, so exposing it must be a deliberate choice (warned).
"""

from __future__ import annotations

from typing import Annotated

import typer

from luxlog.errors import ConfigError, Interrupted
from luxlog.simulator import FAULTS, PROFILES, Simulator, is_loopback


def simulate(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (non-loopback is reachable by others).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on (0: any).")] = 8889,
    profile: Annotated[
        str, typer.Option("--profile", help=f"Firmware profile: {', '.join(PROFILES)}.")
    ] = "v3.78",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="<fault>",
            help=f"Inject a fault (repeatable): {', '.join(FAULTS)}.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated weather.")] = 0,
) -> None:
    """Run a simulated Luxtronik controller on TCP until Ctrl-C or SIGTERM."""
    faults = list(fault or [])
    problems = []
    if profile not in PROFILES:
        problems.append(f"--profile: {profile!r} is not one of {', '.join(PROFILES)}")
    problems += [
        f"--fault: {f!r} is not one of {', '.join(FAULTS)}" for f in faults if f not in FAULTS
    ]
    if not 0 <= port <= 65535:
        problems.append(f"--port: {port} is not in 0..65535")
    if problems:
        raise ConfigError(problems)
    if not is_loopback(host):
        typer.echo(
            f"warning: binding {host}: the simulator is reachable from the network", err=True
        )
    sim = Simulator(host=host, port=port, profile=profile, faults=faults, seed=seed)
    try:
        sim.start()
    except OSError as exc:
        raise ConfigError(f"--port: cannot listen on {host}:{port}: {exc.strerror}") from exc
    try:
        shown = ", ".join(sorted(faults)) if faults else "none"
        typer.echo(
            f"simulating {sim.profile.firmware} controller on {host}:{sim.port} "
            f"(faults: {shown}); Ctrl-C to stop"
        )
        sim.serve_forever()
    except Interrupted:
        sim.stop()
        raise
    finally:
        sim.stop()
