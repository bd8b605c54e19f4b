"""Configuration: YAML file, then ``LUXLOG_<KEY>`` environment variables, then CLI options.

The result is a frozen, validated ``Config`` loaded once per run. Every invalid field is
collected and reported in one ``ConfigError`` as ``field: bad value (what is allowed)``, so a
user fixes everything in one go instead of one error per run.

The file is read strictly: UTF-8 (a BOM is accepted; Notepad's UTF-16 and cp1252 are named as
such), no YAML aliases (``*name``: a few nested ones expand to gigabytes, the "billion laughs",
and a config file has no use for them) and no duplicate keys (YAML silently keeps the last
one; we name the key and both lines). Values quoted in messages are shortened, so a message
stays one readable line whatever the file holds.

Everything that would otherwise fail later, slowly or with a traceback, is refused here with
the field named: host names that cannot be resolved by construction (a label over 63
characters, a ``:port`` suffix), paths with a NUL byte, an unknown ``~user`` or beyond the
system's length limits, retention beyond ``MAX_DAYS`` (date arithmetic overflows near 739,000
days), and ``columns`` patterns that are not valid globs (``ID_WEB_[``). Whether a column
*name* exists needs the decoder (``luxtronik``), which the poll path must not import (see
cli.py); names are therefore resolved by ``report`` (``columns.select``), glob syntax here.
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
# 100 years: beyond any sensible retention, far below where date arithmetic overflows.
MAX_DAYS = 36_500
PATH_MAX = 4096  # Linux PATH_MAX (bytes, including the terminating NUL)
NAME_MAX = 255  # bytes in one path component on every common Linux file system
SHOWN_MAX = 60  # characters of a bad value quoted in a message
PROBLEMS_MAX = 20  # problems listed in one message; the rest are counted


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


def _clip(text: str) -> str:
    return text if len(text) <= SHOWN_MAX else f"{text[: SHOWN_MAX - 5]}…{text[-4:]}"


def _shown(value: Any) -> str:
    """``repr(value)``, shortened: a message quotes the bad value, not a megabyte of it."""
    return _clip(repr(value))


def path_problem(text: str) -> str | None:
    """Why ``text`` can never name a file on this system, or None."""
    if "\x00" in text:
        return "contains a NUL byte"
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        return "cannot be encoded as a file name"
    if len(raw) >= PATH_MAX:
        return f"is too long ({len(raw)} bytes, at most {PATH_MAX - 1})"
    if any(len(part) > NAME_MAX for part in raw.split(b"/")):
        return f"has a component longer than {NAME_MAX} bytes"
    return None


def _path(name: str, value: str, problems: list[str]) -> Path | None:
    problem = path_problem(value)
    if problem is None:
        try:
            return Path(value).expanduser()
        except RuntimeError:  # ~user of an unknown user, or no home directory at all
            user = value[1:].split("/", 1)[0]
            problem = f"cannot expand '~{user}' (no such user or no home directory)"
    problems.append(f"{name}: {_shown(value)} {problem}")
    return None


_LABEL = re.compile(r"[A-Za-z0-9_-]+")


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be a controller address (resolvable name, IPv4 or IPv6), or None."""
    if host.startswith("["):
        return "is bracketed: write an IPv6 address without [] and the port in 'port:'"
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        if port.isdigit():
            return f"has a port suffix: set 'host: {name}' and 'port: {port}'"
        return "is not a host name or IP address"
    if ":" in host:
        import ipaddress

        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "is not a valid IPv6 address"
        return None
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    length = 0
    for label in labels:
        if not label:
            return "has an empty label (two dots in a row?)"
        if not label.isascii():
            import encodings.idna

            try:
                label = encodings.idna.ToASCII(label).decode("ascii")
            except UnicodeError:
                return f"has a label longer than 63 characters or not valid IDNA ({_shown(label)})"
        if len(label) > 63:
            return f"has a label longer than 63 characters ({len(label)}: {_shown(label)})"
        if not _LABEL.fullmatch(label):
            return "is not a host name or IP address (letters, digits, '-', '_' and '.')"
        length += len(label) + 1
    if length - 1 > 253:
        return f"is longer than 253 characters ({length - 1})"
    return None


def glob_problem(spec: str) -> str | None:
    """Why the column pattern ``spec`` is not a valid glob (an unclosed ``[``), or None.

    fnmatch quietly reads an unclosed ``[`` as a literal, so ``ID_WEB_[`` would be a pattern
    matching nothing instead of the typo it is. The bracket rules are fnmatch's: ``[!…]``
    negates and a ``]`` right after ``[`` or ``[!`` is literal.
    """
    i, n = 0, len(spec)
    while i < n:
        if spec[i] == "[":
            j = i + 1
            if j < n and spec[j] == "!":
                j += 1
            if j < n and spec[j] == "]":
                j += 1
            while j < n and spec[j] != "]":
                j += 1
            if j >= n:
                return f"'[' at character {i + 1} is never closed by ']'"
            i = j
        i += 1
    return None


def _int(name: str, value: Any, lo: int, hi: int | None, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(f"{name}: {_shown(value)} is not a whole number")
        return None
    try:
        n = int(value)
    except ValueError:
        problems.append(f"{name}: {_shown(value)} is not a whole number")
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
        problems.append(f"{name}: {_shown(value)} is not a number")
        return None
    try:
        x = float(value)
    except ValueError:
        problems.append(f"{name}: {_shown(value)} is not a number")
        return None
    if not lo < x <= hi:
        problems.append(
            f"{name}: {_clip(str(value))} is out of range (allowed > {lo:g} and <= {hi:g})"
        )
        return None
    return x


def _validate(raw: Mapping[str, Any], sources: tuple[str, ...]) -> Config:
    problems: list[str] = []
    for key in sorted(set(raw) - KEYS):
        problems.append(f"{_clip(key)}: unknown key (allowed: {', '.join(sorted(KEYS))})")
    out: dict[str, Any] = {}

    if "host" in raw and raw["host"] is not None:
        host = raw["host"]
        if not isinstance(host, str) or not host.strip():
            problems.append(f"host: {_shown(host)} is not a host name or address")
        elif (problem := host_problem(host.strip())) is not None:
            problems.append(f"host: {_shown(host.strip())} {problem}")
        else:
            out["host"] = host.strip()
    ints = {
        "port": (1, 65535),
        "interval_sec": (MIN_INTERVAL, 86400),
        "retries": (0, 10),
        "retention_days": (1, MAX_DAYS),
        "db_retention_days": (1, MAX_DAYS),
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
            problems.append(
                f"csv_time: {_shown(raw['csv_time'])} is not a time HH:MM (00:00..23:59)"
            )
    if "timezone" in raw and raw["timezone"] not in (None, ""):
        tz = raw["timezone"]
        if isinstance(tz, str) and _valid_zone(tz.strip()):
            out["timezone"] = tz.strip()
        else:
            problems.append(
                f"timezone: {_shown(tz)} is not an IANA time zone name (e.g. Europe/Berlin, UTC)"
            )
    if "cache_path" in raw:
        v = raw["cache_path"]
        if isinstance(v, str | Path) and str(v).strip():
            path = _path("cache_path", str(v).strip(), problems)
            if path is not None:
                out["cache_path"] = path
        else:
            problems.append(f"cache_path: {_shown(v)} is not a file path")
    if "output_dirs" in raw:
        v = raw["output_dirs"]
        if isinstance(v, str):
            v = [p for p in (s.strip() for s in v.split(",")) if p]
        if not isinstance(v, list) or not all(isinstance(p, str | Path) and str(p) for p in v):
            problems.append(f"output_dirs: {_shown(v)} is not a list of directories")
        elif not v:
            problems.append("output_dirs: empty (give at least one directory)")
        else:
            before = len(problems)
            dirs = [_path("output_dirs", str(p), problems) for p in v]
            if len(problems) == before:
                out["output_dirs"] = tuple(d for d in dirs if d is not None)
    if "weekly_day" in raw:
        v = raw["weekly_day"]
        if isinstance(v, str) and v.strip().lower() in WEEKDAYS:
            out["weekly_day"] = v.strip().lower()
        else:
            problems.append(f"weekly_day: {_shown(v)} is not one of {', '.join(WEEKDAYS)}")
    if "csv_dialect" in raw:
        v = raw["csv_dialect"]
        if isinstance(v, str) and v.strip() in DIALECTS:
            out["csv_dialect"] = v.strip()
        else:
            problems.append(f"csv_dialect: {_shown(v)} is not one of {', '.join(DIALECTS)}")
    if "columns" in raw:
        v = raw["columns"]
        if isinstance(v, str) and v.strip() in ("default", "all"):
            out["columns"] = v.strip()
        else:
            if isinstance(v, str):
                v = [p for p in (s.strip() for s in v.split(",")) if p]
            if isinstance(v, list) and v and all(isinstance(p, str) and p.strip() for p in v):
                specs = tuple(p.strip() for p in v)
                bad = [(p, glob_problem(p)) for p in specs]
                for spec, problem in bad:
                    if problem is not None:
                        problems.append(
                            f"columns: pattern {_shown(spec)} is not a valid glob ({problem})"
                        )
                if all(problem is None for _, problem in bad):
                    out["columns"] = specs
            else:
                problems.append(
                    f"columns: {_shown(v)} is not 'default', 'all' or a list of names/patterns"
                )
    if problems:
        raise ConfigError(_capped(problems))
    return Config(**out, sources=sources)


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= PROBLEMS_MAX:
        return problems
    return [*problems[:PROBLEMS_MAX], f"… and {len(problems) - PROBLEMS_MAX} more problems"]


def _config_file(origin: str, path: Path) -> Path:
    """``path`` when it is an existing file; else a ConfigError naming ``origin``."""
    problem = path_problem(str(path))
    if problem is not None:
        raise ConfigError(f"{origin}: {_shown(str(path))} {problem}")
    try:
        if path.is_file():
            return path
    except OSError as exc:  # pragma: no cover - path_problem catches what is known to get here
        raise ConfigError(f"{origin}: {_shown(str(path))}: {exc.strerror}") from None
    raise ConfigError(f"{origin}: file {_shown(str(path))} not found")


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return _config_file("--config", explicit)
    env = environ.get("LUXLOG_CONFIG")
    if env:
        return _config_file("LUXLOG_CONFIG", Path(env))
    default = Path("config.yaml")
    return default if default.is_file() else None


def _decode(path: Path, data: bytes) -> str:
    """The file's text: strict UTF-8 (BOM allowed); anything else is named, with a hint."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]
    hint = "UTF-16? " if utf16 else "Windows-1252/Latin-1? "
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}; "
            f"{hint}save it as UTF-8)"
        ) from None
    if "\x00" in text:  # UTF-16 without a BOM decodes as UTF-8 with a NUL in every other byte
        offset = text.index("\x00")
        raise ConfigError(
            f"{path}: not UTF-8 (NUL byte at offset {offset}; {hint}save it as UTF-8)"
        )
    return text


def _strict_loader(yaml: Any) -> Any:
    """A SafeLoader that refuses aliases and records duplicate keys (see the module docstring)."""

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        duplicates: list[str]

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "aliases (*name) are not allowed in a luxlog config: write the value out",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen.setdefault(key, line)
                except TypeError:
                    continue  # unhashable: the base class names it
                if first is not None:
                    self.duplicates.append(
                        f"duplicate key {_shown(key)} on lines {first} and {line}"
                    )
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    loader = _strict_loader(yaml)(_decode(path, data))
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {str(problem)[:200]}") from None
    except RecursionError:  # PyYAML composes recursively: [[[[… thousands deep
        raise ConfigError(f"{path}: nested too deeply") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError(_capped([f"{path}: {d}" for d in loader.duplicates]))
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value, got {type(doc).__name__}")
    return {str(k): v for k, v in doc.items()}


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
