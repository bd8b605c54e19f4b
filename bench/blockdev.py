"""Writes at the block device: what a poll really costs an SD card (issue 12).

A loop-mounted ext4 image (4 KiB blocks, ``-E lazy_itable_init=0,lazy_journal_init=0`` so ext4's
background zeroing stays out of the counts). Per poll: ``sync``, the loop device's sectors
written (``/sys/block/loopN/stat``, field 7), one poll, ``sync``, the sectors again; this counts
the data, ext4's journal and the inode/bitmap writeback, which a process's own accounting
misses. ≥ 30 polls of distinct slots in place (never into fresh copies: copying drops the
preallocation), a flush every 10 as in production, its writes spread over the polls.

Each variant is a source tree: "today" is the tree of ``BASELINE`` (``git archive``), "new" is
this checkout. A poll child runs the variant's own ``poller.poll_once`` with a clock set to its
slot (a real poll would have to wait 30 s for the next slot); the flush child runs
``luxlog flush`` of that variant. fsyncs per poll are counted with ``strace`` where it exists.
Needs root, ``mkfs.ext4``, ``losetup``; otherwise the figure says why it was not measured.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BASELINE = "174e71f"  # main before issue 12: the SQLite buffer
ROOT = Path(__file__).resolve().parent.parent
SECTOR = 512
KIB = 1024

POLL_CHILD = """
import sys
from luxlog.config import load_config
from luxlog.poller import poll_once
t = float(sys.argv[1])
poll_once(load_config(None, {}), clock=lambda: t)
"""


def unavailable() -> str | None:
    """Why the block-device figures cannot be measured here, or None."""
    if os.geteuid() != 0:
        return "needs root (losetup, mount)"
    for tool in ("mkfs.ext4", "losetup", "mount", "umount", "git"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def ext4_loop(tmp: Path, size_mib: int = 128) -> Iterator[tuple[Path, str]]:
    """A mounted 4 KiB-block ext4 on a loop device: (mount point, device name, e.g. loop3)."""
    image, mnt = tmp / "ext4.img", tmp / "mnt"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(size_mib * 1024 * 1024)
    _run("mkfs.ext4", "-q", "-F", "-b", "4096", "-E", "lazy_itable_init=0,lazy_journal_init=0",
         str(image))  # fmt: skip
    dev = _run("losetup", "-f", "--show", str(image))
    try:
        _run("mount", dev, str(mnt))
        try:
            yield mnt, Path(dev).name
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


def sectors_written(dev: str) -> int:
    return int(Path(f"/sys/block/{dev}/stat").read_text().split()[6])


def measured(dev: str, cmd: list[str], env: dict[str, str]) -> int:
    """Bytes the device wrote for ``cmd``, its writeback and ext4 journal included."""
    os.sync()
    before = sectors_written(dev)
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=60)
    os.sync()
    return (sectors_written(dev) - before) * SECTOR


def source_tree(tmp: Path, commit: str | None) -> Path:
    """``src`` of ``commit`` (git archive), or of this checkout when None."""
    if commit is None:
        return ROOT / "src"
    out = tmp / f"src-{commit}"
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    import compileall

    compileall.compile_dir(out / "src", quiet=1)
    return out / "src"


def fsyncs(cmd: list[str], env: dict[str, str]) -> int | None:
    """fsync + fdatasync calls of ``cmd`` (strace), or None without strace."""
    if shutil.which("strace") is None:
        return None
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", "/dev/stderr", *cmd],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return len(re.findall(r"\b(?:fsync|fdatasync)\(", done.stderr))


def run_variant(
    mnt: Path, dev: str, src: Path, name: str, host: str, port: int, polls: int, flush_every: int
) -> dict[str, float]:
    db = mnt / name / "luxlog.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXLOG_")}
    env.update(
        PYTHONPATH=str(src),
        LUXLOG_HOST=host,
        LUXLOG_PORT=str(port),
        LUXLOG_CACHE_PATH=str(db),
        LUXLOG_INTERVAL_SEC="30",
        LUXLOG_TIMEZONE="UTC",
        LUXLOG_RETRIES="0",
    )
    poll = [sys.executable, "-c", POLL_CHILD]
    flush = [sys.executable, "-m", "luxlog", "flush"]
    t0 = (int(time.time()) // 30 - 10 * polls) * 30  # distinct past slots, in order
    # warm-up, uncounted: the first poll creates the files, the first flush the database
    for k in range(flush_every):
        subprocess.run([*poll, str(t0 + 30 * k)], env=env, check=True, capture_output=True)
    subprocess.run(flush, env=env, check=True, capture_output=True)
    poll_bytes: list[int] = []
    flush_bytes: list[int] = []
    for k in range(flush_every, flush_every + polls):
        poll_bytes.append(measured(dev, [*poll, str(t0 + 30 * k)], env))
        if (k + 1) % flush_every == 0:
            flush_bytes.append(measured(dev, flush, env))
    syncs = fsyncs([*poll, str(t0 + 30 * (flush_every + polls))], env)
    from statistics import median

    return {
        "poll_median": median(poll_bytes),
        "flush_median": median(flush_bytes) if flush_bytes else 0.0,
        "per_poll_with_flush": (sum(poll_bytes) + sum(flush_bytes)) / len(poll_bytes),
        "fsyncs": -1 if syncs is None else syncs,
        "polls": len(poll_bytes),
        "flushes": len(flush_bytes),
    }


def bench_blockdev(
    polls: int = 30, flush_every: int = 10, baseline: str | None = BASELINE, new: bool = True
) -> dict[str, dict[str, float]] | str:
    """{variant: figures} measured side by side, or the reason nothing was measured.

    ``baseline=None`` measures only the new code, ``new=False`` only the baseline (the smoke
    tests take one each, so neither takes long)."""
    reason = unavailable()
    if reason is not None:
        return reason
    from luxlog.simulator import Simulator

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="luxlog-blockdev-") as tmp, Simulator(port=0) as sim:
        host, port = sim.address
        trees = {"new": source_tree(Path(tmp), None)} if new else {}
        if baseline is not None:
            try:
                trees = {"today": source_tree(Path(tmp), baseline), **trees}
            except subprocess.CalledProcessError as exc:
                results["today"] = {"error": float("nan")}
                print(f"  blockdev: baseline {baseline} unavailable: {exc}", file=sys.stderr)
        try:
            with ext4_loop(Path(tmp)) as (mnt, dev):
                for name, src in trees.items():
                    results[name] = run_variant(mnt, dev, src, name, host, port, polls, flush_every)
        except subprocess.CalledProcessError as exc:
            return f"loop device unavailable: {(exc.stderr or '').strip() or exc}"
    return results


def today_tree(work: Path) -> Path | None:
    """The source tree before issue 12 (git archive of ``BASELINE``), or None."""
    try:
        return source_tree(work, BASELINE)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"  today's code ({BASELINE}) unavailable: {exc}", file=sys.stderr)
        return None


def blockdev_figures(
    figure: Any, polls: int, flush_every: int = 10, baseline: str | None = BASELINE
) -> list[Any]:
    """The bench's rows (``figure``: run.py's Figure): writes per poll and fsyncs, side by side
    with ``baseline`` (None: the new code alone)."""
    found = bench_blockdev(polls, flush_every, baseline)
    if isinstance(found, str):
        return [figure("device writes per poll --once (loop ext4)", f"not measured: {found}",
                       "≤ 20 KiB", None, {"reason": found})]  # fmt: skip
    new, old = found["new"], found.get("today", {})

    def was(key: str, scale: float = KIB, unit: str = " KiB") -> str:
        return f" (today: {old[key] / scale:.1f}{unit})" if key in old else ""

    return [
        figure(
            "device writes per `poll --once` (loop ext4: data + ext4 journal + metadata)",
            f"{new['poll_median'] / KIB:.1f} KiB{was('poll_median')}",
            "≤ 20 KiB",
            new["poll_median"] <= 20 * KIB,
            found,  # type: ignore[arg-type]
        ),
        figure(
            f"device writes per poll incl. its share of a flush every {flush_every}",
            f"{new['per_poll_with_flush'] / KIB:.1f} KiB{was('per_poll_with_flush')}; "
            f"one flush {new['flush_median'] / KIB:.0f} KiB{was('flush_median')}",
            "(informational)",
            None,
        ),
        figure(
            "fsyncs per poll (strace)",
            f"{new['fsyncs']:.0f}" + (f" (today: {old['fsyncs']:.0f})" if "fsyncs" in old else ""),
            "1",
            new["fsyncs"] == 1,
        ),
    ]
