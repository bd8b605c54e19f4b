"""The ``/api/now`` object: the newest stored sample as ``luxlog show --stored`` decodes it,
its mode and compressor state, doctor's database-side checks and the newest error codes.

Read-only: the store is opened read-only by the caller and doctor's checks open their own
read-only connection (``quick``: no integrity check, no controller contact).
"""

from __future__ import annotations

import time
from typing import Any

from luxlog.config import Config
from luxlog.decode import ABSENT, CALC_MODE, firmware_version, mode_label
from luxlog.push.identity import site_of  # no driver: identity never imports psycopg
from luxlog.sample import Sample
from luxlog.show import decode
from luxlog.store import Store
from luxlog.summary.day import C_COMPRESSOR, C_ERROR_CODES, C_ERROR_TIMES
from luxlog.text import format_utc

# What the codes mean (protocol.md §value semantics; python-luxtronik's Errorcode has none).
ERROR_TEXT = {
    715: "high-pressure switch-off",
    716: "high-pressure fault",
    717: "flow rate fault",
    718: "maximum outdoor temperature",
    719: "minimum outdoor temperature",
    720: "heat source temperature limit",
    721: "low-pressure switch-off",
    729: "phase sequence fault",
    751: "phase monitoring fault",
    752: "phase monitoring / flow fault",
    761: "LIN connection lost",
    792: "LIN connection lost",
}


def _state(calcs: tuple[int, ...], index: int) -> bool | None:
    """Whether calculation ``index`` is 1; None when the block does not hold it."""
    if index >= len(calcs) or calcs[index] == ABSENT:
        return None
    return calcs[index] == 1


def newest_sample(store: Store) -> Sample | None:
    slot = store.newest_slot()
    rows = [] if slot is None else list(store.iter_rows(slot, slot + 1))
    return rows[-1] if rows else None


def errors(sample: Sample) -> list[dict[str, Any]]:
    """The error ring (newest first) as [{"time", "code", "text"}]; empty entries left out."""
    c = sample.calculations
    if len(c) <= C_ERROR_CODES[-1]:
        return []
    found = []
    for ti, ci in zip(C_ERROR_TIMES, C_ERROR_CODES, strict=True):
        t, code = c[ti], c[ci]
        if t not in (0, ABSENT) and code not in (0, ABSENT):
            found.append({"time": format_utc(t), "code": code, "text": ERROR_TEXT.get(code, "")})
    return sorted(found, key=lambda e: e["time"], reverse=True)


def checks(cfg: Config, at: float) -> list[dict[str, str]]:
    """doctor's database-side checks (read-only, no integrity check, no controller)."""
    from luxlog.doctor.database import store_checks

    return [
        {"name": c.name, "status": c.status.lower(), "detail": c.detail}
        for c in store_checks(cfg, at, quick=True, snapshot=True)
    ]


def now(
    store: Store | None,
    cfg: Config,
    at: float | None = None,
    checks_of: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The ``/api/now`` object. ``store`` None: no database yet (``time`` null, no values).

    ``checks_of``: checks already computed (the server keeps them a short while); else they
    are run here.
    """
    t = time.time() if at is None else at
    sample = newest_sample(store) if store is not None else None
    out: dict[str, Any] = {
        "time": None,
        "epoch": None,
        "age_s": None,
        "firmware": None,
        "site": site_of(cfg),  # as luxlog push names it centrally
        "values": [],
        "mode": None,
        "compressor": None,
        "checks": checks(cfg, t) if checks_of is None else checks_of,
        "errors": [],
    }
    if sample is None:
        return out
    c = sample.calculations
    out.update(
        time=format_utc(sample.slot),
        epoch=sample.slot,
        age_s=round(t - sample.slot, 1),
        firmware=firmware_version(c),
        values=[
            {"name": v.name, "header": v.header, "unit": v.unit or None, "value": v.value}
            for v in decode(sample)
        ],
        mode=None if _state(c, CALC_MODE) is None else mode_label(c[CALC_MODE]),
        compressor=_state(c, C_COMPRESSOR),
        errors=errors(sample),
    )
    return out
