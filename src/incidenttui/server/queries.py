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
from incidenttui.server import cursors, service, visibility
from incidenttui.server.models import Incident, User

if TYPE_CHECKING:
    from incidenttui.server.db import Database


def incident_page(session: Session, user: User, *, status: Sequence[Status] | None = None,
                  priority: Sequence[int] | None = None, service_id: str | None = None,
                  team: str | None = None, assignee: str | None = None, offset: int = 0,
                  limit: int = 100) -> IncidentPage:
    """The incidents ``user`` can see, newest first, filtered and paginated (the total
    counts only those too)."""
    query = select(Incident)
    visible = visibility.incident_filter(user)
    if visible is not None:
        query = query.where(visible)
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


def timeline_out(session: Session, incident: service.AnyIncident) -> list[EventOut]:
    """The timeline of ``incident``, oldest first."""
    return [EventOut.model_validate(e) for e in service.timeline(session, incident.id)]


def incident_detail(session: Session, incident: service.AnyIncident) -> IncidentDetail:
    """``incident`` with its timeline."""
    return IncidentDetail(**service.incident_out(incident).model_dump(),
                          timeline=timeline_out(session, incident))


def directory_rows(session: Session, table: Any, schema: type[BaseModel]) -> list[Any]:
    """Every row of a directory table (teams, users, services), by id."""
    rows = session.exec(select(table).order_by(col(table.id))).all()
    return [schema.model_validate(r) for r in rows]


def change_page_json(db: Database, user: User, cursor: int, limit: int
                     ) -> tuple[bytes, int, int]:
    """Up to ``limit`` feed entries after position ``cursor`` that ``user`` may see, as the
    JSON of a ``ChangePage`` with a fresh cursor token; how many changes it holds, and the
    position the token stands for
    (server/visibility.py, server/cursors.py).

    A catching-up client reads the feed page after page: the snapshots are stored as JSON
    text and are passed through as they are, instead of being decoded, validated as models
    and encoded again (the feed only ever holds what the server wrote). The rows carry no
    seq: two seqs' difference would count the rows the caller may not see.
    """
    rows, last, more = visibility.feed_page(db, user, cursor, limit)
    token = cursors.load_codec(db).encode(last)
    dumps = json.dumps
    items = ",".join(f'{{"entity":{dumps(entity)},"id":{dumps(entity_id)},"data":{data}}}'
                     for _seq, entity, entity_id, data in rows)
    page = (f'{{"changes":[{items}],"cursor":"{token}",'
            f'"more":{"true" if more else "false"}}}')
    return page.encode(), len(rows), last


def open_counts(session: Session) -> dict[int, int]:
    """Open incidents by priority; restricted ones are not counted (/metrics is public)."""
    return dict(session.exec(
        select(Incident.priority, func.count()).where(
            col(Incident.status).in_([s.value for s in Status if s.is_open]),
            ~visibility.restricted_clause())
        .group_by(Incident.priority)).all())
