"""Every screen at 80x24 and 120x40 on the cached demo data, clock frozen: it renders, its key
regions are on screen (title line, status line, footer; for modal forms, every field), nothing
raw reaches a cell, and the main screens match their text snapshots (taken with the pinned
Textual; ``INCIDENTTUI_UPDATE_SNAPSHOTS=1`` rewrites them: review the diff). NO_COLOR too."""

from __future__ import annotations

from typing import Any

import pytest
import textual
from app_fixtures import DEMO_ALL, DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    PINNED_TEXTUAL,
    SIZE_IDS,
    SIZES,
    assert_inert,
    assert_snapshot,
    region_visible,
    screen_lines,
    screen_text,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
    wait_text,
)
from textual.widgets import Footer, Input, Select

from incidenttui.tui import make_app
from incidenttui.widgets.status_line import StatusLine
from incidenttui.widgets.timeline_view import TimelineView

#: A full screen: (keys, screen class, text it shows, the title line's start, snapshot)
#: A modal: (keys, screen class, text it shows, selector of its box, snapshot)
FROM_QUEUE = [
    ((), "QueueScreen", "INC-1282", f"Queue · open · {DEMO_OPEN} · sort priority", "queue"),
    (("C",), "ConflictsScreen", "No conflicts", "No conflicts: every change", "conflicts"),
    (("K",), "KpiScreen", "MTTA", "KPIs · last 30 days", None),
    (("O",), "OnCallScreen", "Service desk, primary", "On call ·", None),
]
MODALS_FROM_QUEUE = [
    (("question_mark",), "HelpScreen", "Keys: queue", "#help", "help"),
    (("n",), "NewIncidentScreen", "New incident", ".form", None),
    (("space", "space", "a"), "ConfirmScreen", "Acknowledge 2 incidents", ".form", None),
    (("colon",), "CommandPalette", "", "CommandInput", None),
]
FROM_DETAIL = [  # of INC-1282, the P1 major incident
    (("G",), "DetailScreen", "SLA: response met", "INC-1282 · P1 · working · MAJOR",
     "detail"),
    (("g",), "DetailScreen", "description", "INC-1282 · P1 · working · MAJOR", "detail-top"),
    (("e",), "EscalateScreen", "Reason (required)", " Escalate INC-1282 · support line L2",
     "escalate"),
    (("M",), "CommanderScreen", "next update in 16m", "INC-1282 · P1 · MAJOR · working",
     "commander"),
]
MODALS_FROM_DETAIL = [
    (("question_mark",), "HelpScreen", "Keys: incident", "#help", None),
    (("r",), "ResolveScreen", "Resolve INC-1282", ".form", "resolve"),
    (("t",), "AssignScreen", "Assign INC-1282", ".form", None),
    (("i",), "PriorityScreen", "Reprioritise INC-1282", ".form", None),
    (("l",), "LinkScreen", "Link INC-1282 to", ".form", None),
]
SNAPSHOTS = textual.__version__ == PINNED_TEXTUAL


async def check_full_screen(pilot: Any, size: tuple[int, int], title: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: screen_lines(app)[-1].strip(), what="the footer")
    lines = screen_lines(app)
    assert len(lines) == size[1]
    assert lines[0].startswith(title), lines[0]
    status = app.screen.query_one(StatusLine)
    footer = app.screen.query_one(Footer)
    assert region_visible(status, size) and status.region.y == size[1] - 2
    assert region_visible(footer, size) and footer.region.y == size[1] - 1
    assert lines[-2].startswith("OFFLINE (--offline) · never synced · 0 pending")
    assert "Quit" in lines[-1] or len(lines[-1].strip()) > 40, lines[-1]
    assert_inert(screen_text(app))


def check_modal(app: Any, size: tuple[int, int], box: str) -> None:
    container = app.screen.query_one(box)
    assert region_visible(container, size), (box, container.region)
    for field in app.screen.query(Input).results():
        if field.display and field.parent.display:
            assert region_visible(field, size), (field, field.region)
            assert container.region.contains_region(field.region), (field, field.region)
    for field in app.screen.query(Select).results():
        assert region_visible(field, size), (field, field.region)
        assert container.region.contains_region(field.region), (field, field.region)
    assert_inert(screen_text(app))


class Snapshots:
    """Compares each screen with its snapshot; reports every mismatch at the end."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.failures: list[str] = []

    async def take(self, pilot: Any, name: str | None) -> None:
        if name is None or not SNAPSHOTS:
            return
        await pilot.pause(0.1)  # let pending refreshes land
        await pilot.pause()
        try:
            assert_snapshot(f"{name}-{self.size[0]}x{self.size[1]}", screen_text(pilot.app),
                            self.size)
        except AssertionError as exc:
            self.failures.append(str(exc))

    def check(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)


async def visit(pilot: Any, keys: tuple[str, ...], name: str, text: str) -> None:
    await pilot.press(*keys)
    await wait_screen(pilot, name)
    if text:
        await wait_text(pilot, text)


async def back_to(pilot: Any, name: str) -> None:
    while type(pilot.app.screen).__name__ != name:
        await pilot.press("escape")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_every_screen(size: tuple[int, int], demo_store: Any, frozen: Any,
                            config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    snapshots = Snapshots(size)
    async with app.run_test(size=size) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await wait_for(pilot, lambda: app.sync_status.user == "demo", what="the user")
        for keys, name, text, title, snap in FROM_QUEUE:
            await visit(pilot, keys, name, text)
            await check_full_screen(pilot, size, title)
            await snapshots.take(pilot, snap)
            await back_to(pilot, "QueueScreen")
        for keys, name, text, box, snap in MODALS_FROM_QUEUE:
            await visit(pilot, keys, name, text)
            check_modal(app, size, box)
            await snapshots.take(pilot, snap)
            await back_to(pilot, "QueueScreen")
            await pilot.press("escape")  # clears any selection
        # all incidents by SLA: a list longer than the screen
        await pilot.press("7", "s")
        await wait_text(pilot, f"Queue · all · {DEMO_ALL} · sort sla")
        await snapshots.take(pilot, "queue-all-sla")
        await pilot.press("6", "s", "s", "s", "g", "enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_for(pilot, lambda: app.screen.query_one(TimelineView)._lines,
                       what="the timeline")
        for keys, name, text, title, snap in FROM_DETAIL:
            await visit(pilot, keys, name, text)
            await check_full_screen(pilot, size, title)
            await snapshots.take(pilot, snap)
            await back_to(pilot, "DetailScreen")
        await pilot.press("G")
        for keys, name, text, box, snap in MODALS_FROM_DETAIL:
            await visit(pilot, keys, name, text)
            check_modal(app, size, box)
            await snapshots.take(pilot, snap)
            await back_to(pilot, "DetailScreen")
        assert app.store.pending_count() == 0  # nothing was sent by looking around
    snapshots.check()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_login_screen_fits(size: tuple[int, int], config_for: Any, tmp_path: Any
                                 ) -> None:
    app = make_app(config_for(server_url="http://127.0.0.1:9", store_path=tmp_path / "s.db"))
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, "LoginScreen")
        await wait_text(pilot, "Log in to an incidenttui server")
        check_modal(app, size, ".form")
        assert "esc: work offline" in screen_text(app)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_no_color(size: tuple[int, int], demo_store: Any, frozen: Any, config_for: Any,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    assert app.no_color
    assert any(isinstance(f, NoColor | Monochrome) for f in app._filters)
    async with app.run_test(size=size) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await check_full_screen(pilot, size, f"Queue · open · {DEMO_OPEN}")
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, "SLA:")
        await check_full_screen(pilot, size, "INC-1282")
        svg = app.export_screenshot()
        assert "<svg" in svg and "\x1b" not in svg
