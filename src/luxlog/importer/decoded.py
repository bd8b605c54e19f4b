"""A value python-luxtronik decoded, converted back to the integer the controller sent.

roelven/luxtronik-logger stores what luxtronik's datatypes return (``from_heatpump``): scaled
floats (``45.4``), bools, state labels (``"heating"``), IP addresses, the firmware string, and
timestamps as naive local ``datetime``s written by ``json.dumps(default=str)``
(``"2026-11-26 08:00:30"``). A value converts back only when the conversion is **exact**: the
candidate integer, decoded again with the same datatype, gives the stored value back. Anything
else (a label two codes share, ``None`` for an unknown code, a float off the sensor's grid, a
local time the DST change makes ambiguous) is not guessed: ``to_raw`` returns ``None`` and the
caller leaves the value absent and counts it.

Timestamps were written in the logger host's local time; they are read in the configured
``timezone``. luxtronik shows every raw timestamp ≤ 0 as the epoch; it is imported as 0.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from zoneinfo import ZoneInfo

Raw = int | list[int] | None  # one integer; the firmware string: its character codes
INT32 = (-(2**31), 2**31 - 1)
FIRMWARE_CHARS = 9  # luxtronik 0.3.x decodes calculations 81..89 into the firmware string


def _kind(datatype: object) -> str:
    return type(datatype).__name__


def to_raw(datatype: object, value: object, tz: ZoneInfo) -> Raw:
    """The raw integer for a decoded ``value`` of luxtronik's ``datatype``, or None."""
    kind = _kind(datatype)
    if isinstance(value, str):
        return _from_text(datatype, kind, value, tz)
    if isinstance(value, bool):
        candidate: int | None = int(value)
    elif isinstance(value, int | float) and value == value and abs(value) < 2**53:
        candidate = round(value * _scale(datatype))
    else:
        return None
    return candidate if _decodes_to(datatype, candidate, value) else None


def _scale(datatype: object) -> float:
    """How many raw units one decoded unit is (10 for 45.4 °C <- 454): a probe of the datatype
    itself, so it cannot drift from the library; 1 for anything not a plain number."""
    try:
        probe = datatype.from_heatpump(1000)  # type: ignore[attr-defined]
    except Exception:
        return 1
    if isinstance(probe, bool) or not isinstance(probe, int | float) or probe == 0:
        return 1
    return 1000 / probe


def _decodes_to(datatype: object, raw: int | None, value: object) -> bool:
    if raw is None or not INT32[0] <= raw <= INT32[1]:
        return False
    try:
        back = datatype.from_heatpump(raw)  # type: ignore[attr-defined]
    except Exception:
        return False
    # 45 and 45.0 are the same reading; True and 1 are not the same kind of value
    return isinstance(back, bool) == isinstance(value, bool) and bool(back == value)


def _from_text(datatype: object, kind: str, value: str, tz: ZoneInfo) -> Raw:
    codes = getattr(datatype, "codes", None)
    if isinstance(codes, dict):
        hits = [code for code, label in codes.items() if label == value]
        return hits[0] if len(hits) == 1 else None  # a label two codes share is ambiguous
    if kind == "Timestamp":
        return _from_local_time(value, tz)
    if kind == "IPAddress":
        try:
            unsigned = int(ipaddress.IPv4Address(value))
        except ValueError:
            return None
        # as the signed int32 the controller sends (luxtronik 0.3.14's to_heatpump does not)
        raw = unsigned - 2**32 if unsigned >= 2**31 else unsigned
        return raw if _decodes_to(datatype, raw, value) else None
    if kind == "Version":
        return _from_firmware(value)
    return None


def _from_local_time(value: str, tz: ZoneInfo) -> int | None:
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return int(naive.timestamp()) if naive.microsecond == 0 else None
    if naive.microsecond:
        return None
    if naive == dt.datetime.fromtimestamp(0, tz).replace(tzinfo=None):
        return 0
    early, late = (naive.replace(tzinfo=tz, fold=f).timestamp() for f in (0, 1))
    if early != late:
        return None  # the repeated (or skipped) hour of a DST change: two candidates
    raw = int(early)
    back = dt.datetime.fromtimestamp(raw, tz).replace(tzinfo=None)
    return raw if back == naive and INT32[0] <= raw <= INT32[1] else None


def _from_firmware(value: str) -> list[int] | None:
    """``"V3.78"`` -> the character codes of calculations 81..89, NUL padded."""
    if len(value) > FIRMWARE_CHARS or not value.isascii() or "\x00" in value:
        return None
    codes = [ord(c) for c in value]
    return codes + [0] * (FIRMWARE_CHARS - len(codes))
