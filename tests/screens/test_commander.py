"""The major-incident flow in the app, headless, by keyboard: the demo's live P1 run from
the commander screen (roles, quick entries, an action item done, a stakeholder update
published, the next-update clock late under a frozen clock, review notes, the review
written), everything queued offline and then synced to the demo server; and declaring an
incident major from its detail screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from app_fixtures import APP_NOW, DEMO_NOW, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    assert_inert,
    paste,
    screen_text,
    type_text,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
    wait_text,
    widget_text,
)
from app_servers import (  # type: ignore[import-not-found]
    copy_store,
    sync_store,
    sync_store_async,
)
from markdown_it import MarkdownIt

from incidenttui.api.paths import incident as incident_path
from incidenttui.domain.major import fold_major, iso
from incidenttui.tui import make_app

#: A commander of the demo organisation (platform team).
COMMANDER = "jonas.weber"


@pytest.fixture(scope="module")
def commander_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The demo server seeded at DEMO_NOW, as the commander, and a store synced from it."""
    from incidenttui.demo.run import DemoServer
    from incidenttui.store import Store

    path = tmp_path_factory.mktemp("commander-store") / "template.db"
    with DemoServer(now=DEMO_NOW, as_user=COMMANDER) as demo:
        store = Store(path)
        try:
            sync_store(store, demo.url, demo.token)
        finally:
            store.close()
        yield demo, path


def clock_text(app: Any) -> str:
    return widget_text(app.screen.query_one("#major-clock"))


async def open_incident(pilot: Any, app: Any, ref: str) -> None:
    """From the queue: filter to ``ref`` and open it."""
    await wait_queue(pilot, lambda ids: len(ids) > 0)
    await wait_store(pilot)
    await pilot.press("slash")
    await type_text(pilot, ref)
    await wait_queue(pilot, lambda ids: len(ids) == 1)
    await pilot.press("enter")  # leaves the filter
    await pilot.press("enter")  # opens the one incident
    await wait_screen(pilot, "DetailScreen")
    await wait_text(pilot, ref)


async def test_the_live_p1_run_as_a_major_incident(commander_demo, frozen, config_for,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    demo, template = commander_demo
    store_path = copy_store(template, tmp_path / "stores" / "c.db")
    monkeypatch.chdir(tmp_path)  # where the review is written by default
    follow_clock(monkeypatch)
    app = make_app(config_for(store_path=store_path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_incident(pilot, app, "INC-1282")
        await wait_text(pilot, "M: commander")
        await pilot.press("M")
        screen = await wait_screen(pilot, "CommanderScreen")
        await wait_text(pilot, "INC-1282 · P1 · MAJOR")
        # The seeded record: its roles, and the last update (09:21) promised the next by 09:51.
        await wait_for(pilot, lambda: "next update in 16m (09:51)" in clock_text(app),
                       what="the update clock")
        assert "last update 13m ago" in clock_text(app)
        assert not screen.query_one("#major-clock").has_class("-late")
        roles = widget_text(screen.query_one("#major-roles"))
        assert "IC claire.dubois · comms tom.becker · ops daniel.okafor · scribe -" in roles
        assert "grouped: INC-1283 duplicate of this, INC-1284 caused by this" in roles

        # Roles: Jonas takes over as commander (first in the form), Lucía is the scribe.
        await pilot.press("r")
        await wait_screen(pilot, "RoleForm")
        await type_text(pilot, COMMANDER)
        await pilot.press("enter")
        await wait_screen(pilot, "CommanderScreen")
        await pilot.press("r")
        await wait_screen(pilot, "RoleForm")
        await pilot.press("shift+tab", "enter", "down", "down", "down", "enter", "tab")
        await type_text(pilot, "lucia.moreno")
        await pilot.press("enter")
        await wait_screen(pilot, "CommanderScreen")
        await wait_for(pilot, lambda: f"IC {COMMANDER} · comms tom.becker · ops daniel.okafor"
                       " · scribe lucia.moreno" in widget_text(
                           screen.query_one("#major-roles")), what="roles shown")

        # Quick entries, as the scribe types them.
        await pilot.press("n")
        for line in ("finding: retry storm triples PSP load",
                     "decision: fail over card traffic to Stripe",
                     "action: lower PSP retries @kenji.watanabe due 2026-03-09",
                     "a: alert on PSP latency",
                     "mitigation: checkout error rate back to baseline"):
            set_clock(seconds=5)  # the scribe types: each entry a little later
            await paste(pilot, line)
            await pilot.press("enter")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "actions 3 open of 3" in widget_text(
            screen.query_one("#major-items")), what="three action items")
        await wait_text(pilot, "DECISION")

        # The third action item (the second of ours) is done.
        await pilot.press("d")
        await wait_screen(pilot, "ItemDoneForm")
        await type_text(pilot, "3")
        await pilot.press("enter")
        await wait_screen(pilot, "CommanderScreen")
        await wait_for(pilot, lambda: "actions 2 open of 3: 1. Alert on PSP latency before "
                       "customers notice @kenji.watanabe due 2026-03-09 · 2. lower PSP retries"
                       in widget_text(screen.query_one("#major-items")), what="two open items")

        # A stakeholder update, public: the clock starts again (next in 30 min).
        await pilot.press("u")
        await wait_screen(pilot, "StatusUpdateForm")
        for text in ("Card payments degraded", "About 1 in 3 card payments fail",
                     "Failing card traffic over to Stripe", None,
                     "Some card payments fail; PayPal works. Next update by 10:05 UTC."):
            if text:
                await paste(pilot, text)
            await pilot.press("enter")
        await wait_screen(pilot, "CommanderScreen")
        await wait_for(pilot, lambda: "next update in 30m (10:05)" in clock_text(app),
                       what="clock reset")
        assert not screen.query_one("#major-clock").has_class("-late")

        # Thirty-one minutes later, with no new update: late, and it stands out.
        set_clock(minutes=31)
        screen.load()
        await wait_for(pilot, lambda: "NEXT UPDATE LATE 1m (due 10:05)" in
                       clock_text(app), what="late after 31 min")
        assert screen.query_one("#major-clock").has_class("-late")

        # The commander writes the root cause, then the review.
        await pilot.press("f")
        await wait_screen(pilot, "ReviewFieldForm")
        await paste(pilot, "A degraded Adyen node in Amsterdam.")
        await pilot.press("ctrl+s")
        await wait_screen(pilot, "CommanderScreen")
        await pilot.press("w")
        await wait_screen(pilot, "ReviewFileForm")
        await pilot.press("enter")
        await wait_screen(pilot, "CommanderScreen")
        review_file = tmp_path / "INC-1282-review.md"
        await wait_for(pilot, review_file.exists, what="the review file")

    review = review_file.read_text()
    check_review(review)
    # Everything was queued offline; it reaches the server with the time it was written.
    from incidenttui.store import Store

    store = Store(store_path)
    try:
        pending = store.pending_count()
        assert pending == 10  # 2 roles, 5 quick entries, 1 done, 1 update, 1 review field
        major = store.get("INC-1282")
        # The link is back two hours later (the in-process server's clock says so).
        server_clock(monkeypatch, APP_NOW + timedelta(hours=2))
        await sync_store_async(store, demo.url, demo.token)
        assert store.pending_count() == 0 and store.conflicts() == []
    finally:
        store.close()
    with httpx.Client(base_url=demo.url,
                      headers={"Authorization": f"Bearer {demo.token}"}) as http:
        timeline = http.get(incident_path("INC-1282")).json()["timeline"]
    *_seeded, update = [e for e in timeline if e["kind"] == "status_update"]
    written = APP_NOW + timedelta(seconds=25)  # after the five quick entries
    assert iso(datetime.fromisoformat(update["at"])) == iso(written)
    assert update["data"]["public"] is True
    assert update["data"]["public_text"].startswith("Some card payments fail")
    assert update["data"]["next_update_due"] == iso(written + timedelta(minutes=30))
    record = fold_major(major.id, [SimpleNamespace(**{**e, "at": datetime.fromisoformat(
        e["at"])}) for e in timeline])
    assert {r.value: u for r, u in record.roles.items()} == {
        "commander": COMMANDER, "communications": "tom.becker",
        "operations": "daniel.okafor", "scribe": "lucia.moreno"}


def follow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the store's clock follow :func:`set_clock` too (it was frozen at one time)."""
    import incidenttui.screens.commander as commander
    import incidenttui.store.store as store_module

    monkeypatch.setattr(store_module, "utcnow", lambda: commander.datetime.now(UTC))


def server_clock(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Set the in-process demo server's frozen clock to ``when``."""
    import sys

    for name, module in list(sys.modules.items()):
        if name.startswith("incidenttui.server") and callable(getattr(module, "utcnow",
                                                                      None)):
            monkeypatch.setattr(module, "utcnow", lambda: when)


def set_clock(**later: float) -> None:
    """Move the app's frozen clock on by ``later`` (timedelta arguments) from where it is:
    the frozen datetime class the app's modules share holds the time."""
    import incidenttui.screens.commander as commander

    commander.datetime.frozen += timedelta(**later)  # type: ignore[attr-defined]


def check_review(review: str) -> None:
    """The review written by the app: the record's content, as CommonMark."""
    tokens = MarkdownIt("commonmark").parse(review)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        "Post-incident review: INC-1282 Checkout failing: payment gateway timeouts",
        "Summary", "Customer impact and duration", "Response times", "Roles", "Timeline",
        "Linked incidents", "Stakeholder updates", "Root cause", "Contributing factors",
        "What went well", "What went badly", "Action items"]
    assert f"- **Incident commander:** {COMMANDER}" in review
    assert "- **Communications lead:** tom.becker" in review
    assert "- **Operations lead:** daniel.okafor" in review
    assert "- **Scribe:** lucia.moreno" in review
    assert "· jonas.weber · **DECISION: fail over card traffic to Stripe**" in review
    assert "**FINDING: retry storm triples PSP load**" in review
    assert "- **Mitigated:** 2026-03-02 09:35 UTC" in review
    assert "- **TTA** (logged to acknowledged): 1 min" in review
    assert "INC-1283 · lucia.moreno · created: Customers cannot complete checkout" in review
    assert "Public wording: Some card payments fail; PayPal works." in review
    assert "**DECISION: Preparing failover of card traffic to Stripe" in review  # seeded
    assert "## Root cause\n\nA degraded Adyen node in Amsterdam.\n" in review
    assert ("- **open**: lower PSP retries; owner kenji.watanabe; due 2026-03-09"
            in review)
    assert "- done: alert on PSP latency; owner *nobody yet*; due *no date*" in review


async def test_declaring_an_incident_major_from_its_detail(commander_demo, frozen, config_for,
                                                           tmp_path: Path) -> None:
    _demo, template = commander_demo
    store_path = copy_store(template, tmp_path / "stores" / "d.db")
    app = make_app(config_for(store_path=store_path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_incident(pilot, app, "INC-1284")
        await wait_text(pilot, "moves:")
        await pilot.press("M")
        await wait_screen(pilot, "ConfirmScreen")
        await wait_text(pilot, "a major incident?")
        await pilot.press("y")
        screen = await wait_screen(pilot, "CommanderScreen")
        await wait_text(pilot, "INC-1284 · P2 · MAJOR")
        # Declared now: the P2 cadence (an hour) runs from the declaration.
        await wait_for(pilot, lambda: "next update in 1h00m (10:35)" in widget_text(
            screen.query_one("#major-clock")), what="P2 clock")
        assert app.store.get("INC-1284").major
        assert [e.kind for e in app.store.outbox()] == ["declare_major"]
        # Untrusted text is inert: markup in a quick entry shows as typed, runs nothing.
        await pilot.press("n")
        await paste(pilot, "finding: [bold]x[/] [@click=app.quit]q \x1b[31mred")
        await pilot.press("enter", "escape")
        await wait_text(pilot, "[bold]x[/] [@click=app.quit]q")
        assert_inert(screen_text(app))
        # Its keys in help, and in the palette as "commander: verb".
        await pilot.press("question_mark")
        await wait_screen(pilot, "HelpScreen")
        await wait_text(pilot, "Keys: commander")
        for key, words in (("n", "Entry"), ("u", "Update"), ("r", "Role"), ("a", "Action"),
                           ("d", "Done"), ("f", "Notes"), ("w", "Review")):
            assert re.search(rf"^{key}\s+{words} — ", widget_text(
                app.screen.query_one("#help-keys")), re.M), (key, words)
        await pilot.press("escape")
        await wait_screen(pilot, "CommanderScreen")
        await pilot.press("colon")
        await wait_screen(pilot, "CommandPalette")
        await type_text(pilot, "commander")
        await wait_text(pilot, "commander: update")
