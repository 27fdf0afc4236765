"""Two clients editing one incident through a real server on loopback: different
fields merge; the same field becomes a conflict on the later client, which the user settles
(keep mine: sent again against the new version and wins; take theirs: dropped); notes from
both arrive on both exactly once; a lifecycle move the server refuses becomes a refusal."""

from __future__ import annotations

from collections import Counter

import pytest
from apihelpers import create, get

from incidenttui.domain import Refused
from incidenttui.store import AddNote, SettleConflict, Transition, UpdateFields


@pytest.fixture
async def pair(live, make_client):
    """Rita and Ray, both synced, and a fresh incident (version 1) they both see."""
    with live.client() as http:
        made = create(http, title="Checkout 502s", service="checkout")
    rita = make_client(live.base_url, live.tokens["responder"], name="rita")
    ray = make_client(live.base_url, live.tokens["other"], name="ray")
    await rita.sync()
    await ray.sync()
    assert rita.store.get(made["id"]).version == ray.store.get(made["id"]).version == 1
    return rita, ray, made["id"], live


def remote(server, incident_id: str) -> dict:
    with server.client() as http:
        return get(http, incident_id)


async def test_different_fields_merge(pair):
    rita, ray, incident_id, server = pair
    rita.store.execute(UpdateFields(incident_id, {"title": "Checkout 502s for Visa"}))
    ray.store.execute(UpdateFields(incident_id, {"assignee": "ray", "impact": 1}))
    await rita.sync()
    result = await ray.sync()
    assert result.conflicts == 0 and result.pending == 0
    await rita.sync()
    want = ("Checkout 502s for Visa", "ray", 1, 2)
    for client in (rita, ray):
        row = client.store.get(incident_id)
        assert (row.title, row.assignee, row.impact, row.priority) == want
        assert row.pending == 0 and client.store.conflicts() == []
    detail = remote(server, incident_id)
    assert (detail["title"], detail["assignee"], detail["impact"], detail["priority"]) == want
    assert detail["version"] == 3


async def test_the_same_field_is_a_conflict_on_the_later_client(pair):
    rita, ray, incident_id, server = pair
    rita.store.execute(UpdateFields(incident_id, {"title": "Rita's title"}))
    ray.store.execute(UpdateFields(incident_id, {"title": "Ray's title", "assignee": "ray"}))
    await rita.sync()
    result = await ray.sync()
    assert result.conflicts == 1 and result.pending == 0
    (conflict,) = ray.store.conflicts()
    assert (conflict.incident_id, conflict.field, conflict.mine, conflict.theirs) == (
        incident_id, "title", "Ray's title", "Rita's title")
    assert conflict.their_version == 2 and conflict.reason
    # Nothing silently overwritten: the row shows the server's title; the other field of the
    # same change merged.
    row = ray.store.get(incident_id)
    assert (row.title, row.assignee, row.pending) == ("Rita's title", "ray", 0)
    detail = remote(server, incident_id)
    assert (detail["title"], detail["assignee"]) == ("Rita's title", "ray")
    assert ray.engine.status.conflicts == 1
    # Rita, who was first, has no conflict.
    await rita.sync()
    assert rita.store.conflicts() == [] and rita.store.get(incident_id).assignee == "ray"


async def test_keep_mine_is_sent_against_the_new_version_and_wins(pair):
    rita, ray, incident_id, server = pair
    rita.store.execute(UpdateFields(incident_id, {"title": "Rita's title"}))
    ray.store.execute(UpdateFields(incident_id, {"title": "Ray's title"}))
    await rita.sync()
    await ray.sync()
    (conflict,) = ray.store.conflicts()
    ray.store.execute(SettleConflict(conflict.id, keep_mine=True))
    (entry,) = ray.store.outbox()
    assert entry.kind == "patch" and entry.payload["fields"] == {"title": "Ray's title"}
    assert entry.base_version == remote(server, incident_id)["version"] == 2
    assert ray.store.get(incident_id).title == "Ray's title"  # shown at once, pending
    assert ray.store.conflicts() == []
    result = await ray.sync()
    assert (result.conflicts, result.pending) == (0, 0)
    assert remote(server, incident_id)["title"] == "Ray's title"
    await rita.sync()
    assert rita.store.get(incident_id).title == "Ray's title"
    assert ray.store.get(incident_id).title == "Ray's title"


async def test_take_theirs_drops_mine(pair):
    rita, ray, incident_id, server = pair
    rita.store.execute(UpdateFields(incident_id, {"title": "Rita's title"}))
    ray.store.execute(UpdateFields(incident_id, {"title": "Ray's title"}))
    await rita.sync()
    await ray.sync()
    version = remote(server, incident_id)["version"]
    (conflict,) = ray.store.conflicts()
    ray.store.execute(SettleConflict(conflict.id, keep_mine=False))
    assert ray.store.conflicts() == [] and ray.store.outbox() == []
    assert ray.store.get(incident_id).title == "Rita's title"
    result = await ray.sync()
    assert (result.pushed, result.conflicts, result.pending) == (0, 0, 0)
    detail = remote(server, incident_id)
    assert (detail["title"], detail["version"]) == ("Rita's title", version)


async def test_notes_from_both_arrive_on_both_exactly_once(pair):
    rita, ray, incident_id, server = pair
    for n in range(3):
        rita.store.execute(AddNote(incident_id, text=f"rita {n}"))
        ray.store.execute(AddNote(incident_id, text=f"ray {n}"))
    # Both also change the same field: the notes are unaffected by that conflict.
    rita.store.execute(UpdateFields(incident_id, {"urgency": 1}))
    ray.store.execute(UpdateFields(incident_id, {"urgency": 2}))
    await rita.sync()
    await ray.sync()
    await rita.sync()
    await ray.sync()  # once more: nothing is duplicated by repeated cycles
    want = Counter([f"rita {n}" for n in range(3)] + [f"ray {n}" for n in range(3)])
    detail = remote(server, incident_id)
    assert Counter(e["text"] for e in detail["timeline"] if e["kind"] == "note") == want
    for client in (rita, ray):
        notes = [e for e in client.store.timeline(incident_id) if e.kind == "note"]
        assert Counter(e.text for e in notes) == want
        assert not any(e.pending for e in notes)
    assert [c.field for c in ray.store.conflicts()] == ["urgency"]
    assert rita.store.conflicts() == []


async def test_a_lifecycle_move_the_server_refuses_becomes_a_refusal(pair):
    rita, ray, incident_id, server = pair
    rita.store.execute(Transition(incident_id, action="acknowledge"))
    ray.store.execute(Transition(incident_id, action="acknowledge", note="mine too"))
    assert ray.store.get(incident_id).status == "acknowledged"  # optimistic, offline
    await rita.sync()
    result = await ray.sync()
    assert result.conflicts == 1 and result.pending == 0
    (refusal,) = ray.store.conflicts()
    assert refusal.field is None and refusal.kind == "action"
    assert "already acknowledged" in refusal.reason.lower()
    assert refusal.summary == "acknowledge"
    row = ray.store.get(incident_id)
    assert (row.status, row.pending) == ("acknowledged", 0)
    assert row.version == remote(server, incident_id)["version"] == 2
    # The refused change is not on the server (its note neither), and ray's local timeline
    # no longer shows it as pending.
    detail = remote(server, incident_id)
    assert [e["actor"] for e in detail["timeline"] if e["kind"] == "status"] == ["rita"]
    assert not any(e["text"] == "mine too" for e in detail["timeline"])
    assert not any(e.pending for e in ray.store.timeline(incident_id))
    # A refusal cannot be "kept"; it can be dismissed.
    with pytest.raises(Refused, match="cannot be kept"):
        ray.store.execute(SettleConflict(refusal.id, keep_mine=True))
    assert [c.id for c in ray.store.conflicts()] == [refusal.id]
    ray.store.execute(SettleConflict(refusal.id, keep_mine=False))
    assert ray.store.conflicts() == [] and ray.store.outbox() == []


async def test_my_own_queued_edits_do_not_conflict_with_each_other(pair):
    rita, ray, incident_id, server = pair
    ray.store.execute(UpdateFields(incident_id, {"title": "first wording"}))
    ray.store.execute(UpdateFields(incident_id, {"title": "second wording"}))
    rita.store.execute(UpdateFields(incident_id, {"assignee": "rita"}))
    await rita.sync()
    result = await ray.sync()
    assert ray.store.conflicts() == [] and result.conflicts == 0
    detail = remote(server, incident_id)
    assert (detail["title"], detail["assignee"]) == ("second wording", "rita")
