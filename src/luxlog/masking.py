"""The one place a connection URL is made fit for logs and messages: its password masked.

``push_url`` may carry a password (``postgresql://user:secret@host/db`` or
``?password=secret``). Every URL luxlog prints (a config error, a log line, a push error,
``doctor``) goes through ``mask_url``; the password itself is never shown. Plain string work,
no ``re`` or ``urllib``: the config rules that call it are on the poll path.
"""

from __future__ import annotations

MASK = "***"


def _mask_userinfo(rest: str) -> str:
    """``user:secret@host…`` -> ``user:***@host…`` (the authority ends at the first ``/?#``)."""
    end = len(rest)
    for stop in "/?#":
        i = rest.find(stop)
        if i != -1:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:]
    at = authority.rfind("@")
    if at == -1:
        return rest
    user, colon, _secret = authority[:at].partition(":")
    return f"{user}{':' + MASK if colon else ''}{authority[at:]}{tail}"


def _mask_query(text: str) -> str:
    """Every ``password=…`` parameter (URL query or ``key=value`` string) masked."""
    out: list[str] = []
    rest = text
    while True:
        i = rest.lower().find("password=")
        if i == -1 or (i > 0 and rest[i - 1] not in "?&; "):
            if i == -1:
                out.append(rest)
                return "".join(out)
            out.append(rest[: i + 9])
            rest = rest[i + 9 :]
            continue
        out.append(rest[: i + 9] + MASK)
        rest = rest[i + 9 :]
        j = min(
            (k for k in (rest.find("&"), rest.find(" "), rest.find("#")) if k != -1), default=-1
        )
        rest = "" if j == -1 else rest[j:]


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``; the rest (user, host, port, database,
    options) kept, so the message still says which server is meant."""
    scheme, sep, rest = url.partition("://")
    masked = f"{scheme}{sep}{_mask_userinfo(rest)}" if sep else url
    return _mask_query(masked)


def secrets_of(url: str, *more: str | None) -> tuple[str, ...]:
    """Every password ``url`` carries (the userinfo's, each ``password=`` value), as written and
    percent-decoded, longest first, plus ``more`` (a password file's): what a driver's error
    text must never show (libpq echoes a token it cannot parse, even the whole URL)."""
    from urllib.parse import unquote  # only a push needs this, never a poll

    found = [s for s in more if s]
    rest = url.partition("://")[2]
    authority = rest[: min([i for i in map(rest.find, "/?#") if i != -1], default=len(rest))]
    user_info, at, _ = authority.rpartition("@")
    if at and ":" in user_info:
        found.append(user_info.partition(":")[2])
    for part in rest.partition("?")[2].partition("#")[0].split("&"):
        key, eq, value = part.partition("=")
        if eq and key.lower() == "password":
            found.append(value)
    decoded = [unquote(s) for s in found]
    return tuple(sorted({s for s in (*found, *decoded) if s}, key=lambda s: (-len(s), s)))
