"""Configuration: YAML file, then ``LUXLOG_<KEY>`` environment variables, then CLI options.

The result is a frozen, validated ``Config`` loaded once per run. Every invalid field is
collected and reported in one ``ConfigError`` as ``field: bad value (what is allowed)``, so a
user fixes everything in one go instead of one error per run.

This module is the public face: where the values come from and the object they make. The
rule each key follows is in ``config_rules`` (a table, one rule per key), the strict reading
of the file in ``config_yaml``; the names other modules use are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from luxlog.config_rules import (
    KEYS,
    MAX_DAYS,
    WEEKDAYS,
    glob_problem,
    path_problem,
    path_text,
    shown,
    valid_zone,
    validate,
)
from luxlog.errors import ConfigError

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any
    from zoneinfo import ZoneInfo

__all__ = [
    "KEYS",
    "MAX_DAYS",
    "WEEKDAYS",
    "Config",
    "find_config_file",
    "glob_problem",
    "load_config",
    "system_timezone",
]


def system_timezone() -> str:
    """The host's IANA zone name, falling back to UTC (containers often have none)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    candidates = [tz] if tz else []
    try:
        with open("/etc/timezone") as f:
            candidates.append(f.read().strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if valid_zone(name):
            return name
    return "UTC"


# Field -> default, in the order of the constructor's positional arguments and of the repr.
# ``Config`` is a plain slotted class rather than a frozen dataclass: importing ``dataclasses``
# (and the ``inspect`` it pulls in) costs every cron-fired poll ~9 ms, about 15 % of its CPU.
# Likewise ``pathlib`` (~5 ms with the urllib.parse it imports): the two path keys are held as
# normalised text (``cache_path_text``, ``output_dirs_text``, what the poll path reads) and
# ``cache_path``/``output_dirs`` make the ``Path`` objects when asked for.
_DEFAULTS: dict[str, Any] = {
    "host": None,
    "port": 8889,
    "interval_sec": 30,
    "timeout_sec": 60.0,
    "retries": 3,
    "csv_time": "07:00",
    "timezone": "",  # "" = the system's, resolved when first needed
    "cache_path": "data/luxlog.db",
    "output_dirs": ("logs",),
    "retention_days": 30,
    "db_retention_days": 365,
    "disk_max_percent": 90.0,
    "weekly_day": "monday",
    "columns": "default",
    "csv_dialect": "excel",
    "site": None,  # None: derived from host and cache_path (push.identity.site_of)
    "push_url": None,  # None: push disabled
    "push_password_file": None,
    "push_batch": 2000,
    "serve_token": None,  # luxlog serve: the token a non-loopback bind requires
    "html_reports": False,  # report: a self-contained YYYY-MM-DD_<kind>.html beside each CSV
}
# where the values came from, for `doctor` (not a config key; not part of equality)
_FIELDS = (*_DEFAULTS, "sources")
_PATH_SLOTS = {"cache_path": "cache_path_text", "output_dirs": "output_dirs_text"}


class Config:
    """The validated configuration; immutable, compared and hashed by its keys (not ``sources``).

    Behaves as the frozen dataclass it was: keyword or positional construction with the same
    defaults, ``==``, ``hash``, ``repr``, and ``replace(**changes)`` for a modified copy.
    """

    __slots__ = tuple(_PATH_SLOTS.get(name, name) for name in _FIELDS)

    host: str | None
    port: int
    interval_sec: int
    timeout_sec: float
    retries: int
    csv_time: str
    timezone: str
    cache_path_text: str
    output_dirs_text: tuple[str, ...]
    retention_days: int
    db_retention_days: int
    disk_max_percent: float
    weekly_day: str
    columns: str | tuple[str, ...]
    csv_dialect: str
    site: str | None
    push_url: str | None
    push_password_file: str | None
    push_batch: int
    serve_token: str | None
    html_reports: bool
    sources: tuple[str, ...]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(_FIELDS):
            raise TypeError(f"Config takes at most {len(_FIELDS)} positional arguments")
        values = dict(zip(_FIELDS, args, strict=False))
        for name, value in kwargs.items():
            if name not in _FIELDS:
                raise TypeError(f"Config got an unexpected keyword argument '{name}'")
            if name in values:
                raise TypeError(f"Config got multiple values for argument '{name}'")
            values[name] = value
        for name in _FIELDS:
            value = values.get(name, _DEFAULTS.get(name, ()))
            if name == "cache_path":
                value = path_text(value)
            elif name == "output_dirs":
                value = tuple(path_text(d) for d in value)
            object.__setattr__(self, _PATH_SLOTS.get(name, name), value)

    @property
    def cache_path(self) -> Path:
        from pathlib import Path

        return Path(self.cache_path_text)

    @property
    def output_dirs(self) -> tuple[Path, ...]:
        from pathlib import Path

        return tuple(Path(d) for d in self.output_dirs_text)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field '{name}' (Config is immutable)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}' (Config is immutable)")

    def _values(self) -> dict[str, Any]:
        """Field -> value as held (the path keys as text)."""
        return {name: getattr(self, _PATH_SLOTS.get(name, name)) for name in _FIELDS}

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, _PATH_SLOTS.get(name, name)) for name in _DEFAULTS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Config)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={self._shown(name)!r}" for name in _FIELDS)
        return f"Config({fields})"

    def _shown(self, name: str) -> object:
        value = getattr(self, name)
        if name == "serve_token" and value:
            return "***"  # the token is a secret: never in a log line or a traceback
        if name == "push_url" and value:
            from luxlog.masking import mask_url  # a password never reaches a log or a repr

            return mask_url(value)
        return value

    def __reduce__(self) -> tuple[type[Config], tuple[object, ...]]:
        # copy, deepcopy and pickle rebuild through __init__ (__setattr__ refuses assignment)
        return Config, tuple(self._values().values())

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (what ``dataclasses.replace`` did)."""
        return Config(**{**self._values(), **changes})

    @property
    def tz(self) -> ZoneInfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.zone_name)

    @property
    def zone_name(self) -> str:
        """The configured IANA zone, or the system's when none is configured."""
        return self.timezone or system_timezone()

    @property
    def poll_deadline(self) -> float:
        """Overall budget of one poll: the interval minus a margin (never outlives its slot)."""
        margin = max(2.0, min(5.0, self.interval_sec * 0.2))
        return self.interval_sec - margin

    @property
    def attempt_timeout(self) -> float:
        """Per-attempt connect/read timeout, capped by the poll deadline."""
        return min(self.timeout_sec, self.poll_deadline)

    @property
    def csv_hour_minute(self) -> tuple[int, int]:
        h, m = self.csv_time.split(":")
        return int(h), int(m)

    def require_host(self, command: str) -> str:
        if not self.host:
            raise ConfigError(
                f"host: required for {command} (set 'host:' in config.yaml, LUXLOG_HOST, or --host)"
            )
        return self.host


def _config_file(origin: str, path: Path) -> Path:
    """``path`` when it is an existing file; else a ConfigError naming ``origin``."""
    problem = path_problem(str(path))
    if problem is not None:
        raise ConfigError(f"{origin}: {shown(str(path))} {problem}")
    try:
        if path.is_file():
            return path
    except OSError as exc:  # pragma: no cover - path_problem catches what is known to get here
        raise ConfigError(f"{origin}: {shown(str(path))}: {exc.strerror}") from None
    raise ConfigError(f"{origin}: file {shown(str(path))} not found")


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return _config_file("--config", explicit)
    env = environ.get("LUXLOG_CONFIG")
    if not env and not os.path.isfile("config.yaml"):
        return None  # the usual cron poll: no file, and no pathlib import for one
    from pathlib import Path

    if env:
        return _config_file("LUXLOG_CONFIG", Path(env))
    return Path("config.yaml")


def load_config(
    path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """File < ``LUXLOG_<KEY>`` env < ``overrides`` (CLI options; ``None`` values are ignored)."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    sources: list[str] = []
    file = find_config_file(path, env)
    if file is not None:
        from luxlog.config_yaml import read_yaml

        raw.update(read_yaml(file))
        sources.append(f"file {file}")
    for key, value in env.items():
        if not key.startswith("LUXLOG_") or key == "LUXLOG_CONFIG":
            continue
        name = key[len("LUXLOG_") :].lower()
        raw[name] = value
        sources.append(f"env {key}")
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
            sources.append(f"option --{key.replace('_', '-')}")
    return Config(**validate(raw), sources=tuple(sources))
