"""User actions as command objects: the one path every change takes.

A command knows what it does to an incident (through the shared domain's effect functions)
and which API request carries it to the server. :meth:`Store.execute` checks and applies it
to the local store and appends it to the outbox in one transaction; the sync engine replays
the outbox; the app, the scripting CLI and the tests all build the same commands.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from incidenttui.api.paths import INCIDENTS, incident
from incidenttui.domain import Action, EscalationKind, LinkKind, RefusalKind, Refused
from incidenttui.domain.effects import (
    Effect,
    act_effect,
    create_effect,
    escalate_effect,
    link_effect,
    note_effect,
    patch_effect,
)
from incidenttui.domain.permissions import Operation


@dataclass(frozen=True)
class Context:
    """What a command may look up while it is checked: the time, the actor, the directory."""

    now: datetime
    actor: str | None
    team_level: Callable[[str], int | None] = lambda _team: None
    service_team: Callable[[str], str | None] = lambda _service: None
    #: The ids of an incident's action items (a change to one must name one of them).
    action_items: Callable[[str], list[str]] = lambda _incident: []


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class Command(ABC):
    """Base of all commands; ``incident_id`` is the incident's UUID."""

    incident_id: str
    kind: ClassVar[str] = ""
    creates: ClassVar[bool] = False
    #: What the permission matrix calls it (domain/permissions.py).
    operation: ClassVar[Operation] = Operation.CHANGE_FIELDS
    #: About one incident (False: a status page or maintenance change, store/status_commands)
    incident_bound: ClassVar[bool] = True

    @abstractmethod
    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        """What the command does to ``state`` (None: no such incident); may raise Refused."""

    @abstractmethod
    def request(self, base_version: int) -> ApiRequest:
        """The API request that carries the command to the server."""

    @abstractmethod
    def describe(self) -> str:
        """A few words for lists of pending and refused changes."""

    def what(self) -> str:
        """What it does, for a refusal: "Your role viewer may not <what>"."""
        return "change incidents"

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    def _path(self, suffix: str = "") -> str:
        return incident(self.incident_id, suffix)

    @staticmethod
    def _need(state: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if state is None:
            raise Refused("No such incident in the local store.", "id")
        return state


@dataclass(frozen=True)
class CreateIncident(Command):
    title: str = ""
    description: str = ""
    service: str = ""
    category: str = "other"
    impact: int = 3
    urgency: int = 3
    team: str | None = None
    assignee: str | None = None
    major: bool = False
    kind: ClassVar[str] = "create"
    operation: ClassVar[Operation] = Operation.CREATE
    creates: ClassVar[bool] = True

    @classmethod
    def new(cls, **fields: Any) -> CreateIncident:
        """A create command with a fresh client-chosen UUID."""
        return cls(incident_id=str(uuid.uuid4()), **fields)

    def _fields(self) -> dict[str, Any]:
        data = self.payload()
        data.pop("incident_id")
        return data

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        if state is not None:
            raise Refused("An incident with this id already exists.", "id")
        return create_effect(self.incident_id, self._fields(), reporter=ctx.actor, now=ctx.now,
                             team=ctx.service_team(self.service))

    def request(self, base_version: int) -> ApiRequest:
        body = {"id": self.incident_id, **self._fields()}
        return ApiRequest("POST", INCIDENTS, {k: v for k, v in body.items()
                                                      if v is not None})

    def what(self) -> str:
        return "log incidents"

    def describe(self) -> str:
        return f"create {self.title!r}"


@dataclass(frozen=True)
class UpdateFields(Command):
    """Change fields (title, description, category, service, impact, urgency, team,
    assignee): assigning and reprioritising are field changes."""

    fields: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "patch"
    operation: ClassVar[Operation] = Operation.CHANGE_FIELDS

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        if not self.fields:
            raise Refused("Nothing to change.", "fields")
        return patch_effect(self._need(state), self.fields)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("PATCH", self._path(), {"base_version": base_version, **self.fields})

    def what(self) -> str:
        return "change incident fields"

    def describe(self) -> str:
        return "set " + ", ".join(f"{k}={v}" for k, v in self.fields.items())


@dataclass(frozen=True)
class Transition(Command):
    """A lifecycle move: acknowledge, start, hold, resume, resolve, close, reopen, cancel."""

    action: str = Action.ACKNOWLEDGE.value
    resolution_code: str | None = None
    resolution_note: str | None = None
    note: str | None = None
    kind: ClassVar[str] = "action"
    operation: ClassVar[Operation] = Operation.MOVE

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        return act_effect(self._need(state), self.action, ctx.now,
                          resolution_code=self.resolution_code,
                          resolution_note=self.resolution_note, note=self.note)

    def request(self, base_version: int) -> ApiRequest:
        body = {k: v for k, v in (("resolution_code", self.resolution_code),
                                  ("resolution_note", self.resolution_note),
                                  ("note", self.note)) if v is not None}
        return ApiRequest("POST", self._path(f"/{Action(self.action).value}"), body)

    def what(self) -> str:
        return f"{Action(self.action).value} incidents"

    def describe(self) -> str:
        return Action(self.action).value


@dataclass(frozen=True)
class Escalate(Command):
    escalation: str = EscalationKind.FUNCTIONAL.value
    reason: str = ""
    to_team: str | None = None
    to_user: str | None = None
    kind: ClassVar[str] = "escalate"
    operation: ClassVar[Operation] = Operation.ESCALATE

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        level = ctx.team_level(self.to_team) if self.to_team else None
        return escalate_effect(self._need(state), self.escalation, self.reason,
                               to_team=self.to_team, to_user=self.to_user, target_level=level)

    def request(self, base_version: int) -> ApiRequest:
        body = {"kind": self.escalation, "reason": self.reason, "to_team": self.to_team,
                "to_user": self.to_user}
        return ApiRequest("POST", self._path("/escalate"),
                          {k: v for k, v in body.items() if v is not None})

    def what(self) -> str:
        return "escalate incidents"

    def describe(self) -> str:
        target = f" to {self.to_team}" if self.to_team else " to management"
        return f"escalate{target}"


@dataclass(frozen=True)
class AddNote(Command):
    text: str = ""
    note_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    kind: ClassVar[str] = "note"
    operation: ClassVar[Operation] = Operation.NOTE

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        self._need(state)
        return note_effect(self.text, self.note_id)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", self._path("/notes"), {"id": self.note_id, "text": self.text})

    def what(self) -> str:
        return "add notes"

    def describe(self) -> str:
        return "note"


@dataclass(frozen=True)
class AddLink(Command):
    link: str = LinkKind.RELATED.value
    target_id: str = ""
    target_ref: str = ""
    kind: ClassVar[str] = "link"
    operation: ClassVar[Operation] = Operation.LINK

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        return link_effect(self._need(state), self.link, self.target_id, self.target_ref)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", self._path("/links"),
                          {"kind": self.link, "target": self.target_id})

    def what(self) -> str:
        return "link incidents"

    def describe(self) -> str:
        return f"link {self.link} {self.target_ref}"


@dataclass(frozen=True)
class CheckPlaybookStep(Command):
    """Check one step of the incident's security playbook: a timeline note in the form the
    domain defines (:func:`~incidenttui.domain.playbooks.check_text`), sent as a note, so
    it syncs with today's server (``POST /incidents/{id}/notes``, idempotent by its id)."""

    playbook: str = ""
    step: str = ""
    note_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    kind: ClassVar[str] = "playbook"
    operation: ClassVar[Operation] = Operation.CHECK_PLAYBOOK

    def _text(self) -> str:
        from incidenttui.domain.playbooks import DEFAULT_PLAYBOOKS, PlaybookKind, check_text

        try:
            return check_text(DEFAULT_PLAYBOOKS[PlaybookKind(self.playbook)], self.step)
        except (KeyError, ValueError):
            raise Refused(f"No playbook step {self.playbook}/{self.step}.", "step") from None

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        self._need(state)
        return note_effect(self._text(), self.note_id)

    def request(self, base_version: int) -> ApiRequest:
        return ApiRequest("POST", self._path("/notes"), {"id": self.note_id,
                                                         "text": self._text()})

    def what(self) -> str:
        return "check playbook steps"

    def describe(self) -> str:
        return f"check {self.playbook}/{self.step}"


def _now_iso() -> str:
    from incidenttui.domain.major import iso
    from incidenttui.sqltypes import utcnow

    return iso(utcnow())


@dataclass(frozen=True)
class DeclareMajor(Command):
    """Declare the incident a major incident (the commander screen follows)."""

    kind: ClassVar[str] = "declare_major"
    operation: ClassVar[Operation] = Operation.COMMAND

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        from incidenttui.domain.major import declare_effect

        return declare_effect(self._need(state))

    def request(self, base_version: int) -> ApiRequest:
        from incidenttui.api.paths import DECLARE_MAJOR

        return ApiRequest("POST", self._path(DECLARE_MAJOR), None)

    def what(self) -> str:
        return "run major incidents"

    def describe(self) -> str:
        return "declare major incident"


@dataclass(frozen=True)
class MajorEntry(Command):
    """A major incident's role change, stakeholder update, action item (or change to one)
    or review field: ``event`` is the event kind, ``data`` its data
    (domain/major.py ``check_major_event``). ``at`` is when it was written (ISO-8601 UTC),
    kept through an offline spell: the server records the entry at that time."""

    event: str = "role"
    data: dict[str, Any] = field(default_factory=dict)
    entry_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    at: str = field(default_factory=_now_iso)
    kind: ClassVar[str] = "major"
    operation: ClassVar[Operation] = Operation.COMMAND

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        from incidenttui.domain.major import entry_time, major_event_effect, parse_time

        return major_event_effect(self._need(state), self.event, self.data, self.entry_id,
                                  entry_time(parse_time(self.at, "at"), ctx.now),
                                  ctx.action_items(self.incident_id))

    def request(self, base_version: int) -> ApiRequest:
        from incidenttui.api.paths import MAJOR_EVENTS

        return ApiRequest("POST", self._path(MAJOR_EVENTS), {
            "id": self.entry_id, "kind": self.event, "data": self.data, "at": self.at})

    def what(self) -> str:
        return "run major incidents"

    def describe(self) -> str:
        return self.event.replace("_", " ")


@dataclass(frozen=True)
class QuickNote(Command):
    """A quick entry that is not an action item: a note with its tag (decision, finding,
    mitigation, or none), kept at the time it was written (``at``, ISO-8601 UTC)."""

    tag: str = "note"
    text: str = ""
    note_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    at: str = field(default_factory=_now_iso)
    kind: ClassVar[str] = "quick_note"
    operation: ClassVar[Operation] = Operation.NOTE

    def effect(self, state: Mapping[str, Any] | None, ctx: Context) -> Effect:
        from incidenttui.domain.major import entry_time, parse_time, tagged_note_effect

        self._need(state)
        return tagged_note_effect(self.tag, self.text, self.note_id,
                                  entry_time(parse_time(self.at, "at"), ctx.now))

    def request(self, base_version: int) -> ApiRequest:
        body: dict[str, Any] = {"id": self.note_id, "text": self.text, "at": self.at}
        if self.tag != "note":
            body["tag"] = self.tag
        return ApiRequest("POST", self._path("/notes"), body)

    def what(self) -> str:
        return "add notes"

    def describe(self) -> str:
        return f"{self.tag}: {self.text[:40]}"


class ConflictFacts(Protocol):
    """What settling reads of a conflict the server reported (a stored conflict row)."""

    incident_id: str
    field: str | None
    mine: Any


@dataclass(frozen=True)
class SettleConflict:
    """Settle a conflict: *keep mine* sends my value again against the server's current
    version; *take theirs* drops mine (for a change the server refused: dismisses it).

    :meth:`Store.execute` checks it against the conflict it names and, keeping mine, applies
    the field change and queues it in the same transaction, as every other change; a
    conflict already settled, or a refusal asked to be kept, is refused in words.
    """

    conflict_id: int
    keep_mine: bool = False

    def change(self, conflict: ConflictFacts | None) -> UpdateFields | None:
        """The field change to queue again (None: nothing to queue), or :class:`Refused`."""
        if conflict is None:
            raise Refused("That conflict is already settled.", "id", RefusalKind.NOT_FOUND)
        if not self.keep_mine:
            return None
        if conflict.field is None:
            raise Refused("The server refused this change, so it cannot be kept: dismiss it "
                          "(take theirs) and make the change again if it is still needed.",
                          "id", RefusalKind.STATE)
        return UpdateFields(conflict.incident_id, {conflict.field: conflict.mine})

    def describe(self) -> str:
        return "keep my change" if self.keep_mine else "take theirs"


COMMANDS: dict[str, type[Command]] = {
    c.kind: c for c in (CreateIncident, UpdateFields, Transition, Escalate, AddNote, AddLink,
                        CheckPlaybookStep, DeclareMajor, MajorEntry, QuickNote)
}


def command_from_outbox(kind: str, payload: Mapping[str, Any]) -> Command:
    """Rebuild a command from its outbox row."""
    if kind not in COMMANDS:
        from incidenttui.store.status_commands import STATUS_COMMANDS

        COMMANDS.update({c.kind: c for c in STATUS_COMMANDS})
    return COMMANDS[kind](**payload)
