"""Escalation policies (domain/escalation_policy.py): level timeouts, loops, the stopped clock
of an acknowledged incident and its re-escalation when forgotten, management notices, and the
hand-made jump. Table-driven, with timeouts in seconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from incidenttui.domain import Refused, Status
from incidenttui.domain.escalation_policy import (
    Clock,
    Level,
    Notice,
    Policy,
    Position,
    StepKind,
    Target,
    TargetKind,
    advance,
    describe,
    due_steps,
    jump,
    next_steps,
    remaining,
    start,
)

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def level(target: str, timeout: int, kind: TargetKind = TargetKind.SCHEDULE) -> Level:
    return Level((Target(kind, target),), timeout)


POLICY = Policy("checkout", "Checkout", (
    level("platform-primary", 60),
    level("platform-secondary", 120),
    level("dba", 300, TargetKind.TEAM),
), repeat=1, reescalate_after=600, notices=(
    Notice(frozenset({1}), 0),
    Notice(frozenset({2}), 1800),
))


def clock(status: Status = Status.NEW, priority: int = 3, position: Position | None = None,
          touched: float = 0, sent: frozenset[int] = frozenset()) -> Clock:
    return Clock(status, priority, T0, position or start(T0), at(touched), sent)


@pytest.mark.parametrize(("position", "due", "to"), [
    (Position(1, 0, T0), at(60), (2, 0)),
    (Position(2, 0, at(60)), at(180), (3, 0)),
    (Position(3, 0, at(180)), at(480), (1, 1)),  # loops back: repeat=1
    (Position(1, 1, at(480)), at(540), (2, 1)),
    (Position(3, 1, at(900)), None, None),  # the last pass ends at the last level
])
def test_an_unacknowledged_incident_moves_level_by_level_then_loops(position, due, to):
    steps = [s for s in next_steps(POLICY, clock(position=position))
             if s.kind == StepKind.ESCALATE]
    if due is None:
        assert steps == []
    else:
        assert [(s.due, (s.to_level, s.to_loop)) for s in steps] == [(due, to)]


def test_only_due_steps_run_and_advance_moves_the_clock():
    c = clock()
    assert due_steps(POLICY, c, at(59)) == []
    [step] = due_steps(POLICY, c, at(60))
    assert (step.kind, step.level, step.to_level) == (StepKind.ESCALATE, 1, 2)
    moved = advance(POLICY, c, step, at(61))
    assert moved.position == Position(2, 0, at(61))
    # Overdue by a lot (a server that was down): one level at a time, each with its clock.
    assert [s.to_level for s in due_steps(POLICY, c, at(10_000))] == [2]


@pytest.mark.parametrize("status", [Status.ACKNOWLEDGED, Status.IN_PROGRESS])
def test_an_acknowledged_incident_stops_the_clock_until_it_is_forgotten(status):
    c = clock(status=status, touched=30)
    assert due_steps(POLICY, c, at(600)) == []  # well past the level's 60 s
    [step] = due_steps(POLICY, c, at(630))  # 600 s after the last touch
    assert (step.kind, step.to_level) == (StepKind.REESCALATE, 2)
    # a note resets the quiet time
    assert due_steps(POLICY, replace(c, touched_at=at(500)), at(630)) == []


@pytest.mark.parametrize("status", [Status.ON_HOLD, Status.RESOLVED, Status.CLOSED,
                                    Status.CANCELLED])
def test_on_hold_and_closed_incidents_do_not_move(status):
    assert [s for s in next_steps(POLICY, clock(status=status))
            if s.kind != StepKind.NOTIFY] == []


def test_without_reescalation_an_acknowledged_incident_stays_put():
    quiet = replace(POLICY, reescalate_after=None)
    assert next_steps(quiet, clock(status=Status.ACKNOWLEDGED, priority=3)) == []


@pytest.mark.parametrize(("priority", "due"), [(1, at(0)), (2, at(1800)), (3, None)])
def test_management_hears_of_p1_at_once_and_p2_after_half_an_hour(priority, due):
    notices = [s for s in next_steps(POLICY, clock(status=Status.ACKNOWLEDGED,
                                                   priority=priority))
               if s.kind == StepKind.NOTIFY]
    assert [s.due for s in notices] == ([] if due is None else [due])


def test_a_notice_is_sent_once_and_not_for_a_closed_incident():
    c = clock(priority=1)
    [notice] = [s for s in due_steps(POLICY, c, at(1)) if s.kind == StepKind.NOTIFY]
    sent = advance(POLICY, c, notice, at(1))
    assert sent.notices_sent == {0}
    assert [s for s in due_steps(POLICY, sent, at(2)) if s.kind == StepKind.NOTIFY] == []
    assert next_steps(POLICY, clock(status=Status.RESOLVED, priority=1)) == []


def test_the_countdown_and_the_timeline_text():
    step, left = remaining(POLICY, clock(), at(45))  # type: ignore[misc]
    assert left == timedelta(seconds=15)
    assert describe(POLICY, step, clock()) == (
        "Not acknowledged within 1m at level 1: escalated to level 2 "
        "(schedule platform-secondary).")
    forgotten = next_steps(POLICY, clock(status=Status.ACKNOWLEDGED,
                                         position=Position(3, 0, T0)))[0]
    assert describe(POLICY, forgotten, clock()) == (
        "Acknowledged but untouched for 10m (no note, no status change) at level 3: "
        "escalated to level 1, pass 2 (schedule platform-primary).")
    assert remaining(POLICY, clock(status=Status.ON_HOLD), at(0)) is None
    notice = next_steps(POLICY, clock(priority=2))[-1]
    assert "after 30m open" in describe(POLICY, notice, clock(priority=2))


def test_jumping_to_a_level_by_hand():
    assert jump(POLICY, Position(1, 0, T0), 3, at(5)) == Position(3, 0, at(5))
    for bad in (0, 4):
        with pytest.raises(Refused) as refused:
            jump(POLICY, Position(1, 0, T0), bad, at(5))
        assert refused.value.field == "level"
    with pytest.raises(Refused, match="already"):
        jump(POLICY, Position(2, 0, T0), 2, at(5))


@pytest.mark.parametrize(("build", "field"), [
    (lambda: Policy("p", "P", ()), "levels"),
    (lambda: Policy("p", "P", (level("x", 60),), repeat=11), "repeat"),
    (lambda: Policy("p", "P", (level("x", 60),), reescalate_after=0), "reescalate_after"),
    (lambda: Level((), 60), "targets"),
    (lambda: level("x", 0), "timeout"),
    (lambda: level("x", 10**9), "timeout"),
    (lambda: Level((Target(TargetKind.TEAM, "x"),), True), "timeout"),  # type: ignore[arg-type]
    (lambda: Notice(frozenset({0})), "priorities"),
    (lambda: Notice(frozenset({1}), -5), "after"),
])
def test_a_bad_policy_is_refused_naming_the_field(build, field):
    with pytest.raises(Refused) as refused:
        build()
    assert refused.value.field == field


def test_the_clock_read_back_from_a_timeline():
    from incidenttui.domain.escalation_policy import POLICY_ACTOR, clock_from_timeline

    events = [
        (at(61), "escalation", POLICY_ACTOR, {"step": "escalate", "level": 1, "to_level": 2,
                                               "loop": 0}),
        (at(0), "escalation", POLICY_ACTOR, {"step": "notify", "notice": 0}),
        (at(90), "note", "rita", {}),
        (at(100), "note", POLICY_ACTOR, {}),  # not a person
        (at(120), "escalation", "rita", {"kind": "functional"}),  # a hand-made escalation
    ]
    read = clock_from_timeline(Status.NEW, 1, T0, events)
    assert read.position == Position(2, 0, at(61))
    assert read.touched_at == at(90) and read.notices_sent == {0}
    assert clock_from_timeline("acknowledged", 3, T0, []) == clock(
        status=Status.ACKNOWLEDGED)


def test_a_reopening_and_a_policy_start_read_back_as_level_one_from_then():
    from incidenttui.domain.escalation_policy import POLICY_ACTOR, clock_from_timeline

    moved = (at(61), "escalation", POLICY_ACTOR, {"step": "escalate", "level": 1,
                                                  "to_level": 2, "loop": 0})
    notified = (at(0), "escalation", POLICY_ACTOR, {"step": "notify", "notice": 0})
    reopened = (at(300), "status", "rita", {"action": "reopen", "from": "resolved",
                                            "to": "in_progress"})
    read = clock_from_timeline("in_progress", 1, T0, [moved, notified, reopened])
    assert read.position == Position(1, 0, at(300)) and read.notices_sent == {0}
    started = (at(400), "escalation", POLICY_ACTOR, {"step": "start", "level": 1,
                                                     "to_level": 1, "loop": 0})
    assert clock_from_timeline(Status.NEW, 1, T0, [moved, started]).position == \
        Position(1, 0, at(400))
