"""The incident screen's public update (``U``), offline: the form takes the public wording
and the component's state, and the change goes the one way every change goes (store and
outbox); the timeline holds it at once, as the status page will word it."""

from __future__ import annotations

from typing import Any

from app_fixtures import DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    paste,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
    wait_text,
)

from incidenttui.store import Store
from incidenttui.tui import make_app


async def test_a_public_update_from_the_incident_screen(demo_store: Any, frozen: Any,
                                                        config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await pilot.press("enter")  # the live P1, on top
        await wait_screen(pilot, "DetailScreen")
        await pilot.press("U")
        await wait_screen(pilot, "PublicUpdateScreen")
        await wait_text(pilot, "shown on the status page")
        await pilot.press("enter")  # nothing written yet: refused in words
        await wait_text(pilot, "Write what customers should read.")
        await paste(pilot, "Card payments work again [b]for everyone[/b].")
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, "1 pending")  # queued (offline), as every change
    store = Store(demo_store)
    try:
        [entry] = [e for e in store.outbox() if e.kind == "public_update"]
        assert entry.payload["public_text"] == "Card payments work again [b]for everyone[/b]."
        assert entry.payload["components"] == {}
        [event] = [e for e in store.timeline(entry.incident_id) if e.kind == "status_update"
                   and e.pending]
        assert event.data == {"public": True, "public_text": entry.payload["public_text"]}
    finally:
        store.close()


async def test_a_maintenance_window_planned_from_the_queue(demo_store: Any, frozen: Any,
                                                           config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await wait_text(pilot, "erp-sync until")  # the demo's window, on the queue
        await pilot.press("M")
        await wait_screen(pilot, "MaintenanceScreen")
        await paste(pilot, "payments, nosuch")
        await pilot.press("enter", "enter", "enter", "enter")  # start now, 1h, no reason
        await wait_for(pilot, lambda: any("Unknown service 'nosuch'" in n.message
                                          for n in app._notifications),
                       what="the store's refusal")
        await pilot.press("M")
        await wait_screen(pilot, "MaintenanceScreen")
        await paste(pilot, "payments")
        await pilot.press("enter", "enter", "enter")
        await paste(pilot, "Provider window")
        await pilot.press("enter")
        await wait_screen(pilot, "QueueScreen")
        await wait_text(pilot, "payments until")
    store = Store(demo_store)
    try:
        [entry] = [e for e in store.outbox() if e.kind == "maintenance_create"]
        assert (entry.payload["services"], entry.payload["reason"]) == (["payments"],
                                                                       "Provider window")
        assert [w.pending for w in store.maintenance() if w.services == ["payments"]] == [True]
    finally:
        store.close()
