"""A field change is limited to the editable fields, refused in words offline: the same
domain rule the server applies, so a status or version smuggled into a field change never
reaches the local store or the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from incidenttui.domain import EDITABLE_FIELDS, Refused
from incidenttui.store import Store, UpdateFields


@pytest.mark.parametrize(("fields", "named", "says"), [
    ({"status": "resolved"}, "status", "lifecycle actions"),
    ({"version": 99}, "version", "not a field that can be changed"),
    ({"priority": 1}, "priority", "impact and urgency"),
    ({"number": 7}, "number", "not a field that can be changed"),
    ({"title": "ok", "resolved_at": "2026-01-01T00:00:00Z"}, "resolved_at", "editable fields"),
    ({"impact": 0}, "impact", "1 (high) to 3 (low)"),
    ({"urgency": True}, "urgency", "1 (high) to 3 (low)"),
    ({"title": "   "}, "title", "required"),
    ({"title": "x" * 301}, "title", "at most 300"),
    ({"category": "bogus"}, "category", "Unknown category"),
])
def test_a_field_change_outside_the_rules_is_refused_offline(
        synced: tuple[Store, dict[str, Any]], fields: dict[str, Any], named: str,
        says: str) -> None:
    store, snapshot = synced
    before = store.get(snapshot["id"])
    with pytest.raises(Refused) as refused:
        store.execute(UpdateFields(snapshot["id"], fields))
    assert refused.value.field == named
    assert says in refused.value.reason
    assert store.outbox() == []
    after = store.get(snapshot["id"])
    assert (after.status, after.version, after.title) == (before.status, before.version,
                                                          before.title)


def test_every_editable_field_is_still_accepted(synced: tuple[Store, dict[str, Any]]) -> None:
    store, snapshot = synced
    values = {"title": "New title", "description": "d", "category": "network",
              "service": "payments", "impact": 1, "urgency": 2, "team": "platform",
              "assignee": "ray"}
    assert set(values) == set(EDITABLE_FIELDS)
    store.execute(UpdateFields(snapshot["id"], values))
    assert len(store.outbox()) == 1
    row = store.get(snapshot["id"])
    assert (row.title, row.team, row.priority) == ("New title", "platform", 2)
