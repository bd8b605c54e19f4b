"""``luxlog doctor``: health checks, one line each; exit 1 when any check fails."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from luxlog.doctor import FAIL, Diagnosis, diagnose
from luxlog.errors import EXIT_FAILURE, EXIT_USAGE, ChecksFailed
from luxlog.options import ConfigOption, JsonOption


def render(diagnosis: Diagnosis) -> str:
    width = max(len(c.name) for c in diagnosis.checks)
    lines = [f"{c.status:<4}  {c.name:<{width}}  {c.detail}" for c in diagnosis.checks]
    total = len(diagnosis.checks)
    failed, warned = diagnosis.failed, diagnosis.warnings
    if failed:
        names = ", ".join(c.name for c in failed)
        last = f"{len(failed)} of {total} checks failed ({names})"
    else:
        last = f"all {total} checks passed"
    if warned:
        last += f", {len(warned)} warning{'s' if len(warned) != 1 else ''}"
    lines.append(last)
    return "\n".join(lines)


def doctor(
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Skip the controller and the database integrity check (healthcheck)."
        ),
    ] = False,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Check configuration, controller, database, reports and disks; exit 1 on any failure."""
    diagnosis = diagnose(config, quick=quick)
    if json_output:
        typer.echo(json.dumps(diagnosis.as_dict(), indent=2))
    else:
        typer.echo(render(diagnosis))
    if any(c.name == "config" and c.status == FAIL for c in diagnosis.checks):
        raise ChecksFailed(EXIT_USAGE)  # DESIGN §3: a configuration error is exit 2 everywhere
    if not diagnosis.ok:
        raise ChecksFailed(EXIT_FAILURE)
