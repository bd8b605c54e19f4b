"""A command wrapped in coreutils ``timeout``: its signal, its bounds, the command it runs."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounded:
    signal: str
    duration: float
    kill_after: float | None
    argv: list[str]

    @property
    def bound(self) -> float:
        """The longest the job can live: TERM at ``duration``, KILL ``kill_after`` later."""
        return self.duration + (self.kill_after or 0.0)


def _seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text)
    assert m, f"not a timeout(1) duration: {text!r}"
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def parse_timeout(command: str) -> Bounded:
    """``timeout [-s SIG] [-k DUR] DURATION COMMAND...`` as GNU coreutils reads it."""
    argv = shlex.split(command)
    assert argv and argv[0] == "timeout", f"job is not wrapped in timeout: {command!r}"
    signal, kill_after = "TERM", None
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        opt = argv[i]
        if opt in ("-s", "--signal", "-k", "--kill-after"):
            value, i = argv[i + 1], i + 2
        elif "=" in opt:
            opt, value = opt.split("=", 1)
            i += 1
        else:
            raise AssertionError(f"unexpected timeout option {opt!r} in {command!r}")
        if opt in ("-s", "--signal"):
            signal = value
        else:
            kill_after = _seconds(value)
    return Bounded(signal, _seconds(argv[i]), kill_after, argv[i + 1 :])
