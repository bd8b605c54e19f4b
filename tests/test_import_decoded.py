"""Decoded python-luxtronik values back to raw integers: exact or not at all."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from luxtronik.calculations import Calculations
from luxtronik.parameters import Parameters

from luxlog.importer.decoded import to_raw

BERLIN = ZoneInfo("Europe/Berlin")
CALC = Calculations.calculations
TVL, EVU, MODE, VERSION, IP, ERROR_TIME, IMPULSES = (CALC[i] for i in (10, 31, 80, 81, 91, 95, 57))


@pytest.mark.parametrize(
    ("datatype", "value", "raw"),
    [
        (TVL, 45.4, 454),
        (TVL, -4.0, -40),
        (TVL, 45, 450),  # an int where a float was written
        (TVL, 45.43, None),  # finer than the sensor's 0.1 °C
        (TVL, float("nan"), None),
        (TVL, 1e300, None),
        (TVL, True, None),  # a bool is not a temperature
        (TVL, "45.4", None),  # text is not a number
        (TVL, [45.4], None),
        (EVU, True, 1),
        (EVU, False, 0),
        (EVU, 1, None),  # luxtronik gives a bool for a Bool, never an int
        (MODE, "heating", 0),
        (MODE, "no such mode", None),
        (IMPULSES, 70371, 70371),
        (IMPULSES, 70371.5, None),
        (IMPULSES, 2**40, None),  # beyond the controller's int32
        (IP, "192.168.88.11", -1062709237),
        (IP, "10.0.0.1", 167772161),
        (IP, "not an address", None),
        (VERSION, "V3.78", [86, 51, 46, 55, 56, 0, 0, 0, 0]),
        (VERSION, "V3.78.123456", None),  # longer than calculations 81..89
        (VERSION, "Vé", None),
        (ERROR_TIME, "2026-11-20 08:00:00", 1795158000),  # CET
        (ERROR_TIME, "2026-07-20 08:00:00", 1784527200),  # CEST
        (ERROR_TIME, "2026-10-25 02:30:00", None),  # the autumn fold: two instants
        (ERROR_TIME, "2026-03-29 02:30:00", None),  # the spring gap: no such local time
        (ERROR_TIME, "1970-01-01 01:00:00", 0),  # luxtronik's "never" (raw <= 0)
        (ERROR_TIME, "2026-11-20 08:00:00.5", None),
        (ERROR_TIME, "2026-11-20T07:00:00+00:00", 1795158000),  # a zoned time is that instant
        (ERROR_TIME, "yesterday", None),
    ],
)
def test_a_decoded_value_converts_back_only_when_exact(
    datatype: Any, value: object, raw: object
) -> None:
    assert to_raw(datatype, value, BERLIN) == raw


def test_a_label_two_codes_share_is_not_guessed() -> None:
    code = CALC[230]  # HeatpumpCode: "ERC" is code 0 and code 31
    assert to_raw(code, "ERC", BERLIN) is None
    unique = next(
        label for label in code.codes.values() if list(code.codes.values()).count(label) == 1
    )
    assert to_raw(code, unique, BERLIN) == next(k for k, v in code.codes.items() if v == unique)


def test_parameters_convert_with_their_own_datatypes() -> None:
    table = Parameters.parameters
    celsius = next(d for d in table.values() if type(d).__name__ == "Celsius")
    assert to_raw(celsius, 21.5, BERLIN) == 215
