"""Security in the app, offline over a hand-made store: what the role may not do is refused
in words on the key; a forgotten incident is announced once; the 72-hour breach clock and the
playbook checklist with a frozen clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_fixtures import APP_NOW, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    assert_inert,
    notification_texts,
    screen_text,
    wait_for,
    wait_screen,
    wait_store,
    wait_text,
)
from hostile import change_page, incident_snapshot, iso  # type: ignore[import-not-found]

from incidenttui.store import Store
from incidenttui.store.capabilities import Capabilities
from incidenttui.tui import make_app


def make_store(path: Path, role: str | None, *snapshots: dict[str, Any],
               events: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    store = Store(path)
    try:
        store.set_meta("user", "rita")
        if role is not None:
            store.set_capabilities(Capabilities.from_me(role, None, None))
        entities = [("incident", s) for s in snapshots] + [("event", e) for e in events]
        page = change_page(entities)
        store.apply_changes(page["changes"], page["cursor"])
    finally:
        store.close()


async def open_first(pilot: Any, ref: str) -> Any:
    await wait_store(pilot)
    await wait_text(pilot, ref)
    await pilot.press("enter")
    return await wait_screen(pilot, "DetailScreen")


async def test_a_viewer_is_told_why_ack_does_nothing(config_for: Any, tmp_path: Path,
                                                     frozen: Any) -> None:
    snap = incident_snapshot(number=1042, ref="INC-1042", title="Checkout [bold]502[/]",
                             created_at=iso(APP_NOW), detected_at=iso(APP_NOW))
    path = tmp_path / "viewer.db"
    make_store(path, "viewer", snap)
    app = make_app(config_for(store_path=path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first(pilot, "INC-1042")
        await wait_text(pilot, "moves: none for role viewer")
        await pilot.press("a")
        await wait_for(pilot, lambda: any("Your role viewer may not acknowledge incidents."
                                          in t for t in notification_texts(app)),
                       what="the reason")
        await pilot.press("n")  # the note box stays closed, with the reason
        await wait_for(pilot, lambda: any("may not add notes" in t
                                          for t in notification_texts(app)), what="why")
        assert not app.screen.query_one("#note").has_focus
        text = screen_text(app)
        assert "Checkout [bold]502[/]" in text
        assert_inert(text)
        assert app.store.pending_count() == 0
        assert app.store.get(snap["id"]).status == "new"


async def test_a_forgotten_incident_is_announced_once(config_for: Any, tmp_path: Path) -> None:
    from hostile import HostileServer, me_json, routes, send_json  # type: ignore[import-not-found]

    from incidenttui.widgets.queue_view import QueueView

    keep = incident_snapshot(number=1041, ref="INC-1041", title="Search lag")
    gone = incident_snapshot(number=1042, ref="INC-1042", title="Leaked key",
                             category="security")
    path = tmp_path / "forget.db"
    make_store(path, "responder", keep, gone)
    page = change_page([("forget", {"id": gone["id"], "incident_id": gone["id"]})], start=2)
    table = {"/api/v1/me": send_json(me_json()), "/api/v1/changes": send_json(page)}
    message = "INC-1042 is no longer visible to you; its local copy was removed"
    with HostileServer(routes(table, send_json({"detail": "no"}, 404))) as hostile:
        app = make_app(config_for(store_path=path, server_url=hostile.base_url,
                                  token="tok"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: any(message in t for t in notification_texts(app)),
                           what="the notice")
            await wait_for(pilot, lambda: app.screen.query_one(QueueView).ids == [keep["id"]],
                           what="the queue without it")
            await pilot.pause(1.5)  # more long-polls of the same page
            assert sum(message in t for t in notification_texts(app)) == 1
            assert app.store.get(gone["id"]) is None


async def test_breach_clock_and_playbook_with_a_frozen_clock(config_for: Any, tmp_path: Path,
                                                             frozen: Any,
                                                             monkeypatch: Any) -> None:
    from datetime import timedelta

    from incidenttui.screens.playbook import PlaybookScreen

    monkeypatch.setenv("NO_COLOR", "1")
    detected = APP_NOW - timedelta(hours=10, minutes=30)
    breach = incident_snapshot(number=1077, ref="INC-1077", category="security",
                               title="Personal data exfiltrated [red]via[/] export API",
                               impact=1, urgency=1, priority=1,
                               created_at=iso(detected), detected_at=iso(detected))
    path = tmp_path / "breach.db"
    make_store(path, "security", breach)
    app = make_app(config_for(store_path=path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await wait_text(pilot, "INC-1077")
        assert "INC-1077     P1 NEW  GDPR 2d13h Personal data" in text  # the queue's mark
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        text = await wait_text(pilot, "GDPR Art. 33: notify within 61h30m "
                                      "(deadline 2026-03-04 23:05 UTC)")
        assert "playbook Personal-data breach 0/9" in text
        assert "[red]via[/]" in text
        assert_inert(text)

        await pilot.press("P")
        screen = await wait_screen(pilot, "PlaybookScreen")
        assert isinstance(screen, PlaybookScreen)
        text = await wait_text(pilot, "playbook Personal-data breach · 0/9 done")
        assert "[ ] Isolate the affected systems" in text and "containment 0/2" in text
        await pilot.press("space")  # the highlighted step: the first one to do
        text = await wait_text(pilot, "1/9 done")
        assert "[x] Isolate the affected systems and stop the exfiltration path (03-02 09:35)" \
            in text
        assert "evidence to keep: access logs" in text
        [event] = app.store.timeline(breach["id"])
        assert event.text.startswith("[playbook] data_breach/isolate done: ")
        assert app.store.outbox()[0].kind == "playbook"

        # down to "Notify the supervisory authority": checking it stops the clock
        for _ in range(6):  # headings are skipped by the option list
            await pilot.press("down")
        await pilot.press("space")
        await wait_text(pilot, "2/9 done")
        await pilot.press("escape")
        await wait_screen(pilot, "DetailScreen")
        text = await wait_text(pilot, "GDPR Art. 33: notified after 10h30m")
        assert_inert(text)


async def test_the_queue_refuses_a_viewer_before_any_form(config_for: Any,
                                                          tmp_path: Path) -> None:
    snap = incident_snapshot(number=1042, ref="INC-1042")
    path = tmp_path / "viewer-queue.db"
    make_store(path, "viewer", snap)
    app = make_app(config_for(store_path=path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_store(pilot)
        await wait_text(pilot, "INC-1042")
        for key, words in (("n", "may not log incidents"), ("r", "may not resolve incidents"),
                           ("e", "may not escalate incidents"),
                           ("a", "Your role viewer may not acknowledge incidents.")):
            await pilot.press(key)
            await wait_for(pilot, lambda w=words: any(w in t for t in notification_texts(app)),
                           what=words)
            assert type(app.screen).__name__ == "QueueScreen"
        assert app.store.pending_count() == 0
