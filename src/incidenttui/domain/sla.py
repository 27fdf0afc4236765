"""SLA clocks: a response target (to acknowledge) and a resolution target per priority.

Time on hold pauses the resolution clock. Time inside a maintenance window of the incident's
service (``pauses``: its windows as ``(start, end)`` pairs, domain/statuspage.py) pauses
both clocks: planned work is not a breach. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidenttui.domain.enums import Priority
from incidenttui.domain.lifecycle import DONE_STATUSES


@dataclass(frozen=True)
class SlaTarget:
    """How long a priority may take to be acknowledged and to be resolved."""

    response: timedelta
    resolution: timedelta


DEFAULT_SLA: dict[Priority, SlaTarget] = {
    Priority.P1: SlaTarget(timedelta(minutes=15), timedelta(hours=4)),
    Priority.P2: SlaTarget(timedelta(minutes=30), timedelta(hours=8)),
    Priority.P3: SlaTarget(timedelta(hours=2), timedelta(hours=24)),
    Priority.P4: SlaTarget(timedelta(hours=8), timedelta(days=3)),
    Priority.P5: SlaTarget(timedelta(hours=24), timedelta(days=7)),
}


#: The longest SLA target accepted from configuration (one year).
MAX_TARGET_MINUTES = 525_600


def sla_policy(overrides: Mapping[str, Mapping[str, float]] | None = None
               ) -> dict[Priority, SlaTarget]:
    """The default targets with ``overrides`` applied.

    ``overrides`` maps ``"P1"``… to ``{"response_minutes": m, "resolution_minutes": m}``;
    a target that is not positive is refused with ``ValueError`` naming it.
    """
    policy = dict(DEFAULT_SLA)
    for name, values in (overrides or {}).items():
        try:
            priority = Priority[name.upper()]
        except KeyError:
            raise ValueError(f"unknown priority {name!r} in SLA targets (use P1…P5)") from None
        base = policy[priority]
        if not isinstance(values, Mapping):
            raise ValueError(f"SLA targets for {priority.label} must be a table of minutes")
        try:
            response = float(values.get("response_minutes",
                                        base.response.total_seconds() / 60))
            resolution = float(values.get("resolution_minutes",
                                          base.resolution.total_seconds() / 60))
        except (TypeError, ValueError):
            raise ValueError(f"SLA targets for {priority.label} must be numbers of minutes"
                             ) from None
        if not (0 < response <= MAX_TARGET_MINUTES and 0 < resolution <= MAX_TARGET_MINUTES):
            raise ValueError(f"SLA targets for {priority.label} must be positive minutes, "
                             f"at most {MAX_TARGET_MINUTES} (one year)")
        policy[priority] = SlaTarget(timedelta(minutes=response), timedelta(minutes=resolution))
    return policy


@dataclass(frozen=True)
class Clock:
    """One SLA clock at a moment: how much of its target is used and what is left."""

    target: timedelta
    elapsed: timedelta
    stopped: bool
    paused: bool = False

    @property
    def remaining(self) -> timedelta:
        """Time to breach; negative once breached (time since breach)."""
        return self.target - self.elapsed

    @property
    def breached(self) -> bool:
        return self.elapsed > self.target


@dataclass(frozen=True)
class SlaClocks:
    """The response and resolution clocks of one incident."""

    response: Clock
    resolution: Clock

    @property
    def breached(self) -> bool:
        return self.response.breached or self.resolution.breached

    @property
    def next_deadline(self) -> Clock:
        """The running clock closest to breach (the resolution clock once both stopped)."""
        running = [c for c in (self.response, self.resolution) if not c.stopped]
        return min(running, key=lambda c: c.remaining) if running else self.resolution


#: Maintenance windows of an incident's service, as ``(start, end)`` pairs.
Pauses = Sequence[tuple[datetime, datetime]]


def _merged(pauses: Pauses) -> list[tuple[datetime, datetime]]:
    spans: list[tuple[datetime, datetime]] = []
    for start, end in sorted(p for p in pauses if p[1] > p[0]):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def paused_between(pauses: Pauses, start: datetime, end: datetime) -> timedelta:
    """How much of ``[start, end]`` falls inside ``pauses`` (overlaps count once)."""
    total = timedelta(0)
    for a, b in _merged(pauses):
        a, b = max(a, start), min(b, end)
        if b > a:
            total += b - a
    return total


def _deadline(start: datetime, target: timedelta, pauses: Pauses) -> datetime:
    """When a clock started at ``start`` reaches ``target``, not running inside ``pauses``."""
    due = start + target
    for a, b in _merged(pauses):
        if a >= due:
            break
        a = max(a, start)
        if b > a:
            due += b - a
    return due


def in_pause(pauses: Pauses, at: datetime) -> bool:
    return any(a <= at < b for a, b in pauses)


def sla_clocks(priority: Priority | int, opened_at: datetime, now: datetime, *,
               acknowledged_at: datetime | None = None, resolved_at: datetime | None = None,
               hold_seconds: float = 0.0, on_hold_since: datetime | None = None,
               policy: Mapping[Priority, SlaTarget] = DEFAULT_SLA,
               pauses: Pauses = ()) -> SlaClocks:
    """Both SLA clocks of an incident opened at ``opened_at``, seen at ``now``."""
    target = policy[Priority(priority)]
    response_end = acknowledged_at or now
    response = Clock(target.response, max(timedelta(0), response_end - opened_at
                                          - paused_between(pauses, opened_at, response_end)),
                     stopped=acknowledged_at is not None,
                     paused=acknowledged_at is None and in_pause(pauses, now))
    resolution_end = resolved_at or now
    held = timedelta(seconds=hold_seconds)
    if on_hold_since is not None and resolved_at is None:
        held += max(timedelta(0), now - on_hold_since)
    held += paused_between(pauses, opened_at, resolution_end)
    elapsed = max(timedelta(0), resolution_end - opened_at - held)
    resolution = Clock(target.resolution, elapsed, stopped=resolved_at is not None,
                       paused=resolved_at is None and (on_hold_since is not None
                                                       or in_pause(pauses, now)))
    return SlaClocks(response, resolution)


def next_breach_at(priority: Priority | int, opened_at: datetime, *, status: str,
                   acknowledged_at: datetime | None = None,
                   resolved_at: datetime | None = None, hold_seconds: float = 0.0,
                   on_hold_since: datetime | None = None,
                   policy: Mapping[Priority, SlaTarget] = DEFAULT_SLA,
                   pauses: Pauses = ()) -> datetime | None:
    """When the next running SLA clock breaches (may be in the past); None if none runs.
    A maintenance window (``pauses``) moves the deadline by the time it overlaps the clock.

    Stored with each cached incident so "breaching" is an index lookup, not a scan.
    """
    if status in DONE_STATUSES or resolved_at is not None:  # the work is done: no clock runs
        return None
    target = policy[Priority(priority)]
    deadlines = []
    if acknowledged_at is None:
        deadlines.append(_deadline(opened_at, target.response, pauses))
    if on_hold_since is None:
        deadlines.append(_deadline(opened_at, target.resolution
                                   + timedelta(seconds=hold_seconds), pauses))
    return min(deadlines) if deadlines else None
