"""The rules a configuration value must follow, one per key, in the table ``RULES``.

A rule takes the key, the raw value (from YAML, an environment string or an option) and the
list of problems; it returns the converted value, or ``None`` after appending
``field: bad value (what is allowed)`` (``None`` for an unset optional key appends nothing).
``validate`` runs every rule so all problems are reported at once; the table's order is the
order of the messages.

Everything that would otherwise fail later, slowly or with a traceback, is refused here with
the field named: host names that cannot be resolved by construction (a label over 63
characters, a ``:port`` suffix), paths with a NUL byte, an unknown ``~user`` or beyond the
system's length limits, retention beyond ``MAX_DAYS`` (date arithmetic overflows near 739,000
days), and ``columns`` patterns that are not valid globs (``ID_WEB_[``). Whether a column
*name* exists needs the decoder (``luxtronik``), which the poll path must not import (see
cli.py); names are therefore resolved by ``report`` and ``doctor`` (``columns.select``), glob
syntax here. Values quoted in messages are shortened, so a message stays one readable line
whatever the file holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from luxlog.errors import ConfigError

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Rule = Callable[[str, Any, list[str]], Any]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DIALECTS = ("excel", "excel-de", "plain")
MIN_INTERVAL = 10  # controllers are known to crash when polled harder (protocol.md §2.6)
# 100 years: beyond any sensible retention, far below where date arithmetic overflows.
MAX_DAYS = 36_500
PATH_MAX = 4096  # Linux PATH_MAX (bytes, including the terminating NUL)
NAME_MAX = 255  # bytes in one path component on every common Linux file system
SHOWN_MAX = 60  # characters of a bad value quoted in a message
PROBLEMS_MAX = 20  # problems listed in one message; the rest are counted


def clip(text: str) -> str:
    return text if len(text) <= SHOWN_MAX else f"{text[: SHOWN_MAX - 5]}…{text[-4:]}"


def shown(value: Any) -> str:
    """``repr(value)``, shortened: a message quotes the bad value, not a megabyte of it."""
    return clip(repr(value))


def capped(problems: list[str]) -> list[str]:
    if len(problems) <= PROBLEMS_MAX:
        return problems
    return [*problems[:PROBLEMS_MAX], f"… and {len(problems) - PROBLEMS_MAX} more problems"]


# Checking the system's tz database directly spares the poll path the zoneinfo import
# (~8 ms of a ~70 ms poll); anything not found there is left to zoneinfo (tzdata package).
_SYSTEM_ZONEINFO = "/usr/share/zoneinfo"


def valid_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    candidate = f"{_SYSTEM_ZONEINFO}/{name}"
    try:
        with open(candidate, "rb") as f:
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


# A host label's characters; checked with str.strip rather than ``re`` (~2 ms per cron poll)
_LABEL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


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
                return f"has a label longer than 63 characters or not valid IDNA ({shown(label)})"
        if len(label) > 63:
            return f"has a label longer than 63 characters ({len(label)}: {shown(label)})"
        if label.strip(_LABEL_CHARS):  # a character outside [A-Za-z0-9_-] is left
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


# ------------------------------------------------------------------------------------ rules


def _parsed(key: str, value: Any, kinds: tuple[type, ...], noun: str, problems: list[str]) -> Any:
    """``kinds[0](value)``, or None after naming ``value`` as not a ``noun`` (never a bool)."""
    if not isinstance(value, bool) and isinstance(value, kinds):
        try:
            return kinds[0](value)
        except ValueError:
            pass
    problems.append(f"{key}: {shown(value)} is not a {noun}")
    return None


def _whole(key: str, value: Any, lo: int, hi: int, problems: list[str]) -> int | None:
    n: int | None = _parsed(key, value, (int, str), "whole number", problems)
    if n is not None and (n < lo or n > hi):
        problems.append(f"{key}: {n} is out of range (allowed {lo}..{hi})")
        return None
    return n


def _below(value: Any, lo: int) -> bool:
    try:
        return int(value) < lo
    except (TypeError, ValueError):
        return False


def whole(lo: int, hi: int, below: str = "") -> Rule:
    """A whole number in ``lo..hi``; ``below`` is added to the message of a value below ``lo``."""

    def rule(key: str, value: Any, problems: list[str]) -> int | None:
        n = _whole(key, value, lo, hi, problems)
        if n is None and below and _below(value, lo):
            problems[-1] += below
        return n

    return rule


def number(lo: float, hi: float) -> Rule:
    """A number above ``lo`` and at most ``hi``."""

    def rule(key: str, value: Any, problems: list[str]) -> float | None:
        x: float | None = _parsed(key, value, (float, int, str), "number", problems)
        if x is None:
            return None
        if not lo < x <= hi:
            problems.append(
                f"{key}: {clip(str(value))} is out of range (allowed > {lo:g} and <= {hi:g})"
            )
            return None
        return x

    return rule


def choice(options: tuple[str, ...], *, fold_case: bool = False) -> Rule:
    """One of ``options`` (compared lower-cased when ``fold_case``)."""

    def rule(key: str, value: Any, problems: list[str]) -> str | None:
        if isinstance(value, str):
            word = value.strip().lower() if fold_case else value.strip()
            if word in options:
                return word
        problems.append(f"{key}: {shown(value)} is not one of {', '.join(options)}")
        return None

    return rule


def host(key: str, value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key}: {shown(value)} is not a host name or address")
    elif (problem := host_problem(value.strip())) is not None:
        problems.append(f"{key}: {shown(value.strip())} {problem}")
    else:
        return value.strip()
    return None


def csv_time(key: str, value: Any, problems: list[str]) -> str | None:
    v = value
    if isinstance(v, int) and not isinstance(v, bool):
        # YAML 1.1 reads an unquoted 07:00 as the sexagesimal number 420
        v = f"{v // 60:02d}:{v % 60:02d}" if 0 <= v < 1440 else str(v)
    import re  # only when csv_time is configured: re is off the poll path

    if isinstance(v, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v.strip()):
        return v.strip()
    problems.append(f"{key}: {shown(value)} is not a time HH:MM (00:00..23:59)")
    return None


def timezone(key: str, value: Any, problems: list[str]) -> str | None:
    if value in (None, ""):
        return None  # the system's zone, resolved when first needed
    if isinstance(value, str) and valid_zone(value.strip()):
        return value.strip()
    problems.append(
        f"{key}: {shown(value)} is not an IANA time zone name (e.g. Europe/Berlin, UTC)"
    )
    return None


def path_text(path: str | os.PathLike[str]) -> str:
    """``str(Path(path))`` without pathlib: the same spelling, so equal paths compare equal."""
    text = os.fspath(path)
    root = "//" if text.startswith("//") and not text.startswith("///") else "/" * (text[:1] == "/")
    parts = [p for p in text.split("/") if p and p != "."]
    return root + "/".join(parts) if root or parts else "."


def expand_user(text: str) -> str | None:
    """``Path(text).expanduser()`` as text (pathlib is off the poll path); None: not expandable."""
    text = path_text(text)  # as Path does: "./~/x" is "~/x" before the user is looked at
    first, _sep, rest = text.partition("/")
    if not first.startswith("~"):
        return text
    home = os.path.expanduser(first)
    if home.startswith("~"):  # ~user of an unknown user, or no home directory at all
        return None
    return path_text(os.path.join(home, rest))  # HOME=/ gives /x, not //x


def _path(key: str, value: str, problems: list[str]) -> str | None:
    """The path as normalised text (``Config`` makes the ``Path``), or None after a problem."""
    problem = path_problem(value)
    if problem is None:
        expanded = expand_user(value)
        if expanded is not None:
            return path_text(expanded)
        user = value[1:].split("/", 1)[0]
        problem = f"cannot expand '~{user}' (no such user or no home directory)"
    problems.append(f"{key}: {shown(value)} {problem}")
    return None


def file_path(key: str, value: Any, problems: list[str]) -> str | None:
    if isinstance(value, str | os.PathLike) and str(value).strip():
        return _path(key, str(value).strip(), problems)
    problems.append(f"{key}: {shown(value)} is not a file path")
    return None


def _comma_list(value: Any) -> Any:
    """An environment variable's ``a, b`` as a list; any other value unchanged."""
    if isinstance(value, str):
        return [p for p in (s.strip() for s in value.split(",")) if p]
    return value


def directories(key: str, value: Any, problems: list[str]) -> tuple[str, ...] | None:
    v = _comma_list(value)
    if not isinstance(v, list) or not all(isinstance(p, str | os.PathLike) and str(p) for p in v):
        problems.append(f"{key}: {shown(v)} is not a list of directories")
        return None
    if not v:
        problems.append(f"{key}: empty (give at least one directory)")
        return None
    before = len(problems)
    dirs = [_path(key, str(p), problems) for p in v]
    if len(problems) > before:
        return None
    return tuple(d for d in dirs if d is not None)


def columns(key: str, value: Any, problems: list[str]) -> str | tuple[str, ...] | None:
    if isinstance(value, str) and value.strip() in ("default", "all"):
        return value.strip()
    v = _comma_list(value)
    if not (isinstance(v, list) and v and all(isinstance(p, str) and p.strip() for p in v)):
        problems.append(f"{key}: {shown(v)} is not 'default', 'all' or a list of names/patterns")
        return None
    specs = tuple(p.strip() for p in v)
    bad = [(spec, problem) for spec in specs if (problem := glob_problem(spec)) is not None]
    for spec, problem in bad:
        problems.append(f"{key}: pattern {shown(spec)} is not a valid glob ({problem})")
    return None if bad else specs


SITE_MAX = 64  # characters of a site name: a readable key in every central row
_SITE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def site(key: str, value: Any, problems: list[str]) -> str | None:
    """A stable name for this heat pump in the central database (``luxlog push``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # derived from host and cache_path when needed (push.identity)
    text = value.strip() if isinstance(value, str) else ""
    if not text or text.strip(_SITE_CHARS) or len(text) > SITE_MAX:
        problems.append(
            f"{key}: {shown(value)} is not a site name (1..{SITE_MAX} letters, digits, '-', "
            "'_' and '.')"
        )
        return None
    return text


def push_url(key: str, value: Any, problems: list[str]) -> str | None:
    """A libpq connection URL; the message masks its password (``masking.mask_url``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # push disabled
    from luxlog.masking import mask_url

    text = value.strip() if isinstance(value, str) else ""
    if not text.startswith(("postgresql://", "postgres://")):
        what = clip(repr(mask_url(text))) if text else shown(value)
        problems.append(
            f"{key}: {what} is not a PostgreSQL URL (postgresql://user@host:5432/database)"
        )
        return None
    return text


def optional_file(key: str, value: Any, problems: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return file_path(key, value, problems)


TOKEN_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="
)  # cookie- and header-safe without quoting
TOKEN_LENGTH = (16, 256)  # shorter is guessable; longer is no safer and bloats every request


def token(key: str, value: Any, problems: list[str]) -> str | None:
    """A shared secret (``serve_token``): never quoted back, it may be a real one mistyped."""
    if value in (None, ""):
        return None
    lo, hi = TOKEN_LENGTH
    if isinstance(value, str) and lo <= len(value) <= hi and set(value) <= TOKEN_CHARS:
        return value
    got = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
    problems.append(
        f"{key}: must be {lo}..{hi} characters of A-Z a-z 0-9 - . _ ~ + / = (got {got}); "
        "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
    return None


FLAG_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}  # fmt: skip


def flag(key: str, value: Any, problems: list[str]) -> bool | None:
    """true/false (YAML), or a word an environment variable can carry (true, no, 1, off …)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in FLAG_WORDS:
        return FLAG_WORDS[value.strip().lower()]
    problems.append(f"{key}: {shown(value)} is not true or false")
    return None


RULES: dict[str, Rule] = {
    "host": host,
    "port": whole(1, 65535),
    "interval_sec": whole(
        MIN_INTERVAL, 86400, below=" — controllers crash when polled faster than every 10 s"
    ),
    "retries": whole(0, 10),
    "retention_days": whole(1, MAX_DAYS),
    "db_retention_days": whole(1, MAX_DAYS),
    "timeout_sec": number(0.0, 3600.0),
    "disk_max_percent": number(0.0, 100.0),
    "csv_time": csv_time,
    "timezone": timezone,
    "cache_path": file_path,
    "output_dirs": directories,
    "weekly_day": choice(WEEKDAYS, fold_case=True),
    "csv_dialect": choice(DIALECTS),
    "columns": columns,
    "site": site,
    "push_url": push_url,
    "push_password_file": optional_file,
    "push_batch": whole(1, 100_000),
    "serve_token": token,
    "html_reports": flag,
}
KEYS = frozenset(RULES)


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The valid values of ``raw`` by key; a ConfigError listing every problem otherwise."""
    problems = [
        f"{clip(key)}: unknown key (allowed: {', '.join(sorted(KEYS))})"
        for key in sorted(set(raw) - KEYS)
    ]
    out: dict[str, Any] = {}
    for key, rule in RULES.items():
        if key in raw and (value := rule(key, raw[key], problems)) is not None:
            out[key] = value
    if problems:
        raise ConfigError(capped(problems))
    return out
