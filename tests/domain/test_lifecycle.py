"""The lifecycle table, the effects of each move, and escalation rules."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incidenttui.domain.enums import Action, EscalationKind, Status
from incidenttui.domain.lifecycle import (
    EDITABLE_STATUSES,
    MAX_ESCALATION_LEVEL,
    MOVES,
    LifecycleFields,
    Refused,
    action_effects,
    check_action,
    check_editable,
    escalation_effects,
    legal_actions,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

S, A = Status, Action

#: Written out independently of ``MOVES``: (status, action) -> target for every legal move.
EXPECTED_LEGAL: dict[tuple[Status, Action], Status] = {
    (S.NEW, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.NEW, A.START): S.IN_PROGRESS,
    (S.ACKNOWLEDGED, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.HOLD): S.ON_HOLD,
    (S.ON_HOLD, A.RESUME): S.IN_PROGRESS,
    (S.ACKNOWLEDGED, A.RESOLVE): S.RESOLVED,
    (S.IN_PROGRESS, A.RESOLVE): S.RESOLVED,
    (S.ON_HOLD, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.IN_PROGRESS,
    (S.NEW, A.CANCEL): S.CANCELLED,
    (S.ACKNOWLEDGED, A.CANCEL): S.CANCELLED,
}

ALL_PAIRS = list(itertools.product(Status, Action))
LEGAL_PAIRS = [p for p in ALL_PAIRS if p in EXPECTED_LEGAL]
ILLEGAL_PAIRS = [p for p in ALL_PAIRS if p not in EXPECTED_LEGAL]


def _ids(pairs: list[tuple[Status, Action]]) -> list[str]:
    return [f"{s.value}-{a.value}" for s, a in pairs]


@dataclass
class FakeIncident:
    """A minimal implementation of the :class:`LifecycleFields` protocol."""

    status: str = Status.NEW
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    on_hold_since: datetime | None = None
    hold_seconds: float = 0.0
    reopen_count: int = 0
    resolution_code: str | None = None
    resolution_note: str | None = None
    closed_at: datetime | None = None


def apply(incident: FakeIncident, changes: dict[str, Any]) -> FakeIncident:
    """The incident with ``changes`` applied, as a store would do it."""
    names = {f.name for f in fields(FakeIncident)}
    unknown = set(changes) - names
    assert not unknown, f"action_effects returned unexpected fields {unknown}"
    return replace(incident, **changes)


def move(incident: FakeIncident, action: Action, now: datetime, **kw: Any) -> FakeIncident:
    return apply(incident, action_effects(incident, action, now, **kw))


def incident_in(status: Status) -> FakeIncident:
    """A consistent incident sitting in ``status``."""
    inc = FakeIncident(status=status)
    if status != S.NEW:
        inc.acknowledged_at = T0
    if status == S.ON_HOLD:
        inc.on_hold_since = T0
    if status in (S.RESOLVED, S.CLOSED):
        inc.resolved_at = T0
        inc.resolution_code = "fixed"
        inc.resolution_note = "patched"
    if status in (S.CLOSED, S.CANCELLED):
        inc.closed_at = T0
    return inc


def test_fake_incident_satisfies_protocol() -> None:
    inc: LifecycleFields = FakeIncident()
    assert inc.status == S.NEW


# --- the table ------------------------------------------------------------------------------


def test_expected_table_covers_every_action() -> None:
    assert {a for _, a in EXPECTED_LEGAL} == set(Action)
    assert len(ALL_PAIRS) == len(Status) * len(Action) == 56
    assert len(LEGAL_PAIRS) == 12
    assert len(ILLEGAL_PAIRS) == 44


def test_moves_table_matches_expected() -> None:
    from_table = {(s, a): m.target for a, m in MOVES.items() for s in m.sources}
    assert from_table == EXPECTED_LEGAL


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS, ids=_ids(LEGAL_PAIRS))
def test_legal_move_reaches_expected_target(status: Status, action: Action) -> None:
    assert check_action(status, action) == EXPECTED_LEGAL[(status, action)]


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS, ids=_ids(LEGAL_PAIRS))
def test_legal_move_accepts_plain_strings(status: Status, action: Action) -> None:
    target = check_action(status.value, action.value)
    assert target == EXPECTED_LEGAL[(status, action)]
    assert isinstance(target, Status)


@pytest.mark.parametrize(("status", "action"), ILLEGAL_PAIRS, ids=_ids(ILLEGAL_PAIRS))
def test_illegal_move_is_refused_with_readable_reason(status: Status, action: Action) -> None:
    with pytest.raises(Refused) as excinfo:
        check_action(status, action)
    refused = excinfo.value
    reason = refused.reason
    assert status.label in reason
    assert "_" not in status.label
    assert status.value not in reason or status.value == status.label
    assert reason[0].isupper()
    assert reason.endswith(".")
    assert str(refused) == reason
    assert refused.field == "status"


@pytest.mark.parametrize(("status", "action"), ILLEGAL_PAIRS, ids=_ids(ILLEGAL_PAIRS))
def test_illegal_move_is_refused_by_action_effects(status: Status, action: Action) -> None:
    with pytest.raises(Refused) as excinfo:
        action_effects(incident_in(status), action, T0 + timedelta(hours=1),
                       resolution_code="fixed", resolution_note="done")
    assert status.label in excinfo.value.reason


def test_labels_are_human_readable() -> None:
    assert S.ON_HOLD.label == "on hold"
    assert S.IN_PROGRESS.label == "in progress"
    assert S.CLOSED.label == "closed"


def test_refusal_for_on_hold_mentions_on_hold() -> None:
    with pytest.raises(Refused, match="on hold"):
        check_action(S.ON_HOLD, A.START)


def test_refusal_already_in_target_status() -> None:
    with pytest.raises(Refused) as excinfo:
        check_action(S.CLOSED, A.CLOSE)
    assert excinfo.value.reason == "The incident is already closed."


def test_refusal_reopen_closed_points_to_new_incident() -> None:
    with pytest.raises(Refused) as excinfo:
        check_action(S.CLOSED, A.REOPEN)
    assert "closed" in excinfo.value.reason
    assert "open a new incident" in excinfo.value.reason


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED])
def test_resolve_refusal_hint_fits_terminal_status(status: Status) -> None:
    with pytest.raises(Refused) as excinfo:
        check_action(status, A.RESOLVE)
    assert "acknowledge" not in excinfo.value.reason


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_cancel_refusal_hint_fits_finished_status(status: Status) -> None:
    with pytest.raises(Refused) as excinfo:
        check_action(status, A.CANCEL)
    assert "resolve it instead" not in excinfo.value.reason


def test_unknown_status_or_action_is_value_error() -> None:
    with pytest.raises(ValueError):
        check_action("frozen", A.START)
    with pytest.raises(ValueError):
        check_action(S.NEW, "teleport")


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_legal_actions_match_table_in_table_order(status: Status) -> None:
    expected = [a for a in Action if (status, a) in EXPECTED_LEGAL]
    assert legal_actions(status) == expected


def test_legal_actions_of_terminal_statuses_are_empty() -> None:
    assert legal_actions(S.CLOSED) == []
    assert legal_actions(S.CANCELLED) == []
    assert legal_actions(S.RESOLVED) == [A.CLOSE, A.REOPEN]


# --- editability ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD,
                                    S.RESOLVED], ids=lambda s: s.value)
def test_editable_statuses(status: Status) -> None:
    assert status in EDITABLE_STATUSES
    check_editable(status)
    check_editable(status.value)


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED], ids=lambda s: s.value)
def test_closed_and_cancelled_are_not_editable(status: Status) -> None:
    with pytest.raises(Refused) as excinfo:
        check_editable(status)
    assert status.label in excinfo.value.reason
    assert excinfo.value.field == "status"


# --- action_effects -------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS, ids=_ids(LEGAL_PAIRS))
def test_effects_set_expected_status(status: Status, action: Action) -> None:
    changes = action_effects(incident_in(status), action, T0 + timedelta(hours=1),
                             resolution_code="fixed", resolution_note="done")
    assert changes["status"] == EXPECTED_LEGAL[(status, action)]


def test_acknowledge_sets_acknowledged_at() -> None:
    now = T0 + timedelta(minutes=5)
    changes = action_effects(FakeIncident(), A.ACKNOWLEDGE, now)
    assert changes == {"status": S.ACKNOWLEDGED, "acknowledged_at": now}


def test_start_from_new_also_sets_acknowledged_at() -> None:
    now = T0 + timedelta(minutes=5)
    changes = action_effects(FakeIncident(), A.START, now)
    assert changes == {"status": S.IN_PROGRESS, "acknowledged_at": now}


def test_acknowledged_at_is_set_only_once() -> None:
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    inc = move(FakeIncident(), A.ACKNOWLEDGE, t1)
    assert inc.acknowledged_at == t1
    changes = action_effects(inc, A.START, t2)
    assert "acknowledged_at" not in changes
    inc = apply(inc, changes)
    inc = move(inc, A.HOLD, t3)
    inc = move(inc, A.RESUME, t3 + timedelta(minutes=1))
    assert inc.acknowledged_at == t1


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS, ids=_ids(LEGAL_PAIRS))
def test_acknowledged_at_never_overwritten(status: Status, action: Action) -> None:
    inc = incident_in(status)
    changes = action_effects(inc, action, T0 + timedelta(hours=1),
                             resolution_code="fixed", resolution_note="done")
    if inc.acknowledged_at is not None:
        assert "acknowledged_at" not in changes


def test_hold_sets_on_hold_since() -> None:
    inc = incident_in(S.IN_PROGRESS)
    now = T0 + timedelta(minutes=10)
    changes = action_effects(inc, A.HOLD, now)
    assert changes == {"status": S.ON_HOLD, "on_hold_since": now}


def test_hold_then_resume_adds_held_seconds() -> None:
    inc = replace(incident_in(S.IN_PROGRESS), hold_seconds=100.0)
    inc = move(inc, A.HOLD, T0 + timedelta(minutes=10))
    assert inc.on_hold_since == T0 + timedelta(minutes=10)
    changes = action_effects(inc, A.RESUME, T0 + timedelta(minutes=40))
    assert changes == {"status": S.IN_PROGRESS, "hold_seconds": 100.0 + 30 * 60,
                       "on_hold_since": None}


def test_two_holds_accumulate() -> None:
    inc = incident_in(S.IN_PROGRESS)
    inc = move(inc, A.HOLD, T0 + timedelta(minutes=10))
    inc = move(inc, A.RESUME, T0 + timedelta(minutes=15))
    inc = move(inc, A.HOLD, T0 + timedelta(minutes=20))
    inc = move(inc, A.RESUME, T0 + timedelta(minutes=30))
    assert inc.hold_seconds == 15 * 60
    assert inc.on_hold_since is None


def test_resolve_while_on_hold_stops_the_hold() -> None:
    inc = incident_in(S.IN_PROGRESS)
    inc = move(inc, A.HOLD, T0 + timedelta(minutes=10))
    now = T0 + timedelta(minutes=25)
    changes = action_effects(inc, A.RESOLVE, now, resolution_code="workaround",
                             resolution_note="restarted the pod")
    assert changes["status"] == S.RESOLVED
    assert changes["on_hold_since"] is None
    assert changes["hold_seconds"] == 15 * 60
    assert changes["resolved_at"] == now


def test_hold_with_clock_skew_never_subtracts() -> None:
    inc = replace(incident_in(S.ON_HOLD), on_hold_since=T0 + timedelta(minutes=5),
                  hold_seconds=60.0)
    changes = action_effects(inc, A.RESUME, T0)
    assert changes["hold_seconds"] == 60.0


def test_resolve_sets_resolution_fields_stripped() -> None:
    inc = incident_in(S.IN_PROGRESS)
    now = T0 + timedelta(hours=2)
    changes = action_effects(inc, A.RESOLVE, now, resolution_code="  fixed ",
                             resolution_note="  rolled back the deploy\n")
    assert changes == {"status": S.RESOLVED, "resolved_at": now, "resolution_code": "fixed",
                       "resolution_note": "rolled back the deploy"}


def test_resolve_from_acknowledged() -> None:
    inc = incident_in(S.ACKNOWLEDGED)
    changes = action_effects(inc, A.RESOLVE, T0, resolution_code="false_alarm",
                             resolution_note="monitor glitch")
    assert changes["status"] == S.RESOLVED


@pytest.mark.parametrize("code", [None, "", "   "])
def test_resolve_requires_code(code: str | None) -> None:
    with pytest.raises(Refused) as excinfo:
        action_effects(incident_in(S.IN_PROGRESS), A.RESOLVE, T0, resolution_code=code,
                       resolution_note="note")
    assert excinfo.value.field == "resolution_code"
    assert "code" in excinfo.value.reason


@pytest.mark.parametrize("note", [None, "", " \t\n"])
def test_resolve_requires_note(note: str | None) -> None:
    with pytest.raises(Refused) as excinfo:
        action_effects(incident_in(S.IN_PROGRESS), A.RESOLVE, T0, resolution_code="fixed",
                       resolution_note=note)
    assert excinfo.value.field == "resolution_note"
    assert "note" in excinfo.value.reason


def test_resolve_without_anything_reports_code_first() -> None:
    with pytest.raises(Refused) as excinfo:
        action_effects(incident_in(S.IN_PROGRESS), A.RESOLVE, T0)
    assert excinfo.value.field == "resolution_code"


def test_illegal_resolve_reports_status_before_missing_code() -> None:
    with pytest.raises(Refused) as excinfo:
        action_effects(incident_in(S.NEW), A.RESOLVE, T0)
    assert excinfo.value.field == "status"


def test_reopen_clears_resolution_and_counts() -> None:
    inc = replace(incident_in(S.RESOLVED), reopen_count=2)
    now = T0 + timedelta(hours=3)
    changes = action_effects(inc, A.REOPEN, now)
    assert changes == {"status": S.IN_PROGRESS, "resolved_at": None, "resolution_code": None,
                       "resolution_note": None, "reopen_count": 3}


def test_resolve_reopen_resolve_cycle() -> None:
    inc = incident_in(S.IN_PROGRESS)
    inc = move(inc, A.RESOLVE, T0 + timedelta(hours=1), resolution_code="fixed",
               resolution_note="first try")
    inc = move(inc, A.REOPEN, T0 + timedelta(hours=2))
    assert (inc.status, inc.resolved_at, inc.reopen_count) == (S.IN_PROGRESS, None, 1)
    inc = move(inc, A.RESOLVE, T0 + timedelta(hours=3), resolution_code="rollback",
               resolution_note="second try")
    assert inc.resolved_at == T0 + timedelta(hours=3)
    assert inc.resolution_code == "rollback"
    assert inc.reopen_count == 1


def test_close_sets_closed_at() -> None:
    now = T0 + timedelta(days=1)
    changes = action_effects(incident_in(S.RESOLVED), A.CLOSE, now)
    assert changes == {"status": S.CLOSED, "closed_at": now}


@pytest.mark.parametrize("status", [S.NEW, S.ACKNOWLEDGED], ids=lambda s: s.value)
def test_cancel_sets_closed_at(status: Status) -> None:
    now = T0 + timedelta(minutes=3)
    changes = action_effects(incident_in(status), A.CANCEL, now)
    assert changes["status"] == S.CANCELLED
    assert changes["closed_at"] == now


def test_effects_accept_plain_strings() -> None:
    inc = FakeIncident(status="new")
    changes = action_effects(inc, "acknowledge", T0)
    assert changes["status"] == S.ACKNOWLEDGED


def test_effects_do_not_mutate_incident() -> None:
    inc = incident_in(S.IN_PROGRESS)
    before = replace(inc)
    action_effects(inc, A.HOLD, T0 + timedelta(minutes=1))
    assert inc == before


def test_full_happy_path() -> None:
    inc = FakeIncident()
    inc = move(inc, A.ACKNOWLEDGE, T0 + timedelta(minutes=2))
    inc = move(inc, A.START, T0 + timedelta(minutes=5))
    inc = move(inc, A.HOLD, T0 + timedelta(minutes=30))
    inc = move(inc, A.RESUME, T0 + timedelta(minutes=90))
    inc = move(inc, A.RESOLVE, T0 + timedelta(hours=2), resolution_code="fixed",
               resolution_note="done")
    inc = move(inc, A.CLOSE, T0 + timedelta(days=1))
    assert inc == FakeIncident(
        status=S.CLOSED, acknowledged_at=T0 + timedelta(minutes=2),
        resolved_at=T0 + timedelta(hours=2), on_hold_since=None, hold_seconds=3600.0,
        reopen_count=0, resolution_code="fixed", resolution_note="done",
        closed_at=T0 + timedelta(days=1))


# --- escalation -----------------------------------------------------------------------------

OPEN = [S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD]
NOT_OPEN = [S.RESOLVED, S.CLOSED, S.CANCELLED]


@pytest.mark.parametrize("status", OPEN, ids=lambda s: s.value)
def test_functional_escalation_raises_level(status: Status) -> None:
    changes = escalation_effects(status, EscalationKind.FUNCTIONAL, 0, "service-desk", "sre",
                                 "needs database expertise")
    assert changes == {"team": "sre", "assignee": None, "escalation_level": 1}


@pytest.mark.parametrize(("level", "target_level", "expected"), [
    (0, None, 1),
    (1, None, 2),
    (2, None, 3),
    (0, 2, 2),
    (0, 3, 3),
    (1, 3, 3),
    (1, 1, 2),
    (1, 2, 2),
    (0, 0, 1),
])
def test_functional_escalation_respects_target_level(level: int, target_level: int | None,
                                                     expected: int) -> None:
    changes = escalation_effects(S.IN_PROGRESS, "functional", level, "a", "b", "why",
                                 target_level=target_level)
    assert changes["escalation_level"] == expected


@pytest.mark.parametrize(("level", "target_level"), [(2, 1), (3, 1), (3, 2)])
def test_functional_escalation_refuses_a_lower_level_team(level: int, target_level: int) -> None:
    with pytest.raises(Refused, match="equal or more expertise") as refused:
        escalation_effects(S.IN_PROGRESS, "functional", level, "a", "b", "why",
                           target_level=target_level)
    assert refused.value.field == "to_team"


@pytest.mark.parametrize(("level", "target_level"), [
    (3, None), (3, 3), (3, 5), (2, 7), (0, 99), (2, None),
])
def test_functional_escalation_caps_at_max(level: int, target_level: int | None) -> None:
    assert MAX_ESCALATION_LEVEL == 3
    changes = escalation_effects(S.IN_PROGRESS, "functional", level, "a", "b", "why",
                                 target_level=target_level)
    assert changes["escalation_level"] == MAX_ESCALATION_LEVEL
    assert changes["team"] == "b"


def test_functional_escalation_from_no_team() -> None:
    changes = escalation_effects(S.NEW, "functional", 0, None, "network", "packet loss")
    assert changes["team"] == "network"


def test_functional_escalation_refuses_same_team() -> None:
    with pytest.raises(Refused) as excinfo:
        escalation_effects(S.IN_PROGRESS, "functional", 1, "sre", "sre", "why")
    assert excinfo.value.field == "to_team"
    assert "sre" in excinfo.value.reason


@pytest.mark.parametrize("target", [None, ""])
def test_functional_escalation_refuses_missing_team(target: str | None) -> None:
    with pytest.raises(Refused) as excinfo:
        escalation_effects(S.IN_PROGRESS, "functional", 1, "sre", target, "why")
    assert excinfo.value.field == "to_team"


@pytest.mark.parametrize("kind", list(EscalationKind), ids=lambda k: k.value)
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_escalation_refuses_empty_reason(kind: EscalationKind, reason: str | None) -> None:
    with pytest.raises(Refused) as excinfo:
        escalation_effects(S.IN_PROGRESS, kind, 0, "a", "b", reason)  # type: ignore[arg-type]
    assert excinfo.value.field == "reason"
    assert "reason" in excinfo.value.reason


@pytest.mark.parametrize("kind", list(EscalationKind), ids=lambda k: k.value)
@pytest.mark.parametrize("status", NOT_OPEN, ids=lambda s: s.value)
def test_escalation_refuses_finished_incidents(kind: EscalationKind, status: Status) -> None:
    with pytest.raises(Refused) as excinfo:
        escalation_effects(status, kind, 0, "a", "b", "why")
    assert excinfo.value.field == "status"
    assert status.label in excinfo.value.reason


@pytest.mark.parametrize("status", OPEN, ids=lambda s: s.value)
def test_hierarchical_escalation_changes_nothing(status: Status) -> None:
    assert escalation_effects(status, EscalationKind.HIERARCHICAL, 1, "sre", None,
                              "customer impact growing") == {}
    assert escalation_effects(status.value, "hierarchical", 3, "sre", "sre", "exec") == {}


def test_unknown_escalation_kind_is_value_error() -> None:
    with pytest.raises(ValueError):
        escalation_effects(S.NEW, "sideways", 0, "a", "b", "why")
