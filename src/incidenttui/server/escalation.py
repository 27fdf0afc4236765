"""Automatic escalation: each incident of a service with an escalation policy has a clock
(one ``escalation_clocks`` row), and every server process runs an :class:`Escalator` that
carries out what the policy says is due (domain/escalation_policy.py), exactly once.

Exactly once, with any number of server processes on one database: a due clock is taken with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (another process skips the row while this
one holds it) and inside SQLite's ``BEGIN IMMEDIATE`` (one writer at a time); its step, the
timeline event and the clock's new position are committed in one transaction, so the next
look at the clock sees where it moved and nothing is done twice or skipped.

Writes never touch the clocks: what the policy needs is read when a clock is due — the
incident's status and priority, and its last note or status change by a person (the
re-escalation clock restarts there). A clock's ``next_check_at`` only says when to look
again; when nothing can fall due any more (the end of the policy, a closed incident) it is
None and the clock is left alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, func
from sqlmodel import Field, Session, SQLModel, col, select

from incidenttui.domain import EventKind, Refused, Status
from incidenttui.domain import escalation_policy as policies
from incidenttui.domain.effects import Effect, EventDraft
from incidenttui.domain.escalation_policy import Clock, Policy, Position, StepKind, TargetKind
from incidenttui.domain.oncall import Schedule, on_call
from incidenttui.domain.organisation import parse_item
from incidenttui.server import notify
from incidenttui.server.audit import Origin
from incidenttui.server.db import Database, loaded
from incidenttui.server.models import TimelineEvent, User
from incidenttui.server.notify import Channels
from incidenttui.server.periodic import Periodic
from incidenttui.sqltypes import UTCDateTime, utcnow

log = logging.getLogger("incidenttui.server.escalation")

#: How often a server process looks for due clocks, in seconds (tests set less).
INTERVAL = 1.0
#: Clocks carried out per transaction.
BATCH = 50
#: The actor of what the policy does, in timelines and the audit log.
ACTOR = policies.POLICY_ACTOR


class EscalationClock(SQLModel, table=True):
    """Where one incident is in its service's escalation policy."""

    __tablename__ = "escalation_clocks"
    __table_args__ = (Index("ix_escalation_clocks_next", "next_check_at"),)

    incident_id: str = Field(primary_key=True, max_length=36)
    policy_id: str = Field(max_length=64)
    level: int = 1
    loop: int = 0
    since: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    notices_sent: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    next_check_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(),
                                                                          nullable=True))


def system_actor() -> User:
    """The user the policy acts as (not a row: it cannot log in)."""
    return loaded(User, {"id": ACTOR, "display_name": "Escalation policy", "role": "admin",
                         "team_id": None, "email": None, "token_hash": None, "active": True,
                         "created_at": utcnow()})


def start_clock(session: Session, incident_id: str, policy_id: str, opened_at: datetime
                ) -> None:
    """Give a new incident its clock at level 1 (call in the creating transaction); it is
    looked at at once, so a P1's notice goes out on the next round."""
    session.add(EscalationClock(incident_id=incident_id, policy_id=policy_id, level=1, loop=0,
                                since=opened_at, notices_sent=[], next_check_at=opened_at))


def restart_clock(session: Session, incident_id: str, policy_id: str, now: datetime
                  ) -> None:
    """Run an incident's clock again from level 1 of ``policy_id`` at ``now`` (a reopened
    incident; call in the same transaction). Notices already sent for the same policy stay
    sent: management has been told about this incident once."""
    clock = session.get(EscalationClock, incident_id, with_for_update=True)
    if clock is None:
        start_clock(session, incident_id, policy_id, now)
        return
    if clock.policy_id != policy_id:
        clock.policy_id, clock.notices_sent = policy_id, []
    clock.level, clock.loop, clock.since, clock.next_check_at = 1, 0, now, now
    session.add(clock)


def open_incidents(session: Session, service_id: str) -> list[str]:
    """The ids of ``service_id``'s open incidents (those a policy runs for)."""
    from incidenttui.server.models import Incident

    return list(session.exec(select(Incident.id).where(
        col(Incident.service) == service_id,
        col(Incident.status).in_([s.value for s in Status if s.is_open]))))


def adopt_policy(session: Session, service_id: str, policy_id: str | None,
                 now: datetime | None = None) -> int:
    """A service got the policy ``policy_id`` (None: lost its policy): each of its open
    incidents starts the policy at level 1 from now, with a timeline event that says so (the
    app reads its position from it), or stops its clock. Call in the transaction that changed
    the service, after the policy is stored; returns how many incidents it touched."""
    from incidenttui.server import service

    now = now or utcnow()
    open_ids = open_incidents(session, service_id)
    if policy_id is None:
        for clock in session.exec(select(EscalationClock).where(
                col(EscalationClock.incident_id).in_(open_ids))):
            session.delete(clock)
        return len(open_ids)
    policy = load_policy(session, policy_id)
    if policy is None or not open_ids:
        return 0
    writer = service.Writer(session, system_actor(), now)
    writer.origin = Origin(ACTOR, client="escalation policy")
    data = {"policy": policy.id, "step": policies.START_STEP, "level": 1, "to_level": 1,
            "loop": 0, "targets": [str(t) for t in policy.level(1).targets]}
    for incident_id in open_ids:
        incident = service.find_incident(session, incident_id, for_update=True)
        [event] = writer.effect(incident, Effect({}, [EventDraft(
            EventKind.ESCALATION, policies.describe_start(policy), dict(data))]))
        # the clock runs from the event's own time, so the app's countdown agrees
        restart_clock(session, incident_id, policy.id, event.at)
        writer.audit("incident.policy_start", "incident", incident_id,
                     {k: v for k, v in data.items() if k != "targets"})
    writer.finish()
    return len(open_ids)


def jump(session: Session, incident_id: str, level: int, now: datetime) -> tuple[Policy, int]:
    """"Escalate to level N now", by hand: the clock moves to ``level`` and is looked at at
    once; returns the policy and the level it left. :class:`Refused` without a policy or
    outside its levels."""
    clock = session.get(EscalationClock, incident_id, with_for_update=True)
    if clock is None:
        raise Refused("This incident's service has no escalation policy.", "level")
    policy = load_policy(session, clock.policy_id)
    if policy is None:
        raise Refused(f"The escalation policy {clock.policy_id!r} no longer exists.", "level")
    moved = policies.jump(policy, Position(clock.level, clock.loop, clock.since), level, now)
    left = clock.level
    clock.level, clock.since, clock.next_check_at = moved.level, moved.since, now
    session.add(clock)
    return policy, left


def load_policy(session: Session, policy_id: str) -> Policy | None:
    from incidenttui.server.organisation import PolicyRow

    row = session.get(PolicyRow, policy_id)
    if row is None:
        return None
    return parse_item("policies", row.data, f"policy {policy_id}")


def _schedules(session: Session) -> dict[str, Schedule]:
    from incidenttui.server.organisation import ScheduleRow

    found = {}
    for row in session.exec(select(ScheduleRow)):
        with contextlib.suppress(Refused):
            found[row.id] = parse_item("schedules", row.data, f"schedule {row.id}")
    return found


def _touched_at(session: Session, incident_id: str, default: datetime) -> datetime:
    """The incident's last note or status change by a person."""
    last = session.exec(select(func.max(TimelineEvent.at)).where(
        col(TimelineEvent.incident_id) == incident_id,
        col(TimelineEvent.kind).in_([EventKind.NOTE.value, EventKind.STATUS.value]),
        col(TimelineEvent.actor) != ACTOR)).one()
    return max(last, default) if last is not None else default


def run_due(db: Database, now: datetime | None = None, limit: int = BATCH,
            channels: Channels | None = None) -> int:
    """Carry out the clocks due at ``now`` (one transaction); returns how many steps ran.
    Each step also queues its notifications on ``channels`` (server/notify.py)."""
    from incidenttui.server import service

    now = now or utcnow()
    with db.write() as session:
        query = (select(EscalationClock)
                 .where(col(EscalationClock.next_check_at) <= now)
                 .order_by(col(EscalationClock.next_check_at)).limit(limit))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        clocks = list(session.exec(query))
        if not clocks:
            return 0
        writer = service.Writer(session, system_actor())
        writer.origin = Origin(ACTOR, client="escalation policy")
        schedules: dict[str, Schedule] | None = None
        steps_run = 0
        for clock in clocks:
            try:
                incident = service.find_incident(session, clock.incident_id, for_update=True)
            except service.NotFound:
                session.delete(clock)
                continue
            policy = load_policy(session, clock.policy_id) if Status(
                incident.status).is_open else None
            if policy is None:  # closed, or the policy was removed: nothing more to do
                _set_next(session, clock, None)
                continue
            state = Clock(Status(incident.status), incident.priority, incident.created_at,
                          Position(clock.level, clock.loop, clock.since),
                          _touched_at(session, incident.id, incident.created_at),
                          frozenset(clock.notices_sent))
            for step in policies.due_steps(policy, state, now):
                if step.kind != StepKind.NOTIFY and schedules is None:
                    schedules = _schedules(session)
                _carry_out(writer, incident, policy, state, step, schedules or {}, now,
                           channels or Channels())
                state = policies.advance(policy, state, step, now)
                steps_run += 1
            clock.level, clock.loop = state.position.level, state.position.loop
            clock.since, clock.notices_sent = state.position.since, sorted(state.notices_sent)
            coming = policies.next_steps(policy, state)
            _set_next(session, clock, min((s.due for s in coming), default=None))
        writer.finish()
    return steps_run


def _set_next(session: Session, clock: EscalationClock, when: datetime | None) -> None:
    clock.next_check_at = when
    session.add(clock)


def _carry_out(writer: Any, incident: Any, policy: Policy, state: Clock,
               step: policies.Step, schedules: dict[str, Schedule], now: datetime,
               channels: Channels) -> None:
    text = policies.describe(policy, step, state)
    data: dict[str, Any] = {"policy": policy.id, "step": step.kind.value, "level": step.level}
    changes: dict[str, Any] = {}
    people: list[str] = []
    if step.kind == StepKind.NOTIFY:
        data["notice"] = step.notice
        if not incident.management_engaged:
            changes["management_engaged"] = True
    else:
        assert step.to_level is not None
        people = _on_call(policy.level(step.to_level).targets, schedules, now)
        data.update(to_level=step.to_level, loop=step.to_loop, on_call=people,
                    targets=[str(t) for t in policy.level(step.to_level).targets])
        if people and incident.assignee != people[0]:
            changes["assignee"] = people[0]
    [event] = writer.effect(incident, Effect(changes, [EventDraft(EventKind.ESCALATION, text,
                                                                  data)]))
    writer.audit(f"incident.policy_{step.kind.value}", "incident", incident.id,
                 {k: v for k, v in data.items() if k != "on_call"})
    notify.queue(writer.session, channels, incident=incident, event_id=event.id,
                 kind=step.kind.value, text=text, people=people, now=now)


def _on_call(targets: Any, schedules: dict[str, Schedule], now: datetime) -> list[str]:
    """The people a level's targets name now: a user, or who is on call for a schedule."""
    people: list[str] = []
    for target in targets:
        who = target.id if target.kind == TargetKind.USER else None
        if target.kind == TargetKind.SCHEDULE and target.id in schedules:
            who = on_call(schedules[target.id], now).user
        if who and who not in people:
            people.append(who)
    return people


def escalation_interval() -> float:
    """:data:`INTERVAL`, or ``INCIDENTTUI_ESCALATION_INTERVAL`` seconds (0.05 to 60)."""
    import os

    raw = os.environ.get("INCIDENTTUI_ESCALATION_INTERVAL")
    if not raw:
        return INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.05 <= value <= 60:
        log.warning("INCIDENTTUI_ESCALATION_INTERVAL=%r is not 0.05 to 60 seconds; using %s",
                    raw, INTERVAL)
        return INTERVAL
    return value


class Escalator(Periodic):
    """Runs :func:`run_due` every :data:`INTERVAL` seconds in a daemon thread, for the
    life of the app; errors are logged and the next round tries again."""

    name = "escalator"

    def __init__(self, db: Database, interval: float = INTERVAL,
                 on_steps: Callable[[int], None] | None = None,
                 channels: Channels | None = None) -> None:
        super().__init__(interval)
        self.db, self.on_steps = db, on_steps
        self.channels = channels or Channels()

    def round(self) -> int:
        ran = run_due(self.db, channels=self.channels)
        if ran and self.on_steps is not None:
            self.on_steps(ran)
        return ran
