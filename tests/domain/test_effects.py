"""The effect functions: what each action changes and which events it appends.

The server's ``Writer``, the client's store and the demo seed all apply these, so each test
pins the outcome that all three record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incidenttui.domain.changes import EDITABLE_FIELDS, check_base_version, check_fields
from incidenttui.domain.effects import (
    TEXT_MAX,
    TITLE_MAX,
    Effect,
    EventDraft,
    act_effect,
    check_new,
    create_effect,
    escalate_effect,
    link_effect,
    note_effect,
    patch_effect,
)
from incidenttui.domain.enums import Action, EventKind, Status
from incidenttui.domain.lifecycle import RefusalKind, Refused

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
ID = "0f6c2f4e-8a57-4d0e-9a57-1d2d6a0e3c11"
OTHER_ID = "5b3f9a0c-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

#: What a new incident is made of (impact 2 × urgency 2: P3).
FIELDS: dict[str, Any] = {
    "title": "Checkout slow", "description": "p95 3s", "service": "checkout",
    "category": "performance", "impact": 2, "urgency": 2,
}


def new(**fields: Any) -> dict[str, Any]:
    """A new incident's state, as create_effect makes it."""
    return create_effect(ID, {**FIELDS, **fields}, reporter="ana", now=T0,
                         team="platform").changes


def state(status: Status = Status.NEW, **fields: Any) -> dict[str, Any]:
    """An incident in ``status`` (its lifecycle fields as the moves there would set them)."""
    base = new()
    if status != Status.NEW:
        base["acknowledged_at"] = T0
    if status == Status.ON_HOLD:
        base["on_hold_since"] = T0
    if status in (Status.RESOLVED, Status.CLOSED):
        base.update(resolved_at=T0, resolution_code="fixed", resolution_note="done")
    if status in (Status.CLOSED, Status.CANCELLED):
        base["closed_at"] = T0
    base["status"] = status.value
    base.update(fields)
    return base


def refusal(call: Callable[[], object]) -> Refused:
    with pytest.raises(Refused) as caught:
        call()
    return caught.value


def drafts(effect: Effect) -> list[tuple[EventKind, str, dict[str, Any]]]:
    return [(e.kind, e.text, e.data) for e in effect.events]


# -- create ----------------------------------------------------------------------------------


def test_create_makes_the_whole_initial_state() -> None:
    effect = create_effect(ID, {**FIELDS, "category": "performance"}, reporter="ana", now=T0,
                           team="platform")
    assert effect.changes == {
        "id": ID, "title": "Checkout slow", "description": "p95 3s", "service": "checkout",
        "category": "performance", "impact": 2, "urgency": 2, "priority": 3, "status": "new",
        "team": "platform", "assignee": None, "escalation_level": 1,
        "management_engaged": False, "major": False, "reporter": "ana", "created_at": T0,
        "updated_at": T0, "detected_at": T0, "started_at": None, "acknowledged_at": None,
        "resolved_at": None, "closed_at": None, "on_hold_since": None, "hold_seconds": 0.0,
        "reopen_count": 0, "resolution_code": None, "resolution_note": None, "links": [],
        "version": 1, "field_versions": {},
    }
    assert drafts(effect) == [(EventKind.CREATED, "Checkout slow",
                               {"priority": 3, "service": "checkout", "team": "platform"})]


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, {"team": "platform", "assignee": None, "major": False, "description": "p95 3s"}),
    ({"team": "service-desk"}, {"team": "service-desk"}),
    ({"assignee": "bo", "major": True}, {"assignee": "bo", "major": True}),
    ({"description": None}, {"description": ""}),
    ({"detected_at": T0 - timedelta(minutes=3), "started_at": T0 - timedelta(minutes=9)},
     {"detected_at": T0 - timedelta(minutes=3), "started_at": T0 - timedelta(minutes=9)}),
    ({"impact": 1, "urgency": 1}, {"priority": 1}),
    ({"impact": 3, "urgency": 3}, {"priority": 5}),
], ids=["defaults", "own-team", "assignee-major", "no-description", "times", "p1", "p5"])
def test_create_takes_the_optional_fields(fields: dict[str, Any],
                                          expected: dict[str, Any]) -> None:
    made = new(**fields)
    assert {name: made[name] for name in expected} == expected


def test_create_without_a_category_is_other() -> None:
    fields = {k: v for k, v in FIELDS.items() if k != "category"}
    effect = create_effect(ID, fields, reporter=None, now=T0, team=None)
    assert effect.changes["category"] == "other"
    assert effect.changes["team"] is None and effect.changes["reporter"] is None


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"title": ""}, "title", "title is required"),
    ({"title": "   "}, "title", "title is required"),
    ({"title": None}, "title", "title is required"),
    ({"title": 42}, "title", "title is required"),
    ({"title": "x" * (TITLE_MAX + 1)}, "title", f"at most {TITLE_MAX}"),
    ({"description": "x" * (TEXT_MAX + 1)}, "description", f"at most {TEXT_MAX}"),
    ({"impact": 0}, "impact", "1 (high) to 3 (low)"),
    ({"impact": 4}, "impact", "1 (high) to 3 (low)"),
    ({"impact": True}, "impact", "1 (high) to 3 (low)"),
    ({"impact": "2"}, "impact", "1 (high) to 3 (low)"),
    ({"impact": None}, "impact", "impact is required"),
    ({"urgency": 0}, "urgency", "1 (high) to 3 (low)"),
    ({"urgency": False}, "urgency", "1 (high) to 3 (low)"),
    ({"category": "outage"}, "category", "Unknown category 'outage'"),
    ({"category": None}, "category", "Unknown category None"),
    ({"service": None}, "service", "service is required"),
    ({"service": "  "}, "service", "A service is required"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_create_refuses_values_out_of_range(fields: dict[str, Any], field: str,
                                            words: str) -> None:
    asked = {**FIELDS, **fields}
    for call in (lambda: check_new(asked),
                 lambda: create_effect(ID, asked, reporter="ana", now=T0, team="platform")):
        refused = refusal(call)
        assert (refused.field, refused.kind) == (field, RefusalKind.INVALID)
        assert words.lower() in refused.reason.lower(), refused.reason


@pytest.mark.parametrize("missing", ["title", "service", "impact", "urgency"])
def test_create_refuses_a_missing_required_field(missing: str) -> None:
    fields = {k: v for k, v in FIELDS.items() if k != missing}
    refused = refusal(lambda: create_effect(ID, fields, reporter="ana", now=T0, team=None))
    assert refused.field == missing and f"{missing} is required" in refused.reason


def test_create_accepts_the_longest_title() -> None:
    assert new(title="x" * TITLE_MAX)["title"] == "x" * TITLE_MAX


# -- patch: what may change ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "words"), [
    ("status", "lifecycle actions"),
    ("priority", "follows from impact and urgency"),
    ("version", "'version' is not a field that can be changed"),
    ("number", "'number' is not a field that can be changed"),
    ("escalation_level", "'escalation_level' is not a field"),
    ("resolved_at", "'resolved_at' is not a field"),
    ("colour", "'colour' is not a field"),
])
def test_patch_refuses_fields_that_are_not_editable(name: str, words: str) -> None:
    for call in (lambda: patch_effect(state(), {name: "x"}),
                 lambda: patch_effect(state(), {"title": "ok", name: "x"}),
                 lambda: check_fields([name])):
        refused = refusal(call)
        assert (refused.field, refused.kind) == (name, RefusalKind.INVALID)
        assert words in refused.reason and name in refused.reason, refused.reason


def test_the_refusal_of_an_unknown_field_lists_the_editable_ones() -> None:
    reason = refusal(lambda: patch_effect(state(), {"colour": "red"})).reason
    assert all(name in reason for name in EDITABLE_FIELDS)


def test_every_editable_field_is_accepted() -> None:
    check_fields(EDITABLE_FIELDS)


@pytest.mark.parametrize("name", ["title", "category", "service", "impact", "urgency"])
def test_patch_refuses_emptying_a_required_field(name: str) -> None:
    refused = refusal(lambda: patch_effect(state(), {name: None}))
    assert (refused.field, refused.reason) == (name, f"{name} cannot be empty.")


@pytest.mark.parametrize(("asked", "field"), [
    ({"title": ""}, "title"), ({"title": "x" * (TITLE_MAX + 1)}, "title"),
    ({"service": ""}, "service"), ({"category": "outage"}, "category"),
    ({"impact": 0}, "impact"), ({"urgency": 4}, "urgency"), ({"impact": True}, "impact"),
    ({"description": "x" * (TEXT_MAX + 1)}, "description"),
])
def test_patch_refuses_values_out_of_range(asked: dict[str, Any], field: str) -> None:
    refused = refusal(lambda: patch_effect(state(), asked))
    assert (refused.field, refused.kind) == (field, RefusalKind.INVALID)


@pytest.mark.parametrize("name", ["description", "team", "assignee"])
def test_optional_fields_may_be_emptied(name: str) -> None:
    before = state(description="text", team="platform", assignee="ana")
    effect = patch_effect(before, {name: None})
    assert effect.changes == {name: "" if name == "description" else None}


@pytest.mark.parametrize("status", [Status.CLOSED, Status.CANCELLED])
def test_a_finished_incident_cannot_change(status: Status) -> None:
    refused = refusal(lambda: patch_effect(state(status), {"title": "new"}))
    assert (refused.field, refused.kind) == ("status", RefusalKind.STATE)


@pytest.mark.parametrize("status", [Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS,
                                    Status.ON_HOLD, Status.RESOLVED])
def test_an_unfinished_incident_can_change(status: Status) -> None:
    assert patch_effect(state(status), {"title": "new"}).changes == {"title": "new"}


# -- patch: what it records ------------------------------------------------------------------


def test_no_change_is_no_effect() -> None:
    before = state(assignee="ana")
    assert patch_effect(before, {"title": before["title"], "assignee": "ana"}) == \
        Effect({}, [])
    assert patch_effect(before, {}) == Effect({}, [])


@pytest.mark.parametrize(("asked", "priority"), [
    ({"impact": 1}, 2), ({"urgency": 1}, 2), ({"impact": 1, "urgency": 1}, 1),
    ({"impact": 3}, 4), ({"impact": 3, "urgency": 3}, 5),
])
def test_impact_and_urgency_recompute_the_priority(asked: dict[str, Any],
                                                   priority: int) -> None:
    effect = patch_effect(state(), asked)  # from impact 2 × urgency 2: P3
    assert effect.changes == {**asked, "priority": priority}
    fields = {name: {"from": 2, "to": value} for name, value in asked.items()}
    fields["priority"] = {"from": 3, "to": priority}
    assert [(e.kind, e.data) for e in effect.events] == [(EventKind.PRIORITY,
                                                          {"fields": fields})]


def test_the_same_priority_is_not_a_change() -> None:
    effect = patch_effect(state(), {"impact": 1, "urgency": 3})  # P3 → P3
    assert effect.changes == {"impact": 1, "urgency": 3}
    assert effect.events[0].text == "impact: 2 → 1, urgency: 2 → 3"


@pytest.mark.parametrize(("asked", "kinds"), [
    ({"title": "t2"}, [EventKind.FIELD]),
    ({"description": "d2", "category": "software_bug", "service": "search"},
     [EventKind.FIELD]),
    ({"team": "network", "assignee": "bo"}, [EventKind.ASSIGNMENT]),
    ({"impact": 1}, [EventKind.PRIORITY]),
    ({"assignee": "bo", "title": "t2", "urgency": 3},
     [EventKind.ASSIGNMENT, EventKind.FIELD, EventKind.PRIORITY]),
])
def test_one_event_per_kind_of_change(asked: dict[str, Any], kinds: list[EventKind]) -> None:
    before = state()
    effect = patch_effect(before, asked)
    assert [e.kind for e in effect.events] == kinds
    named = [name for e in effect.events for name in e.data["fields"]]
    assert sorted(named) == sorted(effect.changes)
    for event in effect.events:
        assert event.text == ", ".join(f"{name}: {change['from']} → {change['to']}"
                                       for name, change in event.data["fields"].items())
        assert all(change == {"from": before[name], "to": effect.changes[name]}
                   for name, change in event.data["fields"].items())


def test_patch_reads_the_state_without_changing_it() -> None:
    before = state()
    kept = dict(before)
    patch_effect(before, {"title": "t2", "impact": 1})
    assert before == kept


# -- lifecycle moves -------------------------------------------------------------------------

#: action -> (from status, to status, extra changes at LATER)
MOVE_CASES: dict[Action, tuple[Status, Status, dict[str, Any]]] = {
    Action.ACKNOWLEDGE: (Status.NEW, Status.ACKNOWLEDGED, {"acknowledged_at": LATER}),
    Action.START: (Status.NEW, Status.IN_PROGRESS, {"acknowledged_at": LATER}),
    Action.HOLD: (Status.IN_PROGRESS, Status.ON_HOLD, {"on_hold_since": LATER}),
    Action.RESUME: (Status.ON_HOLD, Status.IN_PROGRESS,
                    {"on_hold_since": None, "hold_seconds": 300.0}),
    Action.RESOLVE: (Status.IN_PROGRESS, Status.RESOLVED,
                     {"resolved_at": LATER, "resolution_code": "fixed",
                      "resolution_note": "Restarted."}),
    Action.CLOSE: (Status.RESOLVED, Status.CLOSED, {"closed_at": LATER}),
    Action.REOPEN: (Status.RESOLVED, Status.IN_PROGRESS,
                    {"resolved_at": None, "resolution_code": None, "resolution_note": None,
                     "reopen_count": 1}),
    Action.CANCEL: (Status.NEW, Status.CANCELLED, {"closed_at": LATER}),
}


def test_every_action_has_a_case() -> None:
    assert set(MOVE_CASES) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_each_action_changes_the_status_and_records_it(action: Action) -> None:
    source, target, extra = MOVE_CASES[action]
    effect = act_effect(state(source), action, LATER, resolution_code=" fixed ",
                        resolution_note=" Restarted. ")
    assert effect.changes == {"status": target, **extra}
    data = {"action": action.value, "from": source.value, "to": target.value}
    if action == Action.RESOLVE:
        data["resolution_code"] = "fixed"
    text = "Restarted." if action == Action.RESOLVE else ""
    assert drafts(effect) == [(EventKind.STATUS, text, data)]


@pytest.mark.parametrize("action", list(Action))
def test_a_note_with_the_action_is_a_second_event(action: Action) -> None:
    source, _, _ = MOVE_CASES[action]
    effect = act_effect(state(source), action, LATER, resolution_code="fixed",
                        resolution_note="Restarted.", note="Told customer care.")
    assert [(e.kind, e.text) for e in effect.events][1:] == [(EventKind.NOTE,
                                                              "Told customer care.")]


@pytest.mark.parametrize("note", [None, "", "   \n"])
def test_a_blank_note_with_the_action_is_no_event(note: str | None) -> None:
    effect = act_effect(state(), Action.ACKNOWLEDGE, LATER, note=note)
    assert [e.kind for e in effect.events] == [EventKind.STATUS]


@pytest.mark.parametrize(("status", "action"), [
    (Status.NEW, Action.RESOLVE), (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE),
    (Status.IN_PROGRESS, Action.CANCEL), (Status.CLOSED, Action.REOPEN),
    (Status.CANCELLED, Action.START), (Status.ON_HOLD, Action.HOLD),
])
def test_an_illegal_move_is_a_state_refusal(status: Status, action: Action) -> None:
    refused = refusal(lambda: act_effect(state(status), action, LATER,
                                         resolution_code="fixed", resolution_note="n"))
    assert (refused.field, refused.kind) == ("status", RefusalKind.STATE)


@pytest.mark.parametrize(("code", "note", "field"), [
    (None, "n", "resolution_code"), ("  ", "n", "resolution_code"),
    ("fixed", None, "resolution_note"), ("fixed", "", "resolution_note"),
])
def test_resolving_needs_a_code_and_a_note(code: str | None, note: str | None,
                                           field: str) -> None:
    refused = refusal(lambda: act_effect(state(Status.IN_PROGRESS), Action.RESOLVE, LATER,
                                         resolution_code=code, resolution_note=note))
    assert (refused.field, refused.kind) == (field, RefusalKind.INVALID)


def test_actions_take_plain_strings() -> None:
    effect = act_effect(state(), "acknowledge", LATER)
    assert effect.changes["status"] == "acknowledged"


# -- escalation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "target_level", "to_user", "changes"), [
    (1, 2, None, {"team": "network", "assignee": None, "escalation_level": 2}),
    (1, 2, "bo", {"team": "network", "assignee": "bo", "escalation_level": 2}),
    (1, 3, "bo", {"team": "network", "assignee": "bo", "escalation_level": 3}),
    (2, 2, None, {"team": "network", "assignee": None, "escalation_level": 3}),
    (3, 3, None, {"team": "network", "assignee": None, "escalation_level": 3}),
    (1, None, None, {"team": "network", "assignee": None, "escalation_level": 2}),
], ids=["up", "up-to-user", "two-up", "peer", "at-the-top", "level-unknown"])
def test_functional_escalation_hands_over(level: int, target_level: int | None,
                                          to_user: str | None,
                                          changes: dict[str, Any]) -> None:
    before = state(Status.IN_PROGRESS, team="platform", assignee="ana", escalation_level=level)
    effect = escalate_effect(before, "functional", "needs the edge team", to_team="network",
                             to_user=to_user, target_level=target_level)
    assert effect.changes == changes
    assert drafts(effect) == [(EventKind.ESCALATION, "needs the edge team", {
        "kind": "functional", "from_team": "platform", "from_level": level,
        "to_team": "network", "to_level": changes["escalation_level"], "to_user": to_user})]


@pytest.mark.parametrize("to_user", [None, "claire"])
def test_hierarchical_escalation_engages_management_and_assigns_nobody(
        to_user: str | None) -> None:
    before = state(Status.IN_PROGRESS, team="platform", assignee="ana", escalation_level=2)
    effect = escalate_effect(before, "hierarchical", "revenue impact", to_user=to_user)
    assert effect.changes == {"management_engaged": True}
    assert drafts(effect) == [(EventKind.ESCALATION, "revenue impact", {
        "kind": "hierarchical", "from_team": "platform", "from_level": 2,
        "to_team": "platform", "to_level": 2, "to_user": to_user})]


@pytest.mark.parametrize(("kwargs", "field", "kind"), [
    ({"kind": "functional", "reason": "r", "to_team": "platform", "target_level": 2},
     "to_team", RefusalKind.INVALID),
    ({"kind": "functional", "reason": "r", "to_team": None}, "to_team", RefusalKind.INVALID),
    ({"kind": "functional", "reason": "r", "to_team": "desk", "target_level": 1},
     "to_team", RefusalKind.INVALID),
    ({"kind": "functional", "reason": " ", "to_team": "network"}, "reason",
     RefusalKind.INVALID),
    ({"kind": "hierarchical", "reason": ""}, "reason", RefusalKind.INVALID),
], ids=["same-team", "no-team", "lower-level", "blank-reason", "blank-reason-hierarchical"])
def test_escalation_refusals(kwargs: dict[str, Any], field: str, kind: RefusalKind) -> None:
    before = state(Status.IN_PROGRESS, team="platform", escalation_level=2)
    kwargs = dict(kwargs)
    refused = refusal(lambda: escalate_effect(before, kwargs.pop("kind"), kwargs.pop("reason"),
                                              **kwargs))
    assert (refused.field, refused.kind) == (field, kind)


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
@pytest.mark.parametrize("kind", ["functional", "hierarchical"])
def test_a_finished_incident_is_not_escalated(status: Status, kind: str) -> None:
    refused = refusal(lambda: escalate_effect(state(status), kind, "r", to_team="network",
                                              target_level=2))
    assert (refused.field, refused.kind) == ("status", RefusalKind.STATE)


# -- notes and links -------------------------------------------------------------------------


def test_a_note_is_one_event_and_no_change() -> None:
    assert note_effect("Bridge open.") == Effect({}, [EventDraft(EventKind.NOTE,
                                                                 "Bridge open.")])
    assert note_effect("x", "note-id").events[0].id == "note-id"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_a_blank_note_is_refused(text: str | None) -> None:
    refused = refusal(lambda: note_effect(text))  # type: ignore[arg-type]
    assert (refused.field, refused.kind) == ("text", RefusalKind.INVALID)


def test_a_link_adds_to_the_links_and_records_the_target() -> None:
    before = state(links=[{"kind": "related", "target": "earlier"}])
    effect = link_effect(before, "caused_by", OTHER_ID, "INC-1042")
    assert effect.changes == {"links": [{"kind": "related", "target": "earlier"},
                                        {"kind": "caused_by", "target": OTHER_ID}]}
    assert drafts(effect) == [(EventKind.LINK, "caused_by INC-1042", {
        "kind": "caused_by", "target": OTHER_ID, "target_ref": "INC-1042"})]
    assert before["links"] == [{"kind": "related", "target": "earlier"}]


def test_linking_again_is_no_effect_but_another_kind_is_a_link() -> None:
    before = state(links=[{"kind": "related", "target": OTHER_ID}])
    assert link_effect(before, "related", OTHER_ID, "INC-1042") == Effect({}, [])
    assert link_effect(before, "duplicate_of", OTHER_ID, "INC-1042").changes["links"][-1] == \
        {"kind": "duplicate_of", "target": OTHER_ID}


def test_an_incident_is_not_linked_to_itself() -> None:
    refused = refusal(lambda: link_effect(state(), "related", ID, "INC-1"))
    assert (refused.field, refused.kind) == ("target", RefusalKind.INVALID)


def test_an_unknown_link_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        link_effect(state(), "blocks", OTHER_ID, "INC-1")


# -- versions and the kinds of refusal -------------------------------------------------------


@pytest.mark.parametrize(("base", "current"), [(0, 0), (1, 1), (3, 7), (0, 7)])
def test_a_base_version_up_to_the_current_one_passes(base: int, current: int) -> None:
    check_base_version(base, current)


@pytest.mark.parametrize(("base", "current"), [(2, 1), (8, 7), (2**53, 7)])
def test_a_base_version_from_the_future_is_refused(base: int, current: int) -> None:
    refused = refusal(lambda: check_base_version(base, current))
    assert (refused.field, refused.kind) == ("base_version", RefusalKind.INVALID)
    assert str(base) in refused.reason and str(current) in refused.reason


@pytest.mark.parametrize(("call", "kind"), [
    (lambda: act_effect(state(Status.CLOSED), Action.REOPEN, LATER), RefusalKind.STATE),
    (lambda: patch_effect(state(Status.CANCELLED), {"title": "t"}), RefusalKind.STATE),
    (lambda: escalate_effect(state(Status.RESOLVED), "hierarchical", "r"), RefusalKind.STATE),
    (lambda: patch_effect(state(), {"status": "closed"}), RefusalKind.INVALID),
    (lambda: patch_effect(state(), {"title": None}), RefusalKind.INVALID),
    (lambda: check_new({**FIELDS, "impact": 9}), RefusalKind.INVALID),
    (lambda: check_base_version(9, 1), RefusalKind.INVALID),
    (lambda: act_effect(state(Status.IN_PROGRESS), Action.RESOLVE, LATER),
     RefusalKind.INVALID),
    (lambda: note_effect(""), RefusalKind.INVALID),
    (lambda: link_effect(state(), "related", ID, "INC-1"), RefusalKind.INVALID),
], ids=["illegal-move", "finished-patch", "finished-escalation", "status-field",
        "emptied-title", "impact-range", "future-version", "resolve-without-code",
        "blank-note", "self-link"])
def test_lifecycle_refusals_are_state_and_input_refusals_invalid(
        call: Callable[[], object], kind: RefusalKind) -> None:
    assert refusal(call).kind == kind


def test_a_refusal_is_invalid_unless_told() -> None:
    assert Refused("no").kind == RefusalKind.INVALID and Refused("no").field is None
    assert Refused("no", "title", RefusalKind.NOT_FOUND).kind == "not_found"
