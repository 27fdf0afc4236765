"""Start-up: process start → the cached queue painted (10,000 incidents in the store), against
a bare Textual app that paints one label. Target: ≤1.3× the bare app.

Both run as fresh processes on a real 80x24 pseudo-terminal (Textual's own Linux driver, as a
user runs them), alternately, so machine noise hits both alike. Ours is the real command line,
``incidenttui --server URL --offline``, on a store holding 10,000 incidents. The bare app is
the right baseline: it is the least any Textual app pays (interpreter, Textual import, driver
start, first frame), so the ratio shows what our start-up adds on top.
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


def first_paint(argv: list[str], env: dict[str, str], stamp: Path) -> float:
    """Seconds from spawning ``argv`` on a pty to the first paint it stamps."""
    stamp.unlink(missing_ok=True)
    session = PtySession(argv, {**env, "BENCH_STAMP": str(stamp)})
    try:
        deadline = time.monotonic() + 60
        while not stamp.exists() or not stamp.read_text():
            if time.monotonic() > deadline or session.proc.poll() not in (None, 0):
                raise RuntimeError("no first paint: "
                                   + session.data[-2000:].decode(errors="replace"))
            time.sleep(0.002)
        return float(stamp.read_text()) - session.started
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
    python = [sys.executable, "-m", "benchmarks.probe_start"]
    ours_argv = [*python, "ours", "--server", URL, "--offline"]
    bare_argv = [*python, "bare"]
    stamp = ctx.work_dir / "start-stamp"
    reps = ctx.reps(3, 11)
    # One warm-up of each (imports into the page cache), not counted.
    first_paint(ours_argv, env, stamp)
    first_paint(bare_argv, env, stamp)
    ours, bare = [], []
    for _ in range(reps):  # alternate, so load spikes fall on both
        ours.append(first_paint(ours_argv, env, stamp))
        bare.append(first_paint(bare_argv, env, stamp))
    ctx.log(f"start: ours {[round(v, 3) for v in ours]} bare {[round(v, 3) for v in bare]}")
    value, base = median(ours), median(bare)
    r = ratio(value, base)
    return [Row(f"Start: process → cached queue painted ({n // 1000}k incidents)", secs(value),
                f"{secs(base)} bare Textual app, one Label", r, f"≤{TARGET}×",
                verdict(r is not None and r <= TARGET),
                raw={"ours": ours, "bare": bare})]
