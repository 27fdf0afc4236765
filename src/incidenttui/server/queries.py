"""The server's read queries: what the read routes answer, without HTTP in them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from incidenttui.api.schemas import (
    ChangeOut,
    ChangePage,
    EventOut,
    IncidentDetail,
    IncidentPage,
)
from incidenttui.domain import Status
from incidenttui.server import service
from incidenttui.server.changes import read_changes
from incidenttui.server.models import Incident


def incident_page(session: Session, *, status: Sequence[Status] | None = None,
                  priority: Sequence[int] | None = None, service_id: str | None = None,
                  team: str | None = None, assignee: str | None = None, offset: int = 0,
                  limit: int = 100) -> IncidentPage:
    """Incidents, newest first, filtered and paginated."""
    query = select(Incident)
    if status:
        query = query.where(col(Incident.status).in_([s.value for s in status]))
    if priority:
        query = query.where(col(Incident.priority).in_(priority))
    for column, value in ((Incident.service, service_id), (Incident.team, team),
                          (Incident.assignee, assignee)):
        if value is not None:
            query = query.where(column == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Incident.number).desc())
                        .offset(offset).limit(limit)).all()
    return IncidentPage(items=[service.incident_out(i) for i in rows], total=total,
                        offset=offset, limit=limit)


def timeline_out(session: Session, key: str) -> list[EventOut]:
    """The timeline of incident ``key``, oldest first (NotFound if there is none)."""
    incident = service.find_incident(session, key)
    return [EventOut.model_validate(e) for e in service.timeline(session, incident.id)]


def incident_detail(session: Session, key: str) -> IncidentDetail:
    """Incident ``key`` with its timeline (NotFound if there is none)."""
    incident = service.find_incident(session, key)
    events = [EventOut.model_validate(e) for e in service.timeline(session, incident.id)]
    return IncidentDetail(**service.incident_out(incident).model_dump(), timeline=events)


def directory_rows(session: Session, table: Any, schema: type[BaseModel]) -> list[Any]:
    """Every row of a directory table (teams, users, services), by id."""
    rows = session.exec(select(table).order_by(col(table.id))).all()
    return [schema.model_validate(r) for r in rows]


def change_page(session: Session, cursor: int, limit: int) -> ChangePage:
    """Up to ``limit`` feed entries after ``cursor``."""
    rows, more = read_changes(session, cursor, limit)
    items = [ChangeOut(seq=r.seq or 0, entity=r.entity, id=r.entity_id, data=r.data)
             for r in rows]
    return ChangePage(changes=items, cursor=items[-1].seq if items else cursor, more=more)


def open_counts(session: Session) -> dict[int, int]:
    """Open incidents by priority."""
    return dict(session.exec(
        select(Incident.priority, func.count()).where(
            col(Incident.status).in_([s.value for s in Status if s.is_open]))
        .group_by(Incident.priority)).all())
