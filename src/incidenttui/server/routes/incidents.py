"""Incidents: the list, one incident with its timeline, and every write on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from incidenttui.api.paths import INCIDENTS
from incidenttui.api.schemas import (
    SLUG_PATTERN,
    ActionBody,
    EscalateBody,
    EventOut,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    LinkBody,
    NoteBody,
)
from incidenttui.domain import Action, Status
from incidenttui.server import queries, service
from incidenttui.server.deps import AuthRoute, IdemKey, Key, Reader, Responder, database
from incidenttui.server.errors import ERRORS, WRITE_ERRORS, ApiError
from incidenttui.server.writes import Answer, on_incident, write

router = APIRouter(route_class=AuthRoute)
ONE = f"{INCIDENTS}/{{key}}"

# -- reads --------------------------------------------------------------------------------


@router.get(INCIDENTS, response_model=IncidentPage, tags=["incidents"], responses=ERRORS)
def list_incidents(
    request: Request,
    user: Reader,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Annotated[int, Query(ge=1, le=5)]] | None, Query()] = None,
    service_id: Annotated[str | None, Query(alias="service", max_length=64,
                                            pattern=SLUG_PATTERN)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IncidentPage:
    """Incidents, newest first, filtered and paginated."""
    with database(request).read() as session:
        return queries.incident_page(session, status=status, priority=priority,
                                     service_id=service_id, team=team, assignee=assignee,
                                     offset=offset, limit=limit)


@router.get(ONE, response_model=IncidentDetail, tags=["incidents"], responses=ERRORS)
def get_incident(request: Request, user: Reader, key: Key) -> IncidentDetail:
    """One incident, by UUID or number, with its timeline."""
    with database(request).read() as session:
        try:
            return queries.incident_detail(session, key)
        except service.NotFound as exc:
            raise ApiError(404, str(exc)) from None


@router.get(f"{ONE}/timeline", response_model=list[EventOut], tags=["incidents"],
            responses=ERRORS)
def get_timeline(request: Request, user: Reader, key: Key) -> list[EventOut]:
    """An incident's timeline, oldest first."""
    with database(request).read() as session:
        try:
            return queries.timeline_out(session, key)
        except service.NotFound as exc:
            raise ApiError(404, str(exc)) from None


# -- writes -------------------------------------------------------------------------------


@router.post(INCIDENTS, status_code=201, response_model=IncidentOut, tags=["incidents"],
             responses=WRITE_ERRORS)
async def create_incident(request: Request, user: Responder, body: IncidentCreate,
                    idempotency_key: IdemKey = None) -> Response:
    """Log a new incident; the server gives its number."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        return 201, writer.snapshot(writer.create(body))
    return await write(request, user, idempotency_key, body, op)


@router.patch(ONE, response_model=IncidentOut, tags=["incidents"], responses=WRITE_ERRORS)
async def patch_incident(request: Request, user: Responder, key: Key, body: IncidentPatch,
                   idempotency_key: IdemKey = None) -> Response:
    """Change fields; refused with 409 listing each field changed since base_version."""
    return await write(request, user, idempotency_key, body, on_incident(
        key, lambda w, i: w.snapshot(w.patch(i, body))))


def _action_route(action: Action) -> None:
    async def act(request: Request, user: Responder, key: Key, idempotency_key: IdemKey = None,
            body: ActionBody | None = None) -> Response:
        body = body or ActionBody()
        return await write(request, user, idempotency_key, body, on_incident(
            key, lambda w, i: w.snapshot(w.act(i, action, body))))
    act.__doc__ = f"Lifecycle move: {action.value}."
    router.add_api_route(f"{ONE}/{action.value}", act, methods=["POST"],
                         response_model=IncidentOut, tags=["actions"],
                         responses=WRITE_ERRORS, name=action.value)


for _action in Action:
    _action_route(_action)


@router.post(f"{ONE}/escalate", response_model=IncidentOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def escalate(request: Request, user: Responder, key: Key, body: EscalateBody,
             idempotency_key: IdemKey = None) -> Response:
    """Functional (to a team / the next level) or hierarchical (management) escalation."""
    return await write(request, user, idempotency_key, body, on_incident(
        key, lambda w, i: w.snapshot(w.escalate(i, body))))


@router.post(f"{ONE}/notes", status_code=201, response_model=EventOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def add_note(request: Request, user: Responder, key: Key, body: NoteBody,
             idempotency_key: IdemKey = None) -> Response:
    """Append a note to the timeline; notes never conflict."""
    return await write(request, user, idempotency_key, body, on_incident(
        key, lambda w, i: w.event_snapshot(w.note(i, body)), status=201))


@router.post(f"{ONE}/links", response_model=IncidentOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def add_link(request: Request, user: Responder, key: Key, body: LinkBody,
             idempotency_key: IdemKey = None) -> Response:
    """Link to another incident: duplicate_of, related or caused_by."""
    return await write(request, user, idempotency_key, body, on_incident(
        key, lambda w, i: w.snapshot(w.link(i, body))))
