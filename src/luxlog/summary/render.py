"""A list of periods as text for people (a table), JSON for scripts, or CSV for spreadsheets.

In the table a figure that cannot be trusted never looks like a confident number: ``n/a`` (not
on this firmware), ``-`` (incomplete: withheld), ``~12.3`` (estimated: a boundary interpolated),
``12.3*`` (partial: some days or some coverage missing). The flags follow the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from luxlog.summary.periods import Period

MODES = ("heating", "hot water", "defrost", "no request", "evu")
# (header, field, decimals)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("cov%", "coverage_pct", 1),
    ("heat", "heat_heating_kwh", 1),
    ("dhw", "heat_dhw_kwh", 1),
    ("heat Σ", "heat_total_kwh", 1),
    ("el heat", "elec_heating_kwh", 2),
    ("el dhw", "elec_dhw_kwh", 2),
    ("el Σ", "elec_total_kwh", 2),
    ("COP h", "cop_heating", 2),
    ("COP dhw", "cop_dhw", 2),
    ("COP", "cop_total", 2),
    ("starts", "compressor_starts", 0),
    ("comp h", "compressor_hours", 1),
    ("run min", "mean_run_min", 0),
    ("defr", "defrosts", 0),
)
MODE_HEADERS = {"heating": "h heat", "hot water": "h dhw", "defrost": "h defr",
                "no request": "h idle", "evu": "h evu"}  # fmt: skip


def cell(p: Period, key: str, decimals: int) -> str:
    value = getattr(p, key)
    status = p.quality.get(key, "ok")
    if value is None:
        return "n/a" if status == "n/a" else "-"
    text = f"{value:.{decimals}f}"
    if status == "estimated":
        return "~" + text
    if status == "partial":
        return text + "*"
    return text


def table(periods: Sequence[Period]) -> str:
    """The periods as an aligned text table, then one line per flag."""
    headers = ["period", *(h for h, _, _ in COLUMNS), *MODE_HEADERS.values(), "TA min/mean/max",
               "errors"]  # fmt: skip
    rows = []
    for p in periods:
        modes = p.hours_by_mode
        mode_cells = ["-" if modes is None else f"{modes.get(m, 0.0):.1f}" for m in MODE_HEADERS]
        temps = "/".join(
            "-" if t is None else f"{t:.1f}"
            for t in (p.outdoor_min_c, p.outdoor_mean_c, p.outdoor_max_c)
        )
        rows.append([p.period, *(cell(p, k, d) for _, k, d in COLUMNS), *mode_cells, temps,
                     str(len(p.errors))])  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [_line(r, widths) for r in [headers, *rows]]
    notes = [f"{p.period}: {f}" for p in periods for f in p.flags]
    notes += [f"{p.period}: error {e['code']} at {e['time']}" for p in periods for e in p.errors]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def one_line(p: Period) -> str:
    """A day in one line (``doctor``): coverage, heat, electricity, COP, cycles, defrosts."""
    starts = cell(p, "compressor_starts", 0)
    return (
        f"{p.period}: coverage {cell(p, 'coverage_pct', 1)} %, heat "
        f"{cell(p, 'heat_total_kwh', 1)} kWh, electricity {cell(p, 'elec_total_kwh', 2)} kWh, "
        f"COP {cell(p, 'cop_total', 2)}, {starts} starts, "
        f"{cell(p, 'compressor_hours', 1)} h compressor, {cell(p, 'defrosts', 0)} defrosts"
        + (f", {len(p.errors)} errors" if p.errors else "")
    )


def _line(cells: list[str], widths: list[int]) -> str:
    """The period left-aligned, figures right-aligned."""
    out = [
        c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(out).rstrip()


def to_json(periods: Sequence[Period]) -> str:
    return json.dumps([p.to_json() for p in periods], indent=2, ensure_ascii=False) + "\n"


def csv_header(periods: Sequence[Period]) -> list[str]:
    modes = sorted({m for p in periods for m in (p.hours_by_mode or {})} | set(MODES))
    keys = [k for k in Period.__dataclass_fields__ if k not in ("hours_by_mode", "errors",
            "flags", "quality")]  # fmt: skip
    return [*keys, *(f"hours_{m.replace(' ', '_')}" for m in modes), "errors", "flags"]


def csv_rows(periods: Sequence[Period]) -> list[dict[str, Any]]:
    """One flat row per period (empty cells for null; hours per mode as columns)."""
    out = []
    for p in periods:
        row: dict[str, Any] = {}
        for k, v in p.to_json().items():
            if k in ("quality",):
                continue
            if k == "hours_by_mode":
                row.update({f"hours_{m.replace(' ', '_')}": h for m, h in (v or {}).items()})
            elif k == "errors":
                row[k] = " ".join(f"{e['time']}={e['code']}" for e in v)
            elif k == "flags":
                row[k] = "; ".join(v)
            else:
                row[k] = "" if v is None else v
        out.append(row)
    return out


def to_csv(periods: Sequence[Period], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, csv_header(periods), delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(csv_rows(periods))
    return buf.getvalue()
