"""What happens to the queued changes behind one the server answered: they move to the new
version except the fields someone else changed, and the outbox keeps the user's order."""

from __future__ import annotations

from typing import Any

from incidenttui.store import CreateIncident, Store, UpdateFields


def _answer(snapshot: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**snapshot, **changes}


def _queue(store: Store) -> list[tuple[str, dict[str, Any], int]]:
    return [(e.key, e.payload.get("fields", {}), e.base_version) for e in store.outbox()]


def test_a_change_partly_changed_by_someone_else_is_split_in_place(synced):
    store, snapshot = synced
    incident = snapshot["id"]
    store.execute(UpdateFields(incident, {"assignee": "ray"}))
    store.execute(UpdateFields(incident, {"team": "network", "assignee": "rita"}))
    store.execute(UpdateFields(incident, {"assignee": "ray"}))
    store.execute(CreateIncident.new(title="vpn down", service="search"))
    keys = [e.key for e in store.outbox()]

    # The server applied the first change at version 5; someone else moved the team at 4.
    store.confirm(keys[0], _answer(snapshot, version=5, team="platform", assignee="ray",
                                   field_versions={"team": 4, "assignee": 5}))

    queue = _queue(store)
    # The mixed change keeps its key, its base and the team, which conflicts; the assignee
    # follows right after it under a new key against version 5, before the later changes.
    assert queue[0] == (keys[1], {"team": "network"}, 3)
    assert queue[1][1:] == ({"assignee": "rita"}, 5)
    assert queue[1][0] not in keys
    assert queue[2] == (keys[2], {"assignee": "ray"}, 5)
    assert queue[3][0] == keys[3]
    assert [e.seq for e in store.outbox()] == sorted({e.seq for e in store.outbox()})
    local = store.get(incident)
    assert local is not None and (local.team, local.assignee, local.pending) == (
        "network", "ray", 3)


def test_the_rest_of_a_conflicting_change_goes_out_in_its_place(synced):
    store, snapshot = synced
    incident = snapshot["id"]
    store.execute(UpdateFields(incident, {"team": "network", "title": "db slow"}))
    store.execute(UpdateFields(incident, {"title": "db down"}))
    keys = [e.key for e in store.outbox()]

    theirs = _answer(snapshot, version=4, team="platform", field_versions={"team": 4})
    store.record_conflict(keys[0], {
        "detail": "Changed by someone else since your version: team.",
        "conflicts": [{"field": "team", "mine": "network", "theirs": "platform",
                       "their_version": 4}],
        "incident": theirs})

    assert [(c.field, c.mine, c.theirs) for c in store.conflicts()] == [
        ("team", "network", "platform")]
    queue = _queue(store)
    assert [q[1:] for q in queue] == [({"title": "db slow"}, 4), ({"title": "db down"}, 3)]
    assert queue[0][0] not in keys and queue[1][0] == keys[1]
    local = store.get(incident)
    assert local is not None and (local.team, local.title) == ("platform", "db down")
