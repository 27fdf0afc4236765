"""What each user action does to an incident: field changes plus timeline events.

Pure functions over a mapping of the incident's fields. The server applies them to its rows
and the client to its local store and outbox replay, so both sides record the same changes
and the same events for the same action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from incidenttui.domain.changes import FIELD_EVENT, check_fields
from incidenttui.domain.enums import Action, Category, EscalationKind, EventKind, LinkKind, Status
from incidenttui.domain.lifecycle import (
    Refused,
    action_effects,
    check_editable,
    escalation_effects,
)
from incidenttui.domain.priority import priority_for

#: Fields that may never be emptied by a field change.
REQUIRED_FIELDS = ("title", "category", "service", "impact", "urgency")


@dataclass(frozen=True)
class EventDraft:
    """A timeline event to append; ``id`` is set when the caller chose it (notes), ``at``
    when the event keeps the time it was written (a major incident's entries) rather than
    the time it is applied."""

    kind: EventKind
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Effect:
    """The outcome of an action: ``changes`` to set and ``events`` to append."""

    changes: dict[str, Any]
    events: list[EventDraft]


def patch_effect(state: Mapping[str, Any], asked: Mapping[str, Any]) -> Effect:
    """Field changes (title … assignee); impact/urgency recompute the priority."""
    check_fields(asked)
    check_editable(state["status"])
    asked = dict(asked)
    for name in REQUIRED_FIELDS:
        if name in asked and asked[name] is None:
            raise Refused(f"{name} cannot be empty.", name)
    check_values(asked)
    if "description" in asked and asked["description"] is None:
        asked["description"] = ""
    changes = {k: v for k, v in asked.items() if state.get(k) != v}
    if "impact" in changes or "urgency" in changes:
        new_priority = int(priority_for(changes.get("impact", state["impact"]),
                                        changes.get("urgency", state["urgency"])))
        if new_priority != state["priority"]:
            changes["priority"] = new_priority
    events = []
    for kind in dict.fromkeys(FIELD_EVENT[k] for k in changes if k in FIELD_EVENT):
        fields = {k: {"from": state.get(k), "to": v} for k, v in changes.items()
                  if FIELD_EVENT.get(k, EventKind.PRIORITY) == kind}
        text = ", ".join(f"{k}: {c['from']} → {c['to']}" for k, c in fields.items())
        events.append(EventDraft(kind, text, {"fields": fields}))
    return Effect(changes, events)


def act_effect(state: Mapping[str, Any], action: Action | str, now: datetime, *,
               resolution_code: str | None = None, resolution_note: str | None = None,
               note: str | None = None) -> Effect:
    """A lifecycle move, with its status event and an optional note."""
    action = Action(action)
    changes = action_effects(SimpleNamespace(**state), action, now, resolution_code,
                             resolution_note)
    data: dict[str, Any] = {"action": action.value, "from": str(state["status"]),
                            "to": str(changes["status"])}
    if action == Action.RESOLVE:
        data["resolution_code"] = changes["resolution_code"]
    events = [EventDraft(EventKind.STATUS,
                         changes["resolution_note"] if action == Action.RESOLVE else "", data)]
    if note and note.strip():
        events.append(EventDraft(EventKind.NOTE, note))
    return Effect(changes, events)


def escalate_effect(state: Mapping[str, Any], kind: EscalationKind | str, reason: str, *,
                    to_team: str | None = None, to_user: str | None = None,
                    target_level: int | None = None) -> Effect:
    """A functional or hierarchical escalation, with its event."""
    kind = EscalationKind(kind)
    changes = escalation_effects(state["status"], kind, state["escalation_level"],
                                 state.get("team"), to_team, reason, target_level)
    if kind == EscalationKind.HIERARCHICAL:
        changes["management_engaged"] = True
    if to_user is not None and kind == EscalationKind.FUNCTIONAL:
        changes["assignee"] = to_user  # hierarchical: management is informed, not assigned
    data = {"kind": kind.value, "from_team": state.get("team"),
            "from_level": state["escalation_level"],
            "to_team": changes.get("team", state.get("team")),
            "to_level": changes.get("escalation_level", state["escalation_level"]),
            "to_user": to_user}
    return Effect(changes, [EventDraft(EventKind.ESCALATION, reason, data)])


def note_effect(text: str, note_id: str | None = None, *, evidence: bool = False) -> Effect:
    """A note: an append that never conflicts (``evidence``: marked as evidence)."""
    if not (text or "").strip():
        raise Refused("A note cannot be empty.", "text")
    return Effect({}, [EventDraft(EventKind.NOTE, text, {"evidence": True} if evidence else {},
                                  note_id)])


def link_effect(state: Mapping[str, Any], kind: LinkKind | str, target_id: str,
                target_ref: str) -> Effect:
    """A link to another incident (no change when the link already exists)."""
    kind = LinkKind(kind)
    if target_id == state["id"]:
        raise Refused("An incident cannot be linked to itself.", "target")
    link = {"kind": kind.value, "target": target_id}
    if link in state["links"]:
        return Effect({}, [])
    data = {"kind": kind.value, "target": target_id, "target_ref": target_ref}
    return Effect({"links": [*state["links"], link]},
                  [EventDraft(EventKind.LINK, f"{kind.value} {target_ref}", data)])


#: The longest title (one line in the queue) and description.
TITLE_MAX = 300
TEXT_MAX = 20_000


def check_values(fields: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` for a value out of its range among ``fields`` (those present)."""
    if "title" in fields:
        title = fields["title"]
        if not isinstance(title, str) or not title.strip():
            raise Refused("A title is required.", "title")
        if len(title) > TITLE_MAX:
            raise Refused(f"A title is at most {TITLE_MAX} characters.", "title")
    description = fields.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > TEXT_MAX):
        raise Refused(f"A description is text of at most {TEXT_MAX} characters.", "description")
    if "service" in fields and not str(fields["service"] or "").strip():
        raise Refused("A service is required.", "service")
    if "category" in fields and str(fields["category"]) not in {c.value for c in Category}:
        raise Refused(f"Unknown category {fields['category']!r}: use one of "
                      f"{', '.join(c.value for c in Category)}.", "category")
    for name in ("impact", "urgency"):
        value = fields.get(name)
        if name in fields and (isinstance(value, bool) or value not in (1, 2, 3)):
            raise Refused("Impact and urgency are 1 (high) to 3 (low).", name)


def check_new(fields: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` unless ``fields`` make a valid new incident (see create_effect)."""
    for name in ("title", "service", "impact", "urgency"):
        if fields.get(name) is None:
            raise Refused(f"{name} is required for a new incident.", name)
    check_values({"category": "other", **fields})


def create_effect(incident_id: str, fields: Mapping[str, Any], *, reporter: str | None,
                  now: datetime, team: str | None) -> Effect:
    """A new incident's full initial state and its ``created`` event.

    ``fields`` holds title, description, service, impact, urgency and optionally category
    (default ``other``, as :func:`check_new` checks it), team, assignee, major, detected_at,
    started_at. ``team`` defaults the owner (the service's team).
    Values out of range are refused (:func:`check_new`), the same on the client and the server.
    """
    check_new(fields)
    priority = int(priority_for(fields["impact"], fields["urgency"]))
    state: dict[str, Any] = {
        "id": incident_id, "title": fields["title"],
        "description": fields.get("description") or "", "service": fields["service"],
        "category": str(fields.get("category", Category.OTHER)),
        "impact": int(fields["impact"]),
        "urgency": int(fields["urgency"]), "priority": priority, "status": Status.NEW.value,
        "team": fields.get("team") or team, "assignee": fields.get("assignee"),
        "escalation_level": 1, "management_engaged": False,
        "major": bool(fields.get("major", False)), "reporter": reporter,
        "created_at": now, "updated_at": now,
        "detected_at": fields.get("detected_at") or now, "started_at": fields.get("started_at"),
        "acknowledged_at": None, "resolved_at": None, "closed_at": None,
        "on_hold_since": None, "hold_seconds": 0.0, "reopen_count": 0,
        "resolution_code": None, "resolution_note": None, "links": [], "version": 1,
        "field_versions": {},
    }
    data = {"priority": priority, "service": state["service"], "team": state["team"]}
    return Effect(state, [EventDraft(EventKind.CREATED, state["title"], data)])
