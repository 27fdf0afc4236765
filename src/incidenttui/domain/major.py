"""Major incidents: roles, quick entries, stakeholder updates and their clock, action items
and the review's own fields — the rules, as pure functions the server, the store, the
screens and the CLI share.

Everything a commander records is an append-only timeline event, so several people writing
at once (offline too) never conflict:

- ``major``: the incident was declared major (its ``major`` field becomes true);
- ``role``: ``data = {"role", "user", "from"}``; the latest event per role holds;
- ``note`` with ``data.tag`` (``decision``, ``finding``, ``mitigation``): a quick entry;
- ``action_item``: ``data = {"item", "text", "owner", "due", "done"}``; the first event
  of an item creates it, later ones with the same ``item`` change the keys they carry;
- ``status_update``: the stakeholder update (the status page's contract, see
  :func:`check_status_update`);
- ``review``: ``data = {"field", "text"}``; the latest per field holds.

Events keep the time they were written (:func:`entry_time`), not the time they synced.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from incidenttui.domain.effects import Effect, EventDraft
from incidenttui.domain.enums import EventKind
from incidenttui.domain.lifecycle import RefusalKind, Refused

#: The longest quick entry, action item or update field; a review field may be longer.
LINE_MAX = 2_000
REVIEW_MAX = 20_000
#: How far ahead of the server's clock an entry's time may claim to be (clock skew).
SKEW = timedelta(minutes=5)


class MajorRole(StrEnum):
    """The roles of a major incident (ITIL / incident command)."""

    COMMANDER = "commander"
    COMMUNICATIONS = "communications"
    OPERATIONS = "operations"
    SCRIBE = "scribe"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[MajorRole, str] = {
    MajorRole.COMMANDER: "incident commander",
    MajorRole.COMMUNICATIONS: "communications lead",
    MajorRole.OPERATIONS: "operations lead",
    MajorRole.SCRIBE: "scribe",
}


class QuickTag(StrEnum):
    """What a quick entry's leading tag makes of it."""

    NOTE = "note"  # no tag: a plain timeline entry
    DECISION = "decision"
    FINDING = "finding"
    MITIGATION = "mitigation"  # customers are no longer hurt: the review's time to mitigate
    ACTION = "action"  # an action item (text, ``@owner``, ``due YYYY-MM-DD``)


#: Tags as typed (lower case, before the colon); one-letter shortcuts for a 3 a.m. keyboard.
TAG_WORDS: dict[str, QuickTag] = {
    "decision": QuickTag.DECISION, "d": QuickTag.DECISION,
    "finding": QuickTag.FINDING, "f": QuickTag.FINDING,
    "mitigation": QuickTag.MITIGATION, "mitigated": QuickTag.MITIGATION,
    "m": QuickTag.MITIGATION,
    "action": QuickTag.ACTION, "todo": QuickTag.ACTION, "a": QuickTag.ACTION,
    "note": QuickTag.NOTE, "n": QuickTag.NOTE,
}
#: Tags the timeline and the review highlight.
HIGHLIGHTED: frozenset[str] = frozenset({QuickTag.DECISION, QuickTag.FINDING,
                                         QuickTag.MITIGATION})

#: How often stakeholders hear from a major incident, per priority (P1 every 30 minutes).
UPDATE_CADENCE: dict[int, timedelta] = {
    1: timedelta(minutes=30),
    2: timedelta(minutes=60),
    3: timedelta(hours=2),
    4: timedelta(hours=4),
    5: timedelta(hours=8),
}


class ReviewField(StrEnum):
    """The review's fields the commander writes (the rest comes from the record)."""

    SUMMARY = "summary"
    CUSTOMER_IMPACT = "customer_impact"
    ROOT_CAUSE = "root_cause"
    CONTRIBUTING_FACTORS = "contributing_factors"
    WENT_WELL = "went_well"
    WENT_BADLY = "went_badly"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


#: The kinds of major-incident events sent to ``POST /incidents/{id}/major``.
MAJOR_EVENT_KINDS: frozenset[EventKind] = frozenset({
    EventKind.ROLE, EventKind.STATUS_UPDATE, EventKind.ACTION_ITEM, EventKind.REVIEW})


# -- time ---------------------------------------------------------------------------------


def entry_time(written: datetime | None, now: datetime) -> datetime:
    """When an entry happened: the time it was written (kept across an offline spell), but
    never later than ``now`` (a client clock ahead of the server's); None: ``now``.
    A naive time is refused: entries are compared across machines."""
    if written is None:
        return now
    if written.tzinfo is None:
        raise Refused("An entry's time needs a time zone (ISO-8601 with Z or +00:00).", "at")
    if written > now + SKEW:
        return now
    return min(written, now)


def parse_time(value: Any, name: str) -> datetime:
    """An aware UTC datetime from ``value`` (a datetime or ISO-8601 text), or Refused."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Refused(f"{name} is not an ISO-8601 time: {value!r}.", name) from None
    else:
        raise Refused(f"{name} must be an ISO-8601 time.", name)
    if parsed.tzinfo is None:
        raise Refused(f"{name} needs a time zone (e.g. 2026-05-04T10:30:00Z).", name)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Refused(f"{name} is out of range once converted to UTC.", name) from None


def iso(value: datetime) -> str:
    """The ISO-8601 UTC text the wire and the events carry (``...Z``)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- quick entries ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuickEntry:
    """One line of the commander's quick entry, read."""

    tag: QuickTag
    text: str
    owner: str | None = None
    due: str | None = None  # YYYY-MM-DD, for action items


_TAG = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*)$", re.S)
_OWNER = re.compile(r"(?:^|\s)@([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?=\s|$)")
_DUE = re.compile(r"(?:^|\s)due\s+(\d{4}-\d{2}-\d{2})(?=\s|$)", re.I)


def parse_quick_entry(line: str) -> QuickEntry:
    """Read a quick entry: an optional leading tag (``decision:``, ``finding:``,
    ``mitigation:``, ``action:`` or their one-letter forms ``d:`` ``f:`` ``m:`` ``a:``),
    then the text. An action names its owner with ``@user`` and its due date with
    ``due YYYY-MM-DD``. A word before a colon that is no tag stays text
    (``Adyen: degraded``). Refused when empty."""
    text = " ".join((line or "").split())
    tag = QuickTag.NOTE
    match = _TAG.match(text)
    if match and match.group(1).lower() in TAG_WORDS:
        tag, text = TAG_WORDS[match.group(1).lower()], match.group(2).strip()
    if not text:
        raise Refused("Write something after the tag." if match else
                      "A quick entry cannot be empty.", "text")
    if len(text) > LINE_MAX:
        raise Refused(f"A quick entry is at most {LINE_MAX} characters.", "text")
    if tag is not QuickTag.ACTION:
        return QuickEntry(tag, text)
    owner = due = None
    if (found := _OWNER.search(text)) is not None:
        owner = found.group(1)
        text = (text[:found.start()] + text[found.end():]).strip()
    if (found := _DUE.search(text)) is not None:
        due = check_due(found.group(1))
        text = (text[:found.start()] + text[found.end():]).strip()
    if not text:
        raise Refused("An action item needs a text, not only an owner or a date.", "text")
    return QuickEntry(tag, text, owner, due)


def check_due(value: str | None) -> str | None:
    """An action item's due date as ``YYYY-MM-DD`` (None: none), or Refused."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise Refused(f"A due date is YYYY-MM-DD, not {value!r}.", "due") from None


# -- the stakeholder update clock ---------------------------------------------------------


def cadence(priority: int) -> timedelta:
    """How often stakeholders hear about an incident of ``priority``."""
    return UPDATE_CADENCE.get(int(priority), UPDATE_CADENCE[5])


@dataclass(frozen=True)
class UpdateClock:
    """When the next stakeholder update is due, and whether it is late."""

    due_at: datetime
    #: Seconds until due (negative: late by that much).
    remaining: float
    last_at: datetime | None

    @property
    def late(self) -> bool:
        return self.remaining < 0


def update_clock(priority: int, since: datetime, now: datetime,
                 last_update: Mapping[str, Any] | None = None,
                 last_at: datetime | None = None) -> UpdateClock:
    """The next-update-due clock: the time the last update promised (its
    ``next_update_due``), else the last update plus the priority's cadence, else ``since``
    (the declaration) plus the cadence."""
    due: datetime | None = None
    if last_update is not None and last_update.get("next_update_due"):
        try:
            due = parse_time(last_update["next_update_due"], "next_update_due")
        except Refused:
            due = None
    if due is None:
        due = (last_at or since) + cadence(priority)
    return UpdateClock(due, (due - now).total_seconds(), last_at)


# -- checks of what is sent ---------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, limit: int = LINE_MAX, *,
          required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused(f"{name.replace('_', ' ')} is required.", name)
    if len(value) > limit:
        raise Refused(f"{name.replace('_', ' ')} is at most {limit} characters.", name)
    if "\x00" in value:
        raise Refused(f"{name.replace('_', ' ')} contains a NUL character.", name)
    return value.strip()


def check_status_update(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stakeholder update's data, checked and normalised: ``state``, ``impact``,
    ``next_steps`` (text), ``next_update_due`` (ISO-8601 UTC), ``public`` (bool) and
    ``public_text`` (the public wording: required when public, None otherwise). The status
    page shows only public updates, and only their ``public_text``."""
    public = data.get("public", False)
    if not isinstance(public, bool):
        raise Refused("public is true or false.", "public")
    out: dict[str, Any] = {name: _text(data, name)
                           for name in ("state", "impact", "next_steps")}
    out["next_update_due"] = iso(parse_time(data.get("next_update_due"), "next_update_due"))
    out["public"] = public
    if public:
        out["public_text"] = _text(data, "public_text")
    elif data.get("public_text"):
        raise Refused("public_text is only for a public update (public: true).", "public_text")
    else:
        out["public_text"] = None
    return out


def status_update_text(data: Mapping[str, Any]) -> str:
    """The update as one timeline line."""
    public = " [public]" if data.get("public") else ""
    due = parse_time(data["next_update_due"], "next_update_due")
    return (f"{data['state']} · impact: {data['impact']} · next: {data['next_steps']} · "
            f"next update {due:%Y-%m-%d %H:%M} UTC{public}")


def check_major_event(kind: EventKind | str, data: Mapping[str, Any],
                      known_items: Iterable[str] = ()) -> tuple[str, dict[str, Any]]:
    """A major-incident event's text and data, checked (the same on both sides), or
    Refused. ``known_items``: the action items the incident has (a change must name one)."""
    try:
        kind = EventKind(kind)
    except ValueError:
        raise Refused(f"Unknown kind {kind!r}.", "kind") from None
    if kind not in MAJOR_EVENT_KINDS:
        raise Refused(f"{kind.value!r} is not a major-incident entry; use one of "
                      f"{', '.join(sorted(k.value for k in MAJOR_EVENT_KINDS))}.", "kind")
    if not isinstance(data, Mapping):
        raise Refused("data must be an object.", "data")
    if kind is EventKind.ROLE:
        try:
            role = MajorRole(data.get("role"))
        except ValueError:
            raise Refused(f"Unknown role {data.get('role')!r}; roles: "
                          f"{', '.join(r.value for r in MajorRole)}.", "role") from None
        user = data.get("user")
        if user is not None and (not isinstance(user, str) or not user.strip()
                                 or len(user) > 64):
            raise Refused("user is a user id (or null to leave the role empty).", "user")
        previous = data.get("from")
        out = {"role": role.value, "user": user, "from": previous
               if isinstance(previous, str) else None}
        return (f"{role.label}: {user}" if user else f"{role.label}: nobody"), out
    if kind is EventKind.STATUS_UPDATE:
        out = check_status_update(data)
        return status_update_text(out), out
    if kind is EventKind.REVIEW:
        try:
            name = ReviewField(data.get("field"))
        except ValueError:
            raise Refused(f"Unknown review field {data.get('field')!r}; fields: "
                          f"{', '.join(f.value for f in ReviewField)}.", "field") from None
        text = _text(data, "text", REVIEW_MAX, required=False)
        return f"review {name.label.lower()} written", {"field": name.value, "text": text}
    return _check_action_item(data, set(known_items))


def _check_action_item(data: Mapping[str, Any], known: set[str]) -> tuple[str, dict[str, Any]]:
    item = data.get("item")
    try:
        item = str(uuid.UUID(str(item)))
    except ValueError:
        raise Refused("item is the action item's UUID.", "item") from None
    out: dict[str, Any] = {"item": item}
    new = item not in known
    if new or "text" in data:
        out["text"] = _text(data, "text")
    for name in ("owner", "due", "done"):
        if name in data or new:
            out[name] = data.get(name, False if name == "done" else None)
    owner = out.get("owner")
    if owner is not None and (not isinstance(owner, str) or not owner.strip()
                              or len(owner) > 64):
        raise Refused("owner is a user id (or null).", "owner")
    if "due" in out:
        out["due"] = check_due(out["due"])
    if not isinstance(out.get("done", False), bool):
        raise Refused("done is true or false.", "done")
    if new:
        line = f"action item: {out['text']}"
    elif out.get("done") is True:
        line = "action item done" + (f": {out['text']}" if "text" in out else "")
    elif out.get("done") is False and len(out) == 2:
        line = "action item reopened"
    else:
        line = "action item changed: " + ", ".join(
            f"{k} {v if v not in (None, '') else '-'}" for k, v in out.items()
            if k not in ("item", "done"))
    return line, out


# -- effects ------------------------------------------------------------------------------


def declare_effect(state: Mapping[str, Any]) -> Effect:
    """Declare the incident major (nothing to do when it already is)."""
    if state.get("major"):
        return Effect({}, [])
    return Effect({"major": True}, [EventDraft(EventKind.MAJOR, "declared a major incident",
                                               {"major": True})])


def major_event_effect(state: Mapping[str, Any], kind: EventKind | str,
                       data: Mapping[str, Any], event_id: str, at: datetime,
                       known_items: Iterable[str] = ()) -> Effect:
    """One major-incident entry: an append that never conflicts, at the time it was written.
    Refused on an incident that is not major."""
    if not state.get("major"):
        raise Refused("This incident is not a major incident; declare it major first.",
                      kind=RefusalKind.STATE)
    text, checked = check_major_event(kind, data, known_items)
    if checked.get("public") and kind == EventKind.STATUS_UPDATE:
        from incidenttui.domain.statuspage import check_may_go_public

        check_may_go_public(state)
    return Effect({}, [EventDraft(EventKind(kind), text, checked, event_id, at)])


def tagged_note_effect(tag: QuickTag | str, text: str, note_id: str,
                       at: datetime) -> Effect:
    """A quick entry that is not an action item: a note carrying its tag."""
    try:
        tag = QuickTag(tag)
    except ValueError:
        raise Refused(f"Unknown tag {tag!r}.", "tag") from None
    if tag is QuickTag.ACTION:
        raise Refused("An action is an action item, not a note.", "tag")
    if not (text or "").strip():
        raise Refused("A quick entry cannot be empty.", "text")
    data = {} if tag is QuickTag.NOTE else {"tag": tag.value}
    return Effect({}, [EventDraft(EventKind.NOTE, text.strip(), data, note_id, at)])


# -- reading a major incident back from its events ------------------------------------------


@dataclass
class ActionItem:
    """An action item, as its events leave it."""

    id: str
    text: str
    owner: str | None = None
    due: str | None = None
    done: bool = False
    created_at: datetime | None = None


@dataclass
class MajorRecord:
    """A major incident's roles, updates, action items and review fields, from its events
    (oldest first). Events of linked incidents may be among them: only the major incident's
    own roles, updates, items and review fields count."""

    roles: dict[MajorRole, str | None] = field(default_factory=dict)
    updates: list[Any] = field(default_factory=list)  # the status_update events
    items: dict[str, ActionItem] = field(default_factory=dict)
    review: dict[ReviewField, str] = field(default_factory=dict)
    declared_at: datetime | None = None
    mitigated_at: datetime | None = None

    @property
    def last_update(self) -> Any | None:
        return self.updates[-1] if self.updates else None

    def open_items(self) -> list[ActionItem]:
        return [i for i in self.items.values() if not i.done]


def fold_major(incident_id: str, events: Iterable[Any]) -> MajorRecord:
    """The record of major incident ``incident_id`` from timeline ``events`` (objects with
    ``incident_id``, ``at``, ``kind``, ``data``), oldest first."""
    record = MajorRecord()
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if event.incident_id != incident_id:
            continue
        data = event.data or {}
        kind = str(event.kind)
        if kind == EventKind.MAJOR and record.declared_at is None:
            record.declared_at = event.at
        elif kind == EventKind.ROLE and data.get("role") in set(MajorRole):
            record.roles[MajorRole(data["role"])] = data.get("user")
        elif kind == EventKind.STATUS_UPDATE:
            record.updates.append(event)
        elif kind == EventKind.REVIEW and data.get("field") in set(ReviewField):
            record.review[ReviewField(data["field"])] = str(data.get("text") or "")
        elif kind == EventKind.ACTION_ITEM and data.get("item"):
            _fold_item(record, event, data)
        elif (kind == EventKind.NOTE and data.get("tag") == QuickTag.MITIGATION
              and record.mitigated_at is None):
            record.mitigated_at = event.at
    return record


def _fold_item(record: MajorRecord, event: Any, data: Mapping[str, Any]) -> None:
    item = record.items.get(data["item"])
    if item is None:
        item = record.items[data["item"]] = ActionItem(data["item"], str(data.get("text", "")),
                                                       created_at=event.at)
    elif "text" in data:
        item.text = str(data["text"])
    if "owner" in data:
        item.owner = data["owner"]
    if "due" in data:
        item.due = data["due"]
    if "done" in data:
        item.done = bool(data["done"])


def entry_tag(event: Any) -> str | None:
    """A timeline event's tag for the commander's timeline and the review (None: none)."""
    kind = str(event.kind)
    if kind == EventKind.NOTE:
        return (event.data or {}).get("tag")
    if kind in (EventKind.ACTION_ITEM, EventKind.STATUS_UPDATE, EventKind.ROLE,
                EventKind.MAJOR):
        return kind
    return None
