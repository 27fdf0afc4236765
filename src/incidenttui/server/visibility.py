"""Who sees which incident, as SQL: the one place the server turns the restricted-visibility
rule of domain/permissions.py into queries.

An incident is restricted when its category is one of
:data:`~incidenttui.domain.permissions.RESTRICTED_CATEGORIES` or its ``restricted`` flag is
set (:func:`~incidenttui.domain.permissions.is_restricted`). It is visible to the roles in
:data:`~incidenttui.domain.permissions.SEES_ALL_RESTRICTED` and to its members
(server/membership.py); to anyone else it does not exist, on every path: the incident list,
one incident, its timeline, links to it, the change feed, long-poll wake-ups and /metrics.

The change feed
    Every feed row of an incident or of one of its events carries the incident's id and
    whether it was restricted when the row was written (``changes.incident_id`` and
    ``changes.restricted``); a row for one user only carries that user in ``audience``
    (``forget`` entries, snapshots re-sent to someone who gained access). A page for one
    caller is one range scan on the primary key (:func:`feed_page`). Its position is the
    feed's head whenever the page is not full, so a caller whose rows were all hidden still
    moves past them.

    Nothing a caller receives depends on rows they may not see: the rows carry no global
    seq, the position leaves the server only as an opaque token with a fresh nonce
    (server/cursors.py), a long-poll answers early only for a row the caller may see, and
    the page size and ``more`` count only their rows. So two worlds that differ only in
    hidden activity look the same through the feed (tests/server/test_feed_oracle.py).

Losing and gaining access
    When a user can no longer see an incident (taken off it, the incident restricted, their
    role changed), :func:`forget` writes a ``forget`` entry for them alone; their client drops
    its copy at the next pull. When someone gains access, :func:`resend` writes the incident
    and its whole timeline again for them (or for everyone when it is unrestricted), since
    their cursor is already past the rows they could not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import false, func, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from incidenttui.domain.enums import Role
from incidenttui.domain.permissions import (
    RESTRICTED_CATEGORIES,
    SEES_ALL_RESTRICTED,
    Visibility,
    can_see,
    is_restricted,
    visibility_of,
)
from incidenttui.server.changes import record_changes, record_rows
from incidenttui.server.cursors import UnknownCursor
from incidenttui.server.membership import IncidentMember, is_member
from incidenttui.server.models import Incident, User

if TYPE_CHECKING:
    from incidenttui.server.db import Database
    from incidenttui.server.service import AnyIncident

_CATEGORIES = tuple(sorted(c.value for c in RESTRICTED_CATEGORIES))


def sees_all(role: Role | str) -> bool:
    """Whether ``role`` sees every restricted incident without being added to it."""
    try:
        return Role(role) in SEES_ALL_RESTRICTED
    except ValueError:
        return False


def restricted(incident: AnyIncident) -> bool:
    """Whether ``incident`` is restricted (its category, or its flag)."""
    return is_restricted(incident.category, bool(getattr(incident, "restricted", False)))


def visibility(incident: AnyIncident) -> Visibility:
    """The incident's visibility for the matrix."""
    return visibility_of(incident.category, bool(getattr(incident, "restricted", False)))


def visible_to(session: Session, user: User, incident: AnyIncident) -> bool:
    """Whether ``user`` can see ``incident`` (one membership read, only when it matters)."""
    try:
        return can_see(user.role, restricted(incident),
                       member=member_of(session, incident, user))
    except ValueError:  # a role this server does not know sees nothing
        return False


def member_of(session: Session, incident: AnyIncident, user: User) -> bool:
    """Whether ``user`` was added to ``incident`` (read only for a restricted incident of a
    role that does not see them all: elsewhere membership changes nothing)."""
    if not restricted(incident) or sees_all(user.role):
        return False
    return is_member(session, incident.id, user.id)


def restricted_clause() -> ColumnElement[bool]:
    """SQL: the incident row is restricted."""
    return or_(col(Incident.restricted) == true(), col(Incident.category).in_(_CATEGORIES))


def incident_filter(user: User) -> ColumnElement[bool] | None:
    """A WHERE clause on ``incidents`` that keeps what ``user`` can see (None: everything)."""
    if sees_all(user.role):
        return None
    if not can_see(user.role, False):
        return false()
    mine = select(IncidentMember.incident_id).where(col(IncidentMember.user_id) == user.id)
    return or_(~restricted_clause(), col(Incident.id).in_(mine))


def visible_ids(session: Session, user: User, incident_ids: Iterable[str]) -> set[str]:
    """Which of ``incident_ids`` ``user`` can see (one query)."""
    wanted = set(incident_ids)
    if not wanted:
        return set()
    query = select(Incident.id).where(col(Incident.id).in_(wanted))
    clause = incident_filter(user)
    if clause is not None:
        query = query.where(clause)
    return set(session.exec(query).all())


# -- the change feed ------------------------------------------------------------------------

_HEAD = "SELECT max(seq) FROM changes"
_PAGE = ("SELECT seq, entity, entity_id, CAST(data AS TEXT) FROM changes "
         "WHERE seq > ? AND seq <= ? AND (audience IS NULL OR audience = ?){rows} "
         "ORDER BY seq LIMIT ?")
#: Rows of restricted incidents only for their members (roles that see all skip this).
_MEMBERS_ONLY = (" AND (restricted = {false} OR incident_id IN "
                 "(SELECT incident_id FROM incident_members WHERE user_id = ?))")


def feed_page(db: Database, user: User, cursor: int, limit: int
              ) -> tuple[list[tuple[Any, ...]], int, bool]:
    """The feed rows after ``cursor`` that ``user`` may see (up to ``limit``), the cursor
    to resume from, and whether more are ready at once.

    The head is read first and the page bounded by it: every row up to the head is committed
    (server/changes.py), so a page that is not full ends at the head, past every row it
    left out, and the next page starts there. A ``cursor`` past the head raises
    :class:`~incidenttui.server.cursors.UnknownCursor` (the database is older than it).
    """
    head_rows = db.query(_HEAD)
    head = int(head_rows[0][0] or 0) if head_rows else 0
    if head < cursor:  # no cursor handed out ever passes the head: an older database
        raise UnknownCursor(str(cursor))
    if head == cursor:
        return [], cursor, False
    if sees_all(user.role):
        sql, params = _PAGE.format(rows=""), (cursor, head, user.id, limit + 1)
    else:
        members_only = _MEMBERS_ONLY.format(false="false" if db.is_postgres else "0")
        sql = _PAGE.format(rows=members_only)
        params = (cursor, head, user.id, user.id, limit + 1)
    rows = db.query(sql, params)
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, int(rows[-1][0]), True
    return rows, head, False


def public_changes(session: Session) -> int:
    """How many feed rows everyone may know of (/metrics). A count, not the last row's seq:
    the difference of two seqs counts the restricted and per-user rows in between."""
    from incidenttui.server.models import Change

    return int(session.exec(select(func.count()).select_from(Change).where(
        col(Change.restricted) == false(), col(Change.audience).is_(None))).one())


# -- losing and gaining access ------------------------------------------------------------


def forget(session: Session, incident_id: str, user_ids: Iterable[str]) -> None:
    """Tell each of ``user_ids`` (and only them) to drop their copy of the incident."""
    record_rows(session, [("forget", incident_id, {"incident_id": incident_id}, incident_id,
                           False, user_id) for user_id in sorted(set(user_ids))])


def blind_users(session: Session, incident_id: str) -> list[str]:
    """The active users who cannot see the restricted incident ``incident_id``: neither a
    role that sees them all nor a member."""
    members = set(session.exec(select(IncidentMember.user_id).where(
        col(IncidentMember.incident_id) == incident_id)).all())
    users = session.exec(select(User.id, User.role).where(col(User.active) == true())).all()
    return [uid for uid, role in users if not sees_all(role) and uid not in members]


def resend(session: Session, incident: AnyIncident, audience: str | None) -> None:
    """Put the incident and its whole timeline in the feed again: for ``audience`` alone
    (they gained access), or for everyone (None: it is no longer restricted)."""
    from incidenttui.server.service import event_json, incident_json, timeline

    secret = restricted(incident)
    rows: list[Any] = [("incident", incident.id, incident_json(incident), incident.id,
                        secret)]
    rows += [("event", e.id, event_json(e), incident.id, secret)
             for e in timeline(session, incident.id)]
    record_changes(session, rows, audience=audience)


def restricted_ids(session: Session) -> list[str]:
    """Every restricted incident's id."""
    return list(session.exec(select(Incident.id).where(restricted_clause())).all())


def role_changed(session: Session, user_id: str, old_role: str | None, new_role: str) -> None:
    """A user's role changed: forget what they no longer see, re-send what they now see."""
    if old_role is None or sees_all(old_role) == sees_all(new_role):
        return
    mine = set(session.exec(select(IncidentMember.incident_id).where(
        col(IncidentMember.user_id) == user_id)).all())
    ids = [i for i in restricted_ids(session) if i not in mine]
    if sees_all(old_role):
        for incident_id in ids:
            forget(session, incident_id, [user_id])
    else:
        for incident_id in ids:
            incident = session.get(Incident, incident_id)
            if incident is not None:
                resend(session, incident, user_id)
