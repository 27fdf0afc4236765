"""The public status page (no token) and the API that keeps it current: public updates,
component states, maintenance windows and webhook subscribers."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlmodel import Session, col, select

from incidenttui.api.paths import (
    MAINTENANCE,
    PUBLIC_UPDATE,
    STATUS_ATOM,
    STATUS_JSON,
    STATUS_PAGE,
    STATUS_SUBSCRIBERS,
    incident,
    maintenance_end,
    service_state,
)
from incidenttui.api.schemas import SLUG_PATTERN, EventOut, ServiceOut
from incidenttui.api.status import (
    ComponentStateBody,
    MaintenanceCreate,
    MaintenanceOut,
    PublicUpdateBody,
    SubscriberCreate,
    SubscriberOut,
)
from incidenttui.domain import RefusalKind, Refused
from incidenttui.domain.permissions import Operation
from incidenttui.domain.statuspage import public_update_effect
from incidenttui.server import audit, maintenance, notify, service
from incidenttui.server.deps import Allowed, AuthRoute, IdemKey, Key, database
from incidenttui.server.errors import ERRORS, WRITE_ERRORS, ApiError
from incidenttui.server.models import Service, StatusSubscriber, TimelineEvent
from incidenttui.server.routes.incidents import write_on
from incidenttui.server.statuspage import StatusCache, public_id
from incidenttui.server.writes import Answer, write
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server.status")
router = APIRouter(route_class=AuthRoute)
ServiceId = Annotated[str, PathParam(max_length=64, pattern=SLUG_PATTERN)]
WindowId = Annotated[str, PathParam(max_length=36)]

#: What a status answer may be cached for by browsers and proxies: short while fresh, and
#: long enough to ride out a failing server (stale-if-error).
CACHE_CONTROL = "public, max-age=15, stale-while-revalidate=60, stale-if-error=86400"
_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json",
          "atom": "application/atom+xml; charset=utf-8"}


# -- the public page ------------------------------------------------------------------------


def status_cache(request: Request) -> StatusCache:
    """The app's status cache (made on first use; a write in this process makes it stale)."""
    state = request.app.state
    cache = getattr(state, "status_cache", None)
    if cache is None:
        from incidenttui.server.status_render import render_all

        cache = state.status_cache = StatusCache(state.db, render_all)
    return cache


def status_changed(request: Request, answer: Response) -> Response:
    """A status page write went through: the next page is rendered anew."""
    if answer.status_code < 300:
        status_cache(request).changed()
    return answer


async def _serve(request: Request, kind: str) -> Response:
    rendered, stale = await status_cache(request).get()
    if rendered is None:
        return Response("The status page is unavailable right now; try again shortly.\n",
                        503, media_type="text/plain; charset=utf-8",
                        headers={"Retry-After": "10", "Cache-Control": "no-store"})
    etag = rendered.etags[kind]
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL,
               "Last-Modified": rendered.at.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    if stale:
        headers["X-Status-Stale"] = "true"  # the database was slow: the last page served
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(rendered.bodies[kind], media_type=_TYPES[kind], headers=headers)


@router.get(STATUS_PAGE, tags=["status page"], response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
async def status_page(request: Request) -> Response:
    """The public status page: plain HTML, no token."""
    return await _serve(request, "html")


@router.get(STATUS_JSON, tags=["status page"], response_class=Response,
            responses={200: {"content": {"application/json": {}}}})
async def status_json(request: Request) -> Response:
    """The public status page as JSON: components, open incidents with their public
    updates, maintenance, 90 days of history; no token."""
    return await _serve(request, "json")


@router.get(STATUS_ATOM, tags=["status page"], response_class=Response,
            responses={200: {"content": {"application/atom+xml": {}}}})
async def status_atom(request: Request) -> Response:
    """The public updates as an Atom feed; no token."""
    return await _serve(request, "atom")


# -- public updates and component states ----------------------------------------------------


def _check_components(session: Session, components: dict[str, str]) -> list[Service]:
    rows = []
    for name in components:
        row = session.get(Service, name)
        if row is None:
            raise Refused(f"Unknown service {name!r}.", "components")
        if not row.public:
            raise Refused(f"Service {name!r} is not on the status page (an admin makes it "
                          "public).", "components", RefusalKind.STATE)
        rows.append(row)
    return rows


def _set_states(writer: service.Writer, components: dict[str, str]) -> list[Service]:
    rows = _check_components(writer.session, components)
    for row in rows:
        row.component_state = str(components[row.id])
        writer.session.add(row)
    if rows:
        service.record_directory(writer.session, list(rows))
    return rows


@router.post(incident("{key}", PUBLIC_UPDATE), status_code=201, response_model=EventOut,
             tags=["status page"], responses=WRITE_ERRORS)
async def post_public_update(request: Request, caller: Allowed, key: Key,
                             body: PublicUpdateBody, idempotency_key: IdemKey = None
                             ) -> Response:
    """Post a public update on an incident: a ``status_update`` timeline event marked public
    with its public wording, shown on the status page and its feed and sent to the
    subscribers; ``components`` sets their states too. Refused (409) for a restricted
    incident."""
    components = {name: state.value for name, state in body.components.items()}

    def op(writer: service.Writer, found: service.AnyIncident) -> Answer:
        event_id = str(body.id) if body.id else None
        if event_id is not None:
            existing = writer.session.get(TimelineEvent, event_id)
            if existing is not None:
                if existing.incident_id != found.id or \
                        (existing.data or {}).get("public_text") != body.public_text:
                    raise Refused("That update id is already used for another update.", "id")
                return writer.event_snapshot(existing)
        effect = public_update_effect(service.incident_state(found), body.public_text,
                                      components, event_id)
        rows = _set_states(writer, components)
        event = writer.effect(found, effect)[0]
        notify.queue_status_update(writer.session, incident_id=found.id, event_id=event.id,
                                   public_incident=public_id(found.id),
                                   text=event.data["public_text"],
                                   components=[r.name for r in rows], now=writer.now)
        return writer.event_snapshot(event)
    return status_changed(request, await write_on(request, caller, key, idempotency_key, body,
                                            Operation.PUBLISH_STATUS, "incident.public_update",
                                            op, status=201))


@router.put(service_state("{service_id}"), response_model=ServiceOut, tags=["status page"],
            responses=WRITE_ERRORS)
async def set_component_state(request: Request, caller: Allowed, service_id: ServiceId,
                              body: ComponentStateBody, idempotency_key: IdemKey = None
                              ) -> Response:
    """Set a public service's state on the status page."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        writer.origin = caller.origin()
        if writer.session.get(Service, service_id) is None:
            raise service.NotFound(f"no service {service_id!r}")
        row = _set_states(writer, {service_id: body.state.value})[0]
        writer.audit("service.component_state", "service", service_id,
                     {"state": body.state.value})
        return 200, ServiceOut.model_validate(row)
    return status_changed(request, await write(request, caller.user, idempotency_key, body, op))


# -- maintenance windows --------------------------------------------------------------------


@router.get(MAINTENANCE, response_model=list[MaintenanceOut], tags=["maintenance"],
            responses=ERRORS)
def list_windows(request: Request, caller: Allowed,
                 past: Annotated[bool, Query(description="also the windows that are over")]
                 = False) -> list[MaintenanceOut]:
    """Maintenance windows running now or planned (``past``: all), by start."""
    with database(request).read() as session:
        rows = maintenance.listed(session, utcnow(), include_past=past)
        held = maintenance.held_counts(session, [r.id for r in rows])
        return [maintenance.window_out(r, held.get(r.id, 0)) for r in rows]


@router.post(MAINTENANCE, status_code=201, response_model=MaintenanceOut,
             tags=["maintenance"], responses=WRITE_ERRORS)
async def create_window(request: Request, caller: Allowed, body: MaintenanceCreate,
                        idempotency_key: IdemKey = None) -> Response:
    """Plan a maintenance window: alerts for its services open no incident and page no one
    while it runs; their incidents' SLA clocks pause; it shows on the status page."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        writer.origin = caller.origin()
        return 201, maintenance.create(writer, body)
    return status_changed(request, await write(request, caller.user, idempotency_key, body, op))


@router.post(maintenance_end("{window_id}"), response_model=MaintenanceOut,
             tags=["maintenance"], responses=WRITE_ERRORS)
async def end_window(request: Request, caller: Allowed, window_id: WindowId,
                     idempotency_key: IdemKey = None) -> Response:
    """End a window now; alerts it held that still fire open their incidents."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        writer.origin = caller.origin()
        return 200, maintenance.end(writer, window_id)
    answer = await write(request, caller.user, idempotency_key, None, op)
    if answer.status_code == 200:
        try:  # at once rather than at the releaser's next round
            if await asyncio.to_thread(maintenance.release_due, database(request)):
                request.app.state.notifier.notify()
        except Exception:  # the releaser tries again on its own
            log.exception("releasing the held alerts of window %s failed", window_id)
    return status_changed(request, answer)


# -- webhook subscribers --------------------------------------------------------------------


@router.get(STATUS_SUBSCRIBERS, response_model=list[SubscriberOut], tags=["status page"],
            responses=ERRORS)
def list_subscribers(request: Request, caller: Allowed) -> list[SubscriberOut]:
    """The webhooks told of public updates (their secrets are not shown again)."""
    with database(request).read() as session:
        return [SubscriberOut(id=s.id, url=s.url, created_at=s.created_at)
                for s in session.exec(select(StatusSubscriber)
                                       .order_by(col(StatusSubscriber.created_at)))]


@router.post(STATUS_SUBSCRIBERS, status_code=201, response_model=SubscriberOut,
             tags=["status page"], responses=ERRORS)
def add_subscriber(request: Request, caller: Allowed, body: SubscriberCreate) -> SubscriberOut:
    """Subscribe a webhook to public updates. The answer holds its signing secret, shown
    only this once: each delivery is signed like the server's notifications
    (``X-Incidenttui-Signature``), retried with backoff."""
    now = utcnow()
    row = StatusSubscriber(id=str(uuid.uuid4()), url=body.url,
                           secret=secrets.token_urlsafe(32), created_by=caller.user.id,
                           created_at=now)
    with database(request).write() as session:
        session.add(row)
        audit.append(session, caller.origin(), "status.subscribe", "status_subscriber",
                     row.id, {"url": body.url})
    return SubscriberOut(id=row.id, url=row.url, created_at=row.created_at, secret=row.secret)


@router.delete(f"{STATUS_SUBSCRIBERS}/{{subscriber_id}}", status_code=204,
               tags=["status page"], responses=ERRORS)
def remove_subscriber(request: Request, caller: Allowed,
                      subscriber_id: Annotated[str, PathParam(max_length=36)]) -> Response:
    """Stop telling a webhook of public updates."""
    with database(request).write() as session:
        row = session.get(StatusSubscriber, subscriber_id)
        if row is None:
            raise ApiError(404, f"no subscriber {subscriber_id!r}")
        session.delete(row)
        audit.append(session, caller.origin(), "status.unsubscribe", "status_subscriber",
                     row.id, {})
    return Response(status_code=204)
