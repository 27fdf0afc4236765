"""Start-up: process start → the cached queue painted (10,000 incidents in the store), against
a bare Textual app that paints one label. Target: ≤1.3× the bare app.

Both run as fresh processes on a real 80x24 pseudo-terminal (Textual's own Linux driver, as a
user runs them), alternately, so machine noise hits both alike. Ours is the real command line,
``incidenttui --server URL --offline``, on a store holding 10,000 incidents. The bare app is
the right baseline: it is the least any Textual app pays (interpreter, Textual import, driver
start, first frame), so the ratio shows what our start-up adds on top.

Both run from compiled bytecode, as an installed copy does (pip compiles a package's modules
when it installs them; Textual's in the venv are): cached under the work directory by the
warm-up run (``PYTHONPYCACHEPREFIX``; the checkout is not written to). A development checkout
run with ``PYTHONDONTWRITEBYTECODE`` compiles every module of ours from source at each start
(about 45 ms here): measured too, as an info row. Each probe also reports its CPU time (user
+ system) at the first paint, which a loaded machine inflates far less than the wall time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from benchmarks.common import (
    Context,
    PtySession,
    Row,
    bench_env,
    median,
    ratio,
    secs,
    verdict,
)
from benchmarks.data import copy_store

URL = "http://incidents.bench.invalid"
TARGET = 1.3


def first_paint(argv: list[str], env: dict[str, str], stamp: Path) -> tuple[float, float]:
    """Seconds from spawning ``argv`` on a pty to the first paint it stamps, and its CPU
    seconds (user + system) by then."""
    stamp.unlink(missing_ok=True)
    session = PtySession(argv, {**env, "BENCH_STAMP": str(stamp)})
    try:
        deadline = time.monotonic() + 60
        while not stamp.exists() or not stamp.read_text():
            if time.monotonic() > deadline or session.proc.poll() not in (None, 0):
                raise RuntimeError("no first paint: "
                                   + session.data[-2000:].decode(errors="replace"))
            time.sleep(0.002)
        painted, cpu = (float(v) for v in stamp.read_text().split())
        return painted - session.started, cpu
    finally:
        session.close()


def store_location(data_dir: Path) -> Path:
    """Where ``incidenttui --server URL`` looks for its store, given INCIDENTTUI_DATA_DIR."""
    from incidenttui.store.reader import store_path_for

    saved = os.environ.get("INCIDENTTUI_DATA_DIR")
    os.environ["INCIDENTTUI_DATA_DIR"] = str(data_dir)
    try:
        return store_path_for(URL)
    finally:
        if saved is None:
            del os.environ["INCIDENTTUI_DATA_DIR"]
        else:
            os.environ["INCIDENTTUI_DATA_DIR"] = saved


def run(ctx: Context, n: int = 10_000) -> list[Row]:
    data_dir = ctx.work_dir / "start-data"
    target = store_location(data_dir)
    copy = copy_store(ctx.store(n), target.parent)
    copy.rename(target)
    env = bench_env(INCIDENTTUI_DATA_DIR=str(data_dir),
                    INCIDENTTUI_CONFIG_DIR=str(ctx.work_dir / "start-config"),
                    TERM="xterm-256color", COLORTERM="truecolor")
    # From bytecode, as installed (the module docstring); the source-compiled start apart.
    source_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    source_env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(ctx.work_dir / "pycache")
    python = [sys.executable, "-m", "benchmarks.probe_start"]
    ours_argv = [*python, "ours", "--server", URL, "--offline"]
    bare_argv = [*python, "bare"]
    stamp = ctx.work_dir / "start-stamp"
    reps = ctx.reps(3, 11)
    # One warm-up of each (imports into the page cache, bytecode compiled), not counted.
    first_paint(ours_argv, env, stamp)
    first_paint(bare_argv, env, stamp)
    first_paint(ours_argv, source_env, stamp)
    ours, bare, source = [], [], []
    for _ in range(reps):  # alternate, so load spikes fall on all three
        ours.append(first_paint(ours_argv, env, stamp))
        bare.append(first_paint(bare_argv, env, stamp))
        source.append(first_paint(ours_argv, source_env, stamp))
    ctx.log(f"start: ours {[round(v, 3) for v, _ in ours]} bare {[round(v, 3) for v, _ in bare]}"
            f" ours from source {[round(v, 3) for v, _ in source]}; CPU at first paint: ours "
            f"{[round(c, 3) for _, c in ours]} bare {[round(c, 3) for _, c in bare]} ours from "
            f"source {[round(c, 3) for _, c in source]}")
    base, base_cpu = median([v for v, _ in bare]), median([c for _, c in bare])
    rows = []
    for label, runs, target in (("", ours, True), (", our modules compiled from source", source,
                                                   False)):
        value, cpu = median([v for v, _ in runs]), median([c for _, c in runs])
        r = ratio(value, base)
        rows.append(Row(
            f"Start: process → cached queue painted ({n // 1000}k incidents){label}",
            secs(value), f"{secs(base)} bare Textual app, one Label", r,
            f"≤{TARGET}×" if target else "-",
            verdict(r is not None and r <= TARGET) if target else "info",
            note=f"CPU time to the first paint (user + system, median): {secs(cpu)} against "
                 f"the bare app's {secs(base_cpu)} ({cpu / base_cpu:.2f}×)",
            raw={"ours": runs, "bare": bare}))
    return rows
