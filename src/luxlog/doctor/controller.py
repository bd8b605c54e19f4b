"""The controller checks: ``controller`` (reachability, firmware, block lengths) and ``clock``."""

from __future__ import annotations

import socket

from luxlog.client import client_from_config
from luxlog.config import Config
from luxlog.decode import CALC_CLOCK as CLOCK_INDEX
from luxlog.decode import CALC_FIRMWARE_END as FIRMWARE_END
from luxlog.decode import firmware_version
from luxlog.doctor.diagnosis import FAIL, OK, WARN, Check
from luxlog.errors import DeviceError
from luxlog.retry import RetryPolicy
from luxlog.text import format_duration as _duration
from luxlog.text import format_utc as _utc

CLOCK_WARN_SEC = 60
# 8889 is the config interface from firmware ~1.73 on, 8888 before; users mix them up.
SWAPPED_PORTS = {8888: 8889, 8889: 8888}
PORT_PROBE_SEC = 2.0


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _port_accepts(host: str, port: int, timeout: float) -> bool:
    """A bare TCP connect, closed at once: nothing is sent, so nothing can be written."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_controller(cfg: Config) -> list[Check]:
    """Reachability, firmware and block lengths, then the clock drift against this host."""
    if not cfg.host:
        return [
            Check(
                "controller",
                FAIL,
                "host: not configured (set 'host:' in config.yaml, LUXLOG_HOST or --host)",
            )
        ]
    # doctor answers now; the poll's back-off is for riding out a blip
    client = client_from_config(cfg, RetryPolicy.from_config(cfg, waits=False))
    try:
        outcome = client.read()
    except DeviceError as exc:
        detail = str(exc)
        other = SWAPPED_PORTS.get(cfg.port)
        if (
            other is not None
            and isinstance(_root_cause(exc), ConnectionRefusedError)
            and _port_accepts(cfg.host, other, min(PORT_PROBE_SEC, cfg.attempt_timeout))
        ):
            detail += (
                f"; port {other} accepts connections: the ports look swapped (set port: {other})"
            )
        return [Check("controller", FAIL, detail)]
    sample = outcome.sample
    assert sample is not None
    calcs = sample.calculations
    lengths = (
        f"{len(sample.parameters)} parameters, {len(calcs)} calculations, "
        f"{len(sample.visibilities)} visibilities"
    )
    firmware = firmware_version(calcs) if len(calcs) >= FIRMWARE_END else ""
    plural = "s" if outcome.attempts != 1 else ""
    detail = (
        f"{client.where} answered in {outcome.duration:.2f} s ({outcome.attempts} attempt"
        f"{plural}): firmware {firmware or 'unknown'}, {lengths}"
    )
    checks = [Check("controller", OK if firmware else WARN, detail)]
    if len(calcs) <= CLOCK_INDEX:
        checks.append(Check("clock", WARN, f"only {len(calcs)} calculations: no clock (134)"))
        return checks
    drift = calcs[CLOCK_INDEX] - sample.time
    if abs(drift) < 1:
        text = "in step with this host"
    else:
        text = f"{_duration(drift)} {'ahead of' if drift > 0 else 'behind'} this host"
    text = f"controller clock {text} (calculation 134: {_utc(calcs[CLOCK_INDEX])})"
    if abs(drift) > CLOCK_WARN_SEC:
        checks.append(Check("clock", WARN, f"{text}; set the controller's clock"))
    else:
        checks.append(Check("clock", OK, text))
    return checks
