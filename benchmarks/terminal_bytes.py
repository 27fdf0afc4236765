"""Bytes to the terminal per cursor move, at 80x24 on a real pseudo-terminal.

Ours is the real ``incidenttui --server URL --offline`` (mouse off, its default) on a store of
1,000 incidents; the baseline is the stock Header + DataTable + Footer app
(:mod:`benchmarks.probe_datatable_app`) on the same store, in the same pty setup. Both are
started, left to settle (no output for a while: first paint, background loads, re-queries),
then sent one cursor-down key at a time (``j`` for ours, the down arrow for the DataTable,
which has no ``j``), and every byte the app writes until the next key is counted. The median
over the moves is reported, in three colour setups:

* truecolor: ``TERM=xterm-256color COLORTERM=truecolor``
* 256 colours: ``TERM=xterm-256color``, no ``COLORTERM``
* 16 colours: ``TERM=xterm``, no ``COLORTERM`` (our app picks its ANSI theme by itself here)

The stock DataTable app is the right baseline: it is what a Textual list of incidents sends
without any care for the wire. Targets (issue 20): ≤300 B in 16 colours, ≤350 B in truecolor
(the floor, a Line-API list repainting two lines in one style each: 227 / 271 B).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from benchmarks.common import Context, PtySession, Row, bench_env, median, ratio, size, verdict
from benchmarks.data import copy_store
from benchmarks.start import URL, store_location

MODES = {
    "truecolor": {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
    "256 colours": {"TERM": "xterm-256color"},
    "16 colours": {"TERM": "xterm"},
}
TARGETS = {"16 colours": (300, "≤300 B"), "truecolor": (350, "≤350 B"),
           "256 colours": (None, "-")}


def bytes_per_move(argv: list[str], env: dict[str, str], key: bytes, moves: int,
                   settle: float) -> tuple[list[int], int]:
    """Start the app, let it settle, then send ``key`` ``moves`` times; the bytes written
    after each key until the app is quiet again (at least 0.2 s without output)."""
    session = PtySession(argv, env)
    try:
        # A first full frame at 80x24 is several KB; the terminal set-up before it is ~100 B.
        # Settling also waits out our app's background store load and the re-query after it.
        if not session.wait_quiet(settle, timeout=120, at_least=2000):
            raise RuntimeError("the app never settled: "
                               + session.data[-1500:].decode(errors="replace"))
        startup = len(session.data)
        counts = []
        for _ in range(moves):
            before = len(session.data)
            sent = session.send(key)
            deadline = time.monotonic() + 3
            while len(session.data) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            session.wait_quiet(0.2, timeout=10)
            counts.append(session.bytes_between(sent, time.monotonic()))
        return counts, startup
    finally:
        session.close()


def run(ctx: Context, n: int = 1000) -> list[Row]:
    data_dir = ctx.work_dir / "bytes-data"
    target = store_location(data_dir)
    copy_store(ctx.store(n), target.parent).rename(target)
    baseline_store = copy_store(ctx.store(n), ctx.work_dir / "bytes-dt")
    script = Path(sys.executable).parent / "incidenttui"
    ours_argv = [str(script)] if script.exists() else [sys.executable, "-m", "incidenttui"]
    ours_argv += ["--server", URL, "--offline"]
    dt_argv = [sys.executable, "-m", "benchmarks.probe_datatable_app", str(baseline_store)]
    moves = ctx.reps(5, 15)
    settle = 2.0 if ctx.quick else 3.0
    rows = []
    # --quick: 16 colours only (the mode with the target).
    modes = {"16 colours": MODES["16 colours"]} if ctx.quick else MODES
    for mode, colour_env in modes.items():
        env = bench_env(INCIDENTTUI_DATA_DIR=str(data_dir),
                        INCIDENTTUI_CONFIG_DIR=str(ctx.work_dir / "bytes-config"),
                        **colour_env)
        env.pop("COLORTERM", None) if "COLORTERM" not in colour_env else None
        ours, ours_start = bytes_per_move(ours_argv, env, b"j", moves, settle)
        stock, stock_start = bytes_per_move(dt_argv, env, b"\x1b[B", moves, settle)
        ctx.log(f"bytes {mode}: ours {ours} (start {ours_start} B), "
                f"DataTable {stock} (start {stock_start} B)")
        value, base = median(ours), median(stock)
        limit, target_text = TARGETS[mode]
        rows.append(Row(f"Bytes per cursor move, 80x24, {mode}", size(value),
                        f"{size(base)} stock Header+DataTable+Footer", ratio(value, base),
                        target_text, verdict(None if limit is None else value <= limit),
                        raw={"ours": ours, "stock": stock, "ours_startup_bytes": ours_start,
                             "stock_startup_bytes": stock_start}))
    shutil.rmtree(data_dir, ignore_errors=True)
    return rows
