"""Offline and back: with the server stopped, actions queue and the status line says
OFFLINE; with it back, they sync."""

from __future__ import annotations

from typing import Any

from app_harness import (  # type: ignore[import-not-found]
    paste,
    screen_lines,
    wait_for,
    wait_no_text,
    wait_online,
    wait_queue,
    wait_screen,
    wait_synced,
    wait_text,
)

from incidenttui.tui import make_app


async def test_actions_queue_while_offline_and_sync_when_back(own_server: Any, tag: str,
                                                              config_for: Any) -> None:
    incident = own_server.create(f"{tag} vpn gateway down")
    ref = f"INC-{incident['number']}"
    app = make_app(config_for(own_server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await pilot.press("slash")
        await paste(pilot, tag)
        await pilot.press("enter")
        await wait_queue(pilot, lambda ids: ids == [incident["id"]])
        assert screen_lines(app)[-2].startswith("ONLINE · synced just now · 0 pending")

        own_server.stop()
        await wait_for(pilot, lambda: app.sync_status.state == "offline", timeout=20,
                       what="the app to notice the server is gone")
        await wait_for(pilot, lambda: screen_lines(app)[-2].startswith("OFFLINE · synced "),
                       what="OFFLINE on the status line")

        await pilot.press("a")
        await wait_text(pilot, f"{ref}+")
        await wait_for(pilot, lambda: "· 1 pending ·" in screen_lines(app)[-2],
                       what="1 pending on the status line")
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, f"{ref} · P3 · acked")
        await pilot.press("n")
        await paste(pilot, "rebooted the standby")
        await pilot.press("enter")
        await wait_text(pilot, "note (pending)")
        await wait_text(pilot, "2 change(s) waiting to sync")
        await wait_for(pilot, lambda: "· 2 pending ·" in screen_lines(app)[-2],
                       what="2 pending on the status line")
        assert app.sync_status.state == "offline"
        await pilot.press("escape")  # leave the composer

        own_server.start()
        await pilot.press("ctrl+r")  # sync now, instead of waiting out the backoff
        await wait_synced(pilot, timeout=30)
        await wait_for(pilot, lambda: screen_lines(app)[-2].startswith(
            "ONLINE · synced just now · 0 pending"), what="ONLINE, nothing pending")
        await wait_no_text(pilot, "(pending)")
        await wait_no_text(pilot, "waiting to sync")
        await wait_text(pilot, "rebooted the standby")
    server = own_server.get(incident["id"])
    assert server["status"] == "acknowledged"
    notes = [e["text"] for e in own_server.timeline(incident["id"]) if e["kind"] == "note"]
    assert notes == ["rebooted the standby"]


async def test_changes_by_others_arrive_live(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} queue backlog")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await pilot.press("slash")
        await paste(pilot, tag)
        await pilot.press("enter")
        await wait_queue(pilot, lambda ids: ids == [incident["id"]])
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, f"INC-{incident['number']} · P3 · new")
        # someone else acts; the open detail screen follows
        live.act(incident["id"], "acknowledge", role="other")
        live.note(incident["id"], "ray: looking at the consumers", role="other")
        await wait_text(pilot, f"INC-{incident['number']} · P3 · acked", timeout=15)
        await wait_text(pilot, "ray: looking at the consumers", timeout=15)
        await pilot.press("escape")
        await wait_for(pilot, lambda: any(f"INC-{incident['number']}" in line and " ACK "
                                          in line for line in screen_lines(app)),
                       what="the queue row updated")


async def test_a_fresh_start_says_it_is_fetching_then_offline_when_the_server_is_away(
        own_server: Any, config_for: Any) -> None:
    """A first start has nothing cached: until the first sync answers, the app is on its way
    to the server, not offline; once the server proves unreachable, it says so."""
    config = config_for(own_server)
    # Before its first frame: on its way (with no token there is nothing to sync with).
    assert make_app(config).sync_status.state == "syncing"
    assert make_app(config_for(own_server, role=None)).sync_status.state == "offline"
    own_server.stop()
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.sync_status.state == "offline", timeout=20,
                       what="the first sync to fail")
        await wait_text(pilot, "no cached incidents yet and offline")
        await wait_no_text(pilot, "fetching them from the server")
