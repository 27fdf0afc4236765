"""Probe (one child process per call): the queue at N incidents, headless at 80x24.

    python -m benchmarks.probe_queue ours|datatable STORE --reps R --moves M [--filter WORD]

``ours`` runs the real app (``make_app`` with ``offline=True``) on the store, with the queue
on the "all" preset so the view holds all N incidents. ``datatable`` is the baseline: a stock
Textual ``DataTable`` (row cursor) holding the same rows, in the same order, with the same
cell texts, read from the same store in ``on_mount`` (how a DataTable app loads its data).

Measured (``time.monotonic``, every frame stamped by :mod:`benchmarks.paint`):

* first paint: from the moment the queue starts loading its data (``QueueScreen.reload`` /
  the DataTable app's ``on_mount``) to the first frame showing a row; app boot is reported
  apart (``boot_to_paint``) and is what the start-up benchmark measures;
* cursor move: from the key press to the next frame, ``M`` moves down within the first
  screenful, after the app has settled;
* filter (``--filter``): per keystroke of WORD typed into the queue's filter box, from the
  key press to the first frame after the view shows that keystroke's result: for ours, its
  first screenful of matches (the whole list is read next, in the background; its count is
  what ``matches`` reports, and the next key is typed once it is in). The DataTable
  re-filters the same way a DataTable app must: the same store query, ``clear()`` and
  ``add_rows`` of the matching rows;
* RSS (VmRSS) after the first repetition has painted (and, for ours, once the full store has
  loaded in the background), in this fresh process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import emit, median, rss_kib
from benchmarks.paint import CLOCK, hook_queue_view

SIZE = (80, 24)


async def _until(predicate: Any, timeout: float = 120.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(step)


async def _frame_after(since: float, timeout: float = 30.0) -> float:
    await _until(lambda: CLOCK.frame_after(since) is not None, timeout)
    stamp = CLOCK.frame_after(since)
    assert stamp is not None
    return stamp


async def _settle(pilot: Any, quiet: float = 0.3) -> None:
    """Wait until no frame has been drawn for ``quiet`` seconds."""
    await pilot.pause()
    while True:
        last = CLOCK.frames[-1] if CLOCK.frames else 0.0
        if time.monotonic() - last >= quiet:
            return
        await asyncio.sleep(0.05)


async def _rss_and_moves(pilot: Any, out: dict[str, Any], rss: bool, moves: int,
                         key: str) -> None:
    """RSS (if asked) of the settled app, then ``moves`` cursor moves with ``key``, each from
    the key press to the next frame."""
    if rss:
        gc.collect()
        out["rss_kib"] = rss_kib()
    times = []
    for _ in range(moves):
        sent = time.monotonic()
        await pilot.press(key)
        times.append(await _frame_after(sent) - sent)
        await _settle(pilot, 0.05)
    out["moves"] = times


# -- ours -------------------------------------------------------------------------------------


def _bench_queue_screen() -> None:
    """The queue screen on the "all" preset, reporting when it loads and shows ids."""
    import incidenttui.screens.queue as queue_module

    if getattr(queue_module.QueueScreen, "_bench", False):
        return
    base = queue_module.QueueScreen

    class BenchQueueScreen(base):  # type: ignore[misc, valid-type]
        _bench = True
        shown: list[tuple[str, float]] = []

        def __init__(self) -> None:
            super().__init__()
            self.preset = "all"

        def reload(self, *args: Any, **kwargs: Any) -> None:
            CLOCK.loading()
            super().reload(*args, **kwargs)

        def _show(self, *args: Any, **kwargs: Any) -> None:
            super()._show(*args, **kwargs)
            # Only answers to show come here (the QueueQuery drops the stale ones).
            BenchQueueScreen.shown.append((self.text, time.monotonic()))

    queue_module.QueueScreen = BenchQueueScreen  # type: ignore[misc]


async def ours_once(store: Path, moves: int, word: str | None, rss: bool) -> dict[str, Any]:
    from incidenttui.screens import queue as queue_module
    from incidenttui.tui import AppConfig, make_app

    CLOCK.reset()
    started = time.monotonic()
    app = make_app(AppConfig(server_url="http://bench.invalid", token=None, store_path=store,
                             offline=True))
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: CLOCK.first_paint is not None)
        assert CLOCK.first_paint is not None and CLOCK.loading_at is not None
        out["first_paint"] = CLOCK.first_paint - CLOCK.loading_at
        out["boot_to_paint"] = CLOCK.first_paint - started
        view = app.screen.query_one("#queue")
        out["rows_in_view"] = len(view.ids)
        # The full store loads after the first paint and triggers one re-query: let it.
        await _until(lambda: app.store is not None)
        await asyncio.sleep(0.5)
        await _settle(pilot)
        await _rss_and_moves(pilot, out, rss, moves, "j")
        if word:
            await pilot.press("slash")
            await _settle(pilot, 0.1)
            shown = queue_module.QueueScreen.shown  # type: ignore[attr-defined]
            keys, counts = [], []
            for n, char in enumerate(word, 1):
                prefix = word[:n]
                sent = time.monotonic()
                await pilot.press(char)
                await _until(lambda p=prefix, s=sent: any(t == p and at >= s
                                                           for t, at in shown))
                at = next(at for t, at in shown if t == prefix and at >= sent)
                keys.append(await _frame_after(at) - sent)
                # The whole list follows the first screenful: count it, then type on.
                await _until(lambda: not app.screen.queue_query.partial)
                counts.append(len(view.ids))
                await _settle(pilot, 0.05)
            out["keys"], out["matches"] = keys, counts
    return out


# -- the stock DataTable -----------------------------------------------------------------------


def _load_rows(store: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every incident as (id, cell texts), in the queue's order, formatted as our queue
    formats them (same helpers), so both widgets show the same text."""
    from incidenttui.store.reader import SORTS, parse_time
    from incidenttui.widgets.cells import STATUS_SHORT, age, sla_text

    now = datetime.now(UTC)
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rows = []
    for (incident_id, number, priority, status, title, service, team, assignee, created,
         due, level, major, hold) in conn.execute(
            "SELECT id, number, priority, status, title, service, team, assignee, "
            "created_at, sla_due_at, escalation_level, major, on_hold_since FROM incidents "
            f"ORDER BY {SORTS['priority']}"):
        sla, _ = sla_text(parse_time(due), now, paused=hold is not None)
        rows.append((incident_id, (
            f"INC-{number}", f"P{priority}", STATUS_SHORT.get(status, status),
            ("MAJOR " if major else "") + title, service,
            "/".join(v for v in (team, assignee) if v) or "-",
            age(parse_time(created) or now, now), sla, f"L{level}")))
    conn.close()
    return rows


COLUMNS = ("NUMBER", "P", "STATUS", "TITLE", "SERVICE", "TEAM/ASSIGNEE", "AGE", "SLA", "L")


async def datatable_once(store: Path, moves: int, word: str | None,
                         rss: bool) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from incidenttui.store.reader import IncidentFilter, QueueReader

    class Table(DataTable):  # type: ignore[type-arg]
        def render_line(self, y: int) -> Any:
            strip = super().render_line(y)
            if self.row_count:
                CLOCK.content()
            return strip

    class DataTableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Table(cursor_type="row")

        def on_mount(self) -> None:
            CLOCK.loading()
            self.rows = _load_rows(store)
            table = self.query_one(Table)
            table.add_columns(*COLUMNS)
            table.add_rows([cells for _, cells in self.rows])
            table.focus()

    CLOCK.reset()
    started = time.monotonic()
    app = DataTableApp()
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: CLOCK.first_paint is not None, timeout=600)
        assert CLOCK.first_paint is not None and CLOCK.loading_at is not None
        out["first_paint"] = CLOCK.first_paint - CLOCK.loading_at
        out["boot_to_paint"] = CLOCK.first_paint - started
        table = app.query_one(Table)
        out["rows_in_view"] = table.row_count
        await _settle(pilot)
        await _rss_and_moves(pilot, out, rss, moves, "down")
        if word:
            reader = QueueReader(store)
            cells = dict(app.rows)
            keys, counts = [], []
            for n in range(1, len(word) + 1):
                sent = time.monotonic()
                ids = reader.query_ids(IncidentFilter(text=word[:n]))
                table.clear()
                table.add_rows([cells[i] for i in ids])
                keys.append(await _frame_after(time.monotonic(), timeout=600) - sent)
                counts.append(len(ids))
                await _settle(pilot, 0.05)
            out["keys"], out["matches"] = keys, counts
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.kind == "ours":
        # Before Textual, as the command line imports it: the package sets Textual's frame
        # rate (TEXTUAL_FPS, read once when Textual is imported). Installed first, the clock
        # imported Textual at its default 60 frames a second: a key waited for a 16.7 ms slot
        # where the app's is 8.3 ms.
        import incidenttui  # noqa: F401
    CLOCK.install()
    if args.kind == "ours":
        hook_queue_view()
        _bench_queue_screen()
        once = ours_once
    else:
        once = datatable_once
    runs = []
    for rep in range(args.reps):
        gc.collect()
        runs.append(await once(args.store, args.moves, args.filter if rep == 0 else None,
                               rss=rep == 0))
    first = runs[0]
    return {
        "kind": args.kind,
        "first_paint": median([r["first_paint"] for r in runs]),
        "first_paint_runs": [r["first_paint"] for r in runs],
        "boot_to_paint": median([r["boot_to_paint"] for r in runs]),
        "move": median([t for r in runs for t in r["moves"]]),
        "rows_in_view": first["rows_in_view"],
        "rss_kib": first.get("rss_kib"),
        "keys": first.get("keys"),
        "matches": first.get("matches"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["ours", "datatable"])
    parser.add_argument("store", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--filter", default=None)
    args = parser.parse_args()
    emit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
