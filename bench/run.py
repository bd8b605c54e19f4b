"""luxlog benchmark (issue 7): ``make bench`` (quick) or ``make bench ARGS=--full``.

Self-contained: the project's own simulator on 127.0.0.1 and temporary directories; the one
exception is the year-long database for the year query, generated once into ``bench/.cache/``
(gitignored) and reused.

Prints a markdown table (figure, value, target, pass) and writes the same rows as JSON to
``bench/results.json``. Every figure is a median over repeated runs; comparisons run both sides
interleaved in the same invocation and report the ratio of the medians, because absolute times
on a shared machine drift.

How each figure is measured (see bench/README.md for the discussion):

* poll CPU / memory: ``luxlog poll --once`` through the venv's ``luxlog`` console script (what
  cron runs) vs ``python -c "from luxtronik import Luxtronik; Luxtronik(host, port)"``, against
  the same simulator, alternating. Each child is reaped with ``os.wait4``, whose rusage gives its
  user+sys CPU, peak RSS (``ru_maxrss``, KiB) and blocks written (``ru_oublock``).
* disk writes per poll: ``ru_oublock`` × 512 of those poll processes plus one ``luxlog flush``
  process afterwards, divided by the polls. ``ru_oublock`` is the kernel's per-task write
  accounting (the same counter as ``/proc/<pid>/io`` ``write_bytes``); on filesystems that do not
  account it (tmpfs, some overlays) it is 0, and the figure falls back to the growth of
  db + -wal. Before each poll the bench deletes the current slot from the buffer (in its own
  process, not counted) so every poll inserts a new sample as it would every 30 s.
* storage per poll: a simulated week (20,160 samples at 30 s, all three blocks, ``Model.sample``)
  buffered with ``Store.add_rows`` and flushed; database size (db + -wal after close) ÷ samples.
  The JSON peer: one JSON object per sample (newline-delimited) of every value decoded with
  luxtronik's own Parameters/Calculations/Visibilities.
* flush throughput: 8,640 buffered samples (3 days) flushed in one ``Store.flush()`` call.
* weekly report: ``luxlog report --weekly --date D --config F`` over that week, wall time and
  peak RSS of the child, default columns and ``all`` alternating.
* year query: ``Store.query`` of one day from a year of samples (1,051,200), in a child process
  (time inside the child, peak RSS from ``wait4``), compared with the same query on the week
  database for "RSS flat".
* ``counts()`` on a year of hour chunks vs the whole-table scan it replaced (bench/counts.py).
* ``/api/series`` for a week through ``luxlog serve`` over HTTP, and the server's RSS
  (bench/web_api.py).
* the dashboard's day and week pages until their charts are drawn in headless Chromium over a
  week at 30 s (bench/web_pages.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/blockdev.py
from blockdev import blockdev_figures, source_tree, today_tree
from counts import counts_figures
from fleet import fleet_figures
from web_api import web_api_figures
from web_pages import web_pages_figures

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"
RESULTS = BENCH_DIR / "results.json"

INTERVAL = 30
DAY = 86_400
WEEK_SAMPLES = 7 * DAY // INTERVAL  # 20,160
BACKLOG_SAMPLES = 3 * DAY // INTERVAL  # 8,640
YEAR_SAMPLES = 365 * DAY // INTERVAL  # 1,051,200
# The weekly window closing on REPORT_DATE at 07:00 UTC: [WEEK_START, WEEK_START + 7 days).
REPORT_DATE = dt.date(2025, 1, 13)
WEEK_START = int(dt.datetime(2025, 1, 6, 7, 0, tzinfo=dt.UTC).timestamp())
YEAR_START = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
QUERY_DAY = YEAR_START + 200 * DAY

KIB = 1024
MIB = 1024 * 1024


# --------------------------------------------------------------------------- children


@dataclass
class Child:
    """One reaped child process and its own resource usage."""

    rc: int
    cpu: float  # user + sys seconds
    maxrss_kib: int
    oublock: int  # 512-byte blocks written (0 where the filesystem does not account them)
    write_bytes: int  # /proc/<pid>/io of the exited child (-1: not available)
    cancelled_write_bytes: int  # dirty pages truncated before writeback (deleted -shm/-wal)
    wall: float
    stdout: str
    stderr: str


def _run_child_here(
    cmd: Sequence[str], env: dict[str, str] | None, cwd: str | None, timeout: float
) -> dict[str, Any]:
    """Run ``cmd`` and reap it with ``os.wait4`` to get the child's own rusage."""
    start = time.perf_counter()
    # Pipes, not files: output written to a file would count as the child's disk writes.
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    streams: dict[str, bytes] = {}

    def drain(name: str, pipe: Any) -> None:
        streams[name] = pipe.read()

    readers = [
        threading.Thread(target=drain, args=("stdout", proc.stdout)),
        threading.Thread(target=drain, args=("stderr", proc.stderr)),
    ]
    for t in readers:
        t.start()
    killer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    killer.start()
    try:
        # Wait without reaping, so the zombie's /proc/<pid>/io can still be read.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        io = _proc_io(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    return {
        "rc": proc.returncode,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,
        "oublock": usage.ru_oublock,
        "write_bytes": io.get("write_bytes", -1),
        "cancelled_write_bytes": io.get("cancelled_write_bytes", -1),
        "wall": wall,
        "stdout": streams["stdout"].decode(errors="replace"),
        "stderr": streams["stderr"].decode(errors="replace"),
    }


def _proc_io(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return {}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


# The spawner: only os/sys/signal, so its RSS (the floor of every child's ru_maxrss) stays
# ~10 MiB. It reads one request per line (a Python literal), starts the child with
# posix_spawn, its output going to files in /dev/shm (tmpfs: not counted as disk writes), waits
# without reaping to read /proc/<pid>/io, then reaps with wait4 and answers one line.
_SPAWNER_CODE = r"""
import os, signal, sys, time
def on_alarm(signum, frame):
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, on_alarm)
tmp = sys.argv[1]
for n, line in enumerate(sys.stdin):
    req = eval(line, {"__builtins__": {}})
    out, err = os.path.join(tmp, "%d.out" % n), os.path.join(tmp, "%d.err" % n)
    fa = [(os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
          (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    if req["cwd"]:
        os.chdir(req["cwd"])
    start = time.perf_counter()
    pid = os.posix_spawn(req["cmd"][0], req["cmd"], req["env"], file_actions=fa)
    signal.alarm(int(req["timeout"]))
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    try:
        with open("/proc/%d/io" % pid) as f:
            io = dict((k, int(v)) for k, v in (l.split(": ") for l in f.read().splitlines()))
    except OSError:
        io = {}
    _, status, ru = os.wait4(pid, 0)
    signal.alarm(0)
    wall = time.perf_counter() - start
    texts = []
    for path in (out, err):
        with open(path, "rb") as f:
            texts.append(f.read().decode(errors="replace"))
        os.unlink(path)
    res = dict(rc=os.waitstatus_to_exitcode(status), cpu=ru.ru_utime + ru.ru_stime,
               maxrss_kib=ru.ru_maxrss, oublock=ru.ru_oublock,
               write_bytes=io.get("write_bytes", -1),
               cancelled_write_bytes=io.get("cancelled_write_bytes", -1),
               wall=wall, stdout=texts[0], stderr=texts[1])
    sys.stdout.write(repr(res) + "\n")
    sys.stdout.flush()
"""


class Spawner:
    """A small helper process that starts and reaps every measured child.

    On Linux a child's ``ru_maxrss`` includes the RSS of the process it was forked (or
    vforked) from, up to its ``exec``: measured from this benchmark (simulator, sample lists,
    a year of rows) the children would inherit the parent's peak. The helper imports only
    os/sys/signal and stays at ~10 MiB, below every measured child's own peak.
    """

    def __init__(self) -> None:
        shm = Path("/dev/shm")
        self.tmp = tempfile.mkdtemp(prefix="luxlog-bench-", dir=shm if shm.is_dir() else None)
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _SPAWNER_CODE, self.tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lock = threading.Lock()

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        import ast

        assert self.proc.stdin is not None and self.proc.stdout is not None
        cmd = list(request["cmd"])
        if not os.path.isabs(cmd[0]):
            cmd[0] = shutil.which(cmd[0]) or cmd[0]
        request = {**request, "cmd": cmd, "env": request["env"] or dict(os.environ)}
        with self.lock:
            self.proc.stdin.write(repr(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("bench spawner died")
        result: dict[str, Any] = ast.literal_eval(line)
        return result

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


_spawner: Spawner | None = None


def run_child(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> Child:
    """Run ``cmd`` to completion (through the spawner when one runs) and return its rusage."""
    request = {
        "cmd": list(cmd),
        "env": env,
        "cwd": None if cwd is None else str(cwd),
        "timeout": timeout,
    }
    if _spawner is not None:
        return Child(**_spawner.run(request))
    return Child(**_run_child_here(list(cmd), env, request["cwd"], timeout))


def compile_package() -> None:
    """Write luxlog's .pyc files (what ``pip install`` does for a regular install)."""
    import compileall

    import luxlog

    compileall.compile_dir(Path(luxlog.__file__).parent, quiet=1)


def luxlog_cmd() -> list[str]:
    """The venv's console script (what cron runs), else ``python -m luxlog``."""
    script = Path(sys.executable).parent / "luxlog"
    return [str(script)] if script.exists() else [sys.executable, "-m", "luxlog"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXLOG_")}
    env.update(extra)
    return env


def check(child: Child, what: str) -> Child:
    if child.rc != 0:
        raise RuntimeError(f"{what} exited {child.rc}:\n{child.stdout}\n{child.stderr}")
    return child


# --------------------------------------------------------------------------- results


@dataclass
class Figure:
    figure: str
    value: str
    target: str
    ok: bool | None  # None: informational / not measured
    data: dict[str, Any] = field(default_factory=dict)


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("pass" if ok else "**FAIL**")


def markdown(figures: Sequence[Figure]) -> str:
    lines = ["| figure | value | target | pass |", "|---|---|---|---|"]
    lines += [f"| {f.figure} | {f.value} | {f.target} | {verdict(f.ok)} |" for f in figures]
    return "\n".join(lines)


# --------------------------------------------------------------------------- data


def week_rows(
    start: int = WEEK_START, n: int = WEEK_SAMPLES, step: int = INTERVAL
) -> Iterator[Any]:
    """Realistic raw samples from the simulator's model (all three blocks)."""
    from luxlog.simulator import Model

    model = Model()
    for i in range(n):
        yield model.raw_sample(start + i * step)


def fill_store(path: Path, rows: Iterator[Any], batch: int = 2880) -> int:
    """Buffer and flush ``rows`` in batches (a day at a time); returns the samples stored."""
    from luxlog.store import Store

    total = 0
    with Store(path, interval=INTERVAL) as store:
        chunk: list[Any] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == batch:
                total += store.add_rows(chunk)
                store.flush()
                chunk = []
        if chunk:
            total += store.add_rows(chunk)
            store.flush()
    return total


def db_bytes(path: Path) -> int:
    return sum(os.stat(f"{path}{s}").st_size for s in ("", "-wal") if os.path.exists(f"{path}{s}"))


def json_bytes(rows: Iterator[Any]) -> int:
    """Bytes of newline-delimited JSON, one object of every decoded value per sample."""
    from luxtronik.calculations import Calculations
    from luxtronik.parameters import Parameters
    from luxtronik.visibilities import Visibilities

    total = 0
    for row in rows:
        blocks = {
            "parameters": (Parameters(), row.parameters, "parameters"),
            "calculations": (Calculations(), row.calculations, "calculations"),
            "visibilities": (Visibilities(), row.visibilities, "visibilities"),
        }
        obj: dict[str, Any] = {"timestamp": row.slot}
        for key, (block, raw, attr) in blocks.items():
            block.parse(list(raw))
            obj[key] = {f.name: f.value for f in getattr(block, attr).values()}
        total += len(json.dumps(obj, default=str, ensure_ascii=False).encode()) + 1
    return total


# --------------------------------------------------------------------------- figures


def bench_poll(repeats: int, work: Path, today: Path | None = None) -> list[Figure]:
    """Poll CPU, memory and disk writes: luxlog vs the luxtronik one-liner, interleaved.

    ``today``: a source tree of the code before issue 12, polled alternately with the others
    (its own database) so both ratios come from the same invocation.
    """
    from luxlog.simulator import Simulator

    db = work / "poll" / "luxlog.db"
    with Simulator(port=0) as sim:
        host, port = sim.address
        env = clean_env(
            LUXLOG_HOST=host,
            LUXLOG_PORT=str(port),
            LUXLOG_CACHE_PATH=str(db),
            LUXLOG_INTERVAL_SEC="10",
            LUXLOG_TIMEZONE="UTC",
        )
        poll = [*luxlog_cmd(), "poll", "--once"]
        ref = [
            sys.executable,
            "-c",
            f"from luxtronik import Luxtronik; Luxtronik({host!r}, {port})",
        ]
        # Both sides run from bytecode, as installed packages do (pip compiles at install
        # time; luxtronik's .pyc already exist). Where PYTHONDONTWRITEBYTECODE is set and
        # luxlog is an editable install, luxlog would otherwise be compiled on every poll.
        compile_package()
        # Warm-up (not counted): creates the database as in production, warms page cache/pyc.
        check(run_child(poll, env, work), "luxlog poll --once")
        check(run_child(ref, env, work), "reference")
        old_env = None
        if today is not None:
            old_env = {**env, "PYTHONPATH": str(today), "LUXLOG_CACHE_PATH": str(db) + ".today"}
            check(run_child(poll, old_env, work), "today's luxlog poll --once")
        polls: list[Child] = []
        refs: list[Child] = []
        olds: list[Child] = []
        grown = 0
        for _ in range(repeats):
            _free_current_slot(db, 10)
            before = db_bytes(db)
            polls.append(check(run_child(poll, env, work), "luxlog poll --once"))
            grown += max(0, db_bytes(db) - before)
            refs.append(check(run_child(ref, env, work), "reference"))
            if old_env is not None:
                _free_current_slot(Path(old_env["LUXLOG_CACHE_PATH"]), 10)
                olds.append(check(run_child(poll, old_env, work), "today's luxlog poll --once"))
        flush = check(run_child([*luxlog_cmd(), "flush"], env, work), "luxlog flush")

    return _poll_figures(polls, refs, olds, flush, grown, repeats)


def _poll_figures(
    polls: list[Child], refs: list[Child], olds: list[Child], flush: Child, grown: int, repeats: int
) -> list[Figure]:
    cpu_p, cpu_r = median([c.cpu for c in polls]), median([c.cpu for c in refs])
    rss_p, rss_r = median([c.maxrss_kib for c in polls]), median([c.maxrss_kib for c in refs])
    was_cpu = f"; today {median([c.cpu for c in olds]) / cpu_r:.2f}×" if olds else ""
    was_rss = f"; today {median([c.maxrss_kib for c in olds]) / rss_r:.2f}×" if olds else ""
    children = [*polls, flush]
    blocks = sum(c.oublock for c in children)
    if all(c.write_bytes >= 0 for c in children) and blocks:
        # Bytes that reach the storage layer: the -shm (and an un-synced -wal) are deleted at
        # close, before writeback, so their dirty pages are cancelled and never hit the disk.
        written = sum(c.write_bytes - c.cancelled_write_bytes for c in children) / repeats
        how = "/proc/<pid>/io write_bytes − cancelled_write_bytes (polls + flush) / polls"
    elif blocks:
        written = blocks * 512 / repeats
        how = "ru_oublock×512 (polls + flush) / polls"
    else:
        written = grown / repeats
        how = "db+wal growth / polls (write accounting unavailable on this filesystem)"
    gross = blocks * 512 / repeats
    return [
        Figure(
            "poll CPU (user+sys) vs reference",
            f"{cpu_p / cpu_r:.2f}× ({cpu_p * 1000:.0f} ms vs {cpu_r * 1000:.0f} ms{was_cpu})",
            "≤ 1.0×",
            cpu_p / cpu_r <= 1.0,
            {"luxlog_s": cpu_p, "reference_s": cpu_r, "ratio": cpu_p / cpu_r, "n": repeats},
        ),
        Figure(
            "poll peak RSS vs reference",
            f"{rss_p / rss_r:.2f}× ({rss_p / KIB:.1f} MiB vs {rss_r / KIB:.1f} MiB{was_rss})",
            "≤ 1.0×",
            rss_p / rss_r <= 1.0,
            {"luxlog_kib": rss_p, "reference_kib": rss_r, "ratio": rss_p / rss_r, "n": repeats},
        ),
        Figure(
            "disk writes per poll, process-level (/proc/<pid>/io; misses ext4's journal)",
            f"{written / KIB:.1f} KiB (gross, incl. cancelled: {gross / KIB:.1f} KiB)",
            "(informational)",
            None,
            {
                "bytes": written,
                "method": how,
                "gross_bytes_ru_oublock": gross,
                "poll_blocks": [c.oublock for c in polls],
                "poll_cancelled": [c.cancelled_write_bytes for c in polls],
                "flush_blocks": flush.oublock,
                "db_growth_per_poll": grown / repeats,
            },
        ),
    ]


CYCLE_CHILD = """
import sys
from luxlog.simulator import Model
from luxlog.store import Store
db, slot, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with Store(db, interval=30) as store:
    if mode == "flush":
        store.flush()
    else:
        store.add_row(Model().raw_sample(slot), (1, 0.1), now=slot, delta=(mode == "delta"))
"""


def bench_cycle(
    work: Path, polls: int, flush_every: int = 10, warmup: int | None = None
) -> list[Figure]:
    """Disk writes of the store's side of a production cycle, keyframe deltas vs full rows.

    The CLI poll figure re-polls one slot (a real poll cannot be made to land in the next
    slot without waiting 30 s), so the buffer never grows there. Here each child stores the
    next slot's sample exactly as a poll does (``Store.add_row`` with its attempt) and every
    ``flush_every``-th child flushes, as cron does; the two buffer formats run interleaved.
    The first ``warmup`` cycles (default: two flush periods) create the files, uncounted.
    """
    dbs = {mode: work / "cycle" / mode / "luxlog.db" for mode in ("delta", "full")}
    written = {mode: 0 for mode in dbs}
    counted = 0
    env = clean_env()
    warmup = 2 * flush_every if warmup is None else warmup
    for k in range(polls + warmup):
        slot = WEEK_START + INTERVAL * k
        job = "flush" if k % flush_every == flush_every - 1 else None
        for mode, db in dbs.items():
            child = check(
                run_child([sys.executable, "-c", CYCLE_CHILD, str(db), str(slot), job or mode],
                          env, work),
                f"cycle {mode}",
            )  # fmt: skip
            if k >= warmup:  # steady state: the first cycles create the files
                written[mode] += child.write_bytes - child.cancelled_write_bytes
        if k >= warmup and job is None:
            counted += 1
    per = {mode: written[mode] / max(counted, 1) for mode in dbs}
    return [
        Figure(
            f"disk writes per poll, process-level, store side of a poll/flush cycle (flush "
            f"every {flush_every}; journal since issue 12, both modes write the same record)",
            f"{per['delta'] / KIB:.1f} KiB",
            "(informational)",
            None,
            {"bytes": per["delta"], "full_row_bytes": per["full"], "polls": counted},
        )
    ]


def _free_current_slot(db: Path, interval: int) -> None:
    """Delete the buffered sample of the current slot so the next poll inserts a new one."""
    slot = int(time.time() // interval) * interval
    if not db.exists():
        return  # polls write the journal only (issue 12): a re-poll costs the same block
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        conn.execute("DELETE FROM buffer WHERE slot >= ?", (slot,))
    finally:
        conn.close()


def bench_storage(work: Path, samples: int = WEEK_SAMPLES, json_stride: int = 1) -> list[Figure]:
    """Week database size per sample, and the same week as per-sample JSON."""
    db = work / "week" / "luxlog.db"
    stored = fill_store(db, week_rows(n=samples))
    size = db_bytes(db)
    per = size / stored
    # JSON of every json_stride-th sample, scaled (stride 1 in the real run).
    sampled = -(-samples // json_stride)
    js_per = json_bytes(week_rows(n=sampled, step=INTERVAL * json_stride)) / sampled
    ratio = js_per / per
    return [
        Figure(
            "storage per poll (week, all 3 blocks)",
            f"{per:.0f} B ({size / KIB:.0f} KiB / {stored} samples)",
            "≤ 150 B",
            per <= 150,
            {"bytes_per_sample": per, "db_bytes": size, "samples": stored},
        ),
        Figure(
            "JSON peer ÷ luxlog storage",
            f"{ratio:.0f}× ({js_per / KIB:.1f} KiB per sample as JSON)",
            "≥ 100×",
            ratio >= 100,
            {"json_bytes_per_sample": js_per, "ratio": ratio, "stride": json_stride},
        ),
    ]


def bench_flush(work: Path, repeats: int, samples: int = BACKLOG_SAMPLES) -> list[Figure]:
    """Flush a backlog of ``samples`` buffered samples (fresh database each run)."""
    from luxlog.store import Store

    rows = list(week_rows(n=samples))
    times = []
    for i in range(repeats):
        with Store(work / f"flush{i}" / "luxlog.db", interval=INTERVAL) as store:
            store.add_rows(rows)
            start = time.perf_counter()
            result = store.flush()
            times.append(time.perf_counter() - start)
            assert result.moved == samples and result.remaining == 0, result
    t = median(times)
    return [
        Figure(
            f"flush {samples:,} buffered samples",
            f"{t:.2f} s ({samples / t:,.0f} samples/s)",
            "≤ 10 s",
            t <= 10,
            {"seconds": t, "samples_per_s": samples / t, "runs": times},
        )
    ]


REPORT_BASELINE = "d6c7437"  # main before issue 12's report formatters and counts()


def bench_report(
    work: Path, repeats: int, date: dt.date = REPORT_DATE, before: Path | None = None
) -> list[Figure]:
    """``luxlog report --weekly`` over the week database, default and all columns, alternating.

    ``before``: a source tree of ``REPORT_BASELINE``, run alternately on its own copy of the
    database (at schema 4, which that code reads) so both times come from the same invocation.
    """
    db = work / "week" / "luxlog.db"
    old_db = _schema_4_copy(db) if before is not None else None
    runs: dict[str, list[Child]] = {"default": [], "all": []}
    olds: dict[str, list[Child]] = {"default": [], "all": []}
    for i in range(repeats):
        for columns in runs:
            runs[columns].append(_report_child(work, db, columns, f"{i}", date))
            if before is not None and old_db is not None:
                olds[columns].append(_report_child(work, old_db, columns, f"{i}-old", date, before))
    figures = []
    for columns, children in runs.items():
        t = median([c.wall for c in children])
        rss = median([c.maxrss_kib for c in children]) / KIB
        was = f"; before: {median([c.wall for c in olds[columns]]):.2f} s" if olds[columns] else ""
        target_t = 3.0 if columns == "default" else None
        ok = rss <= 100 and (target_t is None or t <= target_t)
        figures.append(
            Figure(
                f"weekly report, columns: {columns}",
                f"{t:.2f} s, {rss:.0f} MiB RSS{was}",
                ("≤ 3 s; " if target_t else "") + "RSS ≤ 100 MiB",
                ok,
                {
                    "seconds": t,
                    "rss_mib": rss,
                    "runs": [c.wall for c in children],
                    "before_runs": [c.wall for c in olds[columns]],
                },
            )
        )
    return figures


def _report_child(
    work: Path, db: Path, columns: str, tag: str, date: dt.date, tree: Path | None = None
) -> Child:
    out = work / f"out-{columns}-{tag}"
    cfg = work / f"report-{columns}-{tag}.yaml"
    cfg.write_text(
        f"cache_path: {json.dumps(str(db))}\noutput_dirs: [{json.dumps(str(out))}]\n"
        f'timezone: UTC\ncsv_time: "07:00"\ncolumns: {columns}\nretention_days: 36500\n'
    )
    cmd = [*luxlog_cmd(), "report", "--weekly", "--date", date.isoformat(), "--config", str(cfg)]
    env = clean_env()
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
        # The code before is not this checkout: under `make test` it must not count towards
        # (and swamp) the coverage of this one.
        for var in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
            env.pop(var, None)
    return check(run_child(cmd, env, work), "report" if tree is None else "report (before)")


def _schema_4_copy(db: Path) -> Path:
    """A copy of ``db`` as schema 4 had it (no ``chunk_total``): what the code before reads."""
    copy = db.with_name("luxlog-schema4.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(db)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.executescript(
        "DROP TRIGGER IF EXISTS chunk_total_insert; DROP TRIGGER IF EXISTS chunk_total_update;"
        "DROP TRIGGER IF EXISTS chunk_total_delete; DROP TABLE IF EXISTS chunk_total;"
        "PRAGMA user_version=4;"
    )
    dst.close()
    return copy


def year_db(samples: int = YEAR_SAMPLES, cache: Path = CACHE_DIR) -> Path:
    """The year database, generated once and cached (keyed by the store/codec versions)."""
    from luxlog.codec import FORMAT_VERSION
    from luxlog.store import SCHEMA_VERSION

    path = cache / f"year-{samples}-s{SCHEMA_VERSION}-c{FORMAT_VERSION}.db"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    print(f"generating {samples:,} samples into {path} (once) …", file=sys.stderr, flush=True)
    fill_store(tmp, week_rows(start=YEAR_START, n=samples), batch=min(samples, 8640))
    os.replace(tmp, path)
    print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return path


def query_child(db: Path, start: int, end: int) -> tuple[float, Child]:
    child = check(
        run_child(
            [sys.executable, __file__, "--query-child", str(db), str(start), str(end)], clean_env()
        ),
        "query child",
    )
    return float(child.stdout.split()[0]), child


def bench_year_query(
    work: Path, repeats: int, samples: int = YEAR_SAMPLES, cache: Path = CACHE_DIR
) -> list[Figure]:
    year = year_db(samples, cache)
    week = work / "week" / "luxlog.db"
    day_in_year = YEAR_START + (samples * INTERVAL // 2) // DAY * DAY
    tq, ry, rw = [], [], []
    for _ in range(repeats):
        t, c = query_child(year, day_in_year, day_in_year + DAY)
        tq.append(t)
        ry.append(c.maxrss_kib)
        _, c = query_child(week, WEEK_START + DAY, WEEK_START + 2 * DAY)
        rw.append(c.maxrss_kib)
    t, rss_y, rss_w = median(tq), median(ry) / KIB, median(rw) / KIB
    flat = rss_y <= rss_w * 1.1 + 2
    return [
        Figure(
            f"query one day of {samples:,} samples ({db_bytes(year) / MIB:.0f} MiB db)",
            f"{t:.3f} s; RSS {rss_y:.0f} MiB (week db: {rss_w:.0f} MiB)",
            "≤ 0.5 s, RSS flat",
            t <= 0.5 and flat,
            {"seconds": t, "rss_year_mib": rss_y, "rss_week_mib": rss_w, "runs": tq},
        )
    ]


def _query_main(db: str, start: str, end: str) -> None:
    from luxlog.store import Store

    with Store(db, interval=INTERVAL, readonly=True) as store:
        t0 = time.perf_counter()
        got = store.query(int(start), int(end))
        elapsed = time.perf_counter() - t0
    print(f"{elapsed:.6f} {len(got)}")


# ------------------------------------------------------------------- export, import (issue 15)

LOGGER_SAMPLES = 100_000
_PASS = (
    "import sys; from luxlog.store import Store; "
    "s = Store(sys.argv[1], readonly=True); "
    "print(sum(1 for _ in s.iter_rows(int(sys.argv[2]), int(sys.argv[3]))))"
)


def _utc(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _export_env(db: Path) -> dict[str, str]:
    return clean_env(
        LUXLOG_CACHE_PATH=str(db), LUXLOG_TIMEZONE="UTC", LUXLOG_INTERVAL_SEC=str(INTERVAL)
    )


def bench_export(
    work: Path, repeats: int, samples: int = YEAR_SAMPLES, cache: Path = CACHE_DIR
) -> list[Figure]:
    """``luxlog export`` of the year database to Parquet and to CSV (default columns), wall
    time and peak RSS of the child; the reference is one ``Store.iter_rows`` pass over the same
    rows in its own child, alternating (an export reads the range twice: columns, then rows)."""
    year = year_db(samples, cache)
    lo, hi = YEAR_START, YEAR_START + samples * INTERVAL
    span = ["--from", _utc(lo), "--to", _utc(hi)]
    runs: dict[str, list[Child]] = {"parquet": [], "csv": [], "pass": []}
    for _ in range(repeats):
        for fmt in ("parquet", "csv"):
            out = work / f"year.{fmt}"
            cmd = [*luxlog_cmd(), "export", *span, "--format", fmt, "-o", str(out)]
            runs[fmt].append(check(run_child(cmd, _export_env(year), timeout=900), fmt))
            out.unlink()
        cmd = [sys.executable, "-c", _PASS, str(year), str(lo), str(hi)]
        runs["pass"].append(check(run_child(cmd, clean_env(), timeout=900), "iter_rows pass"))
    ref = median([c.wall for c in runs["pass"]])
    figures = []
    for fmt, target in (("parquet", (15.0, 150.0)), ("csv", None)):
        t = median([c.wall for c in runs[fmt]])
        rss = median([c.maxrss_kib for c in runs[fmt]]) / KIB
        figures.append(
            Figure(
                f"export {samples:,} samples (a year) to {fmt}, default columns",
                f"{t:.1f} s ({t / ref:.1f}× one iter_rows pass, {ref:.1f} s), {rss:.0f} MiB RSS",
                "≤ 15 s, RSS ≤ 150 MiB" if target else "(informational)",
                (t <= target[0] and rss <= target[1]) if target else None,
                {
                    "seconds": t,
                    "rss_mib": rss,
                    "pass_seconds": ref,
                    "runs": [c.wall for c in runs[fmt]],
                },
            )
        )
    return figures


def _logger_plan() -> list[tuple[str, int, int, Any]]:
    """(key, block, index, datatype) of every entry roelven/luxtronik-logger stores (its
    client asks luxtronik for calculations 0..274, parameters 0..1186, visibilities 0..397 and
    keys each by name, or by index for luxtronik's ``Unknown_…``)."""
    from luxtronik.calculations import Calculations
    from luxtronik.parameters import Parameters
    from luxtronik.visibilities import Visibilities

    plan = []
    tables = (
        ("calculations", 1, 275, Calculations.calculations),
        ("parameters", 0, 1187, Parameters.parameters),
        ("visibilities", 2, 398, Visibilities.visibilities),
    )
    for prefix, block, count, table in tables:
        for i in range(count):
            entry = table.get(i)
            if entry is not None:
                key = str(i) if entry.name.startswith("Unknown") else entry.name
                plan.append((f"{prefix}.{key}", block, i, entry))
    return plan


def logger_json(plan: list[tuple[str, int, int, Any]], row: Any) -> str:
    """``json.dumps(readings, default=str)`` as that logger writes it for one raw sample:
    luxtronik's ``from_heatpump`` of each entry (the firmware string from 81..89; entries the
    block does not reach are ``None``), without luxtronik's slower object lookups."""
    blocks = (row.parameters, row.calculations, row.visibilities)
    out: dict[str, Any] = {}
    for key, block, i, entry in plan:
        values = blocks[block]
        if i >= len(values):
            out[key] = None
        elif block == 1 and i == 81:
            out[key] = entry.from_heatpump(list(values[81:90]))
        else:
            out[key] = entry.from_heatpump(values[i])
    return json.dumps(out, default=str)


def logger_db(samples: int = LOGGER_SAMPLES, cache: Path = CACHE_DIR) -> Path:
    """A roelven/luxtronik-logger cache.db of ``samples`` polls, generated once (TZ=UTC)."""
    path = cache / f"logger-{samples}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    print(f"generating {samples:,} logger rows into {path} (once) …", file=sys.stderr)
    plan = _logger_plan()
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"  # luxtronik writes timestamps in the process's local time
    time.tzset()
    try:
        conn = sqlite3.connect(tmp)
        conn.execute(
            "CREATE TABLE sensor_data (timestamp REAL PRIMARY KEY, data_json TEXT NOT NULL)"
        )
        rows = ((r.slot + 0.4, logger_json(plan, r)) for r in week_rows(YEAR_START, samples))
        with conn:
            conn.executemany("INSERT OR REPLACE INTO sensor_data VALUES (?, ?)", rows)
        conn.close()
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
    os.replace(tmp, path)
    return path


def bench_import(
    work: Path, repeats: int, samples: int = LOGGER_SAMPLES, cache: Path = CACHE_DIR
) -> list[Figure]:
    """``luxlog import --format luxtronik-logger`` of ``samples`` polls into a fresh database
    (conversion, storing in batches, the final flush), wall time and peak RSS of the child."""
    source = logger_db(samples, cache)
    runs = []
    for k in range(repeats):
        db = work / f"import-{k}" / "luxlog.db"
        db.parent.mkdir(parents=True)
        cmd = [*luxlog_cmd(), "import", "--format", "luxtronik-logger", str(source)]
        runs.append(check(run_child(cmd, _export_env(db), timeout=1800), "import"))
        shutil.rmtree(db.parent)
    t = median([c.wall for c in runs])
    rss = median([c.maxrss_kib for c in runs]) / KIB
    return [
        Figure(
            f"import {samples:,} luxtronik-logger samples ({source.stat().st_size / MIB:.0f} MiB)",
            f"{t:.1f} s ({samples / t:,.0f} samples/s), {rss:.0f} MiB RSS",
            "≤ 30 s",
            t <= 30,
            {"seconds": t, "rss_mib": rss, "runs": [c.wall for c in runs]},
        )
    ]


# --------------------------------------------------------------------------- summary (issue 13)


def bench_summary_year(
    work: Path, repeats: int, samples: int = YEAR_SAMPLES, cache: Path = CACHE_DIR
) -> list[Figure]:
    """A year's summary by month from the year database whose per-day table is filled.

    Filling the table (deriving every day from its samples) is timed once, in-process: it is
    what flush does a day at a time, or ``summary --rebuild``. The summary itself runs in a
    child process (time inside it, peak RSS from ``wait4``), as ``luxlog summary`` would.
    """
    from luxlog.store import Store

    db = work / "summary" / "luxlog.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    year = year_db(samples, cache)
    for suffix in ("", "-wal"):
        if Path(f"{year}{suffix}").exists():
            shutil.copy(f"{year}{suffix}", f"{db}{suffix}")
    t0 = time.perf_counter()
    with Store(db, interval=INTERVAL) as store:
        days = store.update_daily("UTC", now=YEAR_START + samples * INTERVAL + 2 * DAY)
    derive = time.perf_counter() - t0
    first = dt.datetime.fromtimestamp(YEAR_START, dt.UTC).date()
    last = dt.datetime.fromtimestamp(YEAR_START + samples * INTERVAL, dt.UTC).date()
    times, rss = [], []
    for _ in range(repeats):
        child = check(
            run_child(
                [sys.executable, __file__, "--summary-child", str(db), str(first), str(last)],
                clean_env(),
            ),
            "summary child",
        )
        times.append(float(child.stdout.split()[0]))
        rss.append(child.maxrss_kib / KIB)
    t, r = median(times), median(rss)
    return [
        Figure(
            f"summary of a year by month ({days} days in the per-day table)",
            f"{t:.3f} s, {r:.0f} MiB RSS",
            "≤ 1 s, ≤ 60 MiB RSS",
            t <= 1.0 and r <= 60,
            {"seconds": t, "rss_mib": r, "runs": times},
        ),
        Figure(
            "deriving the per-day table of that year from its samples (once)",
            f"{derive:.1f} s ({derive / max(days, 1) * 1000:.0f} ms per day)",
            "(informational)",
            None,
            {"seconds": derive, "days": days},
        ),
    ]


def _summary_main(db: str, first: str, last: str) -> None:
    from luxlog.store import Store

    with Store(db, interval=INTERVAL, readonly=True) as store:
        t0 = time.perf_counter()
        got = store.summary(
            dt.date.fromisoformat(first), dt.date.fromisoformat(last), "month", timezone="UTC"
        )
        elapsed = time.perf_counter() - t0
    print(f"{elapsed:.6f} {len(got)}")


def bench_daily_update(
    work: Path, repeats: int, hours: int = 48, every: int = 10, seed: int = DAY // INTERVAL
) -> list[Figure]:
    """The per-day table's share of flushing: ``Store.update_daily`` after every flush of
    ``every`` samples (5 min at 30 s) over ``hours`` of polling, the clock following the
    samples, so the days that close in between are derived as they would be in service."""
    from luxlog.store import Store
    from luxlog.store.cache import flush as cache_flush

    per_hour, worst = [], []
    for r in range(repeats):
        db = work / f"daily-{r}" / "luxlog.db"
        db.parent.mkdir(parents=True)
        with Store(db, interval=INTERVAL) as store:
            store.add_rows(list(week_rows(start=WEEK_START, n=seed)))
            store.flush()
            t = WEEK_START + seed * INTERVAL
            store.update_daily("UTC", now=t)  # seeds the zone
            spent, longest = 0.0, 0.0
            for _ in range(hours * 3600 // (every * INTERVAL)):
                store.add_rows(list(week_rows(start=t, n=every)))
                cache_flush(store.db)  # the move alone: the hook is timed below
                t += every * INTERVAL
                t0 = time.perf_counter()
                store.update_daily("UTC", now=t)
                took = time.perf_counter() - t0
                spent += took
                longest = max(longest, took)
        per_hour.append(spent / hours * 1000)
        worst.append(longest * 1000)
    ms, w = median(per_hour), median(worst)
    return [
        Figure(
            "per-day table update per flushed hour (flush every 5 min)",
            f"{ms:.2f} ms (the flush that closes a day: {w:.0f} ms)",
            "≤ 5 ms per flushed hour",
            ms <= 5,
            {"ms_per_hour": ms, "worst_ms": w, "runs": per_hour},
        )
    ]


# --------------------------------------------------------------------------- main


def _run_steps(full: bool, quick: bool, n: int, reps: int, week: int, scale: float) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="luxlog-bench-") as tmp:
        work = Path(tmp)
        today = today_tree(work)
        report_tree = _source_tree_or_none(work, REPORT_BASELINE)
        steps: list[tuple[str, Callable[[], list[Figure]]]] = [
            ("block device", lambda: blockdev_figures(Figure, 10 if quick else 30)),
            ("poll", lambda: bench_poll(n, work, today)),
            ("cycle", lambda: bench_cycle(work, 20 if quick else 60)),
            ("storage", lambda: bench_storage(work, week, 1 if not quick else 4)),
            ("flush", lambda: bench_flush(work, reps, max(120, round(BACKLOG_SAMPLES * scale)))),
            ("report", lambda: bench_report(work, reps, before=report_tree)),
        ]
        year_samples = max(480, round(YEAR_SAMPLES * scale))
        cached = any(CACHE_DIR.glob(f"year-{year_samples}-*.db")) if not quick else True
        steps.append(("daily update", lambda: bench_daily_update(work, reps, 6 if quick else 48)))
        if full or cached:
            cache = work / "cache" if quick else CACHE_DIR
            steps.append(("year query", lambda: bench_year_query(work, reps, year_samples, cache)))
            steps.append(
                ("year summary", lambda: bench_summary_year(work, reps, year_samples, cache))
            )
            steps.append(("export", lambda: bench_export(work, reps, year_samples, cache)))
        logger = max(240, round(LOGGER_SAMPLES * scale))
        steps.append(
            (
                "import",
                lambda: bench_import(work, reps, logger, work / "cache" if quick else CACHE_DIR),
            )
        )
        year = None if quick else _cached_year(year_samples)
        hours = 48 if quick else 365 * 24
        steps.append(
            (
                "counts",
                lambda: counts_figures(Figure, work / "counts", 3 if quick else 51, year, hours),
            )
        )
        steps.append(("fleet", lambda: fleet_figures(Figure, 8 if quick else 200)))
        steps.append(("web api", lambda: web_api_figures(Figure, work, week, 3 if quick else 15)))
        steps.append(("web pages", lambda: web_pages_figures(Figure, work / "web", reps + 2, week)))
        for name, step in steps:
            t0 = time.perf_counter()
            figures += step()
            print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        if not (full or cached):
            figures.append(
                Figure(
                    "query one day of a year of samples",
                    "not run (year database not cached yet)",
                    "≤ 0.5 s, RSS flat",
                    None,
                    {"hint": "run `make bench ARGS=--full` once"},
                )
            )
    return figures


def _source_tree_or_none(work: Path, commit: str) -> Path | None:
    try:
        return source_tree(work, commit)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"  the code at {commit} unavailable: {exc}", file=sys.stderr)
        return None


def _cached_year(samples: int) -> Path | None:
    """The cached year database of this schema, if ``--full`` has built one."""
    from luxlog.store import SCHEMA_VERSION

    return next(iter(sorted(CACHE_DIR.glob(f"year-{samples}-s{SCHEMA_VERSION}-*.db"))), None)


def run(full: bool = False, out: Path = RESULTS, scale: float = 1.0) -> list[Figure]:
    """Run every figure; ``scale`` < 1 shrinks sample counts (the smoke test)."""
    quick = scale < 1
    n = 5 if quick else (40 if full else 15)
    reps = 1 if quick else (5 if full else 3)
    week = max(240, round(WEEK_SAMPLES * scale))
    global _spawner
    figures: list[Figure] = []
    started = time.perf_counter()
    _spawner = Spawner()
    try:
        figures = _run_steps(full, quick, n, reps, week, scale)
    finally:
        _spawner.close()
        _spawner = None
    meta = {
        "full": full,
        "scale": scale,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "luxlog": " ".join(luxlog_cmd()),
    }
    out.write_text(
        json.dumps({"meta": meta, "figures": [asdict(f) for f in figures]}, indent=2) + "\n"
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more repeats; build the year db")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--query-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--summary-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.query_child:
        _query_main(*args.query_child)
        return 0
    if args.summary_child:
        _summary_main(*args.summary_child)
        return 0
    figures = run(full=args.full, out=args.out)
    print(markdown(figures))
    print(f"\n(results written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
