"""The main flows against a real server: open, ack (queue and detail), refusals, notes,
escalation, resolve, bulk ack. Each test makes its own incidents and filters on their tag."""

from __future__ import annotations

from typing import Any

import pytest
from app_harness import (  # type: ignore[import-not-found]
    paste,
    screen_lines,
    screen_text,
    type_text,
    wait_for,
    wait_no_text,
    wait_online,
    wait_queue,
    wait_screen,
    wait_synced,
    wait_text,
    widget_text,
)

from incidenttui.domain import Refused
from incidenttui.domain.lifecycle import check_action
from incidenttui.tui import make_app
from incidenttui.widgets.queue_view import QueueView


def refusal(status: str, action: str) -> str:
    """The domain's own words for refusing ``action`` from ``status``."""
    with pytest.raises(Refused) as info:
        check_action(status, action)
    return info.value.reason


async def open_filtered(pilot: Any, tag: str, count: int) -> list[str]:
    """Wait for sync, then filter the queue on ``tag`` until ``count`` rows show."""
    await wait_online(pilot)
    await pilot.press("slash")
    await paste(pilot, tag)
    await pilot.press("enter")
    return await wait_queue(pilot, lambda ids: len(ids) == count, timeout=15,
                            what=f"{count} rows tagged {tag}")


def question(app: Any) -> str:
    """The question of the confirmation on screen."""
    return widget_text(app.screen.query_one(".form-title"))


def queue_rows(app: Any) -> list[Any]:
    view = app.screen.query_one(QueueView)
    view._rows.clear()  # read what the store holds now, not the view's cache
    return [view.row(i) for i in view.ids]


async def test_ack_from_queue(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} database down")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        assert queue_rows(app)[0].status == "new"
        await pilot.press("a")
        await wait_for(pilot, lambda: queue_rows(app)[0].status == "acknowledged",
                       what="the row acked")
        await wait_synced(pilot)
        ref = f"INC-{incident['number']}"
        await wait_for(pilot, lambda: any(line.startswith(f"  {ref} ") and " ACK " in line
                                          for line in screen_lines(app)),
                       what="the synced row (no + mark) showing ACK")
        assert any("Acknowledged" in n.message for n in app._notifications)
    assert live.get(incident["id"])["status"] == "acknowledged"


async def test_open_and_ack_from_detail(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} card payments failing", impact=1, urgency=1,
                           description="Adyen timeouts since 09:12.\nSecond line.")
    live.note(incident["id"], f"{tag} first responder on it")
    ref = f"INC-{incident['number']}"
    app = make_app(config_for(live))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        text = await wait_text(pilot, f"{ref} · P1 · new · {tag} card payments failing")
        for part in ("service checkout · availability · impact 1 urgency 1",
                     "team service-desk · assignee - · level L1",
                     "SLA: response ", "resolution ", "left",
                     "detected ", "acked - · resolved -",
                     "moves: a:acknowledge, s:start, x:cancel",
                     "description", "Adyen timeouts since 09:12.", "  Second line.",
                     "rita created", "rita note", f"{tag} first responder on it"):
            assert part in text, part
        await pilot.press("a")
        await wait_text(pilot, f"{ref} · P1 · acked")
        await wait_synced(pilot)
        await wait_no_pending(pilot)
        # the server's own event replaces the pending one (it may take a pull to arrive)
        text = await wait_text(pilot, "new → acknowledged")
        assert "moves: s:start, r:resolve, x:cancel" in text
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
    assert live.get(incident["id"])["status"] == "acknowledged"


async def wait_no_pending(pilot: Any) -> str:
    """Wait until no timeline entry on screen is marked pending."""
    return await wait_no_text(pilot, "(pending)")


async def test_refused_move_shows_the_domains_reason(live: Any, tag: str,
                                                     config_for: Any) -> None:
    new = live.create(f"{tag} new one")
    acked = live.create(f"{tag} acked one", impact=1)
    live.act(acked["id"], "acknowledge")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 2)
        # the queue: acknowledging what is already acknowledged (the P2 sorts first)
        assert queue_rows(app)[0].id == acked["id"]
        await pilot.press("a")
        expected = refusal("acknowledged", "acknowledge")
        await wait_for(pilot, lambda: any(n.message == expected for n in app._notifications),
                       what=f"notification {expected!r}")
        # the detail screen: closing a new incident
        await pilot.press("j", "enter")
        await wait_text(pilot, f"INC-{new['number']} · P")
        await pilot.press("c")
        expected = refusal("new", "close")
        await wait_for(pilot, lambda: any(n.message == expected for n in app._notifications),
                       what=f"notification {expected!r}")
        assert all(n.title == "Refused" and n.severity == "warning"
                   for n in app._notifications)
        assert type(app.screen).__name__ == "DetailScreen"
        assert app.is_running
        assert app.store.pending_count() == 0


async def test_note_composer_pending_then_synced(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} disk full")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("enter")
        await wait_text(pilot, f"INC-{incident['number']} ·")
        await pilot.press("n")
        note = app.screen.query_one("#note")
        assert note.has_focus
        await paste(pilot, "freed 20 GB [bold]x[/] in /var/log")
        # the note lands in the store at once (pending), then syncs
        await pilot.press("enter")
        await wait_text(pilot, "freed 20 GB [bold]x[/] in /var/log")
        assert note.value == ""
        await wait_synced(pilot)
        await wait_no_pending(pilot)
        await pilot.press("escape")  # leaves the composer, not the screen
        assert type(app.screen).__name__ == "DetailScreen"
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
        # the note is searchable from the queue
        await pilot.press("slash", "ctrl+u")
        await type_text(pilot, "freed")
        await pilot.press("enter")
        await wait_queue(pilot, lambda ids: ids == [incident["id"]])
    notes = [e["text"] for e in live.timeline(incident["id"]) if e["kind"] == "note"]
    assert notes == ["freed 20 GB [bold]x[/] in /var/log"]


async def test_escalate_requires_a_reason_and_confirmation(live: Any, tag: str,
                                                           config_for: Any) -> None:
    incident = live.create(f"{tag} payment provider errors")
    ref = f"INC-{incident['number']}"
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("enter")
        await wait_text(pilot, f"{ref} ·")
        await pilot.press("e")
        screen = await wait_screen(pilot, "EscalateScreen")
        text = await wait_text(pilot, f"Escalate {ref} · support line L1 (service-desk)")
        assert "history: never escalated" in text
        assert "kind: FUNCTIONAL" in text
        teams = screen.query_one("#teams")
        labels = [str(teams.get_option_at_index(i).prompt) for i in range(teams.option_count)]
        assert labels[:3] == ["network — Network (L2)", "payments-experts — Payments "
                              "experts (L2)", "platform — Platform (L2)"]
        assert not any(label.startswith("service-desk") for label in labels)
        assert screen.query_one("#reason").has_focus
        # no reason: an error, nothing sent
        await pilot.press("ctrl+s")
        await wait_text(pilot, "A reason is required.")
        assert type(app.screen).__name__ == "EscalateScreen"
        # arrows pick the team while the reason has the focus
        await paste(pilot, "needs the PSP experts")
        await pilot.press("down")
        assert teams.highlighted == 1
        await pilot.press("enter")
        await wait_screen(pilot, "ConfirmScreen")
        assert question(app) == ("Escalate this incident to payments-experts (L2)? "
                                 "Reason: needs the PSP experts")
        await pilot.press("y")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, "team payments-experts · assignee - · level L2")
        await wait_synced(pilot)
        await wait_no_pending(pilot)
        await wait_text(pilot, "service-desk (L1) → payments-experts (L2): needs the PSP")
        # history now shows it
        await pilot.press("e")
        await wait_text(pilot, "support line L2 (payments-experts)")
        await wait_text(pilot, "service-desk (L1) → payments-experts (L2): needs the PSP")
        await pilot.press("escape")
        await wait_screen(pilot, "DetailScreen")
    server = live.get(incident["id"])
    assert (server["escalation_level"], server["team"]) == (2, "payments-experts")
    assert [e["kind"] for e in live.timeline(incident["id"])].count("escalation") == 1


async def test_escalate_hierarchical_and_decline(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} revenue impact")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("e")
        screen = await wait_screen(pilot, "EscalateScreen")
        await wait_text(pilot, "kind: FUNCTIONAL")
        await pilot.press("ctrl+t")
        await wait_text(pilot, "kind: HIERARCHICAL")
        assert not screen.query_one("#teams").display
        await paste(pilot, "duty manager please")
        await pilot.press("enter")
        await wait_screen(pilot, "ConfirmScreen")
        assert question(app) == ("Escalate this incident to management? "
                                 "Reason: duty manager please")
        await pilot.press("n")  # declined: back on the form, nothing queued
        await wait_screen(pilot, "EscalateScreen")
        assert app.store.pending_count() == 0
        await pilot.press("ctrl+s")
        await wait_screen(pilot, "ConfirmScreen")
        await pilot.press("y")
        await wait_screen(pilot, "QueueScreen")
        await wait_synced(pilot)
    assert live.get(incident["id"])["management_engaged"] is True


async def test_resolve_requires_a_note(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} cache stampede")
    live.act(incident["id"], "acknowledge")
    ref = f"INC-{incident['number']}"
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("enter")
        await wait_text(pilot, f"{ref} · P3 · acked")
        await pilot.press("r")
        form = await wait_screen(pilot, "ResolveScreen")
        await wait_text(pilot, f"Resolve {ref}")
        assert form.query_one("#note").has_focus
        await pilot.press("enter")
        await wait_text(pilot, "A resolution note is required.")
        assert type(app.screen).__name__ == "ResolveScreen"
        await paste(pilot, "restarted the cache tier")
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await wait_text(pilot, f"{ref} · P3 · resolved")
        await wait_synced(pilot)
        await wait_no_pending(pilot)
        text = await wait_text(pilot, "resolution (fixed)")
        assert "restarted the cache tier" in text
    server = live.get(incident["id"])
    assert (server["status"], server["resolution_code"], server["resolution_note"]) == (
        "resolved", "fixed", "restarted the cache tier")


async def test_resolve_form_escape_cancels(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} flapping alert")
    live.act(incident["id"], "acknowledge")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 1)
        await pilot.press("r")
        await wait_screen(pilot, "ResolveScreen")
        await paste(pilot, "never mind")
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
        assert app.store.pending_count() == 0
    assert live.get(incident["id"])["status"] == "acknowledged"


async def test_bulk_ack_with_confirmation(live: Any, tag: str, config_for: Any) -> None:
    made = [live.create(f"{tag} alert storm {n}") for n in range(3)]
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filtered(pilot, tag, 3)
        await pilot.press("space", "space", "space")
        view = app.screen.query_one(QueueView)
        assert len(view.selected) == 3
        await wait_for(pilot, lambda: "3 selected" in widget_text(
            app.screen.query_one("#queue-title")), what="3 selected")
        assert sum(line.startswith("*") for line in screen_lines(app)) == 3
        # declining changes nothing
        await pilot.press("a")
        await wait_screen(pilot, "ConfirmScreen")
        refs = ", ".join(f"INC-{i['number']}" for i in reversed(made))
        assert question(app) == f"Acknowledge 3 incidents ({refs})?"  # newest first
        await pilot.press("n")
        await wait_screen(pilot, "QueueScreen")
        assert app.store.pending_count() == 0 and len(view.selected) == 3
        # confirming acks all three
        await pilot.press("a")
        await wait_screen(pilot, "ConfirmScreen")
        await pilot.press("y")
        await wait_screen(pilot, "QueueScreen")
        await wait_for(pilot, lambda: all(r.status == "acknowledged" for r in queue_rows(app)),
                       what="all rows acked")
        assert not view.selected
        await wait_synced(pilot)
        assert any("Acknowledged ×3" in n.message for n in app._notifications)
    assert [live.get(i["id"])["status"] for i in made] == ["acknowledged"] * 3


async def test_bulk_escalate_selected(live: Any, tag: str, config_for: Any) -> None:
    made = [live.create(f"{tag} region down {n}") for n in range(2)]
    app = make_app(config_for(live))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_filtered(pilot, tag, 2)
        await pilot.press("space", "space", "e")
        await wait_screen(pilot, "EscalateScreen")
        text = await wait_text(pilot, "Escalate INC-")
        assert all(f"INC-{i['number']}" in text for i in made)
        await paste(pilot, "both regions")
        await pilot.press("enter")
        await wait_screen(pilot, "ConfirmScreen")
        assert question(app) == "Escalate 2 incidents to network (L2)? Reason: both regions"
        await pilot.press("y")
        await wait_screen(pilot, "QueueScreen")
        await wait_synced(pilot)
        assert "selected" not in screen_text(app).split("\n")[0]
    assert [live.get(i["id"])["team"] for i in made] == ["network", "network"]
