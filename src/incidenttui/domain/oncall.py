"""On-call schedules: who is on call for a schedule at a moment, and who comes next.

A :class:`Schedule` has a time zone, rotation *layers* and *overrides*. A :class:`Layer`
hands over from one person to the next every ``every`` days (1: daily, 7: weekly) at a
local ``handoff`` time, from its ``start`` date; it may cover only some ``days`` and
``hours`` (a business-hours layer above a round-the-clock one). The highest layer that covers
a moment decides who is on call then; an :class:`Override` replaces whoever that is for its
time span (the latest-added override wins where two overlap).

Hand-offs are wall-clock times in the schedule's zone, so across a DST change a daily shift
lasts 23 or 25 hours and the hand-off stays at 09:00 local. A hand-off time that exists
twice on a fall-back day happens at its first occurrence; one that a spring-forward day skips
moves forward by the gap (02:30 becomes 03:30).

Pure Python, no I/O: the server answers "who is on call" from it and the client, offline,
from the schedule it last synced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidenttui.domain.lifecycle import Refused

#: How far ahead :func:`next_on_call` looks for the next hand-over.
HORIZON = timedelta(days=120)
#: Weekday numbers as :meth:`datetime.weekday` gives them, by their short English names.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Layer:
    """One rotation: ``users`` take turns, ``every`` days each, from ``start`` at
    ``handoff`` (local time), covering only ``days`` (weekday numbers, Monday 0) and
    ``hours`` (local ``(from, to)``; ``to`` at or before ``from`` runs past midnight)."""

    name: str
    users: tuple[str, ...]
    start: date
    every: int = 7
    handoff: time = time(9, 0)
    days: frozenset[int] = frozenset(range(7))
    hours: tuple[time, time] | None = None

    def __post_init__(self) -> None:
        if not self.users:
            raise Refused(f"Layer {self.name!r} has nobody in its rotation.", "users")
        if not 1 <= self.every <= 366:
            raise Refused(f"Layer {self.name!r}: a shift lasts 1 to 366 days.", "every")
        if not self.days or not self.days <= frozenset(range(7)):
            raise Refused(f"Layer {self.name!r}: days are weekdays 0 (Monday) to 6.",
                                "days")
        if self.hours is not None and self.hours[0] == self.hours[1]:
            raise Refused(f"Layer {self.name!r}: hours from and to are the same; leave "
                                "hours out for the whole day.", "hours")


@dataclass(frozen=True, slots=True)
class Override:
    """``user`` is on call from ``start`` until ``end`` (aware datetimes) instead of whoever
    the layers say."""

    user: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise Refused("An override's start and end need a time zone.", "overrides")
        if self.end <= self.start:
            raise Refused(f"The override for {self.user} ends before it starts.",
                                "overrides")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Layers (lowest first) and overrides, in the time zone ``time_zone``."""

    id: str
    name: str
    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    #: the team this schedule is on call for, if any ("who is on call for platform")
    team: str | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refused(f"Unknown time zone {self.time_zone!r} (use a name such as "
                                "Europe/Berlin).", "time_zone") from None
        if not self.layers:
            raise Refused(f"Schedule {self.id!r} has no layers.", "layers")
        object.__setattr__(self, "zone", zone)


@dataclass(frozen=True, slots=True)
class Shift:
    """Who is on call (None: nobody), from when until when (in UTC), and why: the layer's
    name, or ``override``."""

    user: str | None
    start: datetime
    end: datetime
    source: str | None


def on_call(schedule: Schedule, at: datetime) -> Shift:
    """Who is on call for ``schedule`` at ``at`` (aware), and the span of that shift: from
    the last change of the person on call until the next."""
    at = _aware(at)
    who, source = _effective(schedule, at)
    start = _previous_change(schedule, at, who)
    end = _next_change(schedule, at, who)
    return Shift(who, start.astimezone(UTC), end.astimezone(UTC), source)


def next_on_call(schedule: Schedule, at: datetime) -> Shift:
    """The shift after the one at ``at``: who takes over next, and until when."""
    return on_call(schedule, on_call(schedule, at).end)


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The shifts from ``start`` to ``end`` in order (for a calendar view), clipped to it."""
    start, end = _aware(start), _aware(end)
    found: list[Shift] = []
    at = start
    while at < end and len(found) < 1000:
        shift = on_call(schedule, at)
        found.append(Shift(shift.user, max(shift.start, start), min(shift.end, end),
                           shift.source))
        at = shift.end
    return found


def roster(schedules: Iterable[Schedule], at: datetime, team: str | None = None
           ) -> list[tuple[Schedule, Shift, Shift]]:
    """For each schedule (of ``team``, if given), in id order: its shift at ``at`` and the
    next one — "who is on call now, and who next"."""
    chosen = sorted((s for s in schedules if team is None or s.team == team),
                    key=lambda s: s.id)
    answer = []
    for schedule in chosen:
        now = on_call(schedule, at)
        answer.append((schedule, now, on_call(schedule, now.end)))
    return answer


# -- evaluation -----------------------------------------------------------------------------


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise Refused("A moment needs a time zone (an aware datetime).", "at")
    return at.astimezone(UTC)


def _effective(schedule: Schedule, at: datetime) -> tuple[str | None, str | None]:
    for override in reversed(schedule.overrides):
        if override.start <= at < override.end:
            return override.user, "override"
    for layer in reversed(schedule.layers):
        who = _layer_user(layer, schedule.zone, at)
        if who is not None:
            return who, layer.name
    return None, None


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant of wall-clock ``clock`` on ``day`` in ``zone`` (in UTC): a time that a
    spring-forward gap skips moves forward by the gap (02:30 becomes 03:30), one that a
    fall-back repeats is its first occurrence (``fold=0``)."""
    return datetime.combine(day, clock).replace(tzinfo=zone).astimezone(UTC)


def _shift_index(layer: Layer, zone: ZoneInfo, at: datetime) -> int | None:
    """Which shift of ``layer`` runs at ``at`` (0 is the first), None before the first."""
    local = at.astimezone(zone)
    day = local.date()
    if at < _local(day, layer.handoff, zone):
        day -= timedelta(days=1)
    days = (day - layer.start).days
    return None if days < 0 else days // layer.every


def _shift_start(layer: Layer, zone: ZoneInfo, index: int) -> datetime:
    return _local(layer.start + timedelta(days=index * layer.every), layer.handoff, zone)


def _covers(layer: Layer, zone: ZoneInfo, at: datetime) -> bool:
    if layer.hours is None and len(layer.days) == 7:
        return True
    local = at.astimezone(zone)
    if layer.hours is None:
        return local.weekday() in layer.days
    begin, finish = layer.hours
    clock = local.time().replace(tzinfo=None)
    if begin < finish:
        return begin <= clock < finish and local.weekday() in layer.days
    # past midnight: the window belongs to the day it starts on
    if clock >= begin:
        return local.weekday() in layer.days
    if clock < finish:
        return (local.weekday() - 1) % 7 in layer.days
    return False


def _layer_user(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    index = _shift_index(layer, zone, at)
    if index is None or not _covers(layer, zone, at):
        return None
    return layer.users[index % len(layer.users)]


def _boundaries(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every moment in (start, end] where the person on call may change, unordered."""
    zone = schedule.zone
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    for layer in schedule.layers:
        index = max(0, _shift_index(layer, zone, start) or 0)
        moment = _shift_start(layer, zone, index)
        while moment <= end:
            yield moment
            index += 1
            moment = _shift_start(layer, zone, index)
        if layer.hours is not None or len(layer.days) < 7:
            day = first_day
            while day <= last_day:
                edges: Iterable[time] = layer.hours or (time(0, 0),)
                for edge in edges:
                    yield _local(day, edge, zone)
                day += timedelta(days=1)
    for override in schedule.overrides:
        yield override.start
        yield override.end


def _next_change(schedule: Schedule, at: datetime, who: str | None) -> datetime:
    end = at + HORIZON
    for moment in sorted({m for m in _boundaries(schedule, at, end) if at < m <= end}):
        if _effective(schedule, moment)[0] != who:
            return moment
    return end


def _previous_change(schedule: Schedule, at: datetime, who: str | None) -> datetime:
    start = at - HORIZON
    previous = start
    for moment in sorted({m for m in _boundaries(schedule, start, at) if start < m <= at},
                         reverse=True):
        # the person on call just before ``moment``
        if _effective(schedule, moment - timedelta(microseconds=1))[0] != who:
            return moment
        previous = moment
    return min(previous, start)


def weekdays(names: Iterable[str]) -> frozenset[int]:
    """Weekday numbers from short names (``mon`` … ``sun``), for schedule files."""
    days = set()
    for name in names:
        key = str(name).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise Refused(f"Unknown weekday {name!r} (use mon, tue, … sun).", "days")
        days.add(WEEKDAYS.index(key))
    return frozenset(days)
