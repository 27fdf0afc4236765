"""Issue 18 in the app, headless at 80x24 on the cached demo store with no server: the KPI
screen (definitions in its help, grouping, NO_COLOR), similar past incidents in the detail
with the one-key duplicate link, and the suggested category and service in the new-incident
form."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    screen_lines,
    screen_text,
    type_text,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
    wait_text,
)
from textual.widgets import Select

from incidenttui.screens.detail import DetailScreen
from incidenttui.store.commands import CreateIncident
from incidenttui.tui import make_app
from incidenttui.widgets.similar_view import SimilarView


@pytest.fixture
def open_app(demo_store: Any, frozen: Any, config_for: Any) -> Any:
    def make() -> Any:
        return make_app(config_for(store_path=demo_store, offline=True,
                                   server_url=OFFLINE_URL))
    return make


async def start(pilot: Any) -> None:
    await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
    await wait_store(pilot)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_kpi_screen_at_80x24(open_app: Any, frozen: Any, no_color: bool,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = open_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        expected = app.store.kpis(frozen - timedelta(days=30), frozen, now=frozen)
        await pilot.press("K")
        await wait_screen(pilot, "KpiScreen")
        text = await wait_text(pilot, "(hold excluded)")
        lines = screen_lines(app)
        assert lines[0].startswith(
            f"KPIs · last 30 days · {expected.window['incidents']} incidents")
        mttr = next(line for line in lines if line.lstrip().startswith("MTTR"))
        assert mttr.rstrip().endswith("(hold excluded)")  # one line, not wrapped at 80
        assert "missing" in text and "SLA met" in text
        # Scroll to the trend: sparklines are characters, readable without colour.
        app.screen.query_one("VerticalScroll").scroll_to(y=18, animate=False)
        await wait_text(pilot, "trend, 12 weeks")
        await wait_text(pilot, "  volume  ")
        volume = next(line for line in screen_lines(app) if "  volume  " in line)
        assert any(c in volume for c in "▁▂▃▄▅▆▇█")
        await pilot.press("b")
        await wait_text(pilot, "· by service")
        app.screen.query_one("VerticalScroll").scroll_to(y=0, animate=False)
        await wait_text(pilot, "MTTR p50")
        header = next(line for line in screen_lines(app) if "MTTR p50" in line)
        assert header.rstrip().endswith("reop%")  # the --by table fits 80 columns
        await pilot.press("question_mark")
        await wait_screen(pilot, "HelpScreen")
        await wait_text(pilot, "Keys: kpis")
        help_text = app.screen.query_one("#help-text").render()
        assert "FCR (first-contact resolution)" in str(help_text)
        assert "time on hold excluded" in str(help_text)


async def test_similar_incidents_in_the_detail(open_app: Any) -> None:
    app = open_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        latency = app.store.get("INC-1284")  # Checkout p95 latency above 2s
        await app.push_screen(DetailScreen(latency.id))
        await wait_text(pilot, "INC-1284 · P2")
        view = app.screen.query_one(SimilarView)
        await wait_for(pilot, lambda: view.hits, what="similar incidents")
        text = await wait_text(pilot, "similar ")
        lines = [line for line in screen_lines(app) if line.startswith("similar ")]
        assert lines and len(lines[0]) <= 80
        best = view.hits[0]
        assert "latency" in best.title.lower() and best.resolution_code
        assert f"INC-{best.number} {best.resolution_code}:" in text
        assert view.duplicate is None  # nothing open is like it



async def test_similar_incidents_wait_for_the_search_index(open_app: Any,
                                                           demo_store: Any) -> None:
    """While a first sync builds the search index (store/search.py) a ranking would miss
    incidents: the section says so, and ranks once the index is there."""
    app = open_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        with sqlite3.connect(demo_store) as conn:  # as the first page of a first pull does
            conn.execute("INSERT INTO meta (key, value) VALUES ('search_stale', 'first pull')")
        latency = app.store.get("INC-1284")
        await app.push_screen(DetailScreen(latency.id))
        await wait_text(pilot, "similar: once the first sync has built the search index")
        view = app.screen.query_one(SimilarView)
        assert view.hits == [] and view.duplicate is None
        assert app.store.fill_search_index()
        view.load()  # what a synced change does
        await wait_for(pilot, lambda: view.hits, what="similar incidents")
        assert "latency" in view.hits[0].title.lower()

async def test_an_open_similar_incident_is_linked_as_duplicate_with_one_key(open_app: Any
                                                                          ) -> None:
    app = open_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        new = app.store.execute(CreateIncident.new(
            title="Checkout p95 latency above 2s for mobile", service="checkout",
            category="performance", impact=2, urgency=2))
        original = app.store.get("INC-1284")
        await app.push_screen(DetailScreen(new.id))
        view = app.screen.query_one(SimilarView)
        await wait_for(pilot, lambda: view.duplicate is not None, what="a duplicate")
        assert view.duplicate.id == original.id
        await wait_text(pilot, "INC-1284 OPEN, duplicate? D links it")
        await pilot.press("D")
        await wait_for(pilot, lambda: app.store.get(new.id).links, what="the link")
        assert app.store.get(new.id).links == [{"kind": "duplicate_of",
                                                "target": original.id}]
        assert [e.kind for e in app.store.outbox()] == ["create", "link"]
        # Linked now: no longer offered.
        await wait_for(pilot, lambda: view.duplicate is None, what="the offer gone")


async def test_the_new_incident_form_suggests_category_and_service(open_app: Any) -> None:
    app = open_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("n")
        screen = await wait_screen(pilot, "NewIncidentScreen")
        await type_text(pilot, "CDN errors in eu-west")
        await wait_text(pilot, "suggested: network ")
        assert " · cdn " in screen_text(app)
        category = screen.query_one("#category", Select)
        service = screen.query_one("#service", Select)
        await wait_for(pilot, lambda: service.value == "cdn", what="the service filled")
        assert category.value == "network"
        # The user changes the category: later suggestions leave it alone.
        category.value = "capacity"
        await pilot.pause()
        await type_text(pilot, " price import")
        await wait_for(pilot, lambda: service.value == "catalog", what="a new suggestion")
        assert category.value == "capacity"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, "QueueScreen")
        (entry,) = app.store.outbox()
        assert entry.kind == "create" and entry.payload["category"] == "capacity"
