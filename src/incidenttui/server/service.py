"""Incident operations on the server: each one is a write inside the caller's transaction.

The rules come from :mod:`incidenttui.domain`; this module only loads rows, applies the
domain's answers, appends timeline events and records the change feed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, case, insert, null, or_, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from incidenttui.api.schemas import (
    ActionBody,
    BreachNotificationBody,
    EscalateBody,
    EventOut,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    LinkBody,
    MajorEventBody,
    NoteBody,
    ServiceOut,
    TeamOut,
    UserOut,
)
from incidenttui.domain import (
    Action,
    EventKind,
    FieldConflict,
    RefusalKind,
    Refused,
    check_base_version,
    find_conflicts,
)
from incidenttui.domain.effects import (
    Effect,
    act_effect,
    create_effect,
    escalate_effect,
    link_effect,
    note_effect,
    patch_effect,
)
from incidenttui.domain.major import (
    QuickTag,
    declare_effect,
    entry_time,
    major_event_effect,
    tagged_note_effect,
)
from incidenttui.domain.permissions import is_restricted
from incidenttui.domain.playbooks import DEFAULT_PLAYBOOKS, PlaybookKind
from incidenttui.domain.refs import INC, SEC, Number, parse_key, ref, series_for
from incidenttui.server import audit
from incidenttui.server.audit import Origin
from incidenttui.server.changes import ChangeRow, record_changes
from incidenttui.server.db import loaded
from incidenttui.server.deferred import Deferred
from incidenttui.server.models import Counter, Incident, Service, Team, TimelineEvent, User
from incidenttui.server.pipeline import Rows, expect_one, is_postgres, listed, send
from incidenttui.sqltypes import utcnow

#: Incident numbers start after this (the first incident is INC-1001).
NUMBER_START = 1000
#: How a link names a restricted incident on a timeline others may read.
RESTRICTED_REF = "a restricted incident"


class NotFound(Exception):
    """The named incident, team, user or service does not exist."""


def not_found(key: str) -> NotFound:
    """The one answer for an incident that is missing, and for one the caller may not see."""
    return NotFound(f"no incident {key!r}")


class Conflict(Exception):
    """A field change made against a stale version touched fields someone else changed."""

    def __init__(self, conflicts: list[FieldConflict], incident: AnyIncident
                 ) -> None:
        super().__init__("conflict")
        self.conflicts = conflicts
        self.incident = incident


def incident_out(incident: AnyIncident) -> IncidentOut:
    return IncidentOut.model_validate({**incident_state(incident),
                                       "ref": ref(incident.number, incident.series)})


def incident_json(incident: AnyIncident) -> dict[str, Any]:
    return incident_out(incident).model_dump(mode="json")


def event_json(event: TimelineEvent) -> dict[str, Any]:
    return EventOut.model_validate(event).model_dump(mode="json")


_INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
_BY_ID = core_select(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("key"))
_BY_NUMBER = core_select(_INCIDENTS).where(_INCIDENTS.c.number == bindparam("key"),
                                           _INCIDENTS.c.series == bindparam("series"))
#: An incident's update from the version it was read at. A row whose version moved on
#: (written without its lock: a bug) gets a NULL version, which the column refuses: the
#: database fails the statement, so the transaction cannot commit, even when its COMMIT is
#: already queued behind the update (server/writes.py sends them in one round trip).
_UPDATE_ROW = update(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("row_id")).values(
    version=case((_INCIDENTS.c.version == bindparam("row_version"),
                  bindparam("new_version", type_=Integer)), else_=null()))
_LOCKED_BY_ID = _BY_ID.with_for_update()
_LOCKED_BY_NUMBER = _BY_NUMBER.with_for_update()


#: An incident's fields (``Incident.model_fields`` is a property that costs a call each time).
_FIELDS = tuple(Incident.model_fields)


class IncidentRow:
    """An incident read for a write with one Core select: its columns as plain attributes.

    Not in the session: :class:`Writer` writes its changes with one ``UPDATE ... WHERE id = ?
    AND version = ?`` in :meth:`Writer.finish`, without the ORM's load, identity map and
    flush (which cost more than the rest of the write on the HTTP write path).
    """

    __slots__ = (*Incident.model_fields, "loaded_version", "changed")

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        for name in _FIELDS:
            setattr(self, name, mapping[name])
        self.loaded_version: int = mapping["version"]
        self.changed: set[str] = set()


#: An incident a :class:`Writer` changes: an ORM row, or one read by ``find_incident`` for update.
AnyIncident = Incident | IncidentRow


def find_incident(session: Session, key: str, *, for_update: bool = False
                  ) -> AnyIncident:
    """The incident with UUID or number ``key`` (``INC-1042``, ``1042`` or ``SEC-7``), or
    NotFound.

    With ``for_update`` the row is locked for the rest of the transaction (``FOR UPDATE``;
    SQLite's ``BEGIN IMMEDIATE`` already holds the database) and comes back as an
    :class:`IncidentRow` for a :class:`Writer`, which writes its changes in ``finish()``.
    """
    parsed = parse_key(key)
    held: _Held | None = session.info.get(_HELD)
    if for_update and held is not None and parsed in held.asked:
        row_held = held.rows.get(parsed)  # type: ignore[arg-type]
        if row_held is None:
            raise not_found(key)
        return row_held
    write_pending(session)  # what this transaction wrote so far is read back as written
    if for_update and parsed is not None:
        statement, params = ((_LOCKED_BY_ID, {"key": parsed}) if isinstance(parsed, str) else
                             (_LOCKED_BY_NUMBER, {"key": parsed.number,
                                                  "series": parsed.series}))
        row = session.connection().execute(statement, params).mappings().first()
        if row is None:
            raise not_found(key)
        return IncidentRow(row)
    incident: Incident | None = None
    if isinstance(parsed, str):
        incident = session.get(Incident, parsed)
    elif parsed is not None:
        incident = session.exec(select(Incident).where(
            Incident.number == parsed.number, Incident.series == parsed.series)).first()
    if incident is None:
        raise not_found(key)
    return incident


class _Held:
    """The incidents a batch of writes locked up front (:func:`lock_incidents`)."""

    def __init__(self, asked: set[str | Number], rows: list[IncidentRow]) -> None:
        self.asked = asked
        self.rows: dict[str | Number, IncidentRow] = {}
        for row in rows:
            self.rows[row.id] = self.rows[Number(row.series or INC, row.number)] = row


_HELD = "incidenttui.held_incidents"
_COLUMNS = [c.name for c in _INCIDENTS.columns]
_IDS, _NUMBERS = bindparam("ids", type_=ARRAY(String)), bindparam("numbers", type_=ARRAY(Integer))
_LOCK_MANY_PG = (core_select(_INCIDENTS)
                 .where(or_(_INCIDENTS.c.id == any_(_IDS), _INCIDENTS.c.number == any_(_NUMBERS)))
                 .order_by(_INCIDENTS.c.id).with_for_update())
_LOCK_MANY = core_select(_INCIDENTS).where(or_(
    _INCIDENTS.c.id.in_(listed("ids")), _INCIDENTS.c.number.in_(listed("numbers"))))


def lock_incidents(session: Session, keys: list[str]) -> Callable[[], None]:
    """Lock the incidents ``keys`` name, for a batch of writes, in one statement (in id
    order, so two batches never wait on each other crosswise); sent at once (queued in a
    pipeline). Call what it returns once the rows are wanted: from then on
    :func:`find_incident` ``for_update`` answers these keys from the rows it read."""
    parsed = {p for p in map(parse_key, keys) if p is not None}
    ids = sorted(p for p in parsed if isinstance(p, str))
    # By number alone: INC-7 and SEC-7 are both locked (a row or two more, never one
    # fewer); the held rows are keyed by series and number.
    numbers = sorted({p.number for p in parsed if isinstance(p, Number)})
    conn = session.connection()
    if is_postgres(conn):
        rows: Rows = send(conn, _LOCK_MANY_PG, {"ids": ids, "numbers": numbers})
    else:
        rows = send(conn, _LOCK_MANY, {"ids": json.dumps(ids), "numbers": json.dumps(numbers)})

    def hold() -> None:
        session.info[_HELD] = _Held(parsed, [IncidentRow(dict(zip(_COLUMNS, row, strict=True)))
                                            for row in rows.all()])
    return hold


def forget_held(session: Session) -> None:
    """After a rollback to a savepoint: the held rows may hold the undone changes; read
    them again if needed (and a counter made in the undone part)."""
    session.info.pop(_HELD, None)
    session.info.pop(_ENSURED, None)
    session.info.pop(_KNOWN, None)


#: Each number series' counter and where it starts (domain/refs.py: SEC-1 is the first
#: incident restricted when logged; INC keeps the counter it always had).
COUNTERS = {INC: ("incident", NUMBER_START), SEC: ("incident_sec", 0)}


#: The counters a transaction has made sure of (``session.info``): asked once per batch.
_ENSURED = "incidenttui.counters_ensured"
#: The directory rows a transaction's writes named, kept (``Writer._known``).
_KNOWN = "incidenttui.known_rows"


def ensure_counters(session: Session, series: str = INC) -> None:
    name, start = COUNTERS[series]
    ensured = session.info.setdefault(_ENSURED, set())
    if name in ensured:
        return
    if session.get(Counter, name) is None:
        session.add(Counter(name=name, value=start))
        session.flush()
    ensured.add(name)


def next_number(session: Session, series: str = INC) -> int:
    """The next number in ``series``; the counter row lock serialises concurrent creates."""
    return next_numbers(session, 1, series)[0]


_COUNTERS = Counter.__table__  # type: ignore[attr-defined]
#: A Core statement on the session's connection: the ORM's bulk-update path (and its
#: synchronisation of loaded counters) costs more than the update.
_NEXT = update(_COUNTERS).where(_COUNTERS.c.name == bindparam("counter")).values(
    value=_COUNTERS.c.value + bindparam("count", type_=Integer)).returning(_COUNTERS.c.value)


def next_numbers(session: Session, count: int, series: str = INC) -> list[int]:
    """``count`` consecutive numbers of ``series`` in one counter update."""
    ensure_counters(session, series)
    last = int(session.connection().execute(
        _NEXT, {"counter": COUNTERS[series][0], "count": count}).scalar_one())
    return list(range(last - count + 1, last + 1))


_INSERT_EVENTS = insert(TimelineEvent.__table__)  # type: ignore[attr-defined]
_EVENT_COLUMNS = tuple(TimelineEvent.model_fields)

_UPDATE_EVENT = update(TimelineEvent.__table__).where(  # type: ignore[attr-defined]
    TimelineEvent.__table__.c.id == bindparam("b_id")  # type: ignore[attr-defined]
).values(text=bindparam("text"), data=bindparam("data"))


class Writer:
    """Collects one transaction's incident and timeline writes and records them in the feed."""

    def __init__(self, session: Session, actor: User, now: datetime | None = None) -> None:
        self.session = session
        self.actor = actor
        self.now = now or utcnow()
        self._incidents: dict[str, AnyIncident] = {}
        self._events: list[TimelineEvent] = []
        # Snapshots (the API's JSON) made for the answer, reused for the feed.
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._updated_events: dict[str, EventOut] = {}
        #: Who is behind the write, for its audit entries (server/audit.py).
        self.origin: Origin = Origin(actor.id)
        self._audit: list[tuple[Origin, str, str, str | None, dict[str, Any]]] = []
        self._after: list[Callable[[], None]] = []

    # -- building blocks -------------------------------------------------------------------

    def event(self, incident: AnyIncident, kind: EventKind, text: str = "",
              event_id: str | None = None, data: dict[str, Any] | None = None,
              at: datetime | None = None) -> TimelineEvent:
        """Append an event at ``at`` (an entry that keeps the time it was written) or now."""
        # Events of one write keep their order: each is a microsecond after the one before.
        at = at or self.now + timedelta(microseconds=len(self._events))
        # Built like a loaded row (a tenth of TimelineEvent(...)'s cost): finish() inserts it
        # with Core, the session never sees it.
        event = loaded(TimelineEvent, {"id": event_id or str(uuid.uuid4()),
                                       "incident_id": incident.id, "at": at, "kind": kind,
                                       "actor": self.actor.id, "text": text,
                                       "data": data or {}})
        self._events.append(event)  # inserted by finish(), all in one statement
        self._incidents[incident.id] = incident
        self._snapshots.pop(incident.id, None)
        return event

    def audit(self, action: str, entity: str, entity_id: str | None = None,
              detail: dict[str, Any] | None = None, origin: Origin | None = None) -> None:
        """Record ``action`` in the audit log as this write commits (in :meth:`finish`)."""
        self._audit.append((origin or self.origin, action, entity, entity_id, detail or {}))

    def after(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in :meth:`finish`, after the write's own feed rows (e.g. ``forget``
        entries: they take the feed's lock, which the write takes last)."""
        self._after.append(fn)

    def update_event(self, event: EventOut) -> None:
        """Give an existing timeline event ``event``'s text and data (an event the server
        owns, such as an alert's, whose count a repeat raises); :meth:`finish` writes it and
        puts this snapshot in the feed. Its incident is not touched."""
        self._updated_events[event.id] = event

    def apply(self, incident: AnyIncident, changes: Mapping[str, Any]) -> None:
        """Set ``changes`` on ``incident`` and bump its version and the changed fields'."""
        version = incident.version + 1
        field_versions = dict(incident.field_versions)
        for name, value in changes.items():
            setattr(incident, name, value)
            field_versions[name] = version
        incident.field_versions = field_versions
        if isinstance(incident, IncidentRow):
            incident.changed.update(changes)
            incident.changed.add("field_versions")
        self.touch(incident, version)

    def touch(self, incident: AnyIncident, version: int | None = None) -> None:
        incident.version = version or incident.version + 1
        incident.updated_at = self.now
        if not isinstance(incident, IncidentRow):
            self.session.add(incident)
        self._incidents[incident.id] = incident
        self._snapshots.pop(incident.id, None)

    def snapshot(self, incident: AnyIncident) -> dict[str, Any]:
        """The incident as the API shows it (``IncidentOut`` as JSON), made once per state."""
        snap = self._snapshots.get(incident.id)
        if snap is None:
            snap = self._snapshots[incident.id] = incident_json(incident)
        return snap

    def event_snapshot(self, event: TimelineEvent) -> dict[str, Any]:
        """The event as the API shows it (``EventOut`` as JSON), made once."""
        snap = self._snapshots.get(event.id)
        if snap is None:
            snap = self._snapshots[event.id] = event_json(event)
        return snap

    def finish(self) -> None:
        """Write the new events and record every touched incident and new event in the
        change feed (call last)."""
        self.session.flush()
        _ROWS.add(self.session, [_row_update(incident) for incident in self._incidents.values()
                                 if isinstance(incident, IncidentRow)
                                 and incident.version != incident.loaded_version])
        if self._events:
            _EVENTS.add(self.session, [
                {name: getattr(e, name) for name in _EVENT_COLUMNS} for e in self._events])
        updated = list(self._updated_events.values())
        if updated:  # one statement for all of them
            self.session.execute(_UPDATE_EVENT, [
                {"b_id": e.id, "text": e.text, "data": e.data} for e in updated])
        secret = {i.id: is_restricted(i.category, i.restricted)
                  for i in self._incidents.values()}
        secret.update(_restricted_of(self.session, {e.incident_id for e in updated}
                                     - secret.keys()))
        changes: list[ChangeRow] = [("incident", i.id, self.snapshot(i), i.id, secret[i.id])
                                    for i in self._incidents.values()]
        changes += [("event", e.id, self.event_snapshot(e), e.incident_id,
                     secret[e.incident_id]) for e in self._events]
        changes += [("event", e.id, e.model_dump(mode="json"), e.incident_id,
                     secret.get(e.incident_id, False)) for e in updated]
        record_changes(self.session, changes)
        if self._after:
            write_pending(self.session)  # they read the timeline and incidents back
        for fn in self._after:
            fn()
        audit.record(self.session, [(origin, action, entity, entity_id, detail, self.now)
                                    for origin, action, entity, entity_id, detail
                                    in self._audit])

    # -- checks ----------------------------------------------------------------------------

    def _check_refs(self, service: str | None = None, team: str | None = None,
                    assignee: str | None = None) -> None:
        if service is not None and self._known(Service, service) is None:
            raise Refused(f"Unknown service {service!r}.", "service")
        if team is not None and self._known(Team, team) is None:
            raise Refused(f"Unknown team {team!r}.", "team")
        if assignee is not None and self._known(User, assignee) is None:
            raise Refused(f"Unknown user {assignee!r}.", "assignee")

    def _known(self, model: type[Service | Team | User], key: str) -> Any:
        """The directory row ``key``, looked up once per transaction: the session's identity
        map holds rows weakly, so a row nobody kept was read (and the session flushed) again
        for every incident of a batch that names it."""
        known = self.session.info.setdefault(_KNOWN, {})
        row = known.get((model, key))
        if row is None:
            row = self.session.get(model, key)
            if row is not None:
                known[model, key] = row
        return row

    # -- operations ------------------------------------------------------------------------

    def create(self, body: IncidentCreate, *, new_id: bool = False) -> Incident:
        """Log ``body`` as a new incident. ``new_id``: its id was just made by the server
        (a random UUID), so no incident can have it yet and it is not looked up."""
        incident_id = str(body.id)
        # No autoflush: the incidents this batch made are flushed once, at its end. (One
        # made twice in a batch fails its flush on the key; the group commit then writes
        # each job alone, where this check answers.)
        if not new_id:
            with self.session.no_autoflush:
                known = self.session.get(Incident, incident_id) is not None
            if known:
                raise Refused(f"An incident with id {incident_id} already exists.", "id")
        self._check_refs(body.service, body.team, body.assignee)
        service = self._known(Service, body.service) if body.service else None
        effect = create_effect(incident_id, body.model_dump(exclude={"id", "restricted"}),
                               reporter=self.actor.id, now=self.now,
                               team=service.team_id if service else None)
        # Restricted from the start: numbered in its own series (domain/refs.py), so no
        # INC number is missing for those who may not see it.
        series = series_for(is_restricted(effect.changes.get("category"), body.restricted))
        incident = Incident(**effect.changes, number=next_number(self.session, series),
                            series=series, restricted=body.restricted)
        self.session.add(incident)
        self._incidents[incident.id] = incident
        for event in effect.events:
            self.event(incident, event.kind, event.text, event.id, event.data)
        if service is not None and service.policy_id:
            from incidenttui.server.escalation import start_clock

            start_clock(self.session, incident.id, service.policy_id, self.now)
        return incident

    def effect(self, incident: AnyIncident, effect: Effect) -> list[TimelineEvent]:
        """Apply a domain :class:`Effect`: its field changes, then its events."""
        if effect.changes:
            self.apply(incident, effect.changes)
        elif effect.events:
            self.touch(incident)
        return [self.event(incident, e.kind, e.text, e.id, e.data, e.at)
                for e in effect.events]

    def patch(self, incident: AnyIncident, body: IncidentPatch) -> AnyIncident:
        check_base_version(body.base_version, incident.version)
        asked = body.model_dump(exclude_unset=True, exclude={"base_version"})
        self._check_refs(asked.get("service"), asked.get("team"), asked.get("assignee"))
        state = incident_state(incident)
        conflicts = find_conflicts(state, incident.field_versions, body.base_version, asked)
        if conflicts:
            raise Conflict(conflicts, incident)
        self.effect(incident, patch_effect(state, asked))
        return incident

    def act(self, incident: AnyIncident, action: Action, body: ActionBody) -> AnyIncident:
        events = self.effect(incident, act_effect(incident_state(incident), action, self.now,
                                                  resolution_code=body.resolution_code,
                                                  resolution_note=body.resolution_note,
                                                  note=body.note))
        if Action(action) == Action.REOPEN:
            # Reopened is new work: the policy starts again from level 1 at the status
            # event (the app reads the same position from it, domain RESTARTED_BY).
            service = self.session.get(Service, incident.service)
            if service is not None and service.policy_id:
                from incidenttui.server.escalation import restart_clock

                restart_clock(self.session, incident.id, service.policy_id, events[0].at)
        return incident

    def escalate(self, incident: AnyIncident, body: EscalateBody) -> AnyIncident:
        target_level = None
        if body.to_team is not None:
            team = self.session.get(Team, body.to_team)
            if team is None:
                raise Refused(f"Unknown team {body.to_team!r}.", "to_team")
            target_level = team.level
        self._check_refs(assignee=body.to_user)
        self.effect(incident, escalate_effect(incident_state(incident), body.kind, body.reason,
                                              to_team=body.to_team, to_user=body.to_user,
                                              target_level=target_level))
        return incident

    def note(self, incident: AnyIncident, body: NoteBody) -> TimelineEvent:
        note_id = str(body.id) if body.id else None
        if note_id is not None:
            write_pending(self.session)
            existing = self.session.get(TimelineEvent, note_id)
            if existing is not None:
                if (existing.incident_id != incident.id
                        or existing.text.strip() != body.text.strip()
                        or bool((existing.data or {}).get("evidence")) != body.evidence):
                    raise Refused("That note id is already used for a different note.", "id")
                return existing
        if body.tag is not None or body.at is not None:  # a quick entry of a major incident
            if body.evidence:
                raise Refused("A quick entry is not evidence; send evidence as a plain note.",
                              "evidence")
            at = entry_time(body.at, self.now)
            return self.effect(incident, tagged_note_effect(body.tag or QuickTag.NOTE,
                                                            body.text, note_id or
                                                            str(uuid.uuid4()), at))[0]
        return self.effect(incident, note_effect(body.text, note_id,
                                                 evidence=body.evidence))[0]

    def declare_major(self, incident: AnyIncident) -> AnyIncident:
        """Declare the incident major (already major: nothing changes)."""
        self.effect(incident, declare_effect(incident_state(incident)))
        return incident

    def major_event(self, incident: AnyIncident, body: MajorEventBody) -> TimelineEvent:
        """A major incident's role change, stakeholder update, action item or review field,
        at the time it was written; idempotent by its id."""
        event_id = str(body.id)
        existing = self.session.get(TimelineEvent, event_id)
        if existing is not None:
            if existing.incident_id != incident.id or existing.kind != body.kind:
                raise Refused("That entry id is already used for a different entry.", "id")
            return existing
        items = [e.data.get("item") for e in timeline(self.session, incident.id)
                 if e.kind == EventKind.ACTION_ITEM] if body.kind == EventKind.ACTION_ITEM \
            else []
        at = entry_time(body.at, self.now)
        return self.effect(incident, major_event_effect(incident_state(incident), body.kind,
                                                        body.data, event_id, at, items))[0]

    def breach_notification(self, incident: AnyIncident,
                            body: BreachNotificationBody) -> TimelineEvent:
        """Record that a personal-data breach was notified to the authority: the check of
        its playbook's ``notify-authority`` step, which stops the 72-hour clock (the note's
        time is the notification's; store/security.py reads it back)."""
        from incidenttui.domain.playbooks import NOTIFY_STEP, check_text, choose_kind, parse_check

        kind = choose_kind(incident.category, incident.title, incident.description)
        if kind is not PlaybookKind.DATA_BREACH:
            raise Refused("This incident is not a personal-data breach (a security incident "
                          "whose playbook is data_breach).", kind=RefusalKind.STATE)
        for event in timeline(self.session, incident.id):
            if event.kind == EventKind.NOTE and parse_check(event.text) == (
                    kind.value, NOTIFY_STEP):
                raise Refused("The breach notification is already recorded.",
                              kind=RefusalKind.STATE)
        text = check_text(DEFAULT_PLAYBOOKS[kind], NOTIFY_STEP) + f" ({body.authority}"
        text += f", reference {body.reference})" if body.reference else ")"
        data = {"breach_notification": {"authority": body.authority,
                                        "reference": body.reference}}
        self.touch(incident)
        return self.event(incident, EventKind.NOTE, text, data=data)

    def link(self, incident: AnyIncident, body: LinkBody) -> AnyIncident:
        from incidenttui.server import visibility

        try:
            target = find_incident(self.session, body.target)
        except NotFound:
            target = None
        if target is None or not visibility.visible_to(self.session, self.actor, target):
            # the same words for one the actor may not see: no existence oracle
            raise Refused(f"No incident {body.target!r} to link to.", "target")
        # A restricted target is not named on a timeline that others may read.
        shown = (RESTRICTED_REF if visibility.restricted(target)
                 and not visibility.restricted(incident) else ref(target.number, target.series))
        self.effect(incident, link_effect(incident_state(incident), body.kind, target.id,
                                          shown))
        return incident

    def set_restricted(self, incident: AnyIncident, value: bool) -> AnyIncident:
        """Mark the incident restricted, or lift the mark (a security incident stays
        restricted by its category)."""
        if bool(incident.restricted) == value:
            return incident
        self.apply(incident, {"restricted": value})
        text = "restricted" if value else "restriction lifted"
        self.event(incident, EventKind.FIELD, text,
                   data={"fields": {"restricted": {"from": not value, "to": value}}})
        return incident


def _restricted_of(session: Session, incident_ids: set[str]) -> dict[str, bool]:
    """Whether each of ``incident_ids`` is restricted (one query; none for an empty set)."""
    if not incident_ids:
        return {}
    write_pending(session)
    rows = session.connection().execute(
        core_select(_INCIDENTS.c.id, _INCIDENTS.c.category, _INCIDENTS.c.restricted)
        .where(_INCIDENTS.c.id.in_(incident_ids))).all()
    return {row[0]: is_restricted(row[1], row[2]) for row in rows}


def _row_update(incident: IncidentRow) -> dict[str, Any]:
    """The UPDATE of an :class:`IncidentRow`'s changes, checked against the version it was
    read at (its row is locked, so a mismatch means someone wrote it without the lock: the
    update fails, see :data:`_UPDATE_ROW`); the row counts as written from here on (a later
    write in the batch updates from its version)."""
    values = {name: getattr(incident, name) for name in incident.changed if name != "version"}
    values.update(new_version=incident.version, updated_at=incident.updated_at,
                  row_id=incident.id, row_version=incident.loaded_version)
    incident.loaded_version = incident.version
    incident.changed.clear()
    return values


def _update_rows(session: Session, updates: list[dict[str, Any]]) -> None:
    conn = session.connection()
    for values in updates:
        result = conn.execute(_UPDATE_ROW, values)  # SET the columns named in values
        expect_one(session, conn, result, f"incident {values['row_id']}")


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    session.connection().execute(_INSERT_EVENTS, rows)


#: Incident updates and new timeline events of a transaction: written at once, or, in a
#: batch of writes (server/writes.py), all together at its end (server/deferred.py).
_ROWS: Deferred[dict[str, Any]] = Deferred("incidenttui.deferred_incident_rows", _update_rows)
_EVENTS: Deferred[dict[str, Any]] = Deferred("incidenttui.deferred_events", _insert_events)


def defer_rows(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Collect this transaction's incident updates and new events until
    :func:`write_deferred_rows`; returns the lists they collect in (clear them to drop
    what a rolled-back part added)."""
    return _ROWS.start(session), _EVENTS.start(session)


def write_pending(session: Session) -> None:
    """Write the collected updates and events now (a read that must see them follows)."""
    _ROWS.flush(session)
    _EVENTS.flush(session)


def write_deferred_rows(session: Session) -> None:
    """Write the collected updates and events (at the batch's end)."""
    _ROWS.finish(session)
    _EVENTS.finish(session)


def incident_state(incident: AnyIncident) -> dict[str, Any]:
    """The incident's fields as the domain's effect functions read them."""
    return {name: getattr(incident, name) for name in _FIELDS}


def timeline(session: Session, incident_id: str) -> list[TimelineEvent]:
    write_pending(session)
    return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(col(TimelineEvent.at), col(TimelineEvent.id))).all())


def directory_changes() -> list[tuple[str, type, type]]:
    """The directory tables the feed carries, with their entity names and output schemas."""
    return [("team", Team, TeamOut), ("user", User, UserOut), ("service", Service, ServiceOut)]


def record_directory(session: Session, rows: list[Team | User | Service]) -> None:
    """Record directory rows (teams, users, services) in the change feed."""
    schemas = {table: (name, schema) for name, table, schema in directory_changes()}
    changes = []
    for row in rows:
        name, schema = schemas[type(row)]
        changes.append((name, str(row.id), schema.model_validate(row).model_dump(mode="json")))
    session.flush()
    record_changes(session, changes)
