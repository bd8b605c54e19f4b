"""``luxlog summary``: heat, electricity, COP, cycles, defrosts and hours per mode per period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from luxlog.commands.report import parse_date
from luxlog.config import load_config
from luxlog.errors import StoreError
from luxlog.options import ConfigOption
from luxlog.progress import progress
from luxlog.store import Store

ByOption = Annotated[
    str,
    typer.Option("--by", help="Period: day, week (ISO), month, year or season (1 Sep-31 Aug)."),
]


def summary(
    config: ConfigOption = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=36_600, help="The last N local days (default 14).")
    ] = 14,
    start: Annotated[
        str | None, typer.Option("--from", help="First local day, YYYY-MM-DD.", show_default=False)
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last local day, YYYY-MM-DD (default: today).")
    ] = None,
    by: ByOption = "day",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array, one object per period.")
    ] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the periods to this CSV file.")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Re-derive the per-day table from the samples.")
    ] = False,
) -> None:
    """Show energy, COP, compressor cycles, defrosts and hours per mode per day/week/month/year."""
    from luxlog.report_files import atomic_write
    from luxlog.summary import BY, summarize
    from luxlog.summary.render import table, to_csv, to_json

    if by not in BY:
        raise typer.BadParameter(f"{by!r} is not one of {', '.join(BY)}", param_hint="'--by'")
    cfg = load_config(config)
    if not cfg.cache_path.exists():
        raise StoreError(
            f"no database at {cfg.cache_path}: has 'luxlog poll' run? (check cache_path)"
        )
    tz = cfg.tz
    today = dt.datetime.now(tz).date()
    last = _date(end, "--to") or today
    with Store(cfg.cache_path, interval=cfg.interval_sec, check=True) as store:
        first = _date(start, "--from") or _default_first(by, days, last)
        if first > last:
            raise typer.BadParameter(f"{first} is after --to {last}", param_hint="'--from'")
        n = (last - first).days + 1
        # a bar for long ranges only (each day not yet in the per-day table takes ~0.1 s)
        with progress("summarising days", n, show=None if n >= 60 else False) as advance:
            periods = summarize(
                store, first, last, by, tz, rebuild=rebuild, progress=lambda _i, _n: advance(1)
            )
    if csv_path is not None:
        data = to_csv(periods).encode()
        atomic_write(csv_path.parent if str(csv_path.parent) else Path("."), csv_path.name,
                     lambda f: f.write(data))  # fmt: skip
    typer.echo(to_json(periods) if as_json else table(periods), nl=False)


def _date(value: str | None, option: str) -> dt.date | None:
    try:
        return parse_date(value)
    except typer.BadParameter as exc:
        raise typer.BadParameter(exc.message, param_hint=f"'{option}'") from None


def _default_first(by: str, days: int, last: dt.date) -> dt.date:
    """Without --from: the last ``days`` days, widened to whole periods for --by week etc."""
    from luxlog.summary.periods import period_start

    return period_start(last - dt.timedelta(days=days - 1), by)
