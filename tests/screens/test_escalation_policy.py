"""The escalation screen shows the service's policy: the current level, who each level
reaches now, and the time left before the next automatic move — from what the app synced,
against a real server whose checkout service has a policy (applied as organisation code)."""

from __future__ import annotations

from typing import Any

import yaml
from app_harness import wait_online, wait_screen, wait_text  # type: ignore[import-not-found]

from incidenttui.domain.organisation import document
from incidenttui.server.db import Database
from incidenttui.server.organisation import apply, current, parse_text
from incidenttui.tui import make_app


def give_checkout_a_policy(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            doc = document(current(session))
            doc["schedules"] = [{"id": "primary", "name": "Primary", "time_zone": "UTC",
                                 "layers": [{"name": "daily", "users": ["rita"], "every": 1,
                                             "start": "2026-01-01", "handoff": "00:00"}]}]
            doc["policies"] = [{"id": "checkout", "name": "Checkout", "levels": [
                {"timeout": 1800, "targets": ["schedule:primary"]},
                {"timeout": 3600, "targets": ["user:ray", "team:platform"]}]}]
            for item in doc["services"]:
                if item["id"] == "checkout":
                    item["policy"] = "checkout"
            apply(session, parse_text(yaml.safe_dump(doc), "yaml"))
    finally:
        db.dispose()


async def test_the_escalation_screen_shows_the_policy_and_its_countdown(
        own_server: Any, config_for: Any) -> None:
    give_checkout_a_policy(own_server.db_url)
    incident = own_server.create("Checkout 502 for EU customers", service="checkout")
    app = make_app(config_for(own_server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await wait_text(pilot, "Checkout 502 for EU customers")
        await pilot.press("enter")
        await wait_text(pilot, f"INC-{incident['number']} ·")
        await pilot.press("e")
        await wait_screen(pilot, "EscalateScreen")
        text = await wait_text(pilot, "Escalation policy Checkout: at policy level 1 of 2")
        assert "▶ 1. 30m  schedule primary: rita on call" in text
        assert "2. 1h00m  user ray, team platform" in text
        assert ("escalates to policy level 2 in 29m" in text
                or "escalates to policy level 2 in 30m" in text)


async def test_the_on_call_screen_lists_who_is_on_call_now_and_next(
        own_server: Any, config_for: Any) -> None:
    give_checkout_a_policy(own_server.db_url)
    app = make_app(config_for(own_server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await pilot.press("O")
        await wait_screen(pilot, "OnCallScreen")
        text = await wait_text(pilot, "Primary (primary, UTC)")
        assert "  now  rita until " in text and "(daily)" in text
        assert "  next rita from " in text  # a rotation of one
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
