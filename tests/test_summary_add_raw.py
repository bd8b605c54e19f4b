"""``Store.add_raw`` (raw history from other sources) and ``Store.add``'s float tolerance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from luxlog.errors import StoreError
from luxlog.sample import Sample
from luxlog.store import Store

UTC = dt.UTC
BASE = 1_767_225_600  # 2026-01-01T00:00Z


def test_add_raw_stores_the_three_blocks_exactly_under_the_slot(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        assert s.add_raw(BASE + 12, parameters=[1, -2], calculations=[3], visibilities=[]) is True
        assert s.add_raw(BASE + 20, calculations=[9]) is False  # same slot: the first one wins
        rows = list(s.iter_rows(BASE, BASE + 30))
    assert rows == [Sample(BASE, 0, (1, -2), (3,), ())]


def test_add_raw_accepts_an_aware_datetime_and_empty_blocks(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        s.add_raw(dt.datetime.fromtimestamp(BASE + 30, UTC))
        assert list(s.iter_rows(BASE, BASE + 60)) == [Sample(BASE + 30, 0, (), (), ())]


@pytest.mark.parametrize("bad", [2**31, -(2**31) - 1, 1.5, True, "7"])
def test_add_raw_refuses_a_value_that_is_not_int32_naming_block_and_index(
    tmp_path: Path, bad: object
) -> None:
    with Store(tmp_path / "t.db") as s:
        with pytest.raises(StoreError, match=r"calculations\[1\]"):
            s.add_raw(BASE, calculations=[0, bad])  # type: ignore[list-item]
        assert s.counts().buffered == 0


def test_add_accepts_a_value_off_the_grid_only_by_float_rounding(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as s:
        value = -4.0 + 2.2  # -1.7999999999999998
        assert value != -1.8
        s.add(BASE, {"ID_WEB_Temperatur_TA": value})
        assert s.query(BASE, BASE + 30)[0][1] == {"ID_WEB_Temperatur_TA": -1.8}
        with pytest.raises(StoreError, match=r"45\.43"):
            s.add(BASE + 30, {"ID_WEB_Temperatur_TVL": 45.43})


@pytest.mark.parametrize("bad", [128, -129, 2**31 - 1])
def test_add_raw_refuses_a_visibility_that_is_not_one_signed_byte(tmp_path: Path, bad: int) -> None:
    # the controller sends one byte per visibility; the buffer stores it as such
    with Store(tmp_path / "t.db") as s:
        with pytest.raises(StoreError, match=r"visibilities\[2\] = .* is not a 8-bit integer"):
            s.add_raw(BASE, visibilities=[1, -128, bad])
        assert s.add_raw(BASE, visibilities=[1, -128, 127]) is True
        assert next(iter(s.iter_rows(BASE, BASE + 30))).visibilities == (1, -128, 127)
