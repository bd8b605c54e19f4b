from __future__ import annotations

from luxlog.sample import Sample


def test_a_sample_splits_back_into_the_blocks_it_was_flattened_from() -> None:
    sample = Sample(1_764_144_000, 0, (1, 2), (454, -40, 7), (1,))
    assert sample.values() == [1, 2, 454, -40, 7, 1]
    assert sample.lengths == (2, 3, 1)
    assert Sample.from_values(sample.slot, 0, sample.values(), sample.lengths) == sample


def test_a_read_keeps_its_instant_but_is_equal_by_slot_once_filed() -> None:
    read = Sample.read_at(1_764_144_012.75, 0, (1,), (454,), (1,))
    assert read.slot == 1_764_144_012 and read.time == 1_764_144_012.75
    filed = read.with_slot(1_764_144_000)
    assert filed.time == read.time
    assert filed == Sample(1_764_144_000, 0, (1,), (454,), (1,))
    assert len({filed, Sample(1_764_144_000, 0, (1,), (454,), (1,))}) == 1
    assert filed != read and filed != (1_764_144_000, 0, (1,), (454,), (1,))
    assert repr(filed) == "Sample(1764144000, 0, (1,), (454,), (1,))"
