"""De-duplication: one transaction's alerts upserted into records and groups, and the
incidents they open, join, acknowledge and resolve (:class:`Batch`).

An *alert key* is an Alertmanager ``fingerprint`` or an Events v2 ``dedup_key``; a *group
key* is an Alertmanager ``groupKey`` (for Events v2 the ``dedup_key`` again). Both are scoped
to their integration: the indexed column is :func:`key_hash` ``(integration id, key)``.
``alerts`` rows (:class:`AlertRecord`) map an alert key to its incident, ``alert_groups`` rows
a group key. A row is *active* while its incident is open; a unique index on
``(key_hash, active)`` allows one active row per key (closed rows hold NULL), so two server
replicas racing on a new key cannot open two incidents: the loser's insert fails and its retry
joins the winner's incident. A trigger joins the incident of its alert key, else the open
incident of its group, else opens a new incident. An incident that stopped being open (a
responder resolved, closed or cancelled it) releases its keys when next looked up, so a
trigger after resolve opens a new incident.

Every change goes through the server's :class:`service.Writer`: incidents are created with
:meth:`~service.Writer.create`, status moves with :meth:`~service.Writer.act` (the domain's
lifecycle rules), new alert events with :meth:`~service.Writer.event` and a repeat's updated
event with :meth:`~service.Writer.update_event`; :meth:`~service.Writer.finish` records them
all in the feed. Alert records themselves are written with Core statements, two per batch.

A batch of repeats costs two indexed look-ups (the integrations by key hash; the active alert
records joined with their incident's status and their event, row-locked on PostgreSQL), one
bulk update of records, one of events, and the feed rows; full incident rows are loaded only
to open or move one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from incidenttui.api.schemas import SLUG_PATTERN, ActionBody, EventOut, IncidentCreate
from incidenttui.domain import (
    Action,
    Category,
    EventKind,
    Refused,
    ResolutionCode,
    Status,
    can_take,
    is_open,
)
from incidenttui.domain.effects import check_new
from incidenttui.server import service
from incidenttui.server.alerts import text as txt
from incidenttui.server.alerts.integrations import KIND_LABELS
from incidenttui.server.alerts.jobs import AlertIn, Job, Outcome
from incidenttui.server.alerts.severity import alert_severity, impact_urgency
from incidenttui.server.maintenance import Holder
from incidenttui.server.models import (
    AlertGroup,
    AlertRecord,
    Incident,
    Integration,
    Service,
    TimelineEvent,
)

#: The resolution code of an automatic resolve: no code in the domain says "auto resolved".
AUTO_RESOLUTION_CODE = ResolutionCode.OTHER.value
_IN_CHUNK = 500  # keys per IN (...) look-up
_SLUG = re.compile(SLUG_PATTERN)
_CATEGORIES = {c.value: c for c in Category}


@functools.lru_cache(maxsize=65_536)
def key_hash(integration_id: str, key: str) -> str:
    """The indexed form of an alert or group key: scoped to its integration, fixed length."""
    digest = hashlib.sha256(integration_id.encode())
    digest.update(b"\x1f")
    digest.update(key.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = list(values)
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


@dataclass(frozen=True)
class IntegrationRow:
    """What a batch reads of an :class:`Integration` (loaded as a plain row)."""

    id: str
    name: str
    service: str
    kind: str
    key_hash: str
    auto_resolve: bool
    category: str
    severity_map: dict[str, Any]
    revoked_at: datetime | None


@dataclass
class _IncidentInfo:
    """What the hot path needs of an incident (the full row is loaded only to change it)."""

    id: str
    number: int
    status: str
    #: the number's series (domain/refs.py)
    series: str = "INC"


@dataclass
class _Record:
    """An ``alerts`` row held in memory for one transaction, written back with Core
    statements (the ORM's unit of work costs more than the rest of a repeat)."""

    id: str
    integration_id: str
    incident_id: str
    key_hash: str
    alert_key: str
    status: str
    severity: str
    summary: str
    count: int
    first_seen: datetime
    last_seen: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    resolved_at: datetime | None
    active: bool | None
    details: dict[str, Any]
    # its timeline event: the ORM row when made in this transaction, else what was loaded
    event: TimelineEvent | None = None
    event_at: datetime | None = None
    event_actor: str | None = None
    event_text: str = ""
    event_data: dict[str, Any] | None = None
    in_db: bool = True
    dirty: bool = False

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _RECORD_COLUMNS}


_RECORD_COLUMNS = [c.name for c in AlertRecord.__table__.columns]
ALERTS = AlertRecord.__table__
EVENTS = TimelineEvent.__table__
INCIDENTS = Incident.__table__
# Statements built once: building them costs more than running them on a hot path.
_KEYS = bindparam("keys", expanding=True)
INTEGRATIONS = Integration.__table__
#: The integration columns a batch reads, as plain rows (an ORM object per batch costs more
#: than the query).
_LOAD_INTEGRATIONS = select(*(INTEGRATIONS.c[name] for name in (
    "id", "name", "service", "kind", "key_hash", "auto_resolve", "category", "severity_map",
    "revoked_at"))).where(INTEGRATIONS.c.key_hash.in_(_KEYS))
#: Active records with their incident's number and status and their event, row-locked
#: (PostgreSQL; SQLite writers are serialised already) in key order so that two replicas'
#: batches never deadlock: a repeat's count is read and raised under the lock, and no
#: replica's increment is lost.
_LOAD_RECORDS = (
    select(ALERTS, INCIDENTS.c.number.label("incident_number"),
           INCIDENTS.c.series.label("incident_series"),
           INCIDENTS.c.status.label("incident_status"), EVENTS.c.at.label("event_at"),
           EVENTS.c.actor.label("event_actor"), EVENTS.c.text.label("event_text"),
           EVENTS.c.data.label("event_data"))
    .join(INCIDENTS, INCIDENTS.c.id == ALERTS.c.incident_id)
    .outerjoin(EVENTS, EVENTS.c.id == ALERTS.c.id)
    .where(ALERTS.c.key_hash.in_(_KEYS), ALERTS.c.active.is_(True))
    .order_by(ALERTS.c.key_hash).with_for_update(of=ALERTS))
_LOAD_GROUPS = select(AlertGroup).where(col(AlertGroup.key_hash).in_(_KEYS),
                                        col(AlertGroup.active).is_(True))
_INSERT_RECORDS = insert(ALERTS)
_UPDATE_RECORDS = update(ALERTS).where(ALERTS.c.id == bindparam("b_id")).values(
    {name: bindparam(name) for name in _RECORD_COLUMNS if name != "id"})
_FIRING = select(ALERTS.c.id).where(ALERTS.c.incident_id == bindparam("incident"),
                                    ALERTS.c.active.is_(True), ALERTS.c.status == "firing"
                                    ).limit(1)
_ACTIVE = select(ALERTS.c.id).where(ALERTS.c.incident_id == bindparam("incident"),
                                    ALERTS.c.active.is_(True))
_RELEASE_RECORDS = update(ALERTS).where(ALERTS.c.incident_id == bindparam("incident"),
                                        ALERTS.c.active.is_(True)).values(active=None)


class Batch:
    """One transaction's de-duplication state: every row it needs, looked up in bulk."""

    def __init__(self, session: Session, writer: service.Writer) -> None:
        self.session = session
        self.writer = writer
        self.integrations: dict[str, IntegrationRow] = {}
        self.records: dict[str, _Record] = {}
        self.groups: dict[str, AlertGroup] = {}
        self.groups_loaded: set[str] = set()
        self.info: dict[str, _IncidentInfo] = {}
        self.incidents: dict[str, Incident] = {}
        self.services: dict[str, bool] = {}
        self.created: set[str] = set()
        self.locked: set[str] = set()
        self.shown: dict[str, _Record] = {}
        self.holder = Holder(session, writer.now)

    # -- look-ups --------------------------------------------------------------------------

    def load(self, jobs: list[Job]) -> None:
        """Every integration and active alert record the jobs name, in two queries."""
        session = self.session
        for chunk in _chunks({job.key_hash for job in jobs}):
            for row in session.execute(_LOAD_INTEGRATIONS, {"keys": chunk}):
                self.integrations[row.key_hash] = IntegrationRow(*row)
        record_keys: set[str] = set()
        for job in jobs:
            integration = self.integration_for(job)
            if integration is not None:
                record_keys.update(key_hash(integration.id, a.key) for a in job.alerts)
        for chunk in _chunks(sorted(record_keys)):
            for row in session.execute(_LOAD_RECORDS, {"keys": chunk}).mappings():
                record = _Record(**{name: row[name] for name in _RECORD_COLUMNS},
                                 event_at=row["event_at"], event_actor=row["event_actor"],
                                 event_text=row["event_text"] or "",
                                 event_data=row["event_data"])
                self.records[record.key_hash] = record
                self.info.setdefault(record.incident_id, _IncidentInfo(
                    record.incident_id, row["incident_number"], row["incident_status"],
                    row["incident_series"]))
        group_keys: set[str] = set()
        for job in jobs:
            integration = self.integration_for(job)
            if integration is not None:
                group_keys.update(key_hash(integration.id, a.group_key) for a in job.alerts
                                  if key_hash(integration.id, a.key) not in self.records)
        self.load_groups(group_keys)

    def load_groups(self, hashes: Iterable[str]) -> None:
        """The active group rows of these group key hashes (only alerts not seen yet need
        them)."""
        wanted = set(hashes) - self.groups_loaded
        if not wanted:
            return
        self.groups_loaded |= wanted
        for chunk in _chunks(sorted(wanted)):
            for group in self.session.exec(_LOAD_GROUPS, params={"keys": chunk}):
                self.groups[group.key_hash] = group

    def integration_for(self, job: Job) -> IntegrationRow | None:
        integration = self.integrations.get(job.key_hash)
        if integration is None or integration.revoked_at is not None:
            return None
        return integration

    def incident(self, incident_id: str) -> Incident | None:
        """The full incident row (loaded on first need, for a status move or a new alert)."""
        incident = self.incidents.get(incident_id)
        if incident is None:
            incident = self.session.get(Incident, incident_id)
            if incident is not None:
                self.incidents[incident_id] = incident
                self.info[incident_id] = _IncidentInfo(incident.id, incident.number,
                                                       str(incident.status), incident.series)
        return incident

    def status_of(self, incident_id: str) -> Status | None:
        incident = self.incidents.get(incident_id)
        if incident is not None:
            return Status(incident.status)
        info = self.info.get(incident_id)
        if info is None:
            loaded = self.incident(incident_id)
            return Status(loaded.status) if loaded is not None else None
        return Status(info.status)

    def summary_of(self, incident_id: str) -> _IncidentInfo:
        incident = self.incidents.get(incident_id)
        if incident is not None:
            return _IncidentInfo(incident.id, incident.number, str(incident.status),
                                 incident.series)
        return self.info[incident_id]

    def is_open(self, incident_id: str) -> bool:
        status = self.status_of(incident_id)
        return status is not None and is_open(status)

    def open_record(self, integration: IntegrationRow, key: str) -> _Record | None:
        """The alert key's record, if its incident is still open."""
        record = self.records.get(key_hash(integration.id, key))
        if record is None or record.active is not True:
            return None
        if not self.is_open(record.incident_id):
            self.release(record.incident_id)
            return None
        return record

    def open_group(self, integration: IntegrationRow, group_key: str) -> AlertGroup | None:
        """The group key's row, if its incident is still open."""
        hashed = key_hash(integration.id, group_key)
        self.load_groups([hashed])
        group = self.groups.get(hashed)
        if group is None or group.active is not True:
            return None
        if not self.is_open(group.incident_id):
            self.release(group.incident_id)
            return None
        return group

    def release(self, incident_id: str) -> None:
        """The incident takes no more alerts: close its records and groups."""
        self.write_records()
        now = self.writer.now
        self.session.execute(_RELEASE_RECORDS, {"incident": incident_id})
        for record in self.records.values():
            if record.incident_id == incident_id:
                record.active = None
        self.session.execute(
            update(AlertGroup).where(col(AlertGroup.incident_id) == incident_id,
                                     col(AlertGroup.active).is_(True))
            .values(active=None, closed_at=now),
            execution_options={"synchronize_session": "fetch"})

    def service_exists(self, service_id: str) -> bool:
        known = self.services.get(service_id)
        if known is None:
            known = self.services[service_id] = (
                self.session.get(Service, service_id) is not None)
        return known

    # -- a job -----------------------------------------------------------------------------

    def run(self, job: Job) -> Outcome:
        integration = self.integration_for(job)
        if integration is None:
            return Outcome("unauthorized", "The integration key is not valid (revoked, or "
                                           "never issued).")
        if integration.kind != job.kind:
            other = KIND_LABELS[integration.kind]
            return Outcome("wrong_kind", f"This key belongs to an {other} integration.")
        outcome = Outcome(alerts=len(job.alerts))
        settle: dict[str, None] = {}
        for alert in job.alerts:
            if alert.action == "trigger":
                self.trigger(integration, alert, outcome)
            elif alert.action == "acknowledge":
                self.acknowledge(integration, alert, outcome)
            else:
                incident_id = self.resolve(integration, alert, outcome)
                if incident_id is not None:
                    settle[incident_id] = None
        for incident_id in settle:
            self.settle(integration, incident_id, outcome)
        return outcome

    def trigger(self, integration: IntegrationRow, alert: AlertIn, outcome: Outcome) -> None:
        record = self.open_record(integration, alert.key)
        if record is not None:
            self.repeat(integration, record, alert)
            outcome.repeats += 1
            outcome.touch(self.summary_of(record.incident_id))
            return
        group = self.open_group(integration, alert.group_key)
        if group is not None:
            incident = self.incident(group.incident_id)
            assert incident is not None
            outcome.joined += 1
            outcome.touch(incident)
        elif self.held(integration, alert):
            outcome.held += 1
            return
        else:
            incident = self.create_incident(integration, alert)
            self.add_group(integration, alert.group_key, incident)
            outcome.created += 1
            outcome.touch(incident, created=True)
        self.add_record(integration, alert, incident)

    def acknowledge(self, integration: IntegrationRow, alert: AlertIn, outcome: Outcome) -> None:
        record = self.open_record(integration, alert.key)
        if record is None:
            outcome.ignored += 1
            return
        incident = self.lock(record.incident_id)
        if incident is not None and can_take(incident.status, Action.ACKNOWLEDGE):
            self.writer.act(incident, Action.ACKNOWLEDGE, ActionBody())
            outcome.acknowledged += 1
        if incident is not None:
            outcome.touch(incident)

    def resolve(self, integration: IntegrationRow, alert: AlertIn, outcome: Outcome) -> str | None:
        """Record a resolved alert; returns its incident's id when it was firing till now."""
        record = self.open_record(integration, alert.key)
        if record is None and self.holder.recover(key_hash(integration.id, alert.key)):
            outcome.held += 1
            return None
        if record is None or record.status == "resolved":
            outcome.ignored += 1
            return None
        now = self.writer.now
        record.status = "resolved"
        record.resolved_at = now
        record.last_seen = now
        record.ends_at = txt.not_after(alert.ends_at, now) or now
        record.dirty = True
        self.show(integration, record)
        outcome.resolved += 1
        outcome.touch(self.summary_of(record.incident_id))
        return record.incident_id

    def settle(self, integration: IntegrationRow, incident_id: str, outcome: Outcome) -> None:
        """Every alert of the incident may have recovered: apply the integration's rule."""
        self.write_records()
        firing = self.session.execute(_FIRING, {"incident": incident_id}).first()
        if firing is not None:
            return
        incident = self.lock(incident_id)
        if incident is None or not is_open(incident.status):
            return
        if not integration.auto_resolve:
            self.writer.event(incident, EventKind.ALERT,
                              "Every alert has recovered; a responder resolves the incident "
                              "(this integration does not resolve by itself).",
                              data={"all_resolved": True, "auto_resolve": False})
            outcome.touch(incident)
            return
        alerts = len(self.session.execute(_ACTIVE, {"incident": incident_id}).all())
        note = (f"Resolved automatically: every alert recovered ({alerts} alert"
                f"{'' if alerts == 1 else 's'}; {integration.name}).")
        if can_take(incident.status, Action.ACKNOWLEDGE):
            self.writer.act(incident, Action.ACKNOWLEDGE, ActionBody())
        if can_take(incident.status, Action.RESOLVE):
            self.writer.act(incident, Action.RESOLVE, ActionBody(
                resolution_code=AUTO_RESOLUTION_CODE, resolution_note=note))
            self.release(incident_id)
            outcome.auto_resolved += 1
        outcome.touch(incident)

    def service_for(self, integration: IntegrationRow, alert: AlertIn) -> str:
        """The service an alert's incident is for: its ``service`` label when that names a
        service, else the integration's."""
        wanted = (alert.labels.get("service") or "").strip()
        return wanted if wanted and self.service_exists(wanted) else integration.service

    def held(self, integration: IntegrationRow, alert: AlertIn) -> bool:
        """Hold back a trigger that would open an incident for a service in a maintenance
        window (server/maintenance.py): recorded, no incident, nobody paged."""
        window = self.holder.window_for(self.service_for(integration, alert))
        if window is None:
            return False
        self.holder.hold(window, integration.id, key_hash(integration.id, alert.key), {
            "alert_key": txt.text(alert.key, 100_000),
            "group_key": txt.text(alert.group_key, 100_000),
            "service": self.service_for(integration, alert),
            "severity": (alert.severity or "")[:20] or None,
            "summary": txt.text(alert.summary, txt.TEXT_MAX),
            "source": txt.text(alert.source, 1024), "labels": txt.clean(dict(alert.labels)),
            "details": txt.clean(dict(alert.details)),
            "starts_at": txt.not_after(alert.starts_at, self.writer.now)})
        return True

    # -- writes ----------------------------------------------------------------------------

    def lock(self, incident_id: str) -> Incident | None:
        """The incident, re-read under a row lock (PostgreSQL) before a status move, so a
        responder's concurrent change is never overwritten with stale fields."""
        incident = self.incident(incident_id)
        if incident is None or incident_id in self.locked or incident_id in self.created:
            return incident
        if sa_inspect(incident).persistent:
            self.session.flush()
            self.session.refresh(incident, with_for_update=True)
        self.locked.add(incident_id)
        return incident

    def create_incident(self, integration: IntegrationRow, alert: AlertIn) -> Incident:
        now = self.writer.now
        labels = alert.labels
        impact, urgency = impact_urgency(integration, alert)
        service_id = self.service_for(integration, alert)
        category = (labels.get("category") or "").strip().lower()
        if category not in _CATEGORIES:
            category = integration.category
        description = alert.description() if callable(alert.description) else alert.description
        fields = {"title": txt.title(alert.summary, alert.source),
                  "description": txt.text(description, txt.TEXT_MAX), "service": service_id,
                  "category": _CATEGORIES.get(category, category), "impact": impact,
                  "urgency": urgency,
                  "detected_at": now, "started_at": txt.not_after(alert.starts_at, now)}
        try:
            if len(service_id) > 64 or not _SLUG.match(service_id):
                # a service made outside the API: no client could name it (the wire's Slug)
                raise Refused(f"Service id {service_id!r} is not a valid id.", "service")
            check_new(fields)
        except Refused as exc:
            raise Refused(f"Cannot open an incident for this alert: {exc.reason}", exc.field,
                          exc.kind) from None
        # Checked above by the domain's rules; the sanitised text needs no second validation.
        incident = self.writer.create(IncidentCreate.model_construct(id=uuid.uuid4(), **fields),
                                      new_id=True)
        self.incidents[incident.id] = incident
        self.info[incident.id] = _IncidentInfo(incident.id, incident.number,
                                               str(incident.status), incident.series)
        self.created.add(incident.id)
        return incident

    def add_group(self, integration: IntegrationRow, group_key: str, incident: Incident) -> None:
        group = AlertGroup(id=str(uuid.uuid4()), integration_id=integration.id,
                           key_hash=key_hash(integration.id, group_key),
                           group_key=txt.text(group_key, 100_000), incident_id=incident.id,
                           active=True, created_at=self.writer.now)
        self.session.add(group)
        self.groups[group.key_hash] = group

    def add_record(self, integration: IntegrationRow, alert: AlertIn, incident: Incident) -> None:
        now = self.writer.now
        record = _Record(
            id=str(uuid.uuid4()), integration_id=integration.id, incident_id=incident.id,
            key_hash=key_hash(integration.id, alert.key), alert_key=txt.text(alert.key, 100_000),
            status="firing", severity=alert_severity(alert),
            summary=txt.text(alert.summary, txt.TEXT_MAX), count=1, first_seen=now, last_seen=now,
            starts_at=txt.not_after(alert.starts_at, now), ends_at=None, resolved_at=None,
            active=True, details=txt.clean(dict(alert.details)), in_db=False, dirty=True)
        self.records[record.key_hash] = record
        data = {"source": integration.kind, "integration": integration.id,
                "key": txt.text(alert.key, 1024), "group_key": txt.text(alert.group_key, 1024)}
        data.update(_event_state(record))
        data.update(_event_details(record))
        record.event = self.writer.event(incident, EventKind.ALERT,
                                         _event_text(integration, record),
                                         event_id=record.id, data=data)

    def repeat(self, integration: IntegrationRow, record: _Record, alert: AlertIn) -> None:
        now = self.writer.now
        record.count += 1
        record.last_seen = now
        if alert.summary.strip():
            record.summary = txt.text(alert.summary, txt.TEXT_MAX)
        record.severity = alert_severity(alert)
        record.details = txt.clean(dict(alert.details))
        if record.status != "firing":  # fired again before anyone resolved the incident
            record.status = "firing"
            record.resolved_at = None
            record.ends_at = None
            record.starts_at = txt.not_after(alert.starts_at, now) or record.starts_at
        record.dirty = True
        self.show(integration, record, alert)

    def show(self, integration: IntegrationRow, record: _Record,
             alert: AlertIn | None = None) -> None:
        """Bring the record's timeline event up to date (it is put in the feed again)."""
        base = record.event.data if record.event is not None else record.event_data
        data = dict(base or {})
        data.update(_event_state(record))
        if alert is not None:
            data.update(_event_details(record))
        text = _event_text(integration, record)
        if record.event is not None:  # made in this transaction: the Writer records it
            record.event.data = data
            record.event.text = text
        elif record.event_at is not None:
            record.event_data = data
            record.event_text = text
            self.shown[record.id] = record

    def write_records(self) -> None:
        """Write changed records with one statement per kind."""
        inserts, updates = [], []
        for record in self.records.values():
            if record.dirty:
                (updates if record.in_db else inserts).append(record.row())
                record.in_db, record.dirty = True, False
        if inserts:
            self.session.execute(_INSERT_RECORDS, inserts)
        if updates:
            self.session.execute(_UPDATE_RECORDS, [{**row, "b_id": row["id"]} for row in updates])

    def finish(self) -> None:
        """Write everything and record it in the change feed (call last)."""
        self.write_records()
        for r in self.shown.values():  # a key's repeats in this batch: one update, one feed row
            self.writer.update_event(EventOut(
                id=r.id, incident_id=r.incident_id, at=r.event_at, kind=EventKind.ALERT,
                actor=r.event_actor, text=r.event_text, data=r.event_data or {}))
        self.writer.finish()


# -- timeline text and data ---------------------------------------------------------------


def _event_state(record: _Record) -> dict[str, Any]:
    return {"status": record.status, "count": record.count, "severity": record.severity,
            "summary": txt.text(record.summary, 1024), "first_seen": txt.iso(record.first_seen),
            "last_seen": txt.iso(record.last_seen), "starts_at": txt.iso(record.starts_at),
            "ends_at": txt.iso(record.ends_at), "resolved_at": txt.iso(record.resolved_at)}


def _event_details(record: _Record) -> dict[str, Any]:
    """The record's details (cleaned already), shortened for its timeline event."""
    return {name: txt.short(value, cleaned=True) for name, value in record.details.items()}


def _event_text(integration: IntegrationRow, record: _Record) -> str:
    """One line for the timeline: where from, its state and count, and its summary."""
    times = f" ×{record.count}" if record.count > 1 else ""
    if record.status == "resolved":
        state = f"resolved (fired{times})" if times else "resolved"
    else:
        state = f"firing{times}"
    summary = " ".join(record.summary.split()) or record.alert_key
    return txt.text(f"{KIND_LABELS[integration.kind]} alert {state}: {summary}", 2000)
