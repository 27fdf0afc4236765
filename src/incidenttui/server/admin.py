"""Directory administration (users, teams, services, tokens) as the CLI's admin verbs call it.

Each function validates its input, writes the row inside the caller's transaction, records it
in the change feed, so every client sees the directory change on its next pull, and appends
an audit entry (server/audit.py) naming ``origin`` (by default the admin CLI and the
operating-system user running it) in the same transaction.
"""

from __future__ import annotations

import getpass
import re
from datetime import timedelta

from sqlmodel import Session

from incidenttui.api.schemas import SLUG_PATTERN
from incidenttui.domain import Role
from incidenttui.server import audit, visibility
from incidenttui.server.audit import Origin
from incidenttui.server.auth import create_user
from incidenttui.server.models import Service, Team, User
from incidenttui.server.service import record_directory
from incidenttui.server.tokens import ApiToken, create_token, revoke_token
from incidenttui.sqltypes import utcnow

_SLUG = re.compile(SLUG_PATTERN)
LEVELS = (1, 2, 3)


class AdminError(ValueError):
    """A directory change refused; the message says why."""


def cli_origin() -> Origin:
    """Who makes a change through ``incidenttui admin``: the operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        who = "unknown"
    return Origin(f"cli:{who}"[:64], client="incidenttui admin")


def _check_id(kind: str, value: str) -> None:
    if not (0 < len(value) <= 64 and _SLUG.match(value)):
        raise AdminError(f"invalid {kind} id {value!r}: up to 64 letters, digits, '.', '_', "
                         "'-', '@', starting with a letter or digit")


def _check_name(value: str) -> str:
    if not value.strip() or len(value) > 200 or "\x00" in value:
        raise AdminError(f"invalid name {value!r}: 1 to 200 characters, not blank")
    return value


def create_user_with_token(session: Session, name: str, role: Role | str,
                           team: str | None = None, display_name: str | None = None,
                           email: str | None = None, origin: Origin | None = None
                           ) -> tuple[User, str]:
    """Create user ``name`` (or give an existing one a new token, revoking the old one);
    return it and its token, which is shown once and never stored."""
    try:
        role = Role(role)
    except ValueError:
        raise AdminError(f"invalid role {role!r}: one of "
                         f"{', '.join(r.value for r in Role)}") from None
    if display_name is not None:
        _check_name(display_name)
    existing = session.get(User, name)
    old_role = existing.role if existing is not None else None
    try:
        user, token = create_user(session, name, role, team, display_name, email)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    record_directory(session, [user])
    visibility.role_changed(session, user.id, old_role, user.role)
    origin = origin or cli_origin()
    audit.append(session, origin, "user.create" if old_role is None else "user.update",
                 "user", user.id, {"role": user.role, "team": user.team_id,
                                   "previous_role": old_role})
    audit.append(session, origin, "token.issue", "user", user.id, {"name": "default"})
    return user, token


def save_team(session: Session, team_id: str, name: str, level: int = 1,
              origin: Origin | None = None) -> Team:
    """Create team ``team_id`` or update its name and functional escalation level."""
    _check_id("team", team_id)
    _check_name(name)
    if level not in LEVELS:
        raise AdminError(f"invalid level {level!r}: 1, 2 or 3")
    team = session.get(Team, team_id) or Team(id=team_id, name=name)
    team.name, team.level = name, level
    session.add(team)
    record_directory(session, [team])
    audit.append(session, origin or cli_origin(), "team.save", "team", team.id,
                 {"name": name, "level": level})
    return team


def save_service(session: Session, service_id: str, name: str,
                 team: str | None = None, origin: Origin | None = None, *,
                 public: bool | None = None) -> Service:
    """Create service ``service_id`` or update its name and owning team; ``public``: show
    it on the status page or not (None: as it was; a new service is not public)."""
    _check_id("service", service_id)
    _check_name(name)
    if team is not None and session.get(Team, team) is None:
        raise AdminError(f"unknown team {team!r}")
    service = session.get(Service, service_id) or Service(id=service_id, name=name)
    service.name, service.team_id = name, team
    if public is not None:
        service.public = public
    session.add(service)
    record_directory(session, [service])
    audit.append(session, origin or cli_origin(), "service.save", "service", service.id,
                 {"name": name, "team": team, "public": bool(service.public)})
    return service


# -- named tokens -------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}


def parse_duration(value: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a duration (AdminError otherwise)."""
    found = _DURATION.match(value.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise AdminError(f"invalid duration {value!r}: a number and m, h, d or w, e.g. 30d")
    return int(found.group(1)) * _UNITS[found.group(2)]


def issue_token(session: Session, user_id: str, name: str, expires_in: timedelta | None = None,
                origin: Origin | None = None) -> tuple[ApiToken, str]:
    """A new named token for ``user_id``, expiring after ``expires_in`` (None: never); the
    secret is returned once and never stored."""
    now = utcnow()
    try:
        token, secret = create_token(session, user_id, name, now=now,
                                     expires_at=now + expires_in if expires_in else None)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    audit.append(session, origin or cli_origin(), "token.create", "token", token.id,
                 {"user": user_id, "name": token.name,
                  "expires_at": token.expires_at.isoformat() if token.expires_at else None})
    return token, secret


def revoke(session: Session, token_id: str, origin: Origin | None = None) -> ApiToken:
    """Revoke a token from now on, on every replica (TokenNotFound for an unknown one)."""
    token = revoke_token(session, token_id)
    audit.append(session, origin or cli_origin(), "token.revoke", "token", token.id,
                 {"user": token.user_id, "name": token.name})
    return token
