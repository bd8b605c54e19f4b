"""The push settings: site, push_url (its password never shown), push_password_file, push_batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from luxlog.config import Config, load_config
from luxlog.errors import ConfigError
from luxlog.masking import mask_url, secrets_of
from luxlog.push.identity import password, site_of, target_of


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@127.0.0.1:5432/db?sslmode=verify-full",
         "postgresql://u:***@127.0.0.1:5432/db?sslmode=verify-full"),
        ("postgresql://u:p@ss@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),
        ("postgresql://u@127.0.0.1/db?password=s3cret&sslmode=require",
         "postgresql://u@127.0.0.1/db?password=***&sslmode=require"),
        ("postgresql://127.0.0.1/db?application_name=xpassword=1",
         "postgresql://127.0.0.1/db?application_name=xpassword=1"),
        ("postgres://127.0.0.1/db", "postgres://127.0.0.1/db"),
        ("postgresql://u@127.0.0.1/db#password", "postgresql://u@127.0.0.1/db#password"),
        ("host=127.0.0.1 password=s3cret user=u", "host=127.0.0.1 password=*** user=u"),
        ("postgresql://:s3cret@127.0.0.1", "postgresql://:***@127.0.0.1"),
    ],
)  # fmt: skip
def test_mask_url_hides_every_password_and_keeps_the_rest(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_secrets_of_names_every_password_as_written_and_decoded() -> None:
    url = "postgresql://u:p%40ss@127.0.0.1/db?sslmode=require&PASSWORD=two%21&password=#x"
    assert secrets_of(url, "from-file", None) == ("from-file", "p%40ss", "two%21", "p@ss", "two!")
    assert secrets_of("postgresql://u@127.0.0.1/db?passwordx=1") == ()
    assert secrets_of("postgresql://127.0.0.1/a:b@c") == ()  # a path, not userinfo


def test_push_settings_load_from_environment_and_default() -> None:
    cfg = load_config(environ={})
    assert cfg.push_url is None and cfg.push_batch == 2000 and cfg.site is None
    env = {
        "LUXLOG_PUSH_URL": "postgresql://luxlog:s3cret@127.0.0.1:5432/fleet",
        "LUXLOG_SITE": "house-7.cellar_2",
        "LUXLOG_PUSH_BATCH": "500",
    }
    cfg = load_config(environ=env)
    assert cfg.site == "house-7.cellar_2" and cfg.push_batch == 500
    assert "s3cret" not in repr(cfg) and "luxlog:***@127.0.0.1" in repr(cfg)
    assert target_of(cfg) == "house-7.cellar_2@127.0.0.1:5432/fleet"


def test_bad_push_settings_are_named_and_the_password_is_not_shown() -> None:
    env = {
        "LUXLOG_PUSH_URL": "mysql://root:s3cret@127.0.0.1/fleet",
        "LUXLOG_SITE": "house 7/cellar",
        "LUXLOG_PUSH_BATCH": "0",
    }
    with pytest.raises(ConfigError) as err:
        load_config(environ=env)
    text = str(err.value)
    assert "s3cret" not in text and "root:***@127.0.0.1" in text
    assert "push_url: " in text and "is not a PostgreSQL URL" in text
    assert "site: 'house 7/cellar' is not a site name" in text
    assert "push_batch: 0 is out of range (allowed 1..100000)" in text
    with pytest.raises(ConfigError, match="site: .* is not a site name"):
        load_config(environ={"LUXLOG_SITE": "x" * 65})


def test_the_default_site_is_host_and_database_made_a_valid_name() -> None:
    cfg = Config(host="127.0.0.1", cache_path="/srv/heat pump/cellar.db")
    assert site_of(cfg) == "127.0.0.1-cellar"
    assert site_of(Config(cache_path="data/luxlog.db")) == "local-luxlog"
    assert site_of(Config(host="127.0.0.1", site="attic")) == "attic"


def test_the_password_file_is_read_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert password(Config(push_password_file=str(secret))) == "s3cret"
    assert password(Config()) is None
    with pytest.raises(ConfigError, match=r"push_password_file: cannot read .*missing"):
        password(Config(push_password_file=str(tmp_path / "missing")))


def test_push_without_push_url_does_nothing_and_succeeds() -> None:
    from typer.testing import CliRunner

    from luxlog.cli import app

    result = CliRunner().invoke(app, ["push"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "push is not configured (set push_url): nothing pushed\n"
    result = CliRunner().invoke(app, ["push", "--json"])
    assert result.exit_code == 0 and result.stdout == '{"configured": false}\n'


@pytest.mark.parametrize(
    ("age", "status"), [(600, "ok"), (7200, "warn"), (2 * 86400, "FAIL")]
)  # fmt: skip
def test_doctor_judges_the_push_backlog_by_its_age(
    write_config: Callable[..., Path], age: int, status: str
) -> None:
    """Offline: the backlog comes from the local marks, the server is never asked."""
    from luxlog.doctor import run_checks
    from support.fill import fill

    cfg = load_config(write_config(push_url="postgresql://luxlog@127.0.0.1:9/fleet", site="a"))
    base = 1_700_000_000 // 3600 * 3600
    fill(cfg, base, n=12, flush=True)
    checks = {c.name: c for c in run_checks(cfg, now=base + age, quick=True).checks}
    assert checks["push"].status == status
    assert checks["push"].detail.startswith("site a, never pushed: 12 cached samples not yet in ")
