"""Where an incident is in its service's escalation policy, as the app shows it offline.

Pure apart from its inputs: the policy and schedules the store last synced (feed entities
``policy`` and ``schedule``) and the incident's timeline. The domain reads the policy's
position back from the timeline (:func:`~incidenttui.domain.escalation_policy.
clock_from_timeline`) and says what comes next and when; who is on call at each level comes
from the schedules (:func:`~incidenttui.domain.oncall.on_call`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from incidenttui.domain.escalation_policy import (
    Clock,
    Policy,
    Step,
    TargetKind,
    clock_from_timeline,
    next_move,
    remaining,
)
from incidenttui.domain.oncall import Schedule, on_call


@dataclass(frozen=True)
class LevelView:
    number: int
    timeout: int
    #: each target as ``kind id``, and who it reaches now (the user, or who is on call)
    targets: list[tuple[str, str | None]]


@dataclass(frozen=True)
class EscalationView:
    policy: Policy
    clock: Clock
    levels: list[LevelView]
    #: the next automatic move and the time left until it (negative: overdue); None when
    #: none is coming (acknowledged without re-escalation, on hold, closed, policy ended)
    next_move: Step | None
    left: dt.timedelta | None


def escalation_view(policy: Policy, incident: Any, events: Iterable[Any],
                    schedules: Mapping[str, Schedule], now: dt.datetime) -> EscalationView:
    """The view of ``incident`` (a local row: status, priority, created_at) in ``policy``."""
    clock = clock_from_timeline(incident.status, incident.priority, _aware(incident.created_at),
                                ((_aware(e.at), e.kind, e.actor, e.data or {}) for e in events))
    levels = []
    for number, level in enumerate(policy.levels, start=1):
        reached: list[tuple[str, str | None]] = []
        for target in level.targets:
            who: str | None = target.id if target.kind == TargetKind.USER else None
            if target.kind == TargetKind.SCHEDULE:
                schedule = schedules.get(target.id)
                who = on_call(schedule, now).user if schedule is not None else None
            reached.append((str(target), who))
        levels.append(LevelView(number, level.timeout, reached))
    coming = remaining(policy, clock, now)
    return EscalationView(policy, clock, levels, coming[0] if coming else None,
                          coming[1] if coming else None)


def escalates_at(policy: Policy, status: str, priority: int, opened_at: dt.datetime,
                 events: Iterable[tuple[dt.datetime, str, str | None, Mapping[str, Any]]]
                 ) -> dt.datetime | None:
    """When an incident moves to its policy's next level by itself (past: overdue), read
    from its timeline's ``(at, kind, actor, data)``; None when no move is coming. The
    queue's countdown column."""
    clock = clock_from_timeline(status, priority, _aware(opened_at), events)
    move = next_move(policy, clock)
    return move.due if move is not None else None


def read_policy(policy_id: str, data: str | Mapping[str, Any]) -> Policy | None:
    """A stored policy item (JSON text or parsed); None when this version cannot read it."""
    import json

    from incidenttui.domain.lifecycle import Refused
    from incidenttui.domain.organisation import parse_item

    try:
        item = json.loads(data) if isinstance(data, str) else data
        return parse_item("policies", item, f"policy {policy_id}")
    except (Refused, ValueError, TypeError):
        return None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
