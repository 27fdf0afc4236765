"""Forms read their choices (teams, users, services) in a worker thread: the form is up at
once, its selects fill when the directory arrives, and the store is never read on the event
loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from app_fixtures import DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    type_text,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
)
from textual.widgets import Select

from incidenttui.tui import make_app

OpenApp = Callable[[], AbstractAsyncContextManager[tuple[Any, Any]]]


@pytest.fixture
def demo_app(demo_store: Any, frozen: Any, config_for: Any) -> OpenApp:
    """``async with demo_app() as (app, pilot)``: the app offline on the cached demo store
    at 80x24, its queue painted and its store loaded."""
    @asynccontextmanager
    async def run() -> AsyncIterator[tuple[Any, Any]]:
        app = make_app(config_for(store_path=demo_store, offline=True,
                                  server_url=OFFLINE_URL))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
            await wait_store(pilot)
            yield app, pilot

    return run


def watch_reads(app: Any, names: tuple[str, ...]) -> list[tuple[str, bool]]:
    """Record each call of the store's ``names`` and whether it ran on the event loop."""
    calls: list[tuple[str, bool]] = []
    for name in names:
        real = getattr(app.store, name)

        def watched(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append((_name, threading.get_ident() == app._thread_id))
            return _real(*args, **kwargs)

        setattr(app.store, name, watched)
    return calls


def options(select: Select[Any]) -> list[Any]:
    return [value for _, value in select._options if value is not Select.NULL]


async def test_new_incident_form_fills_services_in_a_worker(demo_app: OpenApp) -> None:
    async with demo_app() as (app, pilot):
        services = [s.id for s in app.store.services()]
        calls = watch_reads(app, ("teams", "users", "services"))
        await pilot.press("n")
        screen = await wait_screen(pilot, "NewIncidentScreen")
        select = screen.query_one("#service", Select)
        await wait_for(pilot, lambda: options(select) == services, what="the services")
        assert calls and not any(on_loop for _, on_loop in calls), calls
        await type_text(pilot, "Basket empties on reload")
        select.value = services[0]
        await pilot.press("ctrl+s")
        await wait_screen(pilot, "QueueScreen")
        await wait_for(pilot, lambda: app.sync_status.pending == 1, what="1 pending")
        (entry,) = app.store.outbox()
        assert entry.kind == "create" and entry.payload["service"] == services[0]


async def test_assign_form_fills_teams_and_people_in_a_worker(demo_app: OpenApp) -> None:
    async with demo_app() as (app, pilot):
        teams = [t.id for t in app.store.teams()]
        users = [u.id for u in app.store.users()]
        calls = watch_reads(app, ("teams", "users", "services"))
        await pilot.press("t")
        screen = await wait_screen(pilot, "AssignScreen")
        await wait_for(pilot, lambda: options(screen.query_one("#team", Select)) == teams
                       and options(screen.query_one("#user", Select)) == users,
                       what="teams and people")
        assert calls and not any(on_loop for _, on_loop in calls), calls


async def test_my_team_preset_reads_no_users_on_the_event_loop(demo_app: OpenApp) -> None:
    async with demo_app() as (app, pilot):
        await wait_for(pilot, lambda: app.sync_status.team == "service-desk",
                       what="the user's team in the sync status")
        calls = watch_reads(app, ("users",))
        for key in ("2", "6", "2", "s", "s"):
            await pilot.press(key)
        await pilot.pause(0.3)
        assert calls == []
