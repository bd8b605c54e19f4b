"""The report CSVs opened in a real spreadsheet: LibreOffice converts them, openpyxl reads back.

Each dialect is converted by ``soffice --headless --convert-to xlsx`` with the import settings
of LibreOffice 7.4's text-import dialog as a double-click opens it (its shipped defaults,
officecfg ``Calc/Dialogs/CSVImport``): separators comma, semicolon *and* tab, text delimiter
``"``, quoted fields not forced to text, special numbers not detected. Headless conversion skips
the dialog's own charset guess (a BOM selects UTF-8, otherwise the system's 8-bit charset), so
the test applies that rule itself and asserts the BOM it relies on. ``excel`` is read under an
English locale (1033), ``excel-de`` under a German one (1031): no CSV is numeric in both.

One soffice process per (dialect, detect-special-numbers) pair, in a module-scoped fixture,
each with a fresh user profile (a locked or shared profile makes soffice wait).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from luxlog import report
from luxlog.config import load_config
from luxlog.store import Store
from support.fill import fill

openpyxl = pytest.importorskip("openpyxl")

BERLIN = ZoneInfo("Europe/Berlin")
BOM = b"\xef\xbb\xbf"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
LANGUAGES = {"excel": 1033, "excel-de": 1031}  # en-US, de-DE
UTF8, WINDOWS_1252 = 76, 1  # rtl_TextEncoding numbers in LibreOffice's filter options

if SOFFICE is None and os.environ.get("CI") == "true":
    # CI installs libreoffice-calc-nogui (.ci/run): a missing soffice there is a broken set-up
    raise RuntimeError("CI=true but soffice is not installed: .ci/run should have installed it")

pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui",
)


def _write_report(base: Path, dialect: str) -> Path:
    cfg = load_config(
        None,
        {
            "timezone": "Europe/Berlin",
            "interval_sec": 600,
            "cache_path": str(base / "data" / "luxlog.db"),
            "output_dirs": [str(base / dialect)],
            "csv_dialect": dialect,
        },
        environ={},
    )
    start = dt.datetime(2026, 1, 14, 7, tzinfo=BERLIN)  # winter: negative outdoor temperatures
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        if not store.counts().cached:
            fill(store, start, start + dt.timedelta(days=1), flush=True)
        report.run_on_demand(cfg, store, start + dt.timedelta(days=1, hours=1), True, False)
    return base / dialect / "2026-01-15_daily.csv"


def _filter(dialect: str, charset: int, special_numbers: bool) -> str:
    # tokens: separators (44 , / 59 ; / 9 tab), text delimiter ", charset, first line,
    # column formats (none), language, quoted field as text, detect special numbers
    special = "true" if special_numbers else "false"
    return (
        f"Text - txt - csv (StarCalc):44/59/9,34,{charset},1,,{LANGUAGES[dialect]},false,{special}"
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("spreadsheet")
    return {d: _write_report(base, d) for d in LANGUAGES}


def _convert(csv_path: Path, out: Path, special_numbers: bool) -> Any:
    data = csv_path.read_bytes()
    charset = UTF8 if data.startswith(BOM) else WINDOWS_1252  # the dialog's own rule
    dialect = csv_path.parent.name
    profile = out / "profile"
    result = subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            f"--infilter={_filter(dialect, charset, special_numbers)}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(csv_path),
        ],
        capture_output=True,
        text=True,
        timeout=8,
        check=False,
    )
    xlsx = out / (csv_path.stem + ".xlsx")
    assert xlsx.exists(), result.stdout + result.stderr
    return openpyxl.load_workbook(xlsx).active


@pytest.fixture(scope="module", params=[(d, s) for d in LANGUAGES for s in (False, True)])
def opened(
    request: pytest.FixtureRequest,
    reports: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, bool, list[list[str]], list[list[Any]]]:
    dialect, special = request.param
    path = reports[dialect]
    text = path.read_bytes().decode("utf-8-sig")
    delimiter = ";" if dialect == "excel-de" else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    sheet = _convert(path, tmp_path_factory.mktemp(f"xlsx-{dialect}"), special)
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    return dialect, special, rows, cells


def test_every_dialect_starts_with_a_bom(reports: dict[str, Path]) -> None:
    for path in reports.values():
        assert path.read_bytes().startswith(BOM)


def test_every_row_is_as_wide_as_the_header_and_the_header_is_intact(
    opened: tuple[str, bool, list[list[str]], list[list[Any]]],
) -> None:
    _, _, rows, cells = opened
    header = rows[0]
    assert cells[0] == header  # "°C", "Ø" intact: read as UTF-8
    assert "Outdoor temperature TA (°C)" in header
    assert len(cells) == len(rows) == 145
    for row in cells:
        assert len(row) == len(header)  # nothing split off into extra columns


def test_numbers_are_numbers_with_the_right_decimals(
    opened: tuple[str, bool, list[list[str]], list[list[Any]]],
) -> None:
    dialect, _, rows, cells = opened
    decimal = "," if dialect == "excel-de" else "."
    numeric = 0
    for text_row, sheet_row in zip(rows[1:], cells[1:], strict=True):
        for text, value in zip(text_row[2:], sheet_row[2:], strict=True):
            if text == "":
                assert value is None
                continue
            try:
                expected = float(text.replace(decimal, "."))
            except ValueError:
                assert value == text  # a label (heating, heatpump idle) stays text
                continue
            assert isinstance(value, int | float) and not isinstance(value, bool), (text, value)
            assert value == pytest.approx(expected, abs=1e-9)
            numeric += 1
    assert numeric > 20 * 144
    ta = rows[0].index("Outdoor temperature TA (°C)")
    assert min(r[ta] for r in cells[1:]) < 0  # negative decimals survive too
    assert any(r[ta] != int(r[ta]) for r in cells[1:])  # ... with their fraction


def test_time_columns_read_as_a_date_time_and_the_offset_stays_text(
    opened: tuple[str, bool, list[list[str]], list[list[Any]]],
) -> None:
    _, special, rows, cells = opened
    first_text, first_cell = rows[1][0], cells[1][0]
    assert first_text == "2026-01-14 07:00:00"
    if special:
        # LibreOffice needs "Detect special numbers" ticked for this form (Excel reads it on a
        # double-click); see the README
        assert first_cell == dt.datetime(2026, 1, 14, 7, 0)
        assert all(isinstance(r[0], dt.datetime) for r in cells[1:])
    else:
        assert first_cell == first_text  # unsplit, whole: a date LibreOffice shows as text
    assert [r[1] for r in cells[1:]] == [r[1] for r in rows[1:]]  # the ISO column, as written
