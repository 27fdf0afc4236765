"""The queue at scale: first paint, cursor move, filter as you type and memory, at 1k, 10k and
100k incidents, against the stock Textual ``DataTable`` holding the same rows.

Each measurement is a fresh child process (:mod:`benchmarks.probe_queue`), headless at 80x24
with a terminal on stdin. The DataTable is the right baseline: it is what Textual offers for a
table of rows, and it measures every cell before its first paint, so its cost grows with N;
a Line-API view should not. Targets: ours ≥100× faster to first paint at 100k and flat in N
(read here as: at 100k within 2× of ours at 1k); filter ≤30 ms per keystroke at 100k (every
keystroke, so the worst one decides); RSS ≤200 MB with 100k incidents and the queue open.

``--quick`` does not run the DataTable at 100k (about 12 s for one paint, several times that
to re-filter): its 100k figures are extrapolated linearly from its 1k and 10k runs (the
re-filter from 1k), and say so.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import (
    Context,
    Row,
    median,
    mib,
    ratio,
    run_probe,
    secs,
    verdict,
)
from benchmarks.data import copy_store

SIZES = (1_000, 10_000, 100_000)
#: Typed into the filter box one key at a time; "p" alone matches most incidents.
WORD = "payment"
FLAT = 2.0
FILTER_TARGET = 0.030
RSS_TARGET_MB = 200


def _probe(ctx: Context, kind: str, n: int, reps: int, moves: int,
           word: str | None) -> dict[str, Any]:
    store = ctx.store(n)
    if kind == "ours":  # the app writes to its store: a private copy
        store = copy_store(store, ctx.work_dir / f"queue-{n}")
    args = [kind, str(store), "--reps", str(reps), "--moves", str(moves)]
    if word:
        args += ["--filter", word]
    result = run_probe("probe_queue", args, timeout=1800)
    ctx.log(f"queue {kind} {n:,}: first paint {[round(v, 3) for v in result['first_paint_runs']]}"
            f" move {result['move'] * 1000:.1f} ms"
            + (f" keys {[round(k * 1000) for k in result['keys']]} ms" if result["keys"] else "")
            + (f" rss {result['rss_kib'] / 1024:.0f} MiB" if result["rss_kib"] else ""))
    return result


def _extrapolate(small: dict[str, Any], big: dict[str, Any], n_small: int, n_big: int,
                 n: int) -> dict[str, Any]:
    """Linear in N through the two measured sizes."""
    def line(a: float, b: float) -> float:
        return b + (b - a) * (n - n_big) / (n_big - n_small)

    return {"first_paint": line(small["first_paint"], big["first_paint"]),
            "move": max(small["move"], big["move"]),
            "rss_kib": line(small["rss_kib"], big["rss_kib"]), "extrapolated": True}


def run(ctx: Context) -> list[Row]:
    ours_reps, moves = ctx.reps(3, 5), ctx.reps(6, 15)
    ours: dict[int, dict[str, Any]] = {}
    stock: dict[int, dict[str, Any]] = {}
    for n in SIZES:
        ours[n] = _probe(ctx, "ours", n, ours_reps, moves, WORD if n == SIZES[-1] else None)
    # --quick re-filters the DataTable at 1k only (the 10k re-filter alone takes ~10 s here)
    # and scales it to 100k: a re-filter costs in proportion to the rows it adds.
    stock[1_000] = _probe(ctx, "datatable", 1_000, ctx.reps(2, 3), moves,
                          WORD if ctx.quick else None)
    stock[10_000] = _probe(ctx, "datatable", 10_000, ctx.reps(1, 3), moves, None)
    if ctx.quick:
        stock[100_000] = _extrapolate(stock[1_000], stock[10_000], 1_000, 10_000, 100_000)
        stock[100_000]["keys"] = [k * 100 for k in stock[1_000]["keys"]]
    else:
        stock[100_000] = _probe(ctx, "datatable", 100_000, 1, moves, WORD)

    def label(n: int) -> str:
        return f"{n // 1000}k"

    def stock_text(n: int, value: str) -> str:
        return f"{value} stock DataTable" + (" (extrapolated)" if stock[n].get("extrapolated")
                                            else "")

    rows = []
    for n in SIZES:
        value, base = ours[n]["first_paint"], stock[n]["first_paint"]
        big = n == SIZES[-1]
        rows.append(Row(f"Queue first paint, {label(n)} incidents", secs(value),
                        stock_text(n, secs(base)), ratio(value, base),
                        "≤0.01× (≥100× faster)" if big else "-",
                        verdict(value * 100 <= base if big else None),
                        raw={"ours": ours[n], "stock": stock[n]}))
    flat = ratio(ours[SIZES[-1]]["first_paint"], ours[SIZES[0]]["first_paint"])
    rows.append(Row("Queue first paint flat in N: 100k vs 1k", secs(ours[SIZES[-1]]["first_paint"]),
                    f"{secs(ours[SIZES[0]]['first_paint'])} ours at 1k", flat, f"≤{FLAT:g}×",
                    verdict(flat is not None and flat <= FLAT)))
    for n in SIZES:
        value, base = ours[n]["move"], stock[n]["move"]
        rows.append(Row(f"Cursor move (key → frame), {label(n)}", secs(value),
                        stock_text(n, secs(base)), ratio(value, base), "-", "info"))
    flat = ratio(ours[SIZES[-1]]["move"], ours[SIZES[0]]["move"])
    rows.append(Row("Cursor move flat in N: 100k vs 1k", secs(ours[SIZES[-1]]["move"]),
                    f"{secs(ours[SIZES[0]]['move'])} ours at 1k", flat, f"≤{FLAT:g}×",
                    verdict(flat is not None and flat <= FLAT)))

    keys, stock_keys = ours[SIZES[-1]]["keys"], stock[SIZES[-1]].get("keys") or []
    worst = max(keys)
    base = median(stock_keys) if stock_keys else 0.0
    rows.append(Row(f"Filter as you type, 100k: per keystroke, median (worst) of '{WORD}'",
                    f"{secs(median(keys))} ({secs(worst)})",
                    stock_text(SIZES[-1], secs(base)) + " re-filter" if base else "-",
                    ratio(median(keys), base), f"≤{FILTER_TARGET * 1000:.0f} ms each",
                    verdict(worst <= FILTER_TARGET),
                    note="matches per keystroke: " + ", ".join(
                        f"{WORD[:i + 1]}={m:,}" for i, m in enumerate(ours[SIZES[-1]]["matches"])),
                    raw={"ours_keys": keys, "stock_keys": stock_keys}))
    value, base = ours[SIZES[-1]]["rss_kib"], stock[SIZES[-1]]["rss_kib"]
    rows.append(Row("Memory: RSS, 100k incidents, queue open (store loaded)", mib(value),
                    stock_text(SIZES[-1], mib(base)), ratio(value, base),
                    f"≤{RSS_TARGET_MB} MB", verdict(value * 1024 <= RSS_TARGET_MB * 1e6)))
    return rows
