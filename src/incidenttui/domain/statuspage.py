"""The public status page and maintenance windows: the rules, shared by server and client.

What the public may see is decided here and nowhere else: a service shows only when it is
marked ``public``; an incident's words show only through its *public updates* — timeline
events of kind ``status_update`` whose ``data`` says ``public: true`` — and only their
``public_text`` and time (never the author, the internal title or any other field). The
commander's stakeholder updates use the same event kind; those with ``public`` false stay
internal. Restricted incidents never show at all.

A maintenance window (services, start, end, reason) holds back alerts for its services and
pauses the SLA clocks of their incidents while it runs (:func:`paused_seconds`). Pure
Python, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from incidenttui.domain.effects import Effect, EventDraft
from incidenttui.domain.enums import EventKind
from incidenttui.domain.lifecycle import RefusalKind, Refused

#: The longest public wording of one update, and of a window's reason.
PUBLIC_TEXT_MAX = 2_000
REASON_MAX = 500
#: The longest maintenance window accepted (planned work, not a way to mute a service).
WINDOW_MAX = timedelta(days=14)
#: How many days of history the page draws a bar for.
HISTORY_DAYS = 90


class ComponentState(StrEnum):
    """What the public is told about a service component, from best to worst."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    MAINTENANCE = "maintenance"

    @property
    def label(self) -> str:
        """The words shown beside (never instead of) the state's colour."""
        return _LABELS[self]

    @property
    def rank(self) -> int:
        """How bad it is, for "the worst of": maintenance sits between fine and degraded."""
        return _RANKS[self]


_LABELS = {ComponentState.OPERATIONAL: "Operational", ComponentState.DEGRADED: "Degraded",
           ComponentState.PARTIAL_OUTAGE: "Partial outage",
           ComponentState.MAJOR_OUTAGE: "Major outage",
           ComponentState.MAINTENANCE: "Under maintenance"}
_RANKS = {ComponentState.OPERATIONAL: 0, ComponentState.MAINTENANCE: 1,
          ComponentState.DEGRADED: 2, ComponentState.PARTIAL_OUTAGE: 3,
          ComponentState.MAJOR_OUTAGE: 4}


def component_state(value: str) -> ComponentState:
    """``value`` (``partial_outage``, ``partial outage`` or ``partial-outage``) as a state;
    :class:`Refused` naming the known ones otherwise."""
    wanted = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if wanted == "under_maintenance":
        wanted = ComponentState.MAINTENANCE.value
    try:
        return ComponentState(wanted)
    except ValueError:
        known = ", ".join(s.value for s in ComponentState)
        raise Refused(f"Unknown component state {value!r} (known: {known}).", "state"
                      ) from None


def worst(states: Iterable[ComponentState]) -> ComponentState:
    """The worst of ``states`` (operational when there are none)."""
    return max(states, key=lambda s: s.rank, default=ComponentState.OPERATIONAL)


# -- public updates ---------------------------------------------------------------------------


def is_public_update(kind: str, data: Mapping[str, Any] | None) -> bool:
    """Whether a timeline event is a public update: a ``status_update`` marked public with
    public wording. Anything else — internal stakeholder updates included — is not."""
    if kind != EventKind.STATUS_UPDATE.value or not isinstance(data, Mapping):
        return False
    text = data.get("public_text")
    return data.get("public") is True and isinstance(text, str) and bool(text.strip())


def check_public_text(text: str) -> str:
    """The public wording, stripped; :class:`Refused` when blank or too long."""
    text = (text or "").strip()
    if not text:
        raise Refused("Write the public wording of the update.", "public_text")
    if len(text) > PUBLIC_TEXT_MAX:
        raise Refused(f"The public wording is over {PUBLIC_TEXT_MAX} characters.",
                      "public_text")
    return text


def check_components(components: Mapping[str, str]) -> dict[str, str]:
    """Component states as ``{service: state}`` with each state checked."""
    return {str(service): component_state(state).value
            for service, state in (components or {}).items()}


def public_update_data(public_text: str, components: Mapping[str, str] | None = None
                       ) -> dict[str, Any]:
    """The ``data`` of a public update event (the contract with the commander screen)."""
    data: dict[str, Any] = {"public": True, "public_text": check_public_text(public_text)}
    if components:
        data["components"] = check_components(components)
    return data


def public_update_text(public_text: str) -> str:
    """The timeline line of a public update (responders see what the public sees)."""
    return f"Public update: {public_text.strip()}"


def check_may_go_public(state: Mapping[str, Any]) -> None:
    """Refuse a public update on a restricted incident: it never goes on the status page
    (whether posted here or as a commander's stakeholder update marked public)."""
    from incidenttui.domain.permissions import is_restricted

    if is_restricted(state["category"], bool(state.get("restricted"))):
        raise Refused("A restricted incident never goes on the public status page.",
                      "public_text", RefusalKind.STATE)


def public_update_effect(state: Mapping[str, Any], public_text: str,
                         components: Mapping[str, str] | None = None,
                         event_id: str | None = None) -> Effect:
    """Post a public update on the incident ``state``: one ``status_update`` event marked
    public. Refused for a restricted incident: it never goes on the status page."""
    check_may_go_public(state)
    data = public_update_data(public_text, components)
    return Effect({}, [EventDraft(EventKind.STATUS_UPDATE,
                                  public_update_text(data["public_text"]), data, event_id)])


# -- maintenance windows ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window: ``services`` between ``start`` and ``end`` (``ended_at``: ended
    early by hand)."""

    id: str
    services: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str = ""
    ended_at: datetime | None = None

    @property
    def finish(self) -> datetime:
        """When it stops holding alerts: its end, or when it was ended early."""
        return min(self.end, self.ended_at) if self.ended_at is not None else self.end

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.finish

    def upcoming(self, at: datetime) -> bool:
        return at < self.start and self.ended_at is None

    def covers(self, service: str, at: datetime) -> bool:
        return service in self.services and self.active(at)


def check_window(services: Sequence[str], start: datetime, end: datetime, reason: str,
                 now: datetime) -> None:
    """:class:`Refused` for a window that cannot be planned: no services, an end not after
    its start or already past, longer than :data:`WINDOW_MAX`, a reason too long."""
    if not services:
        raise Refused("Name at least one service the window is for.", "services")
    if start.tzinfo is None or end.tzinfo is None:
        raise Refused("Give the window's times with their time zone offset.", "start")
    if end <= start:
        raise Refused("The window must end after it starts.", "end")
    if end <= now:
        raise Refused("The window would be over already.", "end")
    if end - start > WINDOW_MAX:
        raise Refused(f"A window lasts at most {WINDOW_MAX.days} days.", "end")
    if len(reason or "") > REASON_MAX:
        raise Refused(f"The reason is over {REASON_MAX} characters.", "reason")


_SPAN = re.compile(r"^(\d{1,5})([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_span(value: str, what: str = "duration") -> timedelta:
    """``90m``, ``2h`` or ``1d`` as a duration; :class:`Refused` otherwise."""
    found = _SPAN.match(value.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise Refused(f"{what}: {value!r} is not a duration (a number and m, h or d, e.g. "
                      "90m or 2h).", what)
    return int(found.group(1)) * _UNITS[found.group(2)]


def parse_when(value: str, now: datetime, what: str = "start") -> datetime:
    """``now``, ``+2h`` (from now) or ISO 8601 with an offset; :class:`Refused` otherwise."""
    value = value.strip()
    if value.lower() == "now":
        return now
    if value.startswith("+"):
        return now + parse_span(value[1:], what)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"{what}: {value!r} is not a time (now, +2h, or ISO 8601 with an offset "
                      "such as 2026-12-06T02:00+01:00).", what) from None
    if moment.tzinfo is None:
        raise Refused(f"{what}: give the time zone offset (…+01:00 or Z).", what)
    return moment


def check_end(window: Window, now: datetime) -> None:
    """:class:`Refused` when the window cannot be ended now (over already)."""
    if window.finish <= now:
        raise Refused("The window is over already.", "id", RefusalKind.STATE)


def covering(windows: Iterable[Window], service: str, at: datetime) -> Window | None:
    """The window holding ``service``'s alerts at ``at`` (the one ending last), if any."""
    found = [w for w in windows if w.covers(service, at)]
    return max(found, key=lambda w: w.finish) if found else None


def paused_seconds(windows: Iterable[Window], service: str, start: datetime,
                   end: datetime) -> float:
    """Seconds of ``[start, end]`` during which a window covered ``service``: an SLA clock
    of an incident on it does not run then (overlapping windows count once)."""
    spans = sorted((max(w.start, start), min(w.finish, end)) for w in windows
                   if service in w.services and w.start < end and w.finish > start)
    total, reach = 0.0, start
    for begin, finish in spans:
        begin = max(begin, reach)
        if finish > begin:
            total += (finish - begin).total_seconds()
            reach = finish
    return total


def window_from(data: Mapping[str, Any]) -> Window:
    """A window from its wire or stored form (``services``, ``starts_at``, ``ends_at``,
    ``reason``, ``ended_at``)."""
    def moment(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    start, end = moment(data["starts_at"]), moment(data["ends_at"])
    assert start is not None and end is not None
    return Window(str(data["id"]), tuple(data.get("services") or ()), start, end,
                  str(data.get("reason") or ""), moment(data.get("ended_at")))


# -- history ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time a component was in ``state`` (from a published incident)."""

    service: str
    start: datetime
    end: datetime
    state: ComponentState


def history(spans: Iterable[Span], windows: Iterable[Window], services: Sequence[str],
            today: date, days: int = HISTORY_DAYS) -> dict[str, list[ComponentState]]:
    """For each service, the worst state of each of the last ``days`` days (oldest first,
    ``today`` last): from published incidents' spans and maintenance windows (UTC days)."""
    first = today - timedelta(days=days - 1)
    bars = {s: [ComponentState.OPERATIONAL] * days for s in services}

    def mark(service: str, start: datetime, end: datetime, state: ComponentState) -> None:
        row = bars.get(service)
        if row is None:
            return
        day = max(start.date(), first)
        last = min(end.date(), today)
        while day <= last:
            index = (day - first).days
            if state.rank > row[index].rank:
                row[index] = state
            day += timedelta(days=1)

    for span in spans:
        mark(span.service, span.start, span.end, span.state)
    for window in windows:
        for service in window.services:
            mark(service, window.start, window.finish, ComponentState.MAINTENANCE)
    return bars


def state_for_priority(priority: int) -> ComponentState:
    """What an open published incident of ``priority`` means for its component when no
    update set a state: P1 a major outage, P2 a partial one, else degraded."""
    if priority <= 1:
        return ComponentState.MAJOR_OUTAGE
    if priority == 2:
        return ComponentState.PARTIAL_OUTAGE
    return ComponentState.DEGRADED
