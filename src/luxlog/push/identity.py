"""Who is pushing where: the site name, the push target and the connection's password.

Nothing here imports the PostgreSQL driver: ``prune`` and ``doctor`` use the site and target
without the push extra installed.
"""

from __future__ import annotations

from pathlib import Path

from luxlog.config import Config
from luxlog.config_rules import SITE_MAX
from luxlog.errors import ConfigError
from luxlog.masking import mask_url

_SITE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def site_of(cfg: Config) -> str:
    """The configured ``site``, else ``<host>-<database file stem>`` made a valid site name.

    Stable as long as host and cache_path stay the same; set ``site`` explicitly before a
    controller's address changes (a new name starts a new site centrally).
    """
    if cfg.site:
        return cfg.site
    raw = f"{cfg.host or 'local'}-{Path(cfg.cache_path_text).stem or 'luxlog'}"
    name = "".join(c if c in _SITE_CHARS else "-" for c in raw).strip("-.") or "luxlog"
    return name[:SITE_MAX]


def require_url(cfg: Config) -> str:
    if not cfg.push_url:
        raise ConfigError(
            "push_url: required for push (set 'push_url:' in config.yaml or LUXLOG_PUSH_URL, "
            "e.g. postgresql://luxlog@127.0.0.1:5432/fleet)"
        )
    return cfg.push_url


def target_of(cfg: Config) -> str:
    """``site@host:port/database`` of the push: the key of the local push marks (no user, no
    password, no options: changing those is not a new destination)."""
    url = require_url(cfg)
    rest = url.partition("://")[2]
    authority, _, path = rest.partition("/")
    database = path.split("?", 1)[0].split("#", 1)[0]
    return f"{site_of(cfg)}@{authority.rpartition('@')[2]}/{database}"


def shown_url(cfg: Config) -> str:
    return mask_url(require_url(cfg))


def password(cfg: Config) -> str | None:
    """The password from ``push_password_file`` (first line, newline stripped), or None: then
    the URL's own or libpq's ``PGPASSFILE`` (``~/.pgpass``) applies."""
    if not cfg.push_password_file:
        return None
    try:
        with open(cfg.push_password_file, encoding="utf-8") as f:
            text = f.readline()
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"push_password_file: cannot read {cfg.push_password_file} ({reason})"
        ) from None
    return text.rstrip("\r\n")
