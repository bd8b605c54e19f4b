"""Configuration: YAML file, then ``LUXLOG_<KEY>`` environment variables, then CLI options.

The result is a frozen, validated ``Config`` loaded once per run. Every invalid field is
collected and reported in one ``ConfigError`` as ``field: bad value (what is allowed)``, so a
user fixes everything in one go instead of one error per run.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from luxlog.errors import ConfigError

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DIALECTS = ("excel", "excel-de")
MIN_INTERVAL = 10  # controllers are known to crash when polled harder (protocol.md §2.6)


def system_timezone() -> str:
    """The host's IANA zone name, falling back to UTC (containers often have none)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    candidates = [tz] if tz else []
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if _valid_zone(name):
            return name
    return "UTC"


# Checking the system's tz database directly spares the poll path the zoneinfo import
# (~8 ms of a ~70 ms poll); anything not found there is left to zoneinfo (tzdata package).
_SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")


def _valid_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    candidate = _SYSTEM_ZONEINFO / name
    try:
        with candidate.open("rb") as f:
            if f.read(4) == b"TZif":
                return True
    except (OSError, ValueError):
        pass
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        return False
    return True


@dataclass(frozen=True)
class Config:
    host: str | None = None
    port: int = 8889
    interval_sec: int = 30
    timeout_sec: float = 60.0
    retries: int = 3
    csv_time: str = "07:00"
    timezone: str = ""  # "" = the system's, resolved when first needed
    cache_path: Path = Path("data/luxlog.db")
    output_dirs: tuple[Path, ...] = (Path("logs"),)
    retention_days: int = 30
    db_retention_days: int = 365
    disk_max_percent: float = 90.0
    weekly_day: str = "monday"
    columns: str | tuple[str, ...] = "default"
    csv_dialect: str = "excel"
    # where the values came from, for `doctor` (not a config key)
    sources: tuple[str, ...] = field(default=(), compare=False)

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


KEYS = {
    "host",
    "port",
    "interval_sec",
    "timeout_sec",
    "retries",
    "csv_time",
    "timezone",
    "cache_path",
    "output_dirs",
    "retention_days",
    "db_retention_days",
    "disk_max_percent",
    "weekly_day",
    "columns",
    "csv_dialect",
}


def _int(name: str, value: Any, lo: int, hi: int | None, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(f"{name}: {value!r} is not a whole number")
        return None
    try:
        n = int(value)
    except ValueError:
        problems.append(f"{name}: {value!r} is not a whole number")
        return None
    if n < lo or (hi is not None and n > hi):
        allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        problems.append(f"{name}: {n} is out of range (allowed {allowed})")
        return None
    return n


def _below(value: Any, lo: int) -> bool:
    try:
        return int(value) < lo
    except (TypeError, ValueError):
        return False


def _float(name: str, value: Any, lo: float, hi: float, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.append(f"{name}: {value!r} is not a number")
        return None
    try:
        x = float(value)
    except ValueError:
        problems.append(f"{name}: {value!r} is not a number")
        return None
    if not lo < x <= hi:
        problems.append(f"{name}: {value} is out of range (allowed > {lo:g} and <= {hi:g})")
        return None
    return x


def _validate(raw: Mapping[str, Any], sources: tuple[str, ...]) -> Config:
    problems: list[str] = []
    for key in sorted(set(raw) - KEYS):
        problems.append(f"{key}: unknown key (allowed: {', '.join(sorted(KEYS))})")
    out: dict[str, Any] = {}

    if "host" in raw and raw["host"] is not None:
        host = raw["host"]
        if not isinstance(host, str) or not host.strip():
            problems.append(f"host: {host!r} is not a host name or address")
        else:
            out["host"] = host.strip()
    ints = {
        "port": (1, 65535),
        "interval_sec": (MIN_INTERVAL, 86400),
        "retries": (0, 10),
        "retention_days": (1, None),
        "db_retention_days": (1, None),
    }
    for key, (lo, hi) in ints.items():
        if key in raw:
            before = len(problems)
            n = _int(key, raw[key], lo, hi, problems)
            if n is not None:
                out[key] = n
            elif key == "interval_sec" and len(problems) > before and _below(raw[key], lo):
                problems[-1] += " — controllers crash when polled faster than every 10 s"
    if "timeout_sec" in raw:
        x = _float("timeout_sec", raw["timeout_sec"], 0.0, 3600.0, problems)
        if x is not None:
            out["timeout_sec"] = x
    if "disk_max_percent" in raw:
        x = _float("disk_max_percent", raw["disk_max_percent"], 0.0, 100.0, problems)
        if x is not None:
            out["disk_max_percent"] = x
    if "csv_time" in raw:
        v = raw["csv_time"]
        if isinstance(v, int) and not isinstance(v, bool):
            # YAML 1.1 reads an unquoted 07:00 as the sexagesimal number 420
            v = f"{v // 60:02d}:{v % 60:02d}" if 0 <= v < 1440 else str(v)
        if isinstance(v, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v.strip()):
            out["csv_time"] = v.strip()
        else:
            problems.append(f"csv_time: {raw['csv_time']!r} is not a time HH:MM (00:00..23:59)")
    if "timezone" in raw and raw["timezone"] not in (None, ""):
        tz = raw["timezone"]
        if isinstance(tz, str) and _valid_zone(tz.strip()):
            out["timezone"] = tz.strip()
        else:
            problems.append(
                f"timezone: {tz!r} is not an IANA time zone name (e.g. Europe/Berlin, UTC)"
            )
    if "cache_path" in raw:
        v = raw["cache_path"]
        if isinstance(v, str | Path) and str(v).strip():
            out["cache_path"] = Path(str(v).strip()).expanduser()
        else:
            problems.append(f"cache_path: {v!r} is not a file path")
    if "output_dirs" in raw:
        v = raw["output_dirs"]
        if isinstance(v, str):
            v = [p for p in (s.strip() for s in v.split(",")) if p]
        if not isinstance(v, list) or not all(isinstance(p, str | Path) and str(p) for p in v):
            problems.append(f"output_dirs: {v!r} is not a list of directories")
        elif not v:
            problems.append("output_dirs: empty (give at least one directory)")
        else:
            out["output_dirs"] = tuple(Path(str(p)).expanduser() for p in v)
    if "weekly_day" in raw:
        v = raw["weekly_day"]
        if isinstance(v, str) and v.strip().lower() in WEEKDAYS:
            out["weekly_day"] = v.strip().lower()
        else:
            problems.append(f"weekly_day: {v!r} is not one of {', '.join(WEEKDAYS)}")
    if "csv_dialect" in raw:
        v = raw["csv_dialect"]
        if isinstance(v, str) and v.strip() in DIALECTS:
            out["csv_dialect"] = v.strip()
        else:
            problems.append(f"csv_dialect: {v!r} is not one of {', '.join(DIALECTS)}")
    if "columns" in raw:
        v = raw["columns"]
        if isinstance(v, str) and v.strip() in ("default", "all"):
            out["columns"] = v.strip()
        else:
            if isinstance(v, str):
                v = [p for p in (s.strip() for s in v.split(",")) if p]
            if isinstance(v, list) and v and all(isinstance(p, str) and p.strip() for p in v):
                out["columns"] = tuple(p.strip() for p in v)
            else:
                problems.append(
                    f"columns: {v!r} is not 'default', 'all' or a list of names/patterns"
                )
    if problems:
        raise ConfigError(problems)
    return Config(**out, sources=sources)


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--config: file {str(explicit)!r} not found")
        return explicit
    env = environ.get("LUXLOG_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"LUXLOG_CONFIG: file {env!r} not found")
        return path
    default = Path("config.yaml")
    return default if default.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


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
        raw.update(_read_yaml(file))
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
    return _validate(raw, tuple(sources))
