"""One raw sample: the three blocks exactly as the controller sent them, and when.

The client returns one from a read, the store keeps it under its slot, the codec packs it, the
simulator produces it. It sits on the poll path, so it is a plain class with ``__slots__``
rather than a dataclass (importing ``dataclasses`` costs every cron-fired poll); treat an
instance as immutable.
"""

from __future__ import annotations


class Sample:
    """A sample's key is ``slot`` (UTC epoch seconds); ``time`` is when it was read.

    A fresh read has the whole second of its read time as ``slot`` until ``with_slot`` files it
    under its slot; a stored sample knows only its slot (``time == slot``). ``time`` is not
    part of equality: storing keeps the slot, not the instant.
    """

    __slots__ = ("calculations", "parameters", "slot", "stat", "time", "visibilities")

    def __init__(
        self,
        slot: int,
        stat: int,
        parameters: tuple[int, ...],
        calculations: tuple[int, ...],
        visibilities: tuple[int, ...],
        time: float | None = None,
    ) -> None:
        self.slot = slot
        self.stat = stat
        self.parameters = parameters
        self.calculations = calculations
        self.visibilities = visibilities
        self.time: float = slot if time is None else time

    @classmethod
    def read_at(
        cls,
        time: float,
        stat: int,
        parameters: tuple[int, ...],
        calculations: tuple[int, ...],
        visibilities: tuple[int, ...],
    ) -> Sample:
        """A sample read from a controller at ``time``, not yet filed under its slot."""
        return cls(int(time), stat, parameters, calculations, visibilities, time)

    @classmethod
    def from_values(
        cls, slot: int, stat: int, values: list[int], lengths: tuple[int, int, int]
    ) -> Sample:
        """The inverse of ``values()``: split the concatenated blocks at ``lengths``."""
        n_p, n_c, _ = lengths
        return cls(
            slot,
            stat,
            tuple(values[:n_p]),
            tuple(values[n_p : n_p + n_c]),
            tuple(values[n_p + n_c :]),
        )

    @property
    def lengths(self) -> tuple[int, int, int]:
        return len(self.parameters), len(self.calculations), len(self.visibilities)

    def values(self) -> list[int]:
        """The three blocks concatenated (parameters, calculations, visibilities)."""
        return [*self.parameters, *self.calculations, *self.visibilities]

    def with_slot(self, slot: int) -> Sample:
        return Sample(
            slot, self.stat, self.parameters, self.calculations, self.visibilities, self.time
        )

    def _key(self) -> tuple[object, ...]:
        return (self.slot, self.stat, self.parameters, self.calculations, self.visibilities)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Sample({!r}, {!r}, {!r}, {!r}, {!r})".format(*self._key())
