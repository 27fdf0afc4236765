"""HTTP endpoints of alert ingestion.

* ``POST /api/v1/integrations/alertmanager`` — Prometheus Alertmanager's webhook (payload
  version 4), authenticated by the integration key as a bearer token, which is what
  Alertmanager's ``http_config: {authorization: {credentials: KEY}}`` sends.
* ``POST /api/v1/events`` — compatible with PagerDuty's Events API v2 ``enqueue``: the key is
  the body's ``routing_key``; answers 202 ``{status, message, dedup_key}`` or 400
  ``{status: "invalid event", message, errors}`` like PagerDuty does.
* ``/api/v1/integrations`` — admins create (the key is in that answer only), list and revoke
  integrations with their user tokens.

Bodies over :data:`MAX_BODY_BYTES` (512 KiB) are refused with 413 before they are read whole
(:class:`BoundedRoute`). Every accepted request is written whole or not at all
(:class:`~incidenttui.server.alerts.ingest.Ingestor`). Under an alert storm FastAPI's
dependency solving and body validation in Python mode cost more CPU than the de-duplication
itself, so the Events v2 route validates a JSON body straight from its bytes
(:class:`ValidatedBodyRoute`) and falls back to FastAPI's path for anything else.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from incidenttui.api.errors import ErrorOut
from incidenttui.api.paths import ALERTMANAGER, API, EVENTS_V2
from incidenttui.domain import Refused, Role, Status
from incidenttui.domain.permissions import may
from incidenttui.server import audit
from incidenttui.server.access import operation_for
from incidenttui.server.alerts import integrations
from incidenttui.server.alerts.ingest import Ingestor
from incidenttui.server.alerts.jobs import Job, Outcome
from incidenttui.server.alerts.severity import severity_targets
from incidenttui.server.alerts.wire import (
    AlertmanagerResult,
    AlertmanagerWebhook,
    EventsAccepted,
    EventsError,
    EventsV2Event,
    IncidentRef,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationOut,
    SeverityTarget,
    from_alertmanager,
    from_event,
)
from incidenttui.server.auth import hash_token
from incidenttui.server.db import Database
from incidenttui.server.deps import Allowed, admit, current_caller, uses
from incidenttui.server.fastcall import is_json
from incidenttui.server.models import Integration
from incidenttui.server.routes import mount
from incidenttui.server.service import NotFound

#: The largest request body the ingestion endpoints read (PagerDuty's own limit per event).
MAX_BODY_BYTES = 512 * 1024
_INIT = threading.Lock()
_ACCEPTED = b'{"status":"success","message":"Event processed","dedup_key":'


def integration_out(integration: Integration) -> IntegrationOut:
    targets = severity_targets(integration)
    return IntegrationOut(
        id=integration.id, name=integration.name, service=integration.service,
        kind=integration.kind, auto_resolve=integration.auto_resolve,
        category=integration.category,
        severity_map={s: SeverityTarget(impact=i, urgency=u) for s, (i, u) in targets.items()},
        created_by=integration.created_by, created_at=integration.created_at,
        revoked_at=integration.revoked_at, active=integration.revoked_at is None)


# -- routes that read a bounded body ------------------------------------------------------


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request's body, refused with :class:`_TooLarge` as soon as it is over ``limit``
    (by its Content-Length, or by what arrived when it is chunked); kept on the request."""
    if hasattr(request, "_body"):
        return request._body
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge
    return await _receive_body(request, limit)


async def _receive_body(request: Request, limit: int) -> bytes:
    """The body as it arrives, :class:`_TooLarge` once over ``limit``; kept on the request."""
    chunks, size = [], 0
    while True:  # Request.stream() without its generator: this runs once per alert
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    request._body = body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return body


class BoundedRoute(APIRoute):
    """A route that refuses a body over :data:`MAX_BODY_BYTES` with 413 before it is
    read whole."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # A route of users (the integration admin routes) admits its caller first: 401 or
        # 403 before a byte of the body is read.
        admits = uses(self.dependant, current_caller)
        # A route keyed by an integration key in the Authorization header (Alertmanager's)
        # answers a request without one before reading its body, as user routes do.
        keyed = uses(self.dependant, integration_bearer)
        method, path = next(iter(self.methods)), self.path

        async def bounded(request: Request) -> Response:
            if admits:
                await admit(request, method, path)
            elif keyed and await integration_bearer(request) is None:
                return _fail(401, "Authentication required: set the integration key as the "
                                  "bearer credentials (http_config.authorization).",
                             headers={"WWW-Authenticate": "Bearer"})
            try:
                await _read_limited(request, MAX_BODY_BYTES)
            except _TooLarge:
                return self.too_large()
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return self.invalid(exc)
            except StarletteHTTPException as exc:
                if exc.status_code == 400:  # a body FastAPI could not parse (not UTF-8)
                    return self.unparsable()
                raise

        return bounded

    def too_large(self) -> Response:
        return JSONResponse({"detail": f"The request body is over the "
                                       f"{MAX_BODY_BYTES}-byte limit.", "field": None},
                            413)

    def invalid(self, exc: RequestValidationError) -> Response:
        raise exc  # the app's handler answers 422 naming the field

    def unparsable(self) -> Response:
        return JSONResponse({"detail": "The body is not JSON in UTF-8.", "field": None}, 400)


def _event_error_text(error: Mapping[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    path = ".".join(loc)
    kind = str(error.get("type", ""))
    msg = str(error.get("msg", "invalid"))
    if kind == "json_invalid":
        return f"The body is not valid JSON: {error.get('ctx', {}).get('error', msg)}"
    if kind == "value_error":
        text = str(error.get("ctx", {}).get("error", msg))
        return f"'{path}' {text}" if path and "'" not in text else text
    if not path:
        return "The body must be a JSON object" if kind != "missing" else "The body is empty"
    if kind == "missing":
        return f"'{path}' is missing"
    if kind == "string_too_short":
        return f"'{path}' is missing or blank"
    return f"'{path}' is invalid: {msg}"


def events_error(status: int, message: str, errors: list[str],
                 kind: str = "invalid event") -> JSONResponse:
    return JSONResponse({"status": kind, "message": message, "errors": errors}, status)


class ValidatedBodyRoute(BoundedRoute):
    """A bounded route whose JSON body is validated straight from its bytes.

    pydantic's JSON mode (``model_validate_json``) checks the bytes in one pass; FastAPI's
    path decodes them into Python objects, solves the endpoint's dependencies and validates in
    Python mode. A body that validates goes to the endpoint with the request, as FastAPI would
    call it; anything else (not JSON by its content type, or not valid) takes FastAPI's path,
    so every error answer is the route's own. The endpoint must be async, take only the
    request and the body (checked when the route is built) and return a :class:`Response`;
    the route must be included without router dependencies (which this path would skip).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        request_name, body_name, model = _request_and_body(self)
        endpoint = self.endpoint

        async def validated(request: Request) -> Response:
            content_type = length = None
            for name, value in request.scope["headers"]:  # one pass, no Headers object
                if name == b"content-type" and content_type is None:
                    content_type = value
                elif name == b"content-length" and length is None:
                    length = value
            if content_type is None or not is_json(content_type):
                return await handler(request)
            try:
                if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
                    raise _TooLarge
                raw = await _receive_body(request, MAX_BODY_BYTES)
            except _TooLarge:
                return self.too_large()
            try:
                body = model.model_validate_json(raw)
            except ValidationError:
                return await handler(request)  # the body is kept: it is not read again
            response = await endpoint(**{request_name: request, body_name: body})
            if not isinstance(response, Response):  # FastAPI would serialise it; we do not
                raise TypeError(f"{self.path}: the endpoint must return a Response")
            return response

        return validated


def _request_and_body(route: APIRoute) -> tuple[str, str, type[BaseModel]]:
    """The names of the endpoint's request and body parameters and the body's model."""
    dependant = route.dependant
    fields = dependant.body_params
    model = fields[0].field_info.annotation if len(fields) == 1 else None
    if (not inspect.iscoroutinefunction(route.endpoint) or dependant.request_param_name is None
            or dependant.dependencies or dependant.path_params or dependant.query_params
            or dependant.header_params or dependant.cookie_params
            or not (isinstance(model, type) and issubclass(model, BaseModel))):
        raise TypeError(f"{route.path}: a ValidatedBodyRoute endpoint is async and takes only "
                        "the request and one body model")
    return dependant.request_param_name, fields[0].name, model




class EventsRoute(ValidatedBodyRoute):
    """The Events v2 route: its errors are answered the way PagerDuty does."""

    def too_large(self) -> Response:
        return events_error(413, "Event object is too large", [
            f"The request body is over the {MAX_BODY_BYTES}-byte limit"])

    def invalid(self, exc: RequestValidationError) -> Response:
        errors = list(dict.fromkeys(_event_error_text(e) for e in exc.errors()))
        return events_error(400, "Event object is invalid", errors)

    def unparsable(self) -> Response:
        return events_error(400, "Event object is invalid", ["The body is not JSON in UTF-8"])


#: A sender uses one key for every event: hash it once (keys are 32 characters, or at most
#: a bearer token's length, so the cache stays small).
_key_hash = functools.lru_cache(maxsize=1024)(hash_token)


# -- the router ---------------------------------------------------------------------------

router = APIRouter(route_class=BoundedRoute)
integration_bearer = HTTPBearer(
    auto_error=False, scheme_name="IntegrationKey",
    description="An integration key from `incidenttui admin create-integration`")


def _database(request: Request) -> Database:
    return request.app.state.db


def ingestor(request: Request) -> Ingestor:
    """The app's :class:`Ingestor` (made on first use)."""
    return _ingestor(request.app.state)


def _ingestor(state: Any) -> Ingestor:
    found = getattr(state, "alert_ingestor", None)
    if found is None:
        with _INIT:
            found = getattr(state, "alert_ingestor", None)
            if found is None:
                notifier = getattr(state, "notifier", None)
                found = Ingestor(state.db, notifier.notify if notifier else None)
                state.alert_ingestor = found
    return found


def _count(request: Request, source: str, outcome: Outcome) -> None:
    """``incidenttui_alert_events_total{source, outcome}`` on the app's /metrics."""
    _count_in(request.app.state, source, outcome)


def _count_in(state: Any, source: str, outcome: Outcome) -> None:
    counter = getattr(state, "alert_events", None)
    if counter is None:
        metrics = getattr(state, "metrics", None)
        if metrics is None:
            return
        with _INIT:
            counter = getattr(state, "alert_events", None)
            if counter is None:
                counter = state.alert_events = _EventCounter(metrics.registry)
    counter.count(source, outcome)


class _EventCounter:
    """``incidenttui_alert_events_total{source, outcome}``, its children kept (``labels()``
    validates and hashes on every call)."""

    NAMES = ("created", "joined", "repeats", "resolved", "acknowledged", "ignored")

    def __init__(self, registry: Any) -> None:
        self.counter = Counter("incidenttui_alert_events",
                               "Alert events received, by source and outcome",
                               ["source", "outcome"], registry=registry)
        self.children: dict[tuple[str, str], Any] = {}

    def child(self, source: str, name: str) -> Any:
        found = self.children.get((source, name))
        if found is None:
            found = self.children[(source, name)] = self.counter.labels(source, name)
        return found

    def count(self, source: str, outcome: Outcome) -> None:
        if outcome.status != "ok":
            self.child(source, outcome.status).inc(max(1, outcome.alerts))
            return
        for name in self.NAMES:
            value = getattr(outcome, name)
            if value:
                self.child(source, name).inc(value)


def _fail(status: int, detail: str, field: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status, headers=headers)


#: Whether an integration key may send to each intake endpoint: it acts with the
#: integration role, and the matrix says what that role may do.
_INTAKE_ALLOWED = {path: may(Role.INTEGRATION, operation_for("POST", path))  # type: ignore[arg-type]
                   for path in (EVENTS_V2, ALERTMANAGER)}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or a token that is not valid"},
    403: {"model": ErrorOut, "description": "Only admins manage integrations"},
    422: {"model": ErrorOut, "description": "Bad input; `field` names it"},
}


async def enqueue_event(request: Request, body: EventsV2Event) -> Response:
    """PagerDuty Events API v2 compatible: ``trigger`` opens an incident for the
    ``dedup_key`` (scoped to the routing key) or joins the open one and counts the repeat;
    ``acknowledge`` acknowledges a new incident; ``resolve`` records the recovery and, by the
    integration's rule, resolves the incident. A trigger after the incident was resolved
    opens a new one."""
    state = request.app.state
    if not _INTAKE_ALLOWED[EVENTS_V2]:
        return events_error(403, "Event object is refused", [
            "The integration role may not send events"], kind="forbidden")
    if body.event_action == "trigger" and not body.dedup_key:
        body.dedup_key = uuid.uuid4().hex
    assert body.dedup_key is not None
    job = Job("events", _key_hash(body.routing_key), [from_event(body)])
    outcome = await _ingestor(state).submit_async(job)
    _count_in(state, "events", outcome)
    if outcome.status in ("unauthorized", "wrong_kind"):
        reason = ("'routing_key' is not a known integration key (revoked, or never issued)"
                  if outcome.status == "unauthorized" else
                  "'routing_key' belongs to an Alertmanager integration, not an Events API "
                  "one")
        return events_error(400, "Event object is invalid", [reason])
    if outcome.status == "refused":
        return events_error(400, "Event object is invalid", [outcome.message])
    if outcome.status == "unavailable":
        return JSONResponse({"status": "error", "message": outcome.message, "errors": []}, 503,
                            headers={"Retry-After": "2"})
    # EventsAccepted as JSONResponse renders it, without building the model or the dict
    return Response(_ACCEPTED + json.dumps(body.dedup_key, ensure_ascii=False).encode() + b"}",
                    202, media_type="application/json")


#: The Events v2 route, put on the app's own router by :func:`add_routes`.
EVENTS_ROUTE: dict[str, Any] = {
    "path": f"{API}/events", "endpoint": enqueue_event, "methods": ["POST"],
    "status_code": 202, "response_model": EventsAccepted, "tags": ["alerts"],
    "route_class_override": EventsRoute, "name": "enqueue_event", "responses": {
        400: {"model": EventsError, "description": "Not a valid event; `errors` lists why"},
        413: {"model": EventsError, "description": "Body over 512 KiB"},
        503: {"model": EventsError, "description": "Database busy; retry"}}}


def add_routes(app: FastAPI) -> None:
    """Put the alert endpoints on ``app`` (call it before the app's other routes).

    The Events v2 route goes on the app's own router, first in line: an included router is
    matched through one more layer (twice per request, since FastAPI 0.137), which costs an
    alert storm about a fifth of each event's HTTP-side CPU. The others are :data:`router`'s,
    put on the app the same way (:func:`~incidenttui.server.routes.mount`).
    """
    app.router.add_api_route(**EVENTS_ROUTE)
    mount(app, router)


@router.post(f"{API}/integrations/alertmanager", response_model=AlertmanagerResult,
             tags=["alerts"], responses={
                 401: {"model": ErrorOut, "description": "No integration key, or one that is "
                                                          "not valid"},
                 413: {"model": ErrorOut, "description": "Body over 512 KiB"},
                 422: {"model": ErrorOut, "description": "Not an Alertmanager version 4 "
                                                          "payload; `field` names the problem"},
                 503: {"model": ErrorOut, "description": "Database busy; retry"}})
async def alertmanager_webhook(
    request: Request, body: AlertmanagerWebhook,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(integration_bearer)],
) -> Response:
    """Alertmanager's webhook: each firing alert opens an incident or joins the open one (by
    fingerprint, then by group); resolved alerts are recorded, and the integration's rule
    resolves the incident once every alert has recovered."""
    if credentials is None:
        return _fail(401, "Authentication required: set the integration key as the bearer "
                          "credentials (http_config.authorization).",
                     headers={"WWW-Authenticate": "Bearer"})
    if not _INTAKE_ALLOWED[ALERTMANAGER]:
        return _fail(403, "The integration role may not send alerts.")
    job = Job("alertmanager", _key_hash(credentials.credentials), from_alertmanager(body))
    outcome = await ingestor(request).submit_async(job)
    _count(request, "alertmanager", outcome)
    if outcome.status in ("unauthorized", "wrong_kind"):
        return _fail(401, outcome.message, headers={"WWW-Authenticate": "Bearer"})
    if outcome.status == "refused":
        return _fail(422, outcome.message)
    if outcome.status == "unavailable":
        return _fail(503, outcome.message, headers={"Retry-After": "2"})
    result = AlertmanagerResult(
        alerts=outcome.alerts, created=outcome.created, joined=outcome.joined,
        repeats=outcome.repeats, resolved=outcome.resolved, ignored=outcome.ignored,
        held=outcome.held, auto_resolved=outcome.auto_resolved,
        truncated_alerts=body.truncated_alerts,
        incidents=[IncidentRef(id=i.id, ref=i.ref, status=Status(i.status), created=i.created)
                   for i in outcome.incidents.values()])
    return JSONResponse(result.model_dump(mode="json"))


@router.post(f"{API}/integrations", status_code=201, response_model=IntegrationCreated,
             tags=["integrations"], responses=ERRORS)
def create_integration(request: Request, caller: Allowed, body: IntegrationCreate) -> Response:
    """Create an integration for a service; the answer holds its key, shown only once."""
    with _database(request).write() as session:
        try:
            integration, key = integrations.create_integration(
                session, service_id=body.service, kind=body.kind, name=body.name,
                auto_resolve=body.auto_resolve, category=body.category.value,
                severity_map={s: t.model_dump() for s, t in body.severity_map.items()},
                created_by=caller.user.id)
        except Refused as exc:
            return _fail(422, exc.reason, exc.field)
        audit.append(session, caller.origin(), "integration.create", "integration",
                     integration.id, {"service": integration.service, "kind": integration.kind})
        out = integration_out(integration)
    endpoint = (f"{API}/integrations/alertmanager" if integration.kind == "alertmanager"
                else f"{API}/events")
    created = IntegrationCreated(**out.model_dump(), key=key, endpoint=endpoint)
    return JSONResponse(created.model_dump(mode="json"), 201)


@router.get(f"{API}/integrations", response_model=list[IntegrationOut],
            tags=["integrations"], responses=ERRORS)
def list_integrations(request: Request, caller: Allowed) -> list[IntegrationOut]:
    """Every integration, revoked ones included (never their keys)."""
    with _database(request).read() as session:
        return [integration_out(i) for i in integrations.list_integrations(session)]


@router.post(f"{API}/integrations/{{integration_id}}/revoke", response_model=IntegrationOut,
             tags=["integrations"], responses={
                 **ERRORS, 404: {"model": ErrorOut, "description": "No such integration"}})
def revoke_integration(
    request: Request, caller: Allowed,
    integration_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """Revoke an integration's key: its senders are refused from now on (idempotent)."""
    with _database(request).write() as session:
        try:
            integration = integrations.revoke_integration(session, integration_id)
        except NotFound as exc:
            return _fail(404, str(exc))
        audit.append(session, caller.origin(), "integration.revoke", "integration",
                     integration.id)
        out = integration_out(integration)
    return JSONResponse(out.model_dump(mode="json"))
