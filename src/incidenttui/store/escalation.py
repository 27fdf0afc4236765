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


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
