"""luxlog's sourced corrections over luxtronik's state labels, used by every reader."""

from __future__ import annotations

from luxlog.columns import select
from luxlog.decode import LABEL_CORRECTIONS, field_for, mode_label


def test_status_line_1_follows_fhem_and_node_luxtronik2() -> None:
    f = field_for(117)
    assert [f.text(code) for code in range(9)] == [
        "heatpump running", "heatpump idle", "heatpump coming", None, "error", "defrost",
        "waiting on LIN connection", "compressor heating up", "pump forerun",
    ]  # fmt: skip


def test_every_correction_names_its_source() -> None:
    for corrections in LABEL_CORRECTIONS.values():
        for _label, source in corrections.values():
            assert source.strip()


def test_an_unknown_mode_stays_its_number() -> None:
    assert (mode_label(4), mode_label(42)) == ("defrost", "42")


def test_the_csv_cell_of_a_stored_status_shows_the_corrected_label() -> None:
    # raw codes are stored, so a report re-run for a past date shows the corrected label too
    (column,) = select(["ID_WEB_HauptMenuStatus_Zeile1"]).resolve((0,) * 232)
    assert column.cell(5, ".") == "defrost"  # luxtronik 0.3.14 says "witing on LIN connection"
