"""Maintenance windows on the server: planned, ended early, and what they do to alerts.

While a window covers a service, an alert that would open an incident for it is *held*: kept
in ``held_alerts`` (the integration's log of what it held back, with its count and whether it
recovered), attached to no incident, and so nobody is paged — no incident, no escalation
clock, no notification. An alert that joins an incident already open still joins it. When
the window ends (its end passes, or someone ends it early), :func:`release_due` sends every
held alert still firing through the de-duplication again, as the system user: it opens its
incident then, exactly once (``released_at`` marks the window done, in the same transaction).

Windows reach clients through the change feed (entity ``maintenance``) so the app shows them
and pauses SLA clocks offline (domain/statuspage.py).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from incidenttui.api.status import MaintenanceCreate, MaintenanceOut
from incidenttui.domain import RefusalKind, Refused, Role
from incidenttui.domain.statuspage import Window, check_end, check_window
from incidenttui.server import service
from incidenttui.server.audit import Origin
from incidenttui.server.changes import record_changes
from incidenttui.server.db import Database
from incidenttui.server.models import HeldAlert, Integration, MaintenanceWindow, Service, User
from incidenttui.server.periodic import Periodic
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server.maintenance")

#: The change feed's entity name of a window.
FEED_ENTITY = "maintenance"
#: How often the releaser looks for windows that ended.
INTERVAL = 5.0


def domain_window(row: MaintenanceWindow) -> Window:
    """The domain's view of a stored window."""
    return Window(row.id, tuple(row.services), row.starts_at, row.ends_at, row.reason,
                  row.ended_at)


def window_out(row: MaintenanceWindow, held: int = 0) -> MaintenanceOut:
    return MaintenanceOut(id=row.id, services=list(row.services), starts_at=row.starts_at,
                          ends_at=row.ends_at, reason=row.reason, created_by=row.created_by,
                          ended_at=row.ended_at, held_alerts=held)


def held_counts(session: Session, window_ids: Sequence[str]) -> dict[str, int]:
    """How many alerts each window held back."""
    if not window_ids:
        return {}
    return dict(session.exec(select(HeldAlert.window_id, func.count()).where(  # type: ignore[call-overload]
        col(HeldAlert.window_id).in_(list(window_ids))).group_by(col(HeldAlert.window_id))).all())


def listed(session: Session, now: datetime, include_past: bool = False
           ) -> list[MaintenanceWindow]:
    """Windows running now or planned (and, with ``include_past``, those over), by start."""
    query = select(MaintenanceWindow).order_by(col(MaintenanceWindow.starts_at))
    if not include_past:
        query = query.where(col(MaintenanceWindow.ends_at) > now, or_(
            col(MaintenanceWindow.ended_at).is_(None), col(MaintenanceWindow.ended_at) > now))
    return list(session.exec(query))


def active(session: Session, now: datetime) -> list[Window]:
    """The windows holding alerts at ``now``."""
    return [domain_window(row) for row in listed(session, now) if row.starts_at <= now]


def _record(session: Session, row: MaintenanceWindow) -> None:
    record_changes(session, [(FEED_ENTITY, row.id,
                              window_out(row).model_dump(mode="json", exclude={"held_alerts"}))])


def create(writer: service.Writer, body: MaintenanceCreate) -> MaintenanceOut:
    """Plan a window (idempotent by its client-chosen id)."""
    session, window_id = writer.session, str(body.id)
    services = list(dict.fromkeys(body.services))
    existing = session.get(MaintenanceWindow, window_id)
    if existing is not None:
        if (existing.services, existing.starts_at, existing.ends_at, existing.reason) != (
                services, body.starts_at, body.ends_at, body.reason):
            raise Refused("That window id is already used for a different window.", "id")
        return window_out(existing)
    check_window(services, body.starts_at, body.ends_at, body.reason, writer.now)
    for name in services:
        if session.get(Service, name) is None:
            raise Refused(f"Unknown service {name!r}.", "services")
    row = MaintenanceWindow(id=window_id, services=services, starts_at=body.starts_at,
                            ends_at=body.ends_at, reason=body.reason.strip(),
                            created_by=writer.actor.id, created_at=writer.now)
    session.add(row)
    session.flush()
    _record(session, row)
    writer.audit("maintenance.create", "maintenance", row.id,
                 {"services": services, "starts_at": row.starts_at.isoformat(),
                  "ends_at": row.ends_at.isoformat()})
    return window_out(row)


def end(writer: service.Writer, window_id: str) -> MaintenanceOut:
    """End a window now (one not started yet is called off); its held alerts still firing
    open their incidents at the releaser's next round (:func:`release_due`)."""
    session = writer.session
    row = session.get(MaintenanceWindow, window_id, with_for_update=True)
    if row is None:
        raise Refused(f"No maintenance window {window_id!r}.", "id", RefusalKind.NOT_FOUND)
    if row.ended_at is not None and row.ended_at <= writer.now:
        return window_out(row, held_counts(session, [row.id]).get(row.id, 0))  # a repeat
    check_end(domain_window(row), writer.now)
    row.ended_at = writer.now
    session.add(row)
    session.flush()
    _record(session, row)
    writer.audit("maintenance.end", "maintenance", row.id, {})
    return window_out(row, held_counts(session, [row.id]).get(row.id, 0))


# -- holding alerts (called by alerts/dedup.py's Batch) -------------------------------------


class Holder:
    """One alert batch's view of the windows: which services are held, and the held rows."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now
        self._windows: list[Window] | None = None

    @property
    def windows(self) -> list[Window]:
        if self._windows is None:  # one query per batch, and none when no alert needs it
            self._windows = active(self.session, self.now)
        return self._windows

    def window_for(self, service_id: str) -> Window | None:
        """The window holding ``service_id``'s alerts now, if any."""
        found = [w for w in self.windows if w.covers(service_id, self.now)]
        return max(found, key=lambda w: w.finish) if found else None

    def hold(self, window: Window, integration_id: str, key_hash: str, fields: dict[str, Any]
             ) -> None:
        """Record a trigger for a held service: a new row, or the count of its row raised."""
        row = self.session.exec(select(HeldAlert).where(
            col(HeldAlert.window_id) == window.id, col(HeldAlert.key_hash) == key_hash)).first()
        if row is None:
            row = HeldAlert(id=str(uuid.uuid4()), window_id=window.id,
                            integration_id=integration_id, key_hash=key_hash,
                            status="firing", count=1, first_seen=self.now,
                            last_seen=self.now, **fields)
        else:
            row.count += 1
            row.last_seen, row.status = self.now, "firing"
            for name in ("summary", "severity", "labels", "details"):
                setattr(row, name, fields[name])
        self.session.add(row)

    def recover(self, key_hash: str) -> bool:
        """A resolve for a held alert: recorded (it opens nothing at the window's end)."""
        rows = list(self.session.exec(select(HeldAlert).where(
            col(HeldAlert.key_hash) == key_hash, col(HeldAlert.status) == "firing",
            col(HeldAlert.incident_id).is_(None))))
        for row in rows:
            row.status, row.last_seen = "resolved", self.now
            self.session.add(row)
        return bool(rows)


# -- releasing ------------------------------------------------------------------------------


def release_due(db: Database, now: datetime | None = None) -> int:
    """Open the incidents of alerts still firing in windows that have ended; returns how
    many held alerts were sent on. Each window is released once, in one transaction."""
    from incidenttui.server.alerts.dedup import Batch
    from incidenttui.server.alerts.ingest import SYSTEM_USER, ensure_system_user
    from incidenttui.server.alerts.jobs import AlertIn, Job

    now = now or utcnow()
    with db.write() as session:
        rows = list(session.exec(select(MaintenanceWindow).where(
            col(MaintenanceWindow.released_at).is_(None),
            or_(col(MaintenanceWindow.ends_at) <= now,
                col(MaintenanceWindow.ended_at) <= now)).with_for_update()))
        if not rows:
            return 0
        ensure_system_user(session)
        writer = service.Writer(session, User(id=SYSTEM_USER, display_name=SYSTEM_USER,
                                              role=Role.RESPONDER.value), now)
        origin = Origin(SYSTEM_USER, client="maintenance")
        held = list(session.exec(select(HeldAlert).where(
            col(HeldAlert.window_id).in_([r.id for r in rows]),
            col(HeldAlert.status) == "firing", col(HeldAlert.incident_id).is_(None))
            .order_by(col(HeldAlert.first_seen))))
        integrations = {i.id: i for i in session.exec(select(Integration).where(
            col(Integration.id).in_({h.integration_id for h in held})))}
        by_integration: dict[str, list[HeldAlert]] = defaultdict(list)
        for alert in held:
            if alert.integration_id in integrations:
                by_integration[alert.integration_id].append(alert)
        jobs = [(Job(integrations[iid].kind, integrations[iid].key_hash, [AlertIn(
            "trigger", a.alert_key, a.group_key, summary=a.summary, severity=a.severity,
            source=a.source, starts_at=a.starts_at, labels=a.labels, details=a.details,
            description=f"Held back by a maintenance window until {now:%Y-%m-%d %H:%M} UTC "
                        f"(first seen {a.first_seen:%Y-%m-%d %H:%M} UTC, {a.count}×).")
            for a in alerts]), alerts) for iid, alerts in by_integration.items()]
        batch = Batch(session, writer)
        batch.load([job for job, _ in jobs])
        sent = 0
        for job, alerts in jobs:
            outcome = batch.run(job)
            if outcome.status != "ok":
                log.warning("held alerts of integration %s not sent on: %s",
                            alerts[0].integration_id, outcome.message)
                continue
            for alert in alerts:
                record = batch.records.get(alert.key_hash)
                alert.incident_id = record.incident_id if record is not None else None
                session.add(alert)
                sent += 1
        for row in rows:
            row.released_at = now
            session.add(row)
            writer.audit("maintenance.release", "maintenance", row.id,
                         {"alerts": sum(1 for h in held if h.window_id == row.id)},
                         origin=origin)
        batch.finish()
        return sent


class Releaser(Periodic):
    """Runs :func:`release_due` every :data:`INTERVAL` seconds in a daemon thread."""

    name = "maintenance"

    def __init__(self, db: Database, interval: float = INTERVAL,
                 on_release: Any = None) -> None:
        super().__init__(interval)
        self.db = db
        self.on_release = on_release or (lambda: None)

    def round(self) -> int:
        released = release_due(self.db)
        if released:
            self.on_release()
        return released
