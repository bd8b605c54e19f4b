"""``luxlog demo``: the whole pipeline on the built-in simulator, or a live read-only test.

Without ``--host`` it starts the simulator in-process on a free loopback port, polls it a few
times (simulated time advances 30 s per poll, so the demo does not wait), shows what was
stored, then fills a simulated week through the simulator's model, flushes it into the cache,
writes the daily and weekly CSVs that are due, printing where they are and their first lines,
and prints the ``luxlog summary`` table of the simulated days. With ``--host`` it polls a real
controller (read-only) every ``interval_sec`` for ``--duration`` seconds: the live test to run
once after installing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from luxlog.config import Config, load_config
from luxlog.options import ConfigOption
from luxlog.poller import poll_once
from luxlog.progress import progress
from luxlog.report_csv import watching_rows
from luxlog.retry import RetryPolicy
from luxlog.store import Store, slot_of

if TYPE_CHECKING:
    from luxlog.simulator_model import Model

SHOWN = (  # (header, luxtronik name): a handful that fit an 80-column terminal
    ("flow °C", "ID_WEB_Temperatur_TVL"),
    ("return °C", "ID_WEB_Temperatur_TRL"),
    ("outdoor °C", "ID_WEB_Temperatur_TA"),
    ("DHW °C", "ID_WEB_Temperatur_TBW"),
    ("starts", "ID_WEB_Zaehler_BetrZeitImpVD1"),
)
DEMO_POLLS = 4
FILL_BATCH = 2000  # samples per buffered batch while filling the simulated history


def _table(store: Store, start: float, end: float, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from luxlog.decode import CALC_MODE, decode_numeric, field_for

    table = Table(title=title)
    table.add_column("UTC", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    for header, _ in SHOWN:
        table.add_column(header, justify="right")
    mode = field_for(CALC_MODE)
    for row in store.iter_rows(start, end):
        values = decode_numeric(row.calculations)
        cells = [f"{values[name]:g}" if name in values else "" for _, name in SHOWN]
        raw_mode = row.calculations[CALC_MODE] if len(row.calculations) > CALC_MODE else None
        label = (mode.text(raw_mode) or str(raw_mode)) if raw_mode is not None else ""
        when = dt.datetime.fromtimestamp(row.slot, dt.UTC).strftime("%H:%M:%S")
        table.add_row(when, label, *cells)
    Console().print(table)


def _demo_config(base: Path, cfg: Config, port: int) -> Config:
    return cfg.replace(
        host="127.0.0.1",
        port=port,
        interval_sec=30,
        timeout_sec=5.0,
        retries=1,
        cache_path=base / "data" / "luxlog.db",
        output_dirs=(base / "logs",),
    )


def _fill(store: Store, model: Model, start: float, end: float, interval: int) -> int:
    """The simulated history, buffered in batches and flushed (a bar on a terminal)."""
    slots = range(int(start), int(end), interval)
    with progress("filling simulated days", len(slots)) as advance:
        for i in range(0, len(slots), FILL_BATCH):
            store.add_rows([model.raw_sample(t) for t in slots[i : i + FILL_BATCH]])
            advance(len(slots[i : i + FILL_BATCH]))
    done = [0]

    def moved(n: int) -> None:  # flush reports the running total; the bar wants steps
        advance(n - done[0])
        done[0] = n

    with progress("flushing", len(slots)) as advance:
        return store.flush(progress=moved).moved


def _simulated(base: Path, cfg: Config, days: int) -> None:
    from luxlog import report
    from luxlog.simulator import Simulator

    now = float(slot_of(time.time(), 30))
    fake = [now]
    with Simulator(clock=lambda: fake[0]) as sim:
        cfg = _demo_config(base, cfg, sim.port)
        typer.echo(f"simulated {sim.model.firmware} controller on 127.0.0.1:{sim.port}")
        for _ in range(DEMO_POLLS):
            outcome = poll_once(
                cfg, retry=RetryPolicy.from_config(cfg, waits=False), clock=lambda: fake[0]
            )
            when = dt.datetime.fromtimestamp(outcome.slot, dt.UTC).isoformat()
            typer.echo(f"  polled {when}: {outcome.calculations} calculations stored")
            fake[0] += cfg.interval_sec
        model = sim.model
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        _table(store, now, fake[0], f"{DEMO_POLLS} polls, as stored (decoded at read time)")
        typer.echo(f"filling {days} simulated days through the simulator's model …")
        flushed = _fill(store, model, now - days * 86400, now, cfg.interval_sec)
        typer.echo(f"flushed {flushed} samples into the cache")
        slots = days * 86400 // cfg.interval_sec
        with progress("writing reports", slots) as advance, watching_rows(advance):
            run = report.run_scheduled(cfg, store, dt.datetime.fromtimestamp(fake[0], dt.UTC))
        summary = _summary(store, cfg, fake[0], days)
    typer.echo(run.summary())
    for written in run.written[-2:]:
        path = written.paths[0]
        typer.echo(f"\n{path} ({written.rows} rows), first lines:")
        with path.open(encoding="utf-8-sig") as f:
            for _ in range(3):
                line = f.readline().rstrip("\n")
                typer.echo("  " + (line if len(line) <= 160 else line[:157] + "…"))
    typer.echo(f"\nluxlog summary of the simulated days ({cfg.zone_name}):\n{summary}")


def _summary(store: Store, cfg: Config, now: float, days: int) -> str:
    """The ``luxlog summary`` table of the simulated days up to yesterday (the first one is
    partly simulated: its coverage and withheld figures show how gaps are reported)."""
    from luxlog.summary import summarize
    from luxlog.summary.render import table

    today = dt.datetime.fromtimestamp(now, cfg.tz).date()
    first = today - dt.timedelta(days=days)
    return table(summarize(store, first, today - dt.timedelta(days=1), "day", cfg.tz, now=now))


def _live(base: Path, cfg: Config, duration: float) -> None:
    cfg = cfg.replace(cache_path=base / "data" / "luxlog.db", output_dirs=(base / "logs",))
    typer.echo(
        f"reading {cfg.host}:{cfg.port} (read-only) every {cfg.interval_sec} s for "
        f"{duration:g} s into {base}"
    )
    start = time.time()
    polls = 0
    while True:
        report = poll_once(cfg)
        polls += 1
        typer.echo(f"  poll {polls}: {report.calculations} calculations in {report.duration:.2f} s")
        next_slot = slot_of(time.time(), cfg.interval_sec) + cfg.interval_sec
        if next_slot - start > duration:
            break
        time.sleep(max(0.0, next_slot - time.time()))
    with Store(cfg.cache_path, interval=cfg.interval_sec) as store:
        _table(store, start - cfg.interval_sec, time.time() + 1, f"{cfg.host}: {polls} polls")


def demo(
    host: Annotated[
        str | None, typer.Option("--host", help="Read a real controller instead (read-only).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Its config port.")] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds to poll a real controller.", min=0)
    ] = 60.0,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Keep the database and CSVs here (default: a temp dir)."),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", help="Days of simulated history to report on.", min=1, max=60)
    ] = 7,
    config: ConfigOption = None,
) -> None:
    """Run the whole pipeline on the built-in simulator, or test a real controller."""
    cfg = load_config(config, {"host": host, "port": port})
    with tempfile.TemporaryDirectory(prefix="luxlog-demo-") as tmp:
        base = output if output is not None else Path(tmp)
        if host is not None:
            _live(base, cfg, duration)
        else:
            _simulated(base, cfg, days)
        if output is None:
            typer.echo(f"\n(the demo ran in {base}, removed now; keep it with --output DIR)")
        else:
            typer.echo(f"\ndatabase and CSVs are in {base}")
