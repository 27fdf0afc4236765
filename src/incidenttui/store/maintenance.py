"""The local store's maintenance windows and status page components: the change feed's
``maintenance`` entries, the status page commands applied offline, and the SLA pause a
window gives the incidents of its services (domain/sla.py ``pauses``).

Called by :class:`~incidenttui.store.store.Store` inside its transactions; the only code
here that touches the database is the store's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from incidenttui.api.status import MaintenanceOut
from incidenttui.domain import RefusalKind, Refused
from incidenttui.domain.sla import next_breach_at
from incidenttui.domain.statuspage import Window, check_end
from incidenttui.store.sanitize import clean_line, clean_text
from incidenttui.store.status_commands import (
    DirectoryCommand,
    EndMaintenance,
    PlanMaintenance,
    SetComponentState,
)
from incidenttui.store.tables import LocalIncident, LocalMaintenance, LocalService

#: The change feed's entity name of a window.
FEED_ENTITY = "maintenance"


def window_of(row: LocalMaintenance) -> Window:
    return Window(row.id, tuple(row.services), row.starts_at, row.ends_at, row.reason,
                  row.ended_at)


def pauses_for(session: Session, service: str | None) -> list[tuple[datetime, datetime]]:
    """The windows of ``service`` as SLA pauses ``(start, end)``."""
    if not service:
        return []
    return [(w.start, w.finish) for w in map(window_of, session.exec(select(LocalMaintenance)))
            if service in w.services]


def refresh_sla(session: Session, services: Iterable[str]) -> None:
    """Recompute the SLA deadline of the open incidents of ``services`` (their windows
    changed)."""
    for service in set(services):
        pauses = pauses_for(session, service)
        for row in session.exec(select(LocalIncident).where(
                col(LocalIncident.service) == service, col(LocalIncident.is_open))):
            row.sla_due_at = next_breach_at(
                row.priority, row.created_at, status=row.status,
                acknowledged_at=row.acknowledged_at, resolved_at=row.resolved_at,
                hold_seconds=row.hold_seconds or 0.0, on_hold_since=row.on_hold_since,
                pauses=pauses)
            session.add(row)


def parse_entry(data: Any) -> dict[str, Any]:
    """A feed ``maintenance`` entry as a row's values (inert text); ValueError if malformed."""
    window = MaintenanceOut.model_validate(data)
    return {"id": clean_line(window.id, 64),
            "services": [clean_line(s, 64) for s in window.services],
            "starts_at": window.starts_at, "ends_at": window.ends_at,
            "reason": clean_text(window.reason, limit=500),
            "created_by": clean_line(window.created_by, 200) if window.created_by else None,
            "ended_at": window.ended_at, "pending": False}


def apply_entries(session: Session, rows: Mapping[str, dict[str, Any]]) -> None:
    """Keep the windows the feed sent, and move the SLA clocks of their services."""
    services: set[str] = set()
    for values in rows.values():
        old = session.get(LocalMaintenance, values["id"])
        if old is not None:
            services.update(old.services)
        services.update(values["services"])
        session.merge(LocalMaintenance(**values))
    session.flush()
    refresh_sla(session, services)


def apply_command(session: Session, command: DirectoryCommand, now: datetime) -> None:
    """Apply a status page or maintenance command to the store (the caller queues it)."""
    command.check(now)
    if isinstance(command, SetComponentState):
        service = session.get(LocalService, command.service)
        if service is None:
            raise Refused(f"Unknown service {command.service!r}.", "service",
                          RefusalKind.NOT_FOUND)
        if not service.public:
            raise Refused(f"Service {command.service!r} is not on the status page (an admin "
                          "makes it public).", "service", RefusalKind.STATE)
        service.component_state = command.state
        session.add(service)
    elif isinstance(command, PlanMaintenance):
        for name in command.services:
            if session.get(LocalService, name) is None:
                raise Refused(f"Unknown service {name!r}.", "services", RefusalKind.NOT_FOUND)
        session.add(LocalMaintenance(
            id=command.window_id, services=list(command.services), starts_at=command.start,
            ends_at=command.end, reason=clean_text(command.reason, limit=500),
            created_by=None, pending=True))
        session.flush()
        refresh_sla(session, command.services)
    elif isinstance(command, EndMaintenance):
        row = session.get(LocalMaintenance, command.window_id)
        if row is None:
            raise Refused("No such maintenance window in the local store.", "id",
                          RefusalKind.NOT_FOUND)
        check_end(window_of(row), now)
        row.ended_at = now
        session.add(row)
        session.flush()
        refresh_sla(session, row.services)


def undo(session: Session, command: DirectoryCommand) -> None:
    """The server refused the command for good: drop what it planned locally."""
    if isinstance(command, PlanMaintenance):
        row = session.get(LocalMaintenance, command.window_id)
        if row is not None and row.pending:
            session.delete(row)
            session.flush()
            refresh_sla(session, command.services)


def windows(session: Session, now: datetime, include_past: bool = False
            ) -> list[LocalMaintenance]:
    """Windows running or planned at ``now`` (``include_past``: all), by start."""
    rows = session.exec(select(LocalMaintenance).order_by(col(LocalMaintenance.starts_at)))
    return [r for r in rows if include_past or window_of(r).finish > now]
