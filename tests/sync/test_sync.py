"""The sync engine against a real server on loopback: pull the directory, incidents and
timelines; long-poll for other clients' changes; push the outbox (offline creates keep their
UUID and get their number); entries leave the outbox only once confirmed."""

from __future__ import annotations

import asyncio

import pytest
from apihelpers import API, RESOLVE, create, get, move
from hostile import refused_port
from servers import OTHER_RESPONDER, SERVICES, TEAMS, USERS

from incidenttui.store import (
    AddNote,
    CreateIncident,
    Escalate,
    Store,
    Transition,
    UpdateFields,
)
from incidenttui.sync.client import Offline

COMPARED = ("number", "title", "description", "service", "category", "impact", "urgency",
            "priority", "status", "team", "assignee", "escalation_level", "management_engaged",
            "reporter", "version", "resolution_code", "resolution_note", "reopen_count")


def assert_same(local, remote: dict) -> None:
    """A cached incident equals the server's."""
    for name in COMPARED:
        assert getattr(local, name) == remote[name], name
    for name in ("created_at", "acknowledged_at", "resolved_at", "closed_at"):
        value = getattr(local, name)
        assert (value.isoformat().replace("+00:00", "Z") if value else None) == (
            remote[name].replace("+00:00", "Z") if remote[name] else None), name
    assert local.pending == 0 and local.base is not None


async def test_a_full_sync_pulls_directory_incidents_and_timelines(live, make_client):
    with live.client() as http:
        a = create(http, title="Payment gateway timeouts", service="payments")
        move(http, a["id"], "acknowledge")
        http.post(f"{API}/incidents/{a['id']}/notes", json={"text": "gateway vendor paged"})
        http.post(f"{API}/incidents/{a['id']}/escalate",
                  json={"to_team": "network", "reason": "packet loss"})
        b = create(http, title="Search index lag", service="search")
        move(http, b["id"], "acknowledge")
        move(http, b["id"], "resolve", RESOLVE)
        remote = {i: get(http, i) for i in (a["id"], b["id"])}

    client = make_client(live.base_url, live.tokens["responder"])
    result = await client.sync()
    store = client.store
    assert result.pulled > 0 and result.pushed == 0 and result.pending == 0
    assert {t.id for t in store.teams()} >= set(TEAMS)
    assert {t.id: t.level for t in store.teams()}["network"] == TEAMS["network"][1]
    assert {s.id for s in store.services()} >= set(SERVICES)
    assert {u.id for u in store.users()} >= {*USERS.values(), OTHER_RESPONDER}
    for incident_id, detail in remote.items():
        local = store.get(incident_id)
        assert local is not None
        assert_same(local, detail)
        assert store.get(f"INC-{detail['number']}").id == incident_id
        timeline = store.timeline(incident_id)
        assert sorted(e.id for e in timeline) == sorted(e["id"] for e in detail["timeline"])
        assert not any(e.pending for e in timeline)
    # The stored cursor is the server's opaque token, and it stands at the feed's end.
    assert store.cursor.startswith("c1.")
    with live.client() as http:
        assert http.get(f"{API}/changes", params={"cursor": store.cursor}).json()[
            "changes"] == []
    assert store.user_id == "rita"
    assert client.engine.status.state == "online"
    assert client.engine.status.last_sync_at is not None
    assert client.engine.status.last_error is None
    # Nothing new: the next cycle pulls nothing.
    again = await client.sync()
    assert (again.pulled, again.pushed) == (0, 0)


async def test_long_poll_picks_up_another_clients_change_within_two_seconds(
        live, make_client, eventually):
    client = make_client(live.base_url, live.tokens["responder"])
    await client.sync()
    task = asyncio.create_task(client.engine.run(long_poll=10))
    try:
        await eventually(lambda: client.engine.status.state == "online")
        await asyncio.sleep(0.3)  # the engine is now waiting on the feed
        with live.client("other") as http:
            made = await asyncio.to_thread(create, http, title="Storefront DDoS",
                                           service="storefront")
            took = await eventually(lambda: client.store.get(made["id"]) is not None, 5)
            assert took < 2.0, f"the new incident arrived after {took:.2f}s"
            await asyncio.to_thread(move, http, made["id"], "acknowledge")
            took = await eventually(
                lambda: client.store.get(made["id"]).status == "acknowledged", 5)
            assert took < 2.0, f"the acknowledgement arrived after {took:.2f}s"
        # A local change is pushed at once (kick), not after the long-poll.
        await asyncio.to_thread(client.store.execute,
                                AddNote(made["id"], text="we see it too"))
        client.engine.kick()
        took = await eventually(lambda: client.store.pending_count() == 0, 5)
        assert took < 2.0
        assert not task.done()
    finally:
        client.engine.stop()
        await asyncio.wait_for(task, 5)
    with live.client() as http:
        notes = [e["text"] for e in get(http, made["id"])["timeline"] if e["kind"] == "note"]
    assert notes == ["we see it too"]


async def test_an_incident_made_offline_keeps_its_uuid_and_gets_its_number(
        live, make_client, tmp_path):
    store = Store(tmp_path / "offline.db")
    store.set_meta("user", "rita")  # known from an earlier session
    down = make_client(f"http://127.0.0.1:{refused_port()}", live.tokens["responder"],
                       timeout=2, store=store)
    command = CreateIncident.new(title="Checkout 502s (made offline)", service="checkout",
                                 category="availability", impact=1, urgency=2,
                                 description="seen from the jump host")
    store.execute(command)
    store.execute(Transition(command.incident_id, action="acknowledge"))
    store.execute(AddNote(command.incident_id, text="made while offline"))
    store.execute(UpdateFields(command.incident_id, {"assignee": "ray"}))
    with pytest.raises(Offline):
        await down.sync()
    assert store.get(command.incident_id).number is None and store.pending_count() == 4
    assert store.outbox()[0].attempts == 1 and "cannot connect" in store.outbox()[0].last_error

    up = make_client(live.base_url, live.tokens["responder"], store=store)
    result = await up.sync()
    assert result.pushed == 4 and result.pending == 0 and result.conflicts == 0
    local = store.get(command.incident_id)
    with live.client() as http:
        remote = get(http, command.incident_id)
    assert local.id == remote["id"] == command.incident_id
    assert local.number == remote["number"] and remote["ref"] == f"INC-{local.number}"
    assert store.get(remote["ref"]).id == command.incident_id
    assert_same(local, remote)
    assert (remote["status"], remote["assignee"], remote["priority"]) == ("acknowledged",
                                                                        "ray", 2)
    # Every change arrived once; the local timeline is the server's, nothing left pending.
    kinds = sorted(e["kind"] for e in remote["timeline"])
    assert kinds == ["assignment", "created", "note", "status"]
    assert sorted(e.id for e in store.timeline(command.incident_id)) == sorted(
        e["id"] for e in remote["timeline"])
    assert store.outbox() == [] and store.conflicts() == []


async def test_entries_leave_the_outbox_only_when_confirmed(live, make_client):
    with live.client() as http:
        made = create(http, title="Card declines", service="payments")
    client = make_client(live.base_url, live.tokens["responder"])
    await client.sync()
    store = client.store
    incident_id = made["id"]
    store.execute(Transition(incident_id, action="start"))
    store.execute(Escalate(incident_id, escalation="hierarchical", reason="revenue at risk"))
    store.execute(AddNote(incident_id, text="first"))
    store.execute(AddNote(incident_id, text="second"))
    store.execute(Transition(incident_id, action="resolve", **RESOLVE))
    keys = [e.key for e in store.outbox()]
    confirmed: list[list[str]] = []
    client.engine.on_status = lambda s: confirmed.append([e.key for e in store.outbox()])
    assert await client.engine.push() == 5
    # Entries left one by one, oldest first.
    seen = [k for k in confirmed if len(k) < len(keys)]
    assert [len(k) for k in seen] == [4, 3, 2, 1, 0]
    assert all(k == keys[len(keys) - len(k):] for k in seen)
    with live.client() as http:
        remote = get(http, incident_id)
    assert remote["status"] == "resolved" and remote["management_engaged"]
    assert [e["text"] for e in remote["timeline"] if e["kind"] == "note"] == ["first", "second"]
    # Pushing again sends nothing: the server has each change exactly once.
    assert await client.engine.push() == 0
    await client.sync()
    assert_same(store.get(incident_id), remote)


async def test_a_store_cursor_the_feed_does_not_reach_is_reported_and_kept(live, make_client):
    """A cursor past the server's feed (its database was replaced or restored): the server
    answers 410, the engine says to reset the store, and the store keeps what it had."""
    from incidenttui.sync.client import BadResponse

    client = make_client(live.base_url, live.tokens["responder"])
    client.store.set_meta("cursor", "99999999")
    with pytest.raises(BadResponse, match="reset the local store"):
        await client.sync()
    assert client.store.cursor == "99999999" and client.store.list() == []
    # From the start instead (the reset): a token, and everything.
    client.store.set_meta("cursor", "0")
    assert (await client.sync()).pulled > 0
    assert client.store.cursor.startswith("c1.")
