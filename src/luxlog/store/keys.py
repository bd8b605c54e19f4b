"""Sample keys: the slot an instant belongs to, and instants given as datetimes or epochs.

Import-light (no datetime at import): the poll path reaches the store package.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt


def slot_of(t: float, interval: int) -> int:
    """The slot holding instant ``t``: ``floor(t / interval) * interval``."""
    return int(t // interval) * interval


def slot_at_or_after(t: float, interval: int) -> int:
    """The first slot starting at or after the whole second ``int(t)`` (rounded up to a slot)."""
    return -(-int(t) // interval) * interval


def to_epoch(value: dt.datetime | float | int, what: str = "timestamp") -> float:
    """Aware datetime or epoch seconds -> epoch seconds; naive datetimes are refused."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{what}: naive datetime {value.isoformat()} (give a time zone, e.g. "
                "datetime(..., tzinfo=timezone.utc))"
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what}: expected an aware datetime or epoch seconds, got {value!r}")
    return float(value)
