"""The people added to an incident: who, besides the security role and admins, may see a
restricted one (domain/permissions.py, ``member=True``).

Plain rows, one per (incident, user); adding twice or removing someone absent changes
nothing. Callers check ``manage_members`` first and write an audit entry
(server/audit.py) in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, delete
from sqlmodel import Field, Session, SQLModel, col, select

from incidenttui.server.models import Incident, User
from incidenttui.sqltypes import UTCDateTime, utcnow


class IncidentMember(SQLModel, table=True):
    """One person added to one incident."""

    __tablename__ = "incident_members"

    incident_id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(primary_key=True, max_length=64, index=True)
    added_by: str | None = Field(default=None, max_length=64)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def add_member(session: Session, incident_id: str, user_id: str, *,
               added_by: str | None = None, now: datetime | None = None) -> bool:
    """Add ``user_id`` to the incident; whether they were not a member before. An unknown
    incident or user is refused (ValueError, in words)."""
    if session.get(Incident, incident_id) is None:
        raise ValueError(f"no incident {incident_id!r}")
    if session.get(User, user_id) is None:
        raise ValueError(f"no user {user_id!r}")
    if session.get(IncidentMember, (incident_id, user_id)) is not None:
        return False
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given for a membership")
    session.add(IncidentMember(incident_id=incident_id, user_id=user_id, added_by=added_by,
                               added_at=now.astimezone(UTC)))
    session.flush()
    return True


def remove_member(session: Session, incident_id: str, user_id: str) -> bool:
    """Take ``user_id`` off the incident; whether they were a member."""
    result = session.execute(delete(IncidentMember).where(
        col(IncidentMember.incident_id) == incident_id, col(IncidentMember.user_id) == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_member(session: Session, incident_id: str, user_id: str) -> bool:
    """Whether ``user_id`` was added to the incident."""
    return session.get(IncidentMember, (incident_id, user_id)) is not None


def members(session: Session, incident_id: str) -> list[IncidentMember]:
    """The people added to the incident, in the order they were added."""
    return list(session.exec(select(IncidentMember)
                             .where(col(IncidentMember.incident_id) == incident_id)
                             .order_by(col(IncidentMember.added_at),
                                       col(IncidentMember.user_id))).all())


def incidents_of(session: Session, user_id: str) -> set[str]:
    """The ids of every incident ``user_id`` was added to (to filter lists and the feed)."""
    return set(session.exec(select(IncidentMember.incident_id)
                            .where(col(IncidentMember.user_id) == user_id)).all())
