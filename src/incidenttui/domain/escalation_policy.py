"""Escalation policies: when an incident moves to its policy's next level by itself, and when
management is told.

A :class:`Policy` (one per service) has ordered levels, each with targets (a team, a person
or an on-call schedule) and a timeout in seconds. An open incident nobody has acknowledged
moves to the next level when its level's timeout runs out; after the last level it loops
back to the first, ``repeat`` times, then stays at the last level. Acknowledging stops the
clock — but an incident acknowledged and then left untouched (no note, no status change)
for ``reescalate_after`` seconds moves on as if nobody had, because forgotten
acknowledgements are what on-call teams complain about most. :class:`Notice` rules tell
management about the worst incidents (P1 at once, P2 after 30 minutes), once each.

Everything here is pure: :func:`next_steps` says what is due when for an incident's
:class:`Clock`, :func:`advance` where a step or a hand-made "level N now" leaves it. The
server runs the due steps exactly once (server/escalation.py) and writes their
:func:`describe` text to the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from incidenttui.domain.enums import Status
from incidenttui.domain.lifecycle import Refused
from incidenttui.present import duration

#: Longest timeout of a level, and longest wait of a notice or re-escalation (a week).
MAX_SECONDS = 7 * 24 * 3600
#: Most levels in a policy, and most loops through it.
MAX_LEVELS = 10
MAX_REPEAT = 10

#: The actor of what a policy does, in timelines (``actor`` of its escalation events).
POLICY_ACTOR = "escalation-policy"

#: Statuses in which someone has said they are on it: the level clock is stopped, the
#: re-escalation clock runs.
ATTENDED = frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS})


#: Lifecycle moves (the ``action`` of a status event) that start an incident's policy again
#: from level 1: a reopened incident is new work, and its clock runs from the reopening.
RESTARTED_BY = frozenset({"reopen"})

#: The ``step`` of the event that says a policy starts for an incident already open (its
#: service got the policy, or another one): level 1 from then on.
START_STEP = "start"


class TargetKind(StrEnum):
    TEAM = "team"
    USER = "user"
    SCHEDULE = "schedule"


class StepKind(StrEnum):
    """What a due step does."""

    #: nobody acknowledged within the level's timeout: the next level
    ESCALATE = "escalate"
    #: acknowledged, then untouched for ``reescalate_after``: the next level
    REESCALATE = "reescalate"
    #: tell management (a :class:`Notice`)
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"


@dataclass(frozen=True, slots=True)
class Level:
    targets: tuple[Target, ...]
    timeout: int

    def __post_init__(self) -> None:
        if not self.targets:
            raise Refused("A level needs at least one target.", "targets")
        _check_seconds(self.timeout, "timeout", least=1)


@dataclass(frozen=True, slots=True)
class Notice:
    """Tell management about incidents of ``priorities``, ``after`` seconds after they were
    opened (0: at once) if they are still open then."""

    priorities: frozenset[int]
    after: int = 0

    def __post_init__(self) -> None:
        if not self.priorities or not self.priorities <= frozenset(range(1, 6)):
            raise Refused("A notice names priorities 1 to 5.", "priorities")
        _check_seconds(self.after, "after", least=0)


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    name: str
    levels: tuple[Level, ...]
    repeat: int = 0
    reescalate_after: int | None = None
    notices: tuple[Notice, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.levels) <= MAX_LEVELS:
            raise Refused(f"A policy has 1 to {MAX_LEVELS} levels.", "levels")
        if not 0 <= self.repeat <= MAX_REPEAT:
            raise Refused(f"A policy repeats 0 to {MAX_REPEAT} times.", "repeat")
        if self.reescalate_after is not None:
            _check_seconds(self.reescalate_after, "reescalate_after", least=1)

    def level(self, number: int) -> Level:
        """Level ``number`` (1 is the first)."""
        return self.levels[number - 1]


@dataclass(frozen=True, slots=True)
class Position:
    """Where an incident is in its policy: ``level`` (1-based) in ``loop`` (0 is the first
    pass), since ``since``."""

    level: int
    loop: int
    since: datetime


@dataclass(frozen=True, slots=True)
class Clock:
    """What the policy needs to know about an incident."""

    status: Status
    priority: int
    opened_at: datetime
    position: Position
    #: the last note or status change by a person (the re-escalation clock restarts there)
    touched_at: datetime
    #: the indexes of the policy's notices already sent
    notices_sent: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    due: datetime
    #: the level the incident is at when the step is due, and the one it moves to
    level: int
    to_level: int | None = None
    to_loop: int | None = None
    #: for a NOTIFY step: which notice
    notice: int | None = None


def start(opened_at: datetime) -> Position:
    """Where a new incident starts: level 1 of the first pass."""
    return Position(1, 0, opened_at)


def next_steps(policy: Policy, clock: Clock) -> list[Step]:
    """The steps that will fall due for ``clock`` if nothing changes, soonest first (a due
    time in the past means overdue). Nothing for a closed incident."""
    status = Status(clock.status)
    if not status.is_open:
        return []
    steps: list[Step] = []
    position = clock.position
    following = _following(policy, position)
    if following is not None:
        to_level, to_loop = following
        if status == Status.NEW:
            steps.append(Step(StepKind.ESCALATE, position.since + _seconds(
                policy.level(position.level).timeout), position.level, to_level, to_loop))
        elif status in ATTENDED and policy.reescalate_after is not None:
            quiet_since = max(clock.touched_at, position.since)
            steps.append(Step(StepKind.REESCALATE,
                              quiet_since + _seconds(policy.reescalate_after),
                              position.level, to_level, to_loop))
    for index, notice in enumerate(policy.notices):
        if index not in clock.notices_sent and clock.priority in notice.priorities:
            steps.append(Step(StepKind.NOTIFY, clock.opened_at + _seconds(notice.after),
                              position.level, notice=index))
    return sorted(steps, key=lambda s: (s.due, s.kind != StepKind.NOTIFY))


def due_steps(policy: Policy, clock: Clock, now: datetime) -> list[Step]:
    """The steps due at ``now``: at most one level move (the soonest), and every notice."""
    due = [s for s in next_steps(policy, clock) if s.due <= now]
    moves = [s for s in due if s.kind != StepKind.NOTIFY]
    return [s for s in due if s.kind == StepKind.NOTIFY] + moves[:1]


def advance(policy: Policy, clock: Clock, step: Step, now: datetime) -> Clock:
    """``clock`` after ``step`` ran at ``now``."""
    if step.kind == StepKind.NOTIFY:
        assert step.notice is not None
        return replace(clock, notices_sent=clock.notices_sent | {step.notice})
    assert step.to_level is not None and step.to_loop is not None
    return replace(clock, position=Position(step.to_level, step.to_loop, now))


def jump(policy: Policy, position: Position, level: int, now: datetime) -> Position:
    """"Escalate to level ``level`` now", by hand: refused outside the policy's levels; the
    level's clock starts again (in the same loop)."""
    if not 1 <= level <= len(policy.levels):
        raise Refused(f"The policy {policy.name} has levels 1 to {len(policy.levels)}.",
                      "level")
    if level == position.level:
        raise Refused(f"The incident is at level {level} already.", "level")
    return Position(level, position.loop, now)


def next_move(policy: Policy, clock: Clock) -> Step | None:
    """The next level move if nothing changes (its ``due`` may be past: overdue); None when
    no move is coming (acknowledged without re-escalation, on hold, closed, or at the end
    of the policy)."""
    moves = [s for s in next_steps(policy, clock) if s.kind != StepKind.NOTIFY]
    return moves[0] if moves else None


def remaining(policy: Policy, clock: Clock, now: datetime) -> tuple[Step, timedelta] | None:
    """The next level move and the time left until it (negative: overdue), for a countdown;
    None when no move is coming (acknowledged, or at the end of the policy)."""
    move = next_move(policy, clock)
    return (move, move.due - now) if move is not None else None


def describe(policy: Policy, step: Step, clock: Clock) -> str:
    """The timeline text of ``step``: what happened and why."""
    if step.kind == StepKind.NOTIFY:
        assert step.notice is not None
        notice = policy.notices[step.notice]
        when = "at once" if notice.after == 0 else \
            f"after {duration(_seconds(notice.after))} open"
        return (f"Management informed: P{clock.priority} incidents are reported {when} "
                f"(policy {policy.name}).")
    assert step.to_level is not None
    targets = ", ".join(str(t) for t in policy.level(step.to_level).targets)
    loop = f", pass {step.to_loop + 1}" if step.to_loop else ""
    if step.kind == StepKind.ESCALATE:
        timeout = duration(_seconds(policy.level(step.level).timeout))
        why = f"Not acknowledged within {timeout} at level {step.level}"
    else:
        assert policy.reescalate_after is not None
        why = (f"Acknowledged but untouched for {duration(_seconds(policy.reescalate_after))}"
               f" (no note, no status change) at level {step.level}")
    return f"{why}: escalated to level {step.to_level}{loop} ({targets})."


def describe_start(policy: Policy) -> str:
    """The timeline text of a policy starting for an incident already open."""
    targets = ", ".join(str(t) for t in policy.level(1).targets)
    return f"Escalation policy {policy.name} applies from now: level 1 ({targets})."


def clock_from_timeline(status: Status | str, priority: int, opened_at: datetime,
                        events: Iterable[tuple[datetime, str, str | None, Mapping[str, Any]]]
                        ) -> Clock:
    """An incident's :class:`Clock` read from its timeline (``(at, kind, actor, data)`` of
    each event, any order): the policy's escalation events say where it moved and which
    notices went out; notes and status changes by people say when it was last touched. How
    the app shows the policy offline, from what it synced. A reopening starts the policy
    again from level 1 (:data:`RESTARTED_BY`); the notices already sent stay sent."""
    position, touched, sent = start(opened_at), opened_at, set()
    for at, kind, actor, data in sorted(events, key=lambda e: e[0]):
        if kind == "escalation" and actor == POLICY_ACTOR:
            if data.get("step") == StepKind.NOTIFY.value and isinstance(data.get("notice"), int):
                sent.add(data["notice"])
            elif isinstance(data.get("to_level"), int):
                loop = data.get("loop")
                position = Position(data["to_level"], loop if isinstance(loop, int) else
                                    position.loop, at)
        elif kind in ("note", "status") and actor != POLICY_ACTOR:
            touched = max(touched, at)
            if kind == "status" and data.get("action") in RESTARTED_BY:
                position = start(at)
    return Clock(Status(status), priority, opened_at, position, touched, frozenset(sent))


def _following(policy: Policy, position: Position) -> tuple[int, int] | None:
    """The level and loop after ``position``; None at the end of the last pass."""
    if position.level < len(policy.levels):
        return position.level + 1, position.loop
    if position.loop < policy.repeat:
        return 1, position.loop + 1
    return None


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


def _check_seconds(value: int, name: str, *, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not \
            least <= value <= MAX_SECONDS:
        raise Refused(f"{name} is a whole number of seconds, {least} to {MAX_SECONDS}.",
                      name)
