"""Field changes against a base version: what merges and what conflicts."""

from __future__ import annotations

from incidenttui.domain.changes import (
    EDITABLE_FIELDS,
    FIELD_EVENT,
    FieldConflict,
    find_conflicts,
)
from incidenttui.domain.enums import EventKind

CURRENT = {
    "title": "DB down", "description": "primary unreachable", "category": "availability",
    "service": "orders", "impact": 1, "urgency": 1, "team": "sre", "assignee": "ana",
}
#: Version at which each field last changed; the incident is at version 7.
VERSIONS = {"title": 1, "description": 3, "category": 1, "service": 1, "impact": 5,
            "urgency": 1, "team": 7, "assignee": 6}


def test_no_changes_no_conflicts() -> None:
    assert find_conflicts(CURRENT, VERSIONS, 2, {}) == []


def test_untouched_fields_merge() -> None:
    # Base 4: impact (5), assignee (6), team (7) changed since, but the change touches others.
    changes = {"title": "Orders DB down", "service": "orders-db", "urgency": 2}
    assert find_conflicts(CURRENT, VERSIONS, 4, changes) == []


def test_same_field_changed_after_base_conflicts() -> None:
    conflicts = find_conflicts(CURRENT, VERSIONS, 4, {"impact": 2})
    assert conflicts == [FieldConflict(field="impact", mine=2, theirs=1, their_version=5)]


def test_several_conflicts_in_change_order() -> None:
    changes = {"assignee": "bo", "title": "x", "team": "network"}
    conflicts = find_conflicts(CURRENT, VERSIONS, 4, changes)
    assert conflicts == [
        FieldConflict("assignee", "bo", "ana", 6),
        FieldConflict("team", "network", "sre", 7),
    ]


def test_same_value_is_no_conflict() -> None:
    assert find_conflicts(CURRENT, VERSIONS, 4, {"impact": 1, "team": "sre"}) == []


def test_field_changed_at_base_is_no_conflict() -> None:
    assert find_conflicts(CURRENT, VERSIONS, 5, {"impact": 3}) == []


def test_field_changed_before_base_is_no_conflict() -> None:
    assert find_conflicts(CURRENT, VERSIONS, 6, {"impact": 3, "description": "new"}) == []


def test_base_at_current_version_never_conflicts() -> None:
    changes = {f: f"mine-{f}" for f in EDITABLE_FIELDS}
    assert find_conflicts(CURRENT, VERSIONS, 7, changes) == []


def test_base_zero_conflicts_on_every_changed_differing_field() -> None:
    changes = {f: f"mine-{f}" for f in EDITABLE_FIELDS}
    conflicts = find_conflicts(CURRENT, VERSIONS, 0, changes)
    assert [c.field for c in conflicts] == list(EDITABLE_FIELDS)


def test_field_never_changed_is_no_conflict() -> None:
    assert find_conflicts(CURRENT, {}, 0, {"title": "other"}) == []
    assert find_conflicts(CURRENT, {"impact": 5}, 0, {"title": "other"}) == []


def test_conflict_against_cleared_field() -> None:
    current = dict(CURRENT, assignee=None)
    conflicts = find_conflicts(current, VERSIONS, 2, {"assignee": "bo"})
    assert conflicts == [FieldConflict("assignee", "bo", None, 6)]


def test_clearing_a_field_someone_else_cleared_merges() -> None:
    current = dict(CURRENT, assignee=None)
    assert find_conflicts(current, VERSIONS, 2, {"assignee": None}) == []


def test_inputs_not_mutated() -> None:
    current, versions, changes = dict(CURRENT), dict(VERSIONS), {"impact": 2}
    find_conflicts(current, versions, 1, changes)
    assert (current, versions, changes) == (CURRENT, VERSIONS, {"impact": 2})


def test_every_editable_field_has_an_event_kind() -> None:
    assert set(FIELD_EVENT) == set(EDITABLE_FIELDS)
    assert FIELD_EVENT["impact"] == FIELD_EVENT["urgency"] == EventKind.PRIORITY
    assert FIELD_EVENT["team"] == FIELD_EVENT["assignee"] == EventKind.ASSIGNMENT
    for name in ("title", "description", "category", "service"):
        assert FIELD_EVENT[name] == EventKind.FIELD
