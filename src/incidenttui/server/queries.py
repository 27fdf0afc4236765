"""The server's read queries: what the read routes answer, without HTTP in them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from incidenttui.api.schemas import EventOut, IncidentDetail, IncidentPage
from incidenttui.domain import Status
from incidenttui.server import service
from incidenttui.server.models import Incident

if TYPE_CHECKING:
    from incidenttui.server.db import Database


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


_FEED_PAGE = ("SELECT seq, entity, entity_id, CAST(data AS TEXT) FROM changes WHERE seq > ? "
              "ORDER BY seq LIMIT ?")


def change_page_json(db: Database, cursor: int, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` feed entries after ``cursor`` as the JSON of a ``ChangePage``, and how
    many changes it holds.

    A catching-up client reads the feed page after page: the snapshots are stored as JSON
    text and are passed through as they are, instead of being decoded, validated as models
    and encoded again (the feed only ever holds what the server wrote).
    """
    rows = db.query(_FEED_PAGE, (cursor, limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    dumps = json.dumps
    items = ",".join(f'{{"seq":{seq},"entity":{dumps(entity)},"id":{dumps(entity_id)},'
                     f'"data":{data}}}' for seq, entity, entity_id, data in rows)
    last = rows[-1][0] if rows else cursor
    page = f'{{"changes":[{items}],"cursor":{last},"more":{"true" if more else "false"}}}'
    return page.encode(), len(rows)


def open_counts(session: Session) -> dict[int, int]:
    """Open incidents by priority."""
    return dict(session.exec(
        select(Incident.priority, func.count()).where(
            col(Incident.status).in_([s.value for s in Status if s.is_open]))
        .group_by(Incident.priority)).all())
