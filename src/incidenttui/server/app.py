"""The HTTP API: FastAPI routes over :mod:`incidenttui.server.service`.

Every write runs in one database transaction together with its ``Idempotency-Key`` record and
its change-feed entries, so a retried request never applies twice and the feed never shows a
write that did not commit.
"""


import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from incidenttui import __version__
from incidenttui.api.errors import REFUSAL_STATUS, ConflictOut, ErrorOut, FieldConflictOut
from incidenttui.api.paths import API
from incidenttui.api.schemas import (
    SLUG_PATTERN,
    ActionBody,
    ChangeOut,
    ChangePage,
    EscalateBody,
    EventOut,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    LinkBody,
    Me,
    NoteBody,
    ServiceOut,
    TeamOut,
    UserOut,
)
from incidenttui.domain import Action, Permission, Priority, Refused, Status, allowed
from incidenttui.server import service
from incidenttui.server.alerts import add_routes as add_alert_routes
from incidenttui.server.auth import user_for_token
from incidenttui.server.changes import ChangeNotifier, latest_seq, read_changes
from incidenttui.server.db import Database
from incidenttui.server.metrics import Metrics, MetricsMiddleware
from incidenttui.server.models import IdempotencyRecord, Incident, Service, Team, User
from incidenttui.sqltypes import utcnow

log = logging.getLogger("incidenttui.server")

#: How often a long-poll re-reads the feed without a local wake-up (other replicas' writes).
REPLICA_POLL_SECONDS = 0.5

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or a token that is not valid"},
    403: {"model": ErrorOut, "description": "The user's role may not do this"},
    404: {"model": ErrorOut, "description": "No such incident"},
    422: {"model": ErrorOut, "description": "Bad input; `field` names it"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ConflictOut | ErrorOut,
          "description": "A move the lifecycle refuses, or fields changed since base_version"},
}

bearer = HTTPBearer(auto_error=False, description="A token from `incidenttui admin create-user`")


class ApiError(Exception):
    """An error answer with a readable ``detail`` and, where it applies, the field at fault."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers


def _error_body(detail: str, field: str | None = None) -> dict[str, Any]:
    return {"detail": detail, "field": field}


def create_app(database: Database | str, *, migrate: bool = True) -> FastAPI:
    """The API application over ``database`` (a :class:`Database` or a URL)."""
    db = database if isinstance(database, Database) else Database(database)
    if migrate:
        db.migrate()
    with db.write() as session:
        service.ensure_counters(session)
    notifier = ChangeNotifier()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        notifier.bind(asyncio.get_running_loop())
        yield

    app = FastAPI(title="incidenttui", version=__version__, lifespan=lifespan,
                  description="The incidenttui server: ITIL incidents, timelines, a change feed.")
    app.state.db = db
    app.state.notifier = notifier
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    add_alert_routes(app)  # first: routes match in order, and alert storms come this way

    # -- errors: always JSON with a readable detail, never a traceback --------------------

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_error_body(exc.detail, exc.field), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        field = ".".join(p for p in first["loc"] if p not in ("body", "query", "path",
                                                                "header")) or None
        detail = f"{field}: {first['msg']}" if field else first["msg"]
        return JSONResponse({"detail": detail, "field": field, "errors": errors}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_error_body(str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error: %s", exc.orig)
        return JSONResponse(_error_body("The database is unavailable; try again shortly."),
                            503, headers={"Retry-After": "2"})

    # -- dependencies ----------------------------------------------------------------------

    def current_user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> User:
        if credentials is None:
            raise ApiError(401, "Authentication required: send 'Authorization: Bearer TOKEN'.",
                           headers={"WWW-Authenticate": "Bearer"})
        with db.read() as session:
            user = user_for_token(session, credentials.credentials)
        if user is None:
            raise ApiError(401, "The token is not valid (revoked, or never issued).",
                           headers={"WWW-Authenticate": "Bearer"})
        return user

    def need(permission: Permission) -> Callable[[User], User]:
        def check(user: Annotated[User, Depends(current_user)]) -> User:
            if not allowed(user.role, permission):
                raise ApiError(403, f"Role {user.role!r} may not {permission.value}.")
            return user
        return check

    Reader = Annotated[User, Depends(need(Permission.READ))]
    Responder = Annotated[User, Depends(need(Permission.RESPOND))]
    IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                           description="Repeats with the same key apply once")]
    Key = Annotated[str, Path(description="The incident's UUID or number (INC-1042)",
                              max_length=64)]

    # -- the write path --------------------------------------------------------------------

    def write(request: Request, user: User, key: str | None, payload: Any,
              op: Callable[[service.Writer], tuple[int, BaseModel]]) -> Response:
        fingerprint = hashlib.sha256(json.dumps(
            [request.method, request.url.path, jsonable_encoder(payload)],
            sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        for attempt in range(3):
            try:
                return _write_once(user, key, fingerprint, op)
            except IntegrityError:
                # Another request with the same key (or the same new id) committed first.
                if attempt == 2:
                    raise ApiError(503, "A concurrent request made the same change; "
                                   "retry.", headers={"Retry-After": "1"}) from None
        raise AssertionError("unreachable")

    def _write_once(user: User, key: str | None, fingerprint: str,
                    op: Callable[[service.Writer], tuple[int, BaseModel]]) -> Response:
        with db.write() as session:
            record = None
            if key:
                record = session.get(IdempotencyRecord, (user.id, key))
                if record is not None:
                    return _replay(record, fingerprint)
                record = IdempotencyRecord(user_id=user.id, key=key, fingerprint=fingerprint,
                                           created_at=utcnow())
                session.add(record)
                session.flush()
            writer = service.Writer(session, user)
            status, body = _apply(session, writer, op)
            if record is not None:
                record.status_code = status
                record.body = json.dumps(body)
                session.add(record)
        notifier.notify()
        return JSONResponse(body, status)

    def _apply(session: Any, writer: service.Writer,
               op: Callable[[service.Writer], tuple[int, BaseModel]]) -> tuple[int, Any]:
        """Run ``op`` in a savepoint: a refused op leaves nothing but its answer behind."""
        savepoint = session.begin_nested()
        try:
            status, model = op(writer)
            writer.finish()
        except Exception as exc:
            savepoint.rollback()
            return _failure(exc)
        savepoint.commit()
        return status, jsonable_encoder(model)

    def _failure(exc: Exception) -> tuple[int, Any]:
        if isinstance(exc, Refused):
            return REFUSAL_STATUS[exc.kind], _error_body(exc.reason, exc.field)
        if isinstance(exc, service.NotFound):
            return 404, _error_body(str(exc))
        if isinstance(exc, service.Conflict):
            names = ", ".join(c.field for c in exc.conflicts)
            body = ConflictOut(
                detail=f"Changed by someone else since your version: {names}.",
                conflicts=[FieldConflictOut(field=c.field, mine=c.mine, theirs=c.theirs,
                                            their_version=c.their_version)
                           for c in exc.conflicts],
                incident=service.incident_out(exc.incident))
            return 409, jsonable_encoder(body)
        raise exc

    def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
        if record.fingerprint != fingerprint:
            raise ApiError(422, "This Idempotency-Key was already used for a different request.",
                           "Idempotency-Key")
        if not record.status_code:  # written by a request still in flight elsewhere
            raise ApiError(503, "A request with this Idempotency-Key is still in progress.",
                           headers={"Retry-After": "1"})
        return JSONResponse(json.loads(record.body), record.status_code,
                            headers={"Idempotent-Replayed": "true"})

    def on_incident(key: str, fn: Callable[[service.Writer, Incident], BaseModel],
                    status: int = 200) -> Callable[[service.Writer], tuple[int, BaseModel]]:
        def op(writer: service.Writer) -> tuple[int, BaseModel]:
            incident = service.find_incident(writer.session, key, for_update=True)
            return status, fn(writer, incident)
        return op

    # -- service endpoints -----------------------------------------------------------------

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
        except OperationalError:
            raise ApiError(503, "The database is unavailable.") from None
        return {"status": "ok", "version": __version__, "database": db.dialect}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        """Prometheus text exposition."""
        with db.read() as session:
            metrics.feed_seq.set(latest_seq(session))
            counts = dict(session.exec(
                select(Incident.priority, func.count()).where(
                    col(Incident.status).in_([s.value for s in Status if s.is_open]))
                .group_by(Incident.priority)).all())
        for priority in Priority:
            metrics.open_incidents.labels(priority.label).set(counts.get(int(priority), 0))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    # -- reads -----------------------------------------------------------------------------

    @app.get(f"{API}/me", response_model=Me, tags=["directory"], responses=ERRORS)
    def me(user: Reader) -> Me:
        """Who the token belongs to, and the server's clock."""
        return Me(user=UserOut.model_validate(user), server_time=utcnow())

    @app.get(f"{API}/incidents", response_model=IncidentPage, tags=["incidents"],
             responses=ERRORS)
    def list_incidents(
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
        query = select(Incident)
        if status:
            query = query.where(col(Incident.status).in_([s.value for s in status]))
        if priority:
            query = query.where(col(Incident.priority).in_(priority))
        for column, value in ((Incident.service, service_id), (Incident.team, team),
                              (Incident.assignee, assignee)):
            if value is not None:
                query = query.where(column == value)
        with db.read() as session:
            total = session.exec(select(func.count()).select_from(query.subquery())).one()
            rows = session.exec(query.order_by(col(Incident.number).desc())
                                .offset(offset).limit(limit)).all()
            items = [service.incident_out(i) for i in rows]
        return IncidentPage(items=items, total=total, offset=offset, limit=limit)

    @app.get(f"{API}/incidents/{{key}}", response_model=IncidentDetail, tags=["incidents"],
             responses=ERRORS)
    def get_incident(user: Reader, key: Key) -> IncidentDetail:
        """One incident, by UUID or number, with its timeline."""
        with db.read() as session:
            try:
                incident = service.find_incident(session, key)
            except service.NotFound as exc:
                raise ApiError(404, str(exc)) from None
            events = [EventOut.model_validate(e) for e in service.timeline(session, incident.id)]
            return IncidentDetail(**service.incident_out(incident).model_dump(), timeline=events)

    @app.get(f"{API}/incidents/{{key}}/timeline", response_model=list[EventOut],
             tags=["incidents"], responses=ERRORS)
    def get_timeline(user: Reader, key: Key) -> list[EventOut]:
        """An incident's timeline, oldest first."""
        with db.read() as session:
            try:
                incident = service.find_incident(session, key)
            except service.NotFound as exc:
                raise ApiError(404, str(exc)) from None
            return [EventOut.model_validate(e) for e in service.timeline(session, incident.id)]

    def directory(path: str, table: type, schema: type[BaseModel], tag: str) -> None:
        def list_rows(user: Reader) -> list[Any]:
            with db.read() as session:
                rows = session.exec(select(table).order_by(col(table.id))).all()
                return [schema.model_validate(r) for r in rows]
        list_rows.__doc__ = f"All {path}."
        app.get(f"{API}/{path}", response_model=list[schema], tags=[tag], responses=ERRORS,
                name=f"list_{path}")(list_rows)

    directory("teams", Team, TeamOut, "directory")
    directory("users", User, UserOut, "directory")
    directory("services", Service, ServiceOut, "directory")

    @app.get(f"{API}/changes", response_model=ChangePage, tags=["sync"], responses=ERRORS)
    async def changes(
        user: Reader,
        cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
        wait: Annotated[float, Query(ge=0, le=60)] = 0,
    ) -> ChangePage:
        """Every change after ``cursor``, in order; waits up to ``wait`` s when none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait

        def read() -> ChangePage:
            with db.read() as session:
                rows, more = read_changes(session, cursor, limit)
            items = [ChangeOut(seq=r.seq or 0, entity=r.entity, id=r.entity_id, data=r.data)
                     for r in rows]
            return ChangePage(changes=items, cursor=items[-1].seq if items else cursor,
                              more=more)

        while True:
            page = await run_in_threadpool(read)
            remaining = deadline - loop.time()
            if page.changes or remaining <= 0 or notifier.closed:
                return page
            await notifier.wait(min(remaining, REPLICA_POLL_SECONDS))

    # -- writes ----------------------------------------------------------------------------

    @app.post(f"{API}/incidents", status_code=201, response_model=IncidentOut,
              tags=["incidents"], responses=WRITE_ERRORS)
    def create_incident(request: Request, user: Responder, body: IncidentCreate,
                        idempotency_key: IdemKey = None) -> Response:
        """Log a new incident; the server gives its number."""
        def op(writer: service.Writer) -> tuple[int, BaseModel]:
            return 201, service.incident_out(writer.create(body))
        return write(request, user, idempotency_key, body, op)

    @app.patch(f"{API}/incidents/{{key}}", response_model=IncidentOut, tags=["incidents"],
               responses=WRITE_ERRORS)
    def patch_incident(request: Request, user: Responder, key: Key, body: IncidentPatch,
                       idempotency_key: IdemKey = None) -> Response:
        """Change fields; refused with 409 listing each field changed since base_version."""
        return write(request, user, idempotency_key, body, on_incident(
            key, lambda w, i: service.incident_out(w.patch(i, body))))

    def action_route(action: Action) -> None:
        def act(request: Request, user: Responder, key: Key, idempotency_key: IdemKey = None,
                body: ActionBody | None = None) -> Response:
            body = body or ActionBody()
            return write(request, user, idempotency_key, body, on_incident(
                key, lambda w, i: service.incident_out(w.act(i, action, body))))
        act.__doc__ = f"Lifecycle move: {action.value}."
        app.post(f"{API}/incidents/{{key}}/{action.value}", response_model=IncidentOut,
                 tags=["actions"], responses=WRITE_ERRORS, name=action.value)(act)

    for action in Action:
        action_route(action)

    @app.post(f"{API}/incidents/{{key}}/escalate", response_model=IncidentOut,
              tags=["actions"], responses=WRITE_ERRORS)
    def escalate(request: Request, user: Responder, key: Key, body: EscalateBody,
                 idempotency_key: IdemKey = None) -> Response:
        """Functional (to a team / the next level) or hierarchical (management) escalation."""
        return write(request, user, idempotency_key, body, on_incident(
            key, lambda w, i: service.incident_out(w.escalate(i, body))))

    @app.post(f"{API}/incidents/{{key}}/notes", status_code=201, response_model=EventOut,
              tags=["actions"], responses=WRITE_ERRORS)
    def add_note(request: Request, user: Responder, key: Key, body: NoteBody,
                 idempotency_key: IdemKey = None) -> Response:
        """Append a note to the timeline; notes never conflict."""
        return write(request, user, idempotency_key, body, on_incident(
            key, lambda w, i: EventOut.model_validate(w.note(i, body)), status=201))

    @app.post(f"{API}/incidents/{{key}}/links", response_model=IncidentOut, tags=["actions"],
              responses=WRITE_ERRORS)
    def add_link(request: Request, user: Responder, key: Key, body: LinkBody,
                 idempotency_key: IdemKey = None) -> Response:
        """Link to another incident: duplicate_of, related or caused_by."""
        return write(request, user, idempotency_key, body, on_incident(
            key, lambda w, i: service.incident_out(w.link(i, body))))

    return app


def app_from_env() -> FastAPI:
    """The app for uvicorn's worker processes (``--workers N``): the database URL comes from
    ``INCIDENTTUI_SERVER_DB``; the parent process has already migrated it."""
    import os

    return create_app(os.environ["INCIDENTTUI_SERVER_DB"], migrate=False)
