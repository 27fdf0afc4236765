"""Two clients append to one major incident's timeline while offline, then sync through a
real server on loopback: every entry arrives on both exactly once, nothing conflicts, and
each keeps the time it was written, not the time it synced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from apihelpers import create, get

from incidenttui.domain.major import fold_major, iso
from incidenttui.store import MajorEntry, QuickNote
from incidenttui.store.commands import DeclareMajor


async def test_two_clients_append_offline_then_sync(live, make_client):
    with live.client() as http:
        made = create(http, title="Checkout down", service="checkout", impact=1, urgency=1)
    incident_id = made["id"]
    ann = make_client(live.base_url, live.tokens["commander"], name="ann")
    bob = make_client(live.base_url, live.tokens["admin"], name="bob")
    await ann.sync()
    await bob.sync()
    ann.store.execute(DeclareMajor(incident_id))
    await ann.sync()
    await bob.sync()
    assert bob.store.get(incident_id).major

    # Both offline now: entries written an hour ago and half an hour ago, queued locally.
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    item = str(uuid.uuid4())
    ann_entries = [
        MajorEntry(incident_id, event="role", data={"role": "commander", "user": "ann"},
                   at=iso(written)),
        QuickNote(incident_id, tag="decision", text="Fail over to the secondary PSP",
                  at=iso(written + timedelta(minutes=1))),
        MajorEntry(incident_id, event="action_item",
                   data={"item": item, "text": "Lower client retries", "owner": "bob"},
                   at=iso(written + timedelta(minutes=2))),
    ]
    bob_entries = [
        MajorEntry(incident_id, event="role", data={"role": "scribe", "user": "bob"},
                   at=iso(written + timedelta(seconds=30))),
        QuickNote(incident_id, tag="finding", text="Retry storm triples PSP load",
                  at=iso(written + timedelta(minutes=1, seconds=30))),
        MajorEntry(incident_id, event="status_update", data={
            "state": "Card payments degraded", "impact": "1 in 3 card payments fail",
            "next_steps": "Failing over", "public": True,
            "public_text": "Some card payments fail; we are working on it.",
            "next_update_due": iso(written + timedelta(minutes=33))},
            at=iso(written + timedelta(minutes=3))),
    ]
    for command in ann_entries:
        ann.store.execute(command)
    for command in bob_entries:
        bob.store.execute(command)
    assert ann.store.pending_count() == 3 and bob.store.pending_count() == 3

    first = await bob.sync()
    second = await ann.sync()
    await bob.sync()
    assert first.conflicts == second.conflicts == 0
    ids = {c.entry_id if isinstance(c, MajorEntry) else c.note_id: c.at
           for c in ann_entries + bob_entries}
    for client in (ann, bob):
        assert client.store.pending_count() == 0 and client.store.conflicts() == []
        events = [e for e in client.store.timeline(incident_id) if e.id in ids]
        assert len(events) == 6  # each exactly once
        for event in events:  # the time it was written, not the time it synced
            assert iso(event.at) == ids[event.id]
        record = fold_major(incident_id, client.store.timeline(incident_id))
        assert {r.value: u for r, u in record.roles.items()} == {"commander": "ann",
                                                                 "scribe": "bob"}
        assert record.items[item].owner == "bob" and len(record.updates) == 1
    server_events = {e["id"]: e for e in get(live.client(), incident_id)["timeline"]}
    for event_id, at in ids.items():
        assert iso(datetime.fromisoformat(server_events[event_id]["at"])) == at
