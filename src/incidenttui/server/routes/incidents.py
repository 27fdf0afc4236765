"""Incidents: the list, one incident with its timeline, and every write on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlmodel import Session

from incidenttui.api.paths import (
    BREACH_NOTIFICATION,
    DECLARE_MAJOR,
    INCIDENTS,
    MAJOR_EVENTS,
    MEMBERS,
    RESTRICT,
    UNRESTRICT,
)
from incidenttui.api.schemas import (
    SLUG_PATTERN,
    ActionBody,
    BreachNotificationBody,
    EscalateBody,
    EventOut,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    LinkBody,
    MajorEventBody,
    MemberBody,
    MembersOut,
    NoteBody,
)
from incidenttui.domain import Action, Refused, Status
from incidenttui.domain.permissions import (
    Decision,
    Operation,
    Visibility,
    decide,
    may,
    visibility_of,
)
from incidenttui.server import membership, queries, service, visibility
from incidenttui.server.deps import (
    Allowed,
    AuthRoute,
    Caller,
    IdemKey,
    Key,
    check_incident,
    database,
    refused,
)
from incidenttui.server.errors import ERRORS, WRITE_ERRORS, ApiError
from incidenttui.server.models import User
from incidenttui.server.writes import Answer, on_incident, write

router = APIRouter(route_class=AuthRoute)
ONE = f"{INCIDENTS}/{{key}}"

# -- reads --------------------------------------------------------------------------------


@router.get(INCIDENTS, response_model=IncidentPage, tags=["incidents"], responses=ERRORS)
def list_incidents(
    request: Request,
    caller: Allowed,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Annotated[int, Query(ge=1, le=5)]] | None, Query()] = None,
    service_id: Annotated[str | None, Query(alias="service", max_length=64,
                                            pattern=SLUG_PATTERN)] = None,
    team: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IncidentPage:
    """The incidents the caller can see, newest first, filtered and paginated."""
    with database(request).read() as session:
        return queries.incident_page(session, caller.user, status=status, priority=priority,
                                     service_id=service_id, team=team, assignee=assignee,
                                     offset=offset, limit=limit)


def _readable(session: Session, caller: Caller, key: str) -> service.AnyIncident:
    """Incident ``key`` if the caller may read it; else 404, as for a missing one."""
    try:
        incident = service.find_incident(session, key)
        check_incident(session, caller, incident, Operation.READ, key)
    except service.NotFound as exc:
        raise ApiError(404, str(exc)) from None
    return incident


@router.get(ONE, response_model=IncidentDetail, tags=["incidents"], responses=ERRORS)
def get_incident(request: Request, caller: Allowed, key: Key) -> IncidentDetail:
    """One incident, by UUID or number, with its timeline."""
    with database(request).read() as session:
        return queries.incident_detail(session, _readable(session, caller, key))


@router.get(f"{ONE}/timeline", response_model=list[EventOut], tags=["incidents"],
            responses=ERRORS)
def get_timeline(request: Request, caller: Allowed, key: Key) -> list[EventOut]:
    """An incident's timeline, oldest first."""
    with database(request).read() as session:
        return queries.timeline_out(session, _readable(session, caller, key))


# -- writes -------------------------------------------------------------------------------


def guarded(caller: Caller, operation: Operation, key: str, action: str | None,
            fn: Callable[[service.Writer, service.AnyIncident], Answer]
            ) -> Callable[[service.Writer, service.AnyIncident], Answer]:
    """``fn`` on the incident ``key``, if the matrix allows the caller ``operation`` on it,
    audited as ``action``. A write that changes whether the incident is restricted (a
    category patch, restrict, unrestrict) also needs the matrix's ``restrict`` or
    ``unrestrict``, keeps the caller able to see it, and tells the feed who lost or gained
    it. (``action`` None: ``fn`` writes its own audit entry.)"""
    def run(writer: service.Writer, incident: service.AnyIncident) -> Answer:
        session = writer.session
        writer.origin = caller.origin()
        check_incident(session, caller, incident, operation, key)
        member = visibility.member_of(session, incident, caller.user)
        before = visibility.restricted(incident)
        answer = fn(writer, incident)
        after = visibility.restricted(incident)
        if before and not after:
            if not may(caller.role, Operation.UNRESTRICT, Visibility.RESTRICTED, member=member):
                raise refused(caller.role, Operation.UNRESTRICT)
            writer.after(lambda: visibility.resend(session, incident, None))
        elif after and not before:
            if not may(caller.role, Operation.RESTRICT, Visibility.NORMAL):
                raise refused(caller.role, Operation.RESTRICT)
            if not visibility.sees_all(caller.role):  # who hides it keeps following it
                membership.add_member(session, incident.id, caller.user.id,
                                      added_by=caller.user.id, now=writer.now)
            writer.after(lambda: visibility.forget(
                session, incident.id, visibility.blind_users(session, incident.id)))
        if action is not None:
            writer.audit(action, "incident", incident.id)
        return answer
    return run


async def write_on(request: Request, caller: Caller, key: str, idempotency_key: str | None,
              body: Any, operation: Operation, action: str | None,
              fn: Callable[[service.Writer, service.AnyIncident], Answer],
              status: int = 200) -> Response:
    return await write(request, caller.user, idempotency_key, body, on_incident(
        key, guarded(caller, operation, key, action, fn), status=status))


@router.post(INCIDENTS, status_code=201, response_model=IncidentOut, tags=["incidents"],
             responses=WRITE_ERRORS)
async def create_incident(request: Request, caller: Allowed, body: IncidentCreate,
                    idempotency_key: IdemKey = None) -> Response:
    """Log a new incident; the server gives its number. Whoever logs a restricted one (a
    security incident, or ``restricted``) is added to it, so they can follow it."""
    def op(writer: service.Writer) -> tuple[int, Answer]:
        writer.origin = caller.origin()
        wanted = visibility_of(body.category, body.restricted)
        if decide(caller.role, Operation.CREATE, wanted) is not Decision.ALLOW:
            raise refused(caller.role, Operation.CREATE)
        incident = writer.create(body)
        if wanted is Visibility.RESTRICTED and not visibility.sees_all(caller.role):
            writer.session.flush()
            membership.add_member(writer.session, incident.id, caller.user.id,
                                  added_by=caller.user.id, now=writer.now)
        writer.audit("incident.create", "incident", incident.id,
                     {"category": incident.category, "restricted": wanted.value})
        return 201, writer.snapshot(incident)
    return await write(request, caller.user, idempotency_key, body, op)


@router.patch(ONE, response_model=IncidentOut, tags=["incidents"], responses=WRITE_ERRORS)
async def patch_incident(request: Request, caller: Allowed, key: Key, body: IncidentPatch,
                   idempotency_key: IdemKey = None) -> Response:
    """Change fields; refused with 409 listing each field changed since base_version."""
    return await write_on(request, caller, key, idempotency_key, body, Operation.CHANGE_FIELDS,
                     "incident.patch", lambda w, i: w.snapshot(w.patch(i, body)))


def _action_route(action: Action) -> None:
    async def act(request: Request, caller: Allowed, key: Key, idempotency_key: IdemKey = None,
            body: ActionBody | None = None) -> Response:
        body = body or ActionBody()
        return await write_on(request, caller, key, idempotency_key, body, Operation.MOVE,
                         f"incident.{action.value}",
                         lambda w, i: w.snapshot(w.act(i, action, body)))
    act.__doc__ = f"Lifecycle move: {action.value}."
    router.add_api_route(f"{ONE}/{action.value}", act, methods=["POST"],
                         response_model=IncidentOut, tags=["actions"],
                         responses=WRITE_ERRORS, name=action.value)


for _action in Action:
    _action_route(_action)


@router.post(f"{ONE}/escalate", response_model=IncidentOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def escalate(request: Request, caller: Allowed, key: Key, body: EscalateBody,
             idempotency_key: IdemKey = None) -> Response:
    """Functional (to a team / the next level) or hierarchical (management) escalation."""
    return await write_on(request, caller, key, idempotency_key, body, Operation.ESCALATE,
                     "incident.escalate", lambda w, i: w.snapshot(w.escalate(i, body)))


@router.post(f"{ONE}/notes", status_code=201, response_model=EventOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def add_note(request: Request, caller: Allowed, key: Key, body: NoteBody,
             idempotency_key: IdemKey = None) -> Response:
    """Append a note to the timeline; notes never conflict. ``evidence`` marks it as
    evidence (the matrix's ``evidence_note``); no note is ever edited or deleted."""
    operation = Operation.EVIDENCE_NOTE if body.evidence else Operation.NOTE
    return await write_on(request, caller, key, idempotency_key, body, operation,
                     "incident.evidence_note" if body.evidence else "incident.note",
                     lambda w, i: w.event_snapshot(w.note(i, body)), status=201)


@router.post(f"{ONE}{BREACH_NOTIFICATION}", status_code=201, response_model=EventOut,
             tags=["security"], responses=WRITE_ERRORS)
async def record_breach_notification(request: Request, caller: Allowed, key: Key,
                               body: BreachNotificationBody,
                               idempotency_key: IdemKey = None) -> Response:
    """Record that a personal-data breach was notified to the supervisory authority: the
    check of its playbook's ``notify-authority`` step, which stops the 72-hour clock. 409 for
    an incident that is not a personal-data breach, or one already notified."""
    return await write_on(request, caller, key, idempotency_key, body,
                     Operation.RECORD_BREACH_NOTIFICATION, "incident.breach_notification",
                     lambda w, i: w.event_snapshot(w.breach_notification(i, body)),
                     status=201)


@router.post(f"{ONE}/links", response_model=IncidentOut, tags=["actions"],
             responses=WRITE_ERRORS)
async def add_link(request: Request, caller: Allowed, key: Key, body: LinkBody,
             idempotency_key: IdemKey = None) -> Response:
    """Link to another incident: duplicate_of, related or caused_by. A restricted target is
    named only as "a restricted incident" on a timeline others may read."""
    return await write_on(request, caller, key, idempotency_key, body, Operation.LINK,
                     "incident.link", lambda w, i: w.snapshot(w.link(i, body)))


# -- major incidents ----------------------------------------------------------------------


@router.post(f"{ONE}{DECLARE_MAJOR}", response_model=IncidentOut, tags=["major"],
             responses=WRITE_ERRORS)
async def declare_major(request: Request, caller: Allowed, key: Key,
                        idempotency_key: IdemKey = None) -> Response:
    """Declare the incident a major incident (roles, stakeholder updates, action items and
    a post-incident review follow). Already major: nothing changes."""
    return await write_on(request, caller, key, idempotency_key, {}, Operation.COMMAND,
                          "incident.declare_major",
                          lambda w, i: w.snapshot(w.declare_major(i)))


@router.post(f"{ONE}{MAJOR_EVENTS}", status_code=201, response_model=EventOut,
             tags=["major"], responses=WRITE_ERRORS)
async def add_major_event(request: Request, caller: Allowed, key: Key, body: MajorEventBody,
                          idempotency_key: IdemKey = None) -> Response:
    """Append a major incident's entry: ``role`` (assign a role), ``status_update`` (a
    stakeholder update; it also goes out through the notification webhook), ``action_item``
    (a new item, or a change to one) or ``review`` (a field of the post-incident review).
    Entries never conflict and keep the time they were written (``at``, at most now)."""
    from incidenttui.domain import EventKind
    from incidenttui.server import notify

    channels = getattr(request.app.state, "channels", None) or notify.Channels()

    def append(writer: service.Writer, incident: service.AnyIncident) -> Answer:
        known = writer.session.get(service.TimelineEvent, str(body.id)) is not None
        event = writer.major_event(incident, body)
        if not known and event.kind == EventKind.STATUS_UPDATE:
            notify.queue(writer.session, channels, incident=incident, event_id=event.id,
                         kind=EventKind.STATUS_UPDATE.value, text=event.text, people=[],
                         now=writer.now, extra={"update": event.data})
        return writer.event_snapshot(event)
    answer = await write_on(request, caller, key, idempotency_key, body, Operation.COMMAND,
                            f"incident.major_{body.kind}"[:60], append, status=201)
    if body.kind == EventKind.STATUS_UPDATE and body.data.get("public"):
        from incidenttui.server.routes.status import status_changed

        status_changed(request, answer)  # a public one is on the status page at once
    return answer


# -- restricted incidents -----------------------------------------------------------------


@router.post(f"{ONE}{RESTRICT}", response_model=IncidentOut, tags=["security"],
             responses=WRITE_ERRORS)
async def restrict(request: Request, caller: Allowed, key: Key,
             idempotency_key: IdemKey = None) -> Response:
    """Mark the incident restricted: from now on only the security role, admins and its
    members see it (the caller is made a member); everyone else's clients forget it."""
    return await write_on(request, caller, key, idempotency_key, {}, Operation.RESTRICT,
                     "incident.restrict", lambda w, i: w.snapshot(w.set_restricted(i, True)))


@router.post(f"{ONE}{UNRESTRICT}", response_model=IncidentOut, tags=["security"],
             responses=WRITE_ERRORS)
async def unrestrict(request: Request, caller: Allowed, key: Key,
               idempotency_key: IdemKey = None) -> Response:
    """Lift the mark (a security incident stays restricted by its category)."""
    return await write_on(request, caller, key, idempotency_key, {}, Operation.UNRESTRICT,
                     "incident.unrestrict",
                     lambda w, i: w.snapshot(w.set_restricted(i, False)))


def _members(writer: service.Writer, incident: service.AnyIncident) -> dict[str, Any]:
    return MembersOut(incident_id=incident.id, members=[
        m.user_id for m in membership.members(writer.session, incident.id)]
    ).model_dump(mode="json")


@router.post(f"{ONE}{MEMBERS}", response_model=MembersOut, tags=["security"],
             responses=WRITE_ERRORS)
async def add_member(request: Request, caller: Allowed, key: Key, body: MemberBody,
               idempotency_key: IdemKey = None) -> Response:
    """Add someone to the incident: while it is restricted they see it (their client gets it
    whole at its next pull)."""
    def add(writer: service.Writer, incident: service.AnyIncident) -> dict[str, Any]:
        session = writer.session
        user = session.get(User, body.user)
        if user is None:
            raise Refused(f"Unknown user {body.user!r}.", "user")
        added = membership.add_member(session, incident.id, user.id, added_by=caller.user.id,
                                      now=writer.now)
        if (added and visibility.restricted(incident) and not visibility.sees_all(user.role)
                and visibility.can_see(user.role, True, member=True)):
            writer.after(lambda: visibility.resend(session, incident, user.id))
        writer.audit("incident.member_add", "incident", incident.id, {"user": user.id})
        return _members(writer, incident)
    return await write_on(request, caller, key, idempotency_key, body, Operation.MANAGE_MEMBERS,
                     None, add)


@router.delete(f"{ONE}{MEMBERS}/{{user}}", response_model=MembersOut, tags=["security"],
               responses=WRITE_ERRORS)
async def remove_member(request: Request, caller: Allowed, key: Key,
                  user: Annotated[str, PathParam(max_length=64, pattern=SLUG_PATTERN)],
                  idempotency_key: IdemKey = None) -> Response:
    """Take someone off the incident: while it is restricted their client forgets it."""
    def remove(writer: service.Writer, incident: service.AnyIncident) -> dict[str, Any]:
        session = writer.session
        removed = membership.remove_member(session, incident.id, user)
        row = session.get(User, user)
        if removed and visibility.restricted(incident) and not (
                row is not None and visibility.sees_all(row.role)):
            writer.after(lambda: visibility.forget(session, incident.id, [user]))
        writer.audit("incident.member_remove", "incident", incident.id, {"user": user})
        return _members(writer, incident)
    return await write_on(request, caller, key, idempotency_key, {"user": user},
                     Operation.MANAGE_MEMBERS, None, remove)
