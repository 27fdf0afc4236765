"""HTTP endpoints of alert ingestion (the logic is in :mod:`incidenttui.server.alerts`).

* ``POST /api/v1/integrations/alertmanager`` — Prometheus Alertmanager's webhook (payload
  version 4), authenticated by the integration key as a bearer token, which is what
  Alertmanager's ``http_config: {authorization: {credentials: KEY}}`` sends.
* ``POST /api/v1/events`` — compatible with PagerDuty's Events API v2 ``enqueue``: the key is
  the body's ``routing_key``; answers 202 ``{status, message, dedup_key}`` or 400
  ``{status: "invalid event", message, errors}`` like PagerDuty does.
* ``/api/v1/integrations`` — admins create (the key is in that answer only), list and revoke
  integrations with their user tokens.

Bodies over :data:`alerts.MAX_BODY_BYTES` (512 KiB) are refused with 413 before they are read
whole. Every accepted request is written whole or not at all (see ``alerts.Ingestor``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from incidenttui.api.errors import ErrorOut
from incidenttui.api.paths import API
from incidenttui.api.schemas import Level, Slug, no_nul, not_blank
from incidenttui.domain import Category, Permission, Refused, Status, allowed
from incidenttui.server import alerts
from incidenttui.server.auth import hash_token, user_for_token
from incidenttui.server.db import Database
from incidenttui.server.models import Integration, User
from incidenttui.server.service import NotFound

_INIT = threading.Lock()


# -- request bodies and answers -----------------------------------------------------------


Severity = Literal["critical", "error", "warning", "info"]
Short = Annotated[str, StringConstraints(max_length=1024)]


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager notification."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(None, alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL", max_length=8192)
    fingerprint: str | None = Field(None, min_length=1, max_length=256,
                                    description="Alertmanager's alert identity; computed from "
                                                "the labels when absent")


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook notification, payload version 4."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1, max_length=100_000)
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = Field("", max_length=1024)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL", max_length=8192)
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)


class IncidentRef(BaseModel):
    id: str
    ref: str = Field(description="The incident's number, e.g. INC-1042")
    status: Status
    created: bool = Field(description="True when this request opened the incident")


class AlertmanagerResult(BaseModel):
    """What one notification did."""

    status: Literal["success"] = "success"
    alerts: int = Field(description="Alerts in the notification")
    created: int = Field(description="Incidents opened")
    joined: int = Field(description="New alerts attached to an open incident")
    repeats: int = Field(description="Alerts seen again (their count went up)")
    resolved: int = Field(description="Alerts recorded as resolved")
    ignored: int = Field(description="Resolved alerts with no open incident")
    auto_resolved: int = Field(description="Incidents resolved because every alert recovered")
    truncated_alerts: int = Field(0, description="Alerts Alertmanager left out (max_alerts)")
    incidents: list[IncidentRef]


def _routing_key(value: str) -> str:
    if len(value) != 32:
        raise ValueError("Length of 'routing_key' is incorrect (should be 32 characters)")
    return value


def _utc(value: datetime | None) -> datetime | None:
    # PagerDuty reads a timestamp without an offset as UTC; so do we.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class EventLink(BaseModel):
    model_config = ConfigDict(extra="allow")

    href: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    text: Short | None = None


class EventImage(BaseModel):
    model_config = ConfigDict(extra="allow")

    src: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    href: Annotated[str, StringConstraints(max_length=8192)] | None = None
    alt: Short | None = None


class EventPayload(BaseModel):
    """What happened (trigger events only)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    summary: Annotated[str, StringConstraints(min_length=1, max_length=1024),
                       AfterValidator(not_blank)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=1024),
                      AfterValidator(not_blank)]
    severity: Severity
    timestamp: Annotated[datetime | None, AfterValidator(_utc)] = None
    component: Short | None = None
    group: Short | None = None
    class_: Short | None = Field(None, alias="class")
    custom_details: Any = None


class EventsV2Event(BaseModel):
    """A PagerDuty Events API v2 event (``POST /v2/enqueue`` body)."""

    model_config = ConfigDict(extra="allow")

    routing_key: Annotated[str, AfterValidator(_routing_key)] = Field(
        description="The integration key (32 characters)")
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="Identifies the alert; generated for a trigger without one")
    payload: EventPayload | None = None
    images: list[EventImage] = Field(default_factory=list, max_length=100)
    links: list[EventLink] = Field(default_factory=list, max_length=100)
    client: Short | None = None
    client_url: Annotated[str, StringConstraints(max_length=8192)] | None = None

    @field_validator("dedup_key")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value else None

    @model_validator(mode="after")
    def _action_needs(self) -> EventsV2Event:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("'payload' is required for trigger events")
        if self.event_action != "trigger" and not self.dedup_key:
            raise ValueError(f"'dedup_key' is required for {self.event_action} events")
        return self


class EventsAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


class EventsError(BaseModel):
    status: str = Field(description="'invalid event', or 'error' when the server cannot "
                                    "take events right now")
    message: str
    errors: list[str] = Field(default_factory=list)


class SeverityTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    impact: Level
    urgency: Level


class IntegrationCreate(BaseModel):
    """A new integration; its key is in the answer, and only there."""

    model_config = ConfigDict(extra="forbid")

    service: Slug
    kind: Literal["alertmanager", "events"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200),
                    AfterValidator(no_nul), AfterValidator(not_blank)] | None = None
    auto_resolve: bool = Field(True, description="Resolve the incident when every alert "
                                                 "has recovered")
    category: Category = Category.AVAILABILITY
    severity_map: dict[Severity, SeverityTarget] = Field(
        default_factory=dict, description="Overrides of the default severity → impact/urgency "
                                          "mapping (critical 1/1, error 2/1, warning 2/2, "
                                          "info 3/3)")


class IntegrationOut(BaseModel):
    id: str
    name: str
    service: str
    kind: str
    auto_resolve: bool
    category: str
    severity_map: dict[str, SeverityTarget] = Field(
        description="The effective mapping, defaults included")
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class IntegrationCreated(IntegrationOut):
    key: str = Field(description="The integration key, shown only in this answer")
    endpoint: str = Field(description="Where the integration sends its alerts")


def integration_out(integration: Integration) -> IntegrationOut:
    targets = alerts.severity_targets(integration)
    return IntegrationOut(
        id=integration.id, name=integration.name, service=integration.service,
        kind=integration.kind, auto_resolve=integration.auto_resolve,
        category=integration.category,
        severity_map={s: SeverityTarget(impact=i, urgency=u) for s, (i, u) in targets.items()},
        created_by=integration.created_by, created_at=integration.created_at,
        revoked_at=integration.revoked_at, active=integration.revoked_at is None)


# -- from wire format to alerts -----------------------------------------------------------


def _labels_fingerprint(labels: Mapping[str, str]) -> str:
    text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _alertmanager_description(labels: Mapping[str, str], annotations: Mapping[str, str],
                              generator_url: str, external_url: str) -> str:
    lines = [annotations["description"]] if annotations.get("description") else []
    if not annotations.get("summary") and annotations.get("message"):
        lines.append(annotations["message"])
    lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    for key in ("runbook_url", "dashboard_url"):
        if annotations.get(key):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {annotations[key]}")
    if generator_url:
        lines.append(f"Source: {generator_url}")
    if external_url:
        lines.append(f"Alertmanager: {external_url}")
    return "\n\n".join(lines)


def from_alertmanager(body: AlertmanagerWebhook) -> list[alerts.AlertIn]:
    """The alerts of one Alertmanager notification."""
    result = []
    for alert in body.alerts:
        labels = {**body.common_labels, **alert.labels}
        annotations = {**body.common_annotations, **alert.annotations}
        name = labels.get("alertname", "")
        summary = annotations.get("summary") or annotations.get("title") or name
        source = labels.get("instance") or labels.get("job") or ""
        details: dict[str, Any] = {"labels": labels, "annotations": annotations}
        if alert.generator_url:
            details["generator_url"] = alert.generator_url
        result.append(alerts.AlertIn(
            action="trigger" if alert.status == "firing" else "resolve",
            key=alert.fingerprint or _labels_fingerprint(labels), group_key=body.group_key,
            summary=summary or "Alertmanager alert", severity=labels.get("severity"),
            source=source, description=functools.partial(
                _alertmanager_description, labels, annotations, alert.generator_url,
                body.external_url), starts_at=alert.starts_at,
            ends_at=alert.ends_at, labels=labels, details=details))
    return result


def from_event(event: EventsV2Event) -> alerts.AlertIn:
    """The alert of one Events v2 event (its ``dedup_key`` is set for triggers by then)."""
    key = event.dedup_key or ""
    payload = event.payload
    if event.event_action != "trigger" or payload is None:
        return alerts.AlertIn(action=event.event_action, key=key, group_key=key)
    details: dict[str, Any] = {"source_host": payload.source}
    for name, value in (("component", payload.component), ("group", payload.group),
                        ("class", payload.class_), ("custom_details", payload.custom_details),
                        ("client", event.client), ("client_url", event.client_url)):
        if value is not None:
            details[name] = value
    if event.links:
        details["links"] = [link.model_dump(exclude_none=True) for link in event.links]
    if event.images:
        details["images"] = [image.model_dump(exclude_none=True) for image in event.images]
    return alerts.AlertIn(action="trigger", key=key, group_key=key, summary=payload.summary,
                          severity=payload.severity, source=payload.source,
                          description=functools.partial(_event_description, event, details),
                          starts_at=payload.timestamp, details=details)


def _event_description(event: EventsV2Event, details: Mapping[str, Any]) -> str:
    payload = event.payload
    assert payload is not None
    lines = [payload.summary, f"Source: {payload.source}"]
    lines += [f"{name.capitalize()}: {details[name]}" for name in ("component", "group", "class")
              if name in details]
    if payload.custom_details is not None:
        lines.append("Details:\n" + json.dumps(payload.custom_details, indent=2,
                                               ensure_ascii=False, default=str))
    lines += [f"Link: {link.text + ' ' if link.text else ''}{link.href}" for link in event.links]
    if event.client:
        lines.append(f"Sent by: {event.client}" + (f" ({event.client_url})"
                                                    if event.client_url else ""))
    return "\n".join(lines)


# -- routes that read a bounded body ------------------------------------------------------


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class BoundedRoute(APIRoute):
    """A route that refuses a body over :data:`alerts.MAX_BODY_BYTES` with 413 before it is
    read whole."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            try:
                request._body = await _read_limited(request, alerts.MAX_BODY_BYTES)
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
                                       f"{alerts.MAX_BODY_BYTES}-byte limit.", "field": None},
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


class EventsRoute(BoundedRoute):
    """Events v2 answers errors the way PagerDuty does."""

    def too_large(self) -> Response:
        return events_error(413, "Event object is too large", [
            f"The request body is over the {alerts.MAX_BODY_BYTES}-byte limit"])

    def invalid(self, exc: RequestValidationError) -> Response:
        errors = list(dict.fromkeys(_event_error_text(e) for e in exc.errors()))
        return events_error(400, "Event object is invalid", errors)

    def unparsable(self) -> Response:
        return events_error(400, "Event object is invalid", ["The body is not JSON in UTF-8"])


#: A sender uses one key for every event: hash it once (keys are 32 characters, or at most
#: a bearer token's length, so the cache stays small).
_key_hash = functools.lru_cache(maxsize=1024)(hash_token)


class EventsFastPath:
    """ASGI middleware answering a valid Events v2 event without FastAPI's request machinery.

    Under an alert storm the framework's routing, dependency solving and body validation in
    Python mode cost more CPU than the de-duplication itself, so a ``POST /api/v1/events``
    with a JSON body of a stated length is read here and validated straight from its bytes
    (pydantic's JSON mode); a valid event goes to :func:`ingest_event`, the same code the
    route runs. Anything else (another path, no ``Content-Length``, a body over the limit or
    one that does not validate) goes on to the app with its body replayed, so every error
    answer is the route's own. Installed inside the metrics middleware, which counts these
    requests under the route's path as before.
    """

    def __init__(self, app: ASGIApp, fastapi_app: Any, path: str = f"{API}/events") -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.path = path
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.path
                or scope["method"] != "POST" or scope.get("root_path")):
            await self.app(scope, receive, send)
            return
        length = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
        if (content_type is None or length is None or not length.isdigit()
                or int(length) > alerts.MAX_BODY_BYTES
                or content_type.split(b";", 1)[0].strip().lower() != b"application/json"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client left: let the app see it
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > alerts.MAX_BODY_BYTES or not message.get("more_body", False):
                break
        body = None
        if messages[-1]["type"] == "http.request" and not messages[-1].get("more_body", False):
            try:
                body = EventsV2Event.model_validate_json(b"".join(chunks))
            except ValidationError:
                body = None
        if body is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        route = self._route
        if route is None:
            route = self._route = next(  # the route object the router would put in scope
                r for r in router.routes
                if isinstance(r, APIRoute) and r.path == self.path and "POST" in r.methods)
        scope["route"] = route  # the metrics label
        try:
            response = await ingest_event(self.fastapi_app.state, body)
        except Exception as exc:  # answered as the app's exception handlers would
            handler = _handler_for(self.fastapi_app, exc)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages already read."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _handler_for(app: Any, exc: Exception) -> Any:
    for cls in type(exc).__mro__:
        if cls in app.exception_handlers and cls is not Exception:
            return app.exception_handlers[cls]
    return None


# -- the router ---------------------------------------------------------------------------

router = APIRouter(route_class=BoundedRoute)
integration_bearer = HTTPBearer(
    auto_error=False, scheme_name="IntegrationKey",
    description="An integration key from `incidenttui admin create-integration`")
user_bearer = HTTPBearer(auto_error=False,
                         description="A token from `incidenttui admin create-user`")


def _database(request: Request) -> Database:
    return request.app.state.db


def ingestor(request: Request) -> alerts.Ingestor:
    """The app's :class:`alerts.Ingestor` (made on first use)."""
    return _ingestor(request.app.state)


def _ingestor(state: Any) -> alerts.Ingestor:
    found = getattr(state, "alert_ingestor", None)
    if found is None:
        with _INIT:
            found = getattr(state, "alert_ingestor", None)
            if found is None:
                notifier = getattr(state, "notifier", None)
                found = alerts.Ingestor(state.db, notifier.notify if notifier else None)
                state.alert_ingestor = found
    return found


def _count(request: Request, source: str, outcome: alerts.Outcome) -> None:
    """``incidenttui_alert_events_total{source, outcome}`` on the app's /metrics."""
    _count_in(request.app.state, source, outcome)


def _count_in(state: Any, source: str, outcome: alerts.Outcome) -> None:
    counter = getattr(state, "alert_events", None)
    if counter is None:
        metrics = getattr(state, "metrics", None)
        if metrics is None:
            return
        with _INIT:
            counter = getattr(state, "alert_events", None)
            if counter is None:
                counter = state.alert_events = Counter(
                    "incidenttui_alert_events", "Alert events received, by source and outcome",
                    ["source", "outcome"], registry=metrics.registry)
    children = getattr(state, "alert_event_children", None)
    if children is None:
        children = state.alert_event_children = {}

    def child(name: str) -> Any:  # labels() validates and hashes on every call
        found = children.get((source, name))
        if found is None:
            found = children[(source, name)] = counter.labels(source, name)
        return found

    if outcome.status != "ok":
        child(outcome.status).inc(max(1, outcome.alerts))
        return
    for name in ("created", "joined", "repeats", "resolved", "acknowledged", "ignored"):
        value = getattr(outcome, name)
        if value:
            child(name).inc(value)



def _fail(status: int, detail: str, field: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status, headers=headers)


def admin_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
) -> User:
    if credentials is None:
        raise StarletteHTTPException(401, "Authentication required: send 'Authorization: "
                                          "Bearer TOKEN'.", {"WWW-Authenticate": "Bearer"})
    with _database(request).read() as session:
        user = user_for_token(session, credentials.credentials)
    if user is None:
        raise StarletteHTTPException(401, "The token is not valid (revoked, or never issued).",
                                     {"WWW-Authenticate": "Bearer"})
    if not allowed(user.role, Permission.ADMIN):
        raise StarletteHTTPException(403, f"Role {user.role!r} may not "
                                          f"{Permission.ADMIN.value}.")
    return user


Admin = Annotated[User, Depends(admin_user)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or a token that is not valid"},
    403: {"model": ErrorOut, "description": "Only admins manage integrations"},
    422: {"model": ErrorOut, "description": "Bad input; `field` names it"},
}


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
    job = alerts.Job("alertmanager", _key_hash(credentials.credentials),
                     from_alertmanager(body))
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
        auto_resolved=outcome.auto_resolved, truncated_alerts=body.truncated_alerts,
        incidents=[IncidentRef(id=i.id, ref=i.ref, status=Status(i.status), created=i.created)
                   for i in outcome.incidents.values()])
    return JSONResponse(result.model_dump(mode="json"))


async def enqueue_event(request: Request, body: EventsV2Event) -> Response:
    """PagerDuty Events API v2 compatible: ``trigger`` opens an incident for the
    ``dedup_key`` (scoped to the routing key) or joins the open one and counts the repeat;
    ``acknowledge`` acknowledges a new incident; ``resolve`` records the recovery and, by the
    integration's rule, resolves the incident. A trigger after the incident was resolved
    opens a new one."""
    return await ingest_event(request.app.state, body)


async def ingest_event(state: Any, body: EventsV2Event) -> Response:
    """The answer to a valid Events v2 event (:func:`enqueue_event` and the fast path)."""
    if body.event_action == "trigger" and not body.dedup_key:
        body.dedup_key = uuid.uuid4().hex
    assert body.dedup_key is not None
    job = alerts.Job("events", _key_hash(body.routing_key), [from_event(body)])
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
    # EventsAccepted's fields, without building the model for every event
    return JSONResponse({"status": "success", "message": "Event processed",
                         "dedup_key": body.dedup_key}, 202)


router.add_api_route(
    f"{API}/events", enqueue_event, methods=["POST"], status_code=202,
    response_model=EventsAccepted, tags=["alerts"], route_class_override=EventsRoute,
    name="enqueue_event", responses={
        400: {"model": EventsError, "description": "Not a valid event; `errors` lists why"},
        413: {"model": EventsError, "description": "Body over 512 KiB"},
        503: {"model": EventsError, "description": "Database busy; retry"}})


@router.post(f"{API}/integrations", status_code=201, response_model=IntegrationCreated,
             tags=["integrations"], responses=ERRORS)
def create_integration(request: Request, user: Admin, body: IntegrationCreate) -> Response:
    """Create an integration for a service; the answer holds its key, shown only once."""
    with _database(request).write() as session:
        try:
            integration, key = alerts.create_integration(
                session, service_id=body.service, kind=body.kind, name=body.name,
                auto_resolve=body.auto_resolve, category=body.category.value,
                severity_map={s: t.model_dump() for s, t in body.severity_map.items()},
                created_by=user.id)
        except Refused as exc:
            return _fail(422, exc.reason, exc.field)
        out = integration_out(integration)
    endpoint = (f"{API}/integrations/alertmanager" if integration.kind == "alertmanager"
                else f"{API}/events")
    created = IntegrationCreated(**out.model_dump(), key=key, endpoint=endpoint)
    return JSONResponse(created.model_dump(mode="json"), 201)


@router.get(f"{API}/integrations", response_model=list[IntegrationOut],
            tags=["integrations"], responses=ERRORS)
def list_integrations(request: Request, user: Admin) -> list[IntegrationOut]:
    """Every integration, revoked ones included (never their keys)."""
    with _database(request).read() as session:
        return [integration_out(i) for i in alerts.list_integrations(session)]


@router.post(f"{API}/integrations/{{integration_id}}/revoke", response_model=IntegrationOut,
             tags=["integrations"], responses={
                 **ERRORS, 404: {"model": ErrorOut, "description": "No such integration"}})
def revoke_integration(
    request: Request, user: Admin,
    integration_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """Revoke an integration's key: its senders are refused from now on (idempotent)."""
    with _database(request).write() as session:
        try:
            integration = alerts.revoke_integration(session, integration_id)
        except NotFound as exc:
            return _fail(404, str(exc))
        out = integration_out(integration)
    return JSONResponse(out.model_dump(mode="json"))
