"""Docs are tested: every command has a one-sentence --help and a README section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luxlog.cli import COMMANDS, app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_one_sentence_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    callback = next(c for c in app.registered_commands if c.name == command).callback
    assert callback is not None and callback.__doc__
    doc = callback.__doc__.strip()
    assert doc.endswith(".") and "\n" not in doc, f"{command}: {doc!r}"
    assert re.sub(r"\s+", " ", doc) in re.sub(r"\s+", " ", result.stdout)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    assert f"### `luxlog {command}" in README


def test_the_quickstart_is_exactly_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command_and_lint() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert re.search(r"^make lint$", ci, re.M)


def test_every_config_key_is_documented() -> None:
    from luxlog.config import KEYS

    for key in KEYS:
        assert f"| `{key}` |" in README, key
    shipped = (ROOT / "config.yaml").read_text()
    for key in KEYS - {"host", "timezone"}:
        assert re.search(rf"^{key}:", shipped, re.M), key


def test_the_shipped_config_is_valid() -> None:
    from luxlog.config import load_config

    cfg = load_config(ROOT / "config.yaml", environ={})
    assert cfg.port == 8889


def test_every_exit_code_is_documented() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 / 143 |"):
        assert code in README
