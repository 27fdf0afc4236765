"""Alert ingestion: monitoring events de-duplicated into incidents.

Two sources speak here (their HTTP side is :mod:`incidenttui.server.alerts_api`): Prometheus
Alertmanager webhooks and PagerDuty Events API v2 events. Both arrive as :class:`AlertIn`
values and take the same path, the server's ordinary write path: incidents are created with
:meth:`service.Writer.create`, status moves go through :meth:`service.Writer.act` (the domain's
lifecycle rules), and :meth:`service.Writer.finish` records every change in the feed, so the
clients sync alert-made incidents like any other. The actor is the ``incidenttui`` system user
(role responder, no token), created on first use.

De-duplication
    An *alert key* is an Alertmanager ``fingerprint`` or an Events v2 ``dedup_key``; a *group
    key* is an Alertmanager ``groupKey`` (for Events v2 the ``dedup_key`` again). Both are
    scoped to their integration: the indexed column is ``sha256(integration id, key)``.
    ``alerts`` rows (:class:`AlertRecord`) map an alert key to its incident, ``alert_groups``
    rows a group key. A row is *active* while its incident is open; a unique index on
    ``(key_hash, active)`` allows one active row per key (closed rows hold NULL), so two server
    replicas racing on a new key cannot open two incidents: the loser's insert fails and its
    retry joins the winner's incident. A trigger joins the incident of its alert key, else the
    open incident of its group, else opens a new incident. An incident that stopped being open
    (a responder resolved, closed or cancelled it) releases its keys when next looked up, so a
    trigger after resolve opens a new incident.

Repeats
    Each alert key appears once on its incident's timeline: one ``alert`` event, whose id is
    the :class:`AlertRecord` id. A repeat raises ``count`` and ``last_seen`` on the record and
    on that event's ``data`` (its text shows "firing ×N"), and the event's new snapshot is put
    in the change feed again under the same id. We chose this over appending "repeat" summary
    events because the count on every client is then exact and current, the timeline stays one
    line per alert however long a storm lasts, and the clients already upsert events by id
    (the store's ``apply_changes``); the server owns alert events, so no client edit can
    conflict with the update. Within one group commit a key's repeats coalesce into one feed
    entry, so a storm costs one feed row per alert per batch, not per event. A repeat keeps the
    alert's latest summary, severity and details, but never changes the incident's fields:
    once an incident exists, its priority and title belong to the responders.

Mapping
    Severity (Events v2 ``payload.severity``; Alertmanager's ``severity`` label, with common
    aliases such as ``page`` or ``warn``; missing or unknown counts as ``warning``) gives
    impact and urgency: critical 1/1 (P1), error 2/1 (P2), warning 2/2 (P3), info 3/3 (P5),
    which an integration may override per severity. Alertmanager labels ``impact`` and
    ``urgency`` (1–3), ``category`` (a known category) and ``service`` (a known service)
    override the rest; the title is the ``summary`` annotation, else the alert name, and
    ``startsAt`` (Events v2: ``payload.timestamp``) is the incident's start, so the time to
    detect is known.

Resolution
    A resolved alert is recorded on its record and event. When no alert of an incident is still
    firing, the integration's rule decides: with ``auto_resolve`` the incident is resolved by
    the system user with resolution code ``other`` (the domain has no "auto resolved" code) and
    a resolution note saying why, which the timeline shows; the lifecycle forbids new →
    resolved, so a never-acknowledged incident is first acknowledged by the system user, and
    both moves appear on the timeline with that actor (acknowledged_at then reads as the
    recovery time, which KPIs can tell apart by the actor). Without ``auto_resolve`` an
    ``alert`` event says every alert recovered and the incident waits for a responder. An
    Events v2 ``acknowledge`` acknowledges a new incident and is a no-op otherwise.

Throughput
    Requests are written in group commits (:class:`Ingestor`): a request queues its job and
    awaits it; one writer thread writes every job queued meanwhile in one transaction and one
    commit (one fsync on SQLite), waiting 2 ms for company when a job arrives alone. A batch
    of repeats costs two indexed look-ups (the integrations by key hash; the active alert
    records joined with their incident's status and their event, row-locked on PostgreSQL),
    one bulk update of records, one of events, and the feed rows; full incident rows are
    loaded only to open or move one. If a batch fails, each of its jobs
    is retried alone, so one bad job cannot take others down with it, and a job is either
    written whole or not at all. The requests of a batch are woken with one hand-off to the
    event loop, and a valid Events v2 body reaches :class:`Job` without FastAPI's request
    machinery (``alerts_api.EventsFastPath``). ``benchmarks/alerts_throughput.py`` measures
    it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from incidenttui.api.schemas import ActionBody, EventOut, IncidentCreate
from incidenttui.domain import Action, Category, EventKind, Refused, ResolutionCode, Role, Status
from incidenttui.domain.lifecycle import MOVES
from incidenttui.server import service
from incidenttui.server.auth import hash_token
from incidenttui.server.changes import record_changes
from incidenttui.server.db import Database
from incidenttui.server.models import (
    AlertGroup,
    AlertRecord,
    Incident,
    Integration,
    Service,
    TimelineEvent,
    User,
)
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server.alerts")

#: Integration kinds: an Alertmanager webhook receiver, or an Events API v2 source.
KINDS = ("alertmanager", "events")
KIND_LABELS = {"alertmanager": "Alertmanager", "events": "Events API"}
#: The user alert-made changes are attributed to.
SYSTEM_USER = "incidenttui"
#: The largest request body the ingestion endpoints read (PagerDuty's own limit per event).
MAX_BODY_BYTES = 512 * 1024
#: The severities of Events v2, most severe first.
SEVERITIES = ("critical", "error", "warning", "info")
#: severity -> (impact, urgency); P1, P2, P3 and P5 by the ITIL matrix.
DEFAULT_SEVERITY_MAP: dict[str, tuple[int, int]] = {
    "critical": (1, 1), "error": (2, 1), "warning": (2, 2), "info": (3, 3)}
#: What an Alertmanager alert without a known ``severity`` label counts as.
DEFAULT_SEVERITY = "warning"
#: Severity label values that teams commonly use, mapped onto the four.
SEVERITY_ALIASES = {
    "crit": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "high": "error", "err": "error", "major": "error",
    "warn": "warning", "medium": "warning", "minor": "warning", "average": "warning",
    "low": "info", "information": "info", "informational": "info", "notice": "info",
    "none": "info", "ok": "info",
}
#: The resolution code of an automatic resolve: no code in the domain says "auto resolved".
AUTO_RESOLUTION_CODE = ResolutionCode.OTHER.value
#: Group commits write at most this many jobs at once.
MAX_BATCH = 256
#: How often a job is tried alone before the answer is "unavailable, retry".
ATTEMPTS = 3
#: The writer thread ends after this long without a job (a new job starts it again).
IDLE_SECONDS = 30.0
#: How long the writer waits for company when a job arrives alone (see Ingestor._run).
GATHER_SECONDS = float(os.environ.get("INCIDENTTUI_ALERT_GATHER_SECONDS", "0.002"))
_IN_CHUNK = 500  # keys per IN (...) look-up
_TITLE_MAX = 300
_TEXT_MAX = 20_000
_DETAIL_MAX = 4_096  # bytes of JSON per detail value on a timeline event


# -- keys ---------------------------------------------------------------------------------


def new_integration_key() -> str:
    """A new integration key: 128 random bits as 32 hex characters, the length of a
    PagerDuty routing key, so Events v2 senders that check the length accept it."""
    return secrets.token_hex(16)


@functools.lru_cache(maxsize=65_536)
def key_hash(integration_id: str, key: str) -> str:
    """The indexed form of an alert or group key: scoped to its integration, fixed length."""
    digest = hashlib.sha256(integration_id.encode())
    digest.update(b"\x1f")
    digest.update(key.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


# -- integrations -------------------------------------------------------------------------


def normalise_severity(value: str | None) -> str | None:
    """``critical``/``error``/``warning``/``info`` for ``value`` (aliases allowed), or None."""
    if not value:
        return None
    value = value.strip().lower()
    if value in SEVERITIES:
        return value
    return SEVERITY_ALIASES.get(value)


def severity_targets(integration: Integration | IntegrationRow
                     ) -> dict[str, tuple[int, int]]:
    """The integration's severity → (impact, urgency) mapping: the defaults, overridden."""
    targets = dict(DEFAULT_SEVERITY_MAP)
    for name, value in (integration.severity_map or {}).items():
        if name in targets and isinstance(value, Mapping):
            targets[name] = (int(value["impact"]), int(value["urgency"]))
    return targets


def create_integration(session: Session, *, service_id: str, kind: str, name: str | None = None,
                       auto_resolve: bool = True, category: str = Category.AVAILABILITY.value,
                       severity_map: Mapping[str, Mapping[str, int]] | None = None,
                       created_by: str | None = None) -> tuple[Integration, str]:
    """Create an integration; return it and its key (shown once: only the hash is kept).

    Raises :class:`Refused` naming the field for an unknown service, kind, category or
    severity, or an impact/urgency outside 1..3.
    """
    if kind not in KINDS:
        raise Refused(f"Unknown kind {kind!r}: use 'alertmanager' or 'events'.", "kind")
    if session.get(Service, service_id) is None:
        raise Refused(f"Unknown service {service_id!r}.", "service")
    if category not in {c.value for c in Category}:
        raise Refused(f"Unknown category {category!r}.", "category")
    mapping: dict[str, dict[str, int]] = {}
    for severity, target in (severity_map or {}).items():
        if severity not in SEVERITIES:
            raise Refused(f"Unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}.",
                          "severity_map")
        impact, urgency = int(target["impact"]), int(target["urgency"])
        if not (1 <= impact <= 3 and 1 <= urgency <= 3):
            raise Refused("Impact and urgency run from 1 (high) to 3 (low).", "severity_map")
        mapping[severity] = {"impact": impact, "urgency": urgency}
    key = new_integration_key()
    integration = Integration(
        id=str(uuid.uuid4()), name=(name or f"{KIND_LABELS[kind]} for {service_id}")[:200],
        service=service_id, kind=kind, key_hash=hash_token(key), auto_resolve=auto_resolve,
        category=category, severity_map=mapping, created_by=created_by, created_at=utcnow())
    session.add(integration)
    session.flush()
    return integration, key


def revoke_integration(session: Session, integration_id: str) -> Integration:
    """Revoke an integration's key (idempotent); raises :class:`service.NotFound`."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise service.NotFound(f"no integration {integration_id!r}")
    if integration.revoked_at is None:
        integration.revoked_at = utcnow()
        session.add(integration)
        session.flush()
    return integration


def list_integrations(session: Session) -> list[Integration]:
    return list(session.exec(select(Integration).order_by(col(Integration.created_at),
                                                          col(Integration.id))).all())


def ensure_system_user(session: Session) -> None:
    """Create the ``incidenttui`` system user (no token: nobody can log in as it)."""
    if session.get(User, SYSTEM_USER) is None:
        user = User(id=SYSTEM_USER, display_name="incidenttui (alert ingestion)",
                    role=Role.RESPONDER.value, token_hash=None, active=True)
        session.add(user)
        service.record_directory(session, [user])


# -- what arrives -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertIn:
    """One alert occurrence, whatever format it came in.

    ``labels`` carries the overrides an Alertmanager alert may set (``severity``, ``service``,
    ``category``, ``impact``, ``urgency``); ``details`` is kept on the alert record and shown,
    shortened, on its timeline event.
    """

    action: str  # "trigger" | "acknowledge" | "resolve"
    key: str
    group_key: str
    summary: str = ""
    severity: str | None = None
    source: str = ""
    #: the new incident's description, or a function making it (only called for a new one)
    description: str | Callable[[], str] = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class IncidentResult:
    """An incident a job touched, as the answer reports it."""

    id: str
    ref: str
    status: str
    created: bool = False


@dataclass
class Outcome:
    """What a job did, or why it was refused."""

    status: str = "ok"  # ok | unauthorized | wrong_kind | refused | unavailable
    message: str = ""
    alerts: int = 0
    created: int = 0
    joined: int = 0
    repeats: int = 0
    resolved: int = 0
    acknowledged: int = 0
    ignored: int = 0
    auto_resolved: int = 0
    incidents: dict[str, IncidentResult] = field(default_factory=dict)

    def touch(self, incident: Incident, created: bool = False) -> None:
        result = self.incidents.get(incident.id)
        if result is None:
            result = self.incidents[incident.id] = IncidentResult(
                incident.id, service.ref(incident.number), str(incident.status), created)
        result.status = str(incident.status)


@dataclass
class Job:
    """One request's alerts, for the integration whose key hashes to ``key_hash``."""

    kind: str
    key_hash: str
    alerts: list[AlertIn]
    outcome: Outcome | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    #: called (in the writer thread) once the job is done
    on_done: Callable[[], None] | None = None
    #: the event loop and future of a request awaiting this job (:meth:`Ingestor.submit_async`)
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def result(self) -> Outcome:
        """The outcome of a done job; re-raises the error of a job that failed unexpectedly."""
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


# -- group commit -------------------------------------------------------------------------


class Ingestor:
    """Writes jobs in group commits: one writer thread takes every job queued while it wrote
    the last batch into one transaction. Request handlers queue a job and wait for it
    (:meth:`submit_async` without holding a thread). The thread starts on the first job and
    ends after :data:`IDLE_SECONDS` without one, so there is nothing to start or stop with the
    app."""

    def __init__(self, db: Database, notify: Callable[[], None] | None = None,
                 max_batch: int = MAX_BATCH, gather: float | None = None) -> None:
        self.db = db
        self.notify = notify or (lambda: None)
        self.max_batch = max_batch
        self.gather = GATHER_SECONDS if gather is None else gather
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self._system_user_ready = False
        # Who the writes are attributed to (never added to a session; made once, as building
        # a table model costs about as much as a repeat).
        self._actor = User(id=SYSTEM_USER, display_name=SYSTEM_USER, role=Role.RESPONDER.value)

    def submit(self, job: Job) -> Outcome:
        """Write ``job`` and return its outcome (blocking); re-raises an unexpected error."""
        self._enqueue(job)
        job.done.wait()
        return job.result()

    async def submit_async(self, job: Job) -> Outcome:
        """:meth:`submit` for the event loop: waits without holding a thread."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        job.waiter = (loop, waiter)  # woken with the rest of its batch: one hand-off per batch
        self._enqueue(job)
        await waiter
        return job.result()

    def _enqueue(self, job: Job) -> None:
        self._jobs.put(job)
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="alert-writer",
                                                daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._jobs.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._writer = None
                        return
                continue
            if self.gather and self._jobs.empty():
                # Requests arriving together reach the queue one by one as the event loop
                # parses them: a moment's wait lets them share the batch and its commit.
                time.sleep(self.gather)
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            self.write_batch(batch)

    def write_batch(self, batch: list[Job]) -> None:
        """Write ``batch`` as one group commit and set each job's outcome (``submit`` calls
        this for whatever is queued)."""
        try:
            try:
                outcomes = self._write(batch)
            except Exception as exc:
                if len(batch) == 1:
                    outcomes = [self._alone(batch[0], exc)]
                else:
                    log.info("alert batch of %d failed (%s); writing its jobs one by one",
                             len(batch), type(exc).__name__)
                    outcomes = [self._alone(job) for job in batch]
            for job, outcome in zip(batch, outcomes, strict=True):
                job.outcome = outcome
        except BaseException as exc:  # never leave a waiter hanging
            for job in batch:
                if job.outcome is None and job.error is None:
                    job.error = exc
        finally:
            if any(j.outcome is not None and j.outcome.status == "ok" for j in batch):
                with contextlib.suppress(Exception):
                    self.notify()
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for job in batch:
                job.done.set()
                if job.on_done is not None:
                    job.on_done()
                if job.waiter is not None:
                    waiting.setdefault(job.waiter[0], []).append(job.waiter[1])
            for loop, futures in waiting.items():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_wake, futures)

    def _alone(self, job: Job, error: Exception | None = None) -> Outcome:
        """Write one job in its own transaction, retrying lost races and connections."""
        tries = 0
        while True:
            if isinstance(error, Refused):
                return Outcome("refused", error.reason)
            if error is not None and not isinstance(error, IntegrityError | OperationalError):
                log.error("alert job failed", exc_info=error)
                job.error = error  # a bug: the request answers 500 and the log tells why
                return Outcome("refused", "The alert could not be processed.")
            if error is not None and tries >= ATTEMPTS:
                log.warning("alert job failed %d times: %s", tries, error)
                return Outcome("unavailable",
                               "The database is busy or unavailable; retry shortly.")
            if error is not None:
                log.debug("alert job retried after %s", type(error).__name__)
            tries += 1
            try:
                return self._write([job])[0]
            except Exception as exc:
                error = exc

    def _write(self, jobs: list[Job]) -> list[Outcome]:
        with self.db.write() as session:
            if not self._system_user_ready:
                ensure_system_user(session)
            writer = service.Writer(session, self._actor)
            batch = _Batch(session, writer)
            batch.load(jobs)
            outcomes = [batch.run(job) for job in jobs]
            batch.finish()
        self._system_user_ready = True
        return outcomes


def _wake(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a request cancelled meanwhile has its future cancelled
            future.set_result(None)


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
_UPDATE_EVENTS = update(EVENTS).where(EVENTS.c.id == bindparam("b_id")).values(
    text=bindparam("text"), data=bindparam("data"))
_FIRING = select(ALERTS.c.id).where(ALERTS.c.incident_id == bindparam("incident"),
                                    ALERTS.c.active.is_(True), ALERTS.c.status == "firing"
                                    ).limit(1)
_ACTIVE = select(ALERTS.c.id).where(ALERTS.c.incident_id == bindparam("incident"),
                                    ALERTS.c.active.is_(True))
_RELEASE_RECORDS = update(ALERTS).where(ALERTS.c.incident_id == bindparam("incident"),
                                        ALERTS.c.active.is_(True)).values(active=None)


class _Batch:
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
                    record.incident_id, row["incident_number"], row["incident_status"]))
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
                                                       str(incident.status))
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
            return _IncidentInfo(incident.id, incident.number, str(incident.status))
        return self.info[incident_id]

    def is_open(self, incident_id: str) -> bool:
        status = self.status_of(incident_id)
        return status is not None and status.is_open

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
        if incident is not None and Status(incident.status) in MOVES[Action.ACKNOWLEDGE].sources:
            self.writer.act(incident, Action.ACKNOWLEDGE, ActionBody())
            outcome.acknowledged += 1
        if incident is not None:
            outcome.touch(incident)

    def resolve(self, integration: IntegrationRow, alert: AlertIn, outcome: Outcome) -> str | None:
        """Record a resolved alert; returns its incident's id when it was firing till now."""
        record = self.open_record(integration, alert.key)
        if record is None or record.status == "resolved":
            outcome.ignored += 1
            return None
        now = self.writer.now
        record.status = "resolved"
        record.resolved_at = now
        record.last_seen = now
        record.ends_at = _not_after(alert.ends_at, now) or now
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
        if incident is None or not Status(incident.status).is_open:
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
        if Status(incident.status) in MOVES[Action.ACKNOWLEDGE].sources:
            self.writer.act(incident, Action.ACKNOWLEDGE, ActionBody())
        if Status(incident.status) in MOVES[Action.RESOLVE].sources:
            self.writer.act(incident, Action.RESOLVE, ActionBody(
                resolution_code=AUTO_RESOLUTION_CODE, resolution_note=note))
            self.release(incident_id)
            outcome.auto_resolved += 1
        outcome.touch(incident)

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
        severity = _alert_severity(alert)
        impact, urgency = severity_targets(integration)[severity]
        impact, urgency = _level(labels.get("impact"), impact), _level(labels.get("urgency"),
                                                                        urgency)
        wanted_service = (labels.get("service") or "").strip()
        service_id = (wanted_service if wanted_service and self.service_exists(wanted_service)
                      else integration.service)
        category = (labels.get("category") or "").strip().lower()
        if category not in {c.value for c in Category}:
            category = integration.category
        try:
            body = IncidentCreate.model_validate({
                "id": uuid.uuid4(), "title": _title(alert.summary, alert.source),
                "description": _text(alert.description() if callable(alert.description)
                                     else alert.description, _TEXT_MAX), "service": service_id,
                "category": category, "impact": impact, "urgency": urgency,
                "detected_at": now, "started_at": _not_after(alert.starts_at, now)})
        except ValidationError as exc:  # e.g. a service id made outside the API
            raise Refused(f"Cannot open an incident for this alert: {exc.errors()[0]['msg']}",
                          "service") from None
        incident = self.writer.create(body)
        self.incidents[incident.id] = incident
        self.info[incident.id] = _IncidentInfo(incident.id, incident.number,
                                               str(incident.status))
        self.created.add(incident.id)
        return incident

    def add_group(self, integration: IntegrationRow, group_key: str, incident: Incident) -> None:
        group = AlertGroup(id=str(uuid.uuid4()), integration_id=integration.id,
                           key_hash=key_hash(integration.id, group_key),
                           group_key=_text(group_key, 100_000), incident_id=incident.id,
                           active=True, created_at=self.writer.now)
        self.session.add(group)
        self.groups[group.key_hash] = group

    def add_record(self, integration: IntegrationRow, alert: AlertIn, incident: Incident) -> None:
        now = self.writer.now
        record = _Record(
            id=str(uuid.uuid4()), integration_id=integration.id, incident_id=incident.id,
            key_hash=key_hash(integration.id, alert.key), alert_key=_text(alert.key, 100_000),
            status="firing", severity=_alert_severity(alert),
            summary=_text(alert.summary, _TEXT_MAX), count=1, first_seen=now, last_seen=now,
            starts_at=_not_after(alert.starts_at, now), ends_at=None, resolved_at=None,
            active=True, details=_clean(dict(alert.details)), in_db=False, dirty=True)
        self.records[record.key_hash] = record
        data = {"source": integration.kind, "integration": integration.id,
                "key": _text(alert.key, 1024), "group_key": _text(alert.group_key, 1024)}
        data.update(_event_state(record))
        data.update(_event_details(alert))
        record.event = self.writer.event(incident, EventKind.ALERT,
                                         _event_text(integration, record),
                                         event_id=record.id, data=data)

    def repeat(self, integration: IntegrationRow, record: _Record, alert: AlertIn) -> None:
        now = self.writer.now
        record.count += 1
        record.last_seen = now
        if alert.summary.strip():
            record.summary = _text(alert.summary, _TEXT_MAX)
        record.severity = _alert_severity(alert)
        record.details = _clean(dict(alert.details))
        if record.status != "firing":  # fired again before anyone resolved the incident
            record.status = "firing"
            record.resolved_at = None
            record.ends_at = None
            record.starts_at = _not_after(alert.starts_at, now) or record.starts_at
        record.dirty = True
        self.show(integration, record, alert)

    def show(self, integration: IntegrationRow, record: _Record,
             alert: AlertIn | None = None) -> None:
        """Bring the record's timeline event up to date (it is put in the feed again)."""
        base = record.event.data if record.event is not None else record.event_data
        data = dict(base or {})
        data.update(_event_state(record))
        if alert is not None:
            data.update(_event_details(alert))
        text = _event_text(integration, record)
        if record.event is not None:  # made in this transaction: the Writer records it
            record.event.data = data
            record.event.text = text
        elif record.event_at is not None:
            record.event_data = data
            record.event_text = text
            self.shown[record.id] = record

    def write_records(self) -> None:
        """Write changed records (and their loaded events) with one statement per kind."""
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
        shown = list(self.shown.values())
        if shown:
            self.session.execute(_UPDATE_EVENTS, [
                {"b_id": r.id, "text": r.event_text, "data": r.event_data} for r in shown])
        self.writer.finish()
        if shown:
            record_changes(self.session, [("event", r.id, EventOut(
                id=r.id, incident_id=r.incident_id, at=r.event_at, kind=EventKind.ALERT,
                actor=r.event_actor, text=r.event_text, data=r.event_data or {},
            ).model_dump(mode="json")) for r in shown])


# -- text and data ------------------------------------------------------------------------


def _alert_severity(alert: AlertIn) -> str:
    return (normalise_severity(alert.severity)
            or normalise_severity(alert.labels.get("severity")) or DEFAULT_SEVERITY)


def _level(value: str | None, default: int) -> int:
    if value is not None and str(value).strip() in ("1", "2", "3"):
        return int(str(value).strip())
    return default


def _not_after(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` clamped to ``now``; None for Alertmanager's zero time (year 1)."""
    if value is None or value.year < 1970:
        return None
    return min(value, now)


def _strip_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; an alert is never refused for one.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _text(value: str, limit: int) -> str:
    value = _strip_nul(value or "")
    return value if len(value) <= limit else value[:limit - 1] + "…"


def _title(summary: str, source: str) -> str:
    title = " ".join(_strip_nul(summary or "").split())
    if not title:
        title = " ".join(_strip_nul(source or "").split()) or "Alert"
    return title if len(title) <= _TITLE_MAX else title[:_TITLE_MAX - 1] + "…"


def _clean(value: Any, depth: int = 0) -> Any:
    """``value`` with NUL removed from every string (JSON columns go to PostgreSQL too)."""
    if isinstance(value, str):
        return _strip_nul(value)
    if depth > 64:
        return None
    if isinstance(value, Mapping):
        return {_strip_nul(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _short(value: Any) -> Any:
    """A detail value small enough for a timeline event (which every client stores)."""
    value = _clean(value)
    if isinstance(value, str):
        return value if len(value) <= _DETAIL_MAX else value[:_DETAIL_MAX - 1] + "…"
    dumped = json.dumps(value, ensure_ascii=False, default=str)
    if len(dumped) <= _DETAIL_MAX:
        return value
    return dumped[:_DETAIL_MAX - 1] + "…"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _event_state(record: _Record) -> dict[str, Any]:
    return {"status": record.status, "count": record.count, "severity": record.severity,
            "summary": _text(record.summary, 1024), "first_seen": _iso(record.first_seen),
            "last_seen": _iso(record.last_seen), "starts_at": _iso(record.starts_at),
            "ends_at": _iso(record.ends_at), "resolved_at": _iso(record.resolved_at)}


def _event_details(alert: AlertIn) -> dict[str, Any]:
    return {name: _short(value) for name, value in alert.details.items()}


def _event_text(integration: IntegrationRow, record: _Record) -> str:
    """One line for the timeline: where from, its state and count, and its summary."""
    times = f" ×{record.count}" if record.count > 1 else ""
    if record.status == "resolved":
        state = f"resolved (fired{times})" if times else "resolved"
    else:
        state = f"firing{times}"
    summary = " ".join(record.summary.split()) or record.alert_key
    return _text(f"{KIND_LABELS[integration.kind]} alert {state}: {summary}", 2000)
