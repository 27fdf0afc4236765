"""Organisation as code on the server: ``incidenttui admin apply FILE`` and ``admin export``.

The document's shape and rules are the domain's (:mod:`incidenttui.domain.organisation`);
here is where they meet the database: on-call schedules and escalation policies are stored
as their document items (one JSON column each, so the stored form and the file are the same
shape), teams, users and services in their directory tables. :func:`apply` carries out the
domain's :func:`~incidenttui.domain.organisation.plan` inside the caller's transaction and
records directory changes in the change feed; applying the same document again changes
nothing.

What the document does not say stays as it is: users' tokens (created with ``admin
create-user`` / ``admin tokens``), incidents, alert integrations. People missing from the
document are deactivated (their tokens stop working at once), never deleted: incidents and
the audit log name them. A team or service missing from it is deleted only when nothing names
it any more; otherwise it is kept and the report says why.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, func
from sqlmodel import Field, Session, SQLModel, col, select

from incidenttui.domain import Refused, Role
from incidenttui.domain import organisation as org_doc
from incidenttui.domain.organisation import Change, Organisation, Step
from incidenttui.server import audit, visibility
from incidenttui.server.admin import cli_origin
from incidenttui.server.audit import Origin
from incidenttui.server.changes import record_changes
from incidenttui.server.models import Incident, Service, Team, User
from incidenttui.server.service import record_directory
from incidenttui.server.tokens import list_tokens
from incidenttui.sqltypes import utcnow

#: The largest organisation file read (a few thousand people fit in far less).
MAX_FILE_BYTES = 4 * 1024 * 1024


class ScheduleRow(SQLModel, table=True):
    """An on-call schedule, stored as its organisation-document item."""

    __tablename__ = "oncall_schedules"

    id: str = Field(primary_key=True, max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class PolicyRow(SQLModel, table=True):
    """An escalation policy, stored as its organisation-document item."""

    __tablename__ = "escalation_policies"

    id: str = Field(primary_key=True, max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class OrganisationError(ValueError):
    """A document that cannot be applied, with the reason (the path of the value at fault)."""


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did (or, for a dry run, would do): each step and its note."""

    steps: list[tuple[Step, str]]

    @property
    def changed(self) -> bool:
        return any(not note.startswith("kept") for _, note in self.steps)

    def report(self) -> str:
        if not self.steps:
            return "nothing to change: the server already matches the document"
        return "\n".join(f"{step}{': ' + note if note else ''}" for step, note in self.steps)


# -- reading ---------------------------------------------------------------------------------


def read_file(path: Path) -> Organisation:
    """The organisation a TOML or YAML file declares; :class:`OrganisationError` with the
    file and the reason for anything wrong (never a traceback)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise OrganisationError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise OrganisationError(f"{path}: over {MAX_FILE_BYTES // (1024 * 1024)} MiB; "
                                "is it the right file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OrganisationError(f"{path}: not UTF-8 text") from None
    return parse_text(text, _format(path), str(path))


def parse_text(text: str, fmt: str, name: str = "document") -> Organisation:
    """``text`` in ``fmt`` (``toml`` or ``yaml``) as an organisation."""
    try:
        if fmt == "toml":
            doc: Any = tomllib.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text)
    except Exception as exc:  # each parser has its own error types; all mean "not valid"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OrganisationError(f"{name}: not valid {fmt.upper()}: {first}") from None
    try:
        return org_doc.parse(doc)
    except Refused as refused:
        raise OrganisationError(f"{name}: {refused.reason}") from None


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return "toml"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise OrganisationError(f"{path}: name it .toml, .yaml or .yml so its format is known")


def current(session: Session) -> Organisation:
    """The organisation the database holds now (active people only)."""
    teams = [org_doc.Team(t.id, t.name, t.level, t.description)
             for t in session.exec(select(Team).order_by(col(Team.id)))]
    users = [org_doc.User(u.id, u.display_name, Role(u.role), u.team_id, u.email)
             for u in session.exec(select(User).where(col(User.active)).order_by(col(User.id)))]
    services = [org_doc.Service(s.id, s.name, s.team_id, s.tier, s.policy_id, s.description,
                                s.public)
                for s in session.exec(select(Service).order_by(col(Service.id)))]
    schedules = [org_doc.parse_item("schedules", r.data, f"stored schedule {r.id}")
                 for r in session.exec(select(ScheduleRow).order_by(col(ScheduleRow.id)))]
    policies = [org_doc.parse_item("policies", r.data, f"stored policy {r.id}")
                for r in session.exec(select(PolicyRow).order_by(col(PolicyRow.id)))]
    return Organisation(tuple(teams), tuple(users), tuple(services), tuple(schedules),
                        tuple(policies))


def export_text(session: Session, fmt: str) -> str:
    """The current organisation as a TOML or YAML document."""
    doc = org_doc.document(current(session))
    if fmt == "toml":
        import tomli_w

        return tomli_w.dumps(doc)
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# -- applying --------------------------------------------------------------------------------


def apply(session: Session, desired: Organisation, *, dry_run: bool = False,
          origin: Origin | None = None) -> Outcome:
    """Make the database hold ``desired`` (in the caller's transaction; a dry run only
    reports), each change audited as made by ``origin`` (default: the admin CLI's user).
    :class:`OrganisationError` for a change that cannot be made (nothing done)."""
    origin = origin or cli_origin()
    steps = org_doc.plan(current(session), desired)
    _check_admins_remain(session, steps)
    done: list[tuple[Step, str]] = []
    directory: list[Team | User | Service] = []
    feed: list[tuple[str, str, dict[str, Any]]] = []
    #: services whose policy changed: their open incidents start it (or stop) afterwards
    adopted: dict[str, str | None] = {}
    for step in steps:
        note = _blocker(session, step, desired) if step.change == Change.REMOVE else None
        if note is not None:
            done.append((step, note))
            continue
        note = _note(session, step)
        if step.section == "services" and step.change != Change.REMOVE:
            before = session.get(Service, step.id)
            if (before.policy_id if before is not None else None) != step.item.policy:
                adopted[step.id] = step.item.policy
                note = _policy_note(session, step.id, step.item.policy)
        if not dry_run:
            row = _carry_out(session, step)
            if row is not None:
                directory.append(row)
            elif step.section in FEED_ENTITIES:
                feed.append(_feed_entry(step))
            audit.append(session, origin, f"org.{step.change.value}",
                         org_doc.SINGULAR[step.section], step.id,
                         {"fields": list(step.fields)} if step.fields else {})
        done.append((step, note))
    if directory:
        record_directory(session, directory)
    if feed:
        record_changes(session, feed)
    if adopted and not dry_run:
        from incidenttui.server.escalation import adopt_policy

        for service_id, policy_id in adopted.items():
            adopt_policy(session, service_id, policy_id)
    return Outcome(done)


#: The change feed's entity names of the sections stored here (clients keep them to answer
#: "who is on call" offline); a removed one is sent as ``{"id": …, "removed": true}``.
FEED_ENTITIES = {"schedules": "schedule", "policies": "policy"}


def _feed_entry(step: Step) -> tuple[str, str, dict[str, Any]]:
    data = {"id": step.id, "removed": True} if step.change == Change.REMOVE else \
        {"id": step.id, **org_doc.item_document(step.section, step.item)}
    return FEED_ENTITIES[step.section], step.id, data


def _check_admins_remain(session: Session, steps: Iterable[Step]) -> None:
    admins = set(session.exec(select(User.id).where(col(User.active),
                                                    col(User.role) == Role.ADMIN.value)))
    for step in steps:
        if step.section != "users":
            continue
        if step.change == Change.DEACTIVATE or (step.change == Change.UPDATE
                                                and step.item.role != Role.ADMIN):
            admins.discard(step.id)
        elif step.item is not None and step.item.role == Role.ADMIN:
            admins.add(step.id)
    if not admins:
        raise OrganisationError("the document would leave no active admin; add one (role = "
                                "\"admin\") so someone can still administer the server")


def _blocker(session: Session, step: Step, desired: Organisation) -> str | None:
    """Why a removal cannot happen (the row is kept), or None."""
    if step.section == "teams":
        incidents = session.exec(select(func.count()).select_from(Incident).where(
            col(Incident.team) == step.id)).one()
        inactive = session.exec(select(func.count()).select_from(User).where(
            col(User.team_id) == step.id, ~col(User.active))).one()
        if incidents or inactive:
            return (f"kept: {incidents} incident(s) and {inactive} deactivated user(s) still "
                    "name it")
    if step.section == "services":
        incidents = session.exec(select(func.count()).select_from(Incident).where(
            col(Incident.service) == step.id)).one()
        if incidents:
            return f"kept: {incidents} incident(s) still name it"
    return None


def _policy_note(session: Session, service_id: str, policy_id: str | None) -> str:
    """What a service's new policy (or none) does to its open incidents."""
    from incidenttui.server.escalation import open_incidents

    count = len(open_incidents(session, service_id))
    if not count:
        return ""
    if policy_id is None:
        return f"the automatic escalation of its {count} open incident(s) stops"
    return f"its {count} open incident(s) start policy {policy_id} at level 1 now"


def _note(session: Session, step: Step) -> str:
    if step.section == "users" and step.change == Change.CREATE:
        now = utcnow()
        live = [t for t in list_tokens(session, step.id) if t.revoked_at is None
                and (t.expires_at is None or t.expires_at > now)]
        if not live:
            return ("no token yet: give one with incidenttui admin tokens create "
                    f"{step.id} --name NAME")
        return "reactivated"
    if step.change == Change.DEACTIVATE:
        return "deactivated: their tokens stop working now"
    return ""


def _carry_out(session: Session, step: Step) -> Team | User | Service | None:
    """One step; returns the directory row it wrote (for the change feed), if any."""
    item = step.item
    if step.section == "teams":
        team = session.get(Team, step.id)
        if step.change == Change.REMOVE:
            assert team is not None
            session.delete(team)
            return None
        team = team or Team(id=item.id, name=item.name)
        team.name, team.level, team.description = item.name, item.level, item.description
        session.add(team)
        return team
    if step.section == "users":
        user = session.get(User, step.id)
        if step.change == Change.DEACTIVATE:
            assert user is not None
            user.active = False
            session.add(user)
            return user
        old_role = user.role if user is not None else None
        user = user or User(id=item.id, display_name=item.name, role=item.role.value)
        user.display_name, user.role, user.team_id = item.name, item.role.value, item.team
        user.email, user.active = item.email, True
        session.add(user)
        if old_role is not None and old_role != user.role:
            session.flush()
            visibility.role_changed(session, user.id, old_role, user.role)
        return user
    if step.section == "services":
        service = session.get(Service, step.id)
        if step.change == Change.REMOVE:
            assert service is not None
            session.delete(service)
            return None
        service = service or Service(id=item.id, name=item.name)
        service.name, service.team_id, service.tier = item.name, item.team, item.tier
        service.policy_id, service.description = item.policy, item.description
        service.public = item.public
        session.add(service)
        return service
    table = ScheduleRow if step.section == "schedules" else PolicyRow
    row = session.get(table, step.id)
    if step.change == Change.REMOVE:
        assert row is not None
        session.delete(row)
    elif row is None:
        session.add(table(id=step.id, data=org_doc.item_document(step.section, item)))
    else:
        row.data = org_doc.item_document(step.section, item)
        session.add(row)
    return None
