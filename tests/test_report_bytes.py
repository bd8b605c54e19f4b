"""The report's per-column formatters write the same bytes as the per-cell path they replaced.

The pinned sha256s are the bytes ``write_csv`` wrote for a simulated week-day before the
formatters (issue 12): any change of a byte in any dialect fails here. The odd cases (absent
values, short blocks, labels that need quoting or neutralising, a memo that overflows) are
compared with the per-cell path itself: ``Column.cell``, ``quote`` and ``csv_line``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest

from luxlog import report_csv
from luxlog.columns import Column, select
from luxlog.decode import ABSENT, CALC_MODE, SENTINEL_ABSENT_SENSOR
from luxlog.sample import Sample
from support.fill import model_rows

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.datetime(2026, 3, 25, tzinfo=BERLIN)  # a Wednesday
START = int(DAY.timestamp())

# (selection, dialect) -> (sha256, length) of write_csv's bytes before the formatters.
PINNED = {
    ("default", "excel"): (
        "47906c2156a83647e1049ffc827a648f5ddc320835a1d38969fc05e6a017f230",
        668534,
    ),
    ("default", "excel-de"): (
        "36fd683cd3d76e14b1fff5c4c9907eb1daf86abfdaf06ba5571d587867de7d98",
        772214,
    ),
    ("default", "plain"): (
        "0a44ab557a79e5f9e64146ea72d4c5c3524ef9f945faaece44434c60114b7fd9",
        668531,
    ),
    ("all", "excel"): ("e9b670ec5761202c966f06cf12ceff08977f13c6cd1e5141b1cca2624082a0eb", 2774935),
    ("all", "excel-de"): (
        "1dd5821e454dc7df5dceade37ca06896d056e414ec8313ea7af2b61e253f791d",
        3178135,
    ),
    ("all", "plain"): ("77e47ad697418fcf34271a729eac764adec23a9d38ec24ba2a51ea8d05f023cc", 2774932),
}


@pytest.fixture(scope="module")
def week_day() -> list[Sample]:
    return model_rows(DAY, DAY + dt.timedelta(days=1), step=30)


@pytest.mark.parametrize(("selection", "dialect"), sorted(PINNED))
def test_a_simulated_week_day_gives_the_pinned_bytes(
    week_day: list[Sample], selection: str, dialect: str
) -> None:
    columns = select(selection).resolve(report_csv.window_layout(week_day) or ())
    f = io.BytesIO()
    stats, sha = report_csv.write_csv(
        f, week_day, columns, BERLIN, dialect, 30, START, START + 86400
    )
    assert stats.rows == 2880
    assert (hashlib.sha256(f.getvalue()).hexdigest(), len(f.getvalue())) == PINNED[
        (selection, dialect)
    ]
    assert sha == PINNED[(selection, dialect)][0]


def per_cell(rows: Sequence[Sample], columns: Sequence[Column], dialect: str) -> str:
    """The rendering before the formatters: every cell through ``Column.cell`` and ``quote``."""
    decimal, delimiter = report_csv.DECIMALS[dialect], report_csv.DELIMITERS[dialect]
    lines = [
        report_csv.csv_line([*report_csv.TIME_HEADERS, *(c.header for c in columns)], delimiter)
    ]
    for row in rows:
        calcs, n = row.calculations, len(row.calculations)
        cells = [c.cell(calcs[c.index] if c.index < n else ABSENT, decimal) for c in columns]
        lines.append(
            report_csv.csv_line([*report_csv.time_cells(row.slot, BERLIN), *cells], delimiter)
        )
    return "".join(lines)


def rendered(rows: Sequence[Sample], columns: Sequence[Column], dialect: str) -> str:
    out = io.StringIO(newline="")
    report_csv.render_csv(rows, columns, out, BERLIN, dialect, 30)
    return out.getvalue()


def odd_columns() -> list[Column]:
    ta = Column.for_index(15)
    return [
        ta,  # temperature: the -500 sentinel is blank
        Column.for_index(57),  # a plain counter: -500 is a number
        Column.for_index(CALC_MODE),  # labels
        Column.for_index(56, "Compressor hours (h)", "hours"),  # seconds shown as hours
        Column.for_index(180),  # /100
        # labels that must be neutralised and quoted, and one that shadows a blank value
        Column(15, "x", "Texty", labels={1: "=SUM(A1)", 2: "a;b", 3: 'say "hi"', ABSENT: "no"}),
        Column.for_index(268),  # beyond a V3.78 block: always blank
    ]


@pytest.mark.parametrize("dialect", ["excel", "excel-de", "plain"])
def test_odd_values_and_short_blocks_match_the_per_cell_path(dialect: str) -> None:
    values = [454, -3, -500, ABSENT, 0, 1, 2, 3, 7, 99, 1308, 3599, 3600, -1805, 2**31 - 1]
    rows = []
    for k, v in enumerate(values * 3):
        calcs = [v] * 260
        calcs[CALC_MODE] = v % 9
        length = 20 if k % 7 == 3 else 260  # an odd short block: empty cells after it
        rows.append(Sample(START + 30 * k, 0, (), tuple(calcs[:length]), ()))
    columns = odd_columns()
    assert rendered(rows, columns, dialect) == per_cell(rows, columns, dialect)
    assert '"a;b"' in rendered(rows, columns, dialect) and "'=SUM(A1)" in rendered(
        rows, columns, dialect
    )


def test_more_distinct_values_than_the_memo_holds_stay_exact() -> None:
    n = report_csv.MEMO_LIMIT + 500
    rows = [Sample(START + 30 * k, 0, (), (k * 37 - 9000,) * 70, ()) for k in range(n)]
    columns = [Column.for_index(63, "Heat pump hours (h)", "hours"), Column.for_index(10)]
    assert rendered(rows, columns, "excel-de") == per_cell(rows, columns, "excel-de")


@pytest.mark.parametrize("count", [0, 1])
def test_a_file_with_no_or_one_column_matches_the_per_cell_path(count: int) -> None:
    rows = model_rows(DAY, n=5)
    columns = [Column.for_index(10)][:count]
    assert rendered(rows, columns, "excel") == per_cell(rows, columns, "excel")


def test_every_column_formatter_writes_what_cell_writes() -> None:
    raws = [ABSENT, SENTINEL_ABSENT_SENSOR, -1, 0, 1, 5, 9, 10, 15, 454, 3600, 86399, -86399]
    for column in select("all").resolve([0] * 290):
        for decimal in (".", ","):
            fmt = column.formatter(decimal)
            assert [fmt(r) for r in raws] == [column.cell(r, decimal) for r in raws], column.name
