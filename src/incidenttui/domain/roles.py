"""What each role may do."""

from __future__ import annotations

from enum import StrEnum

from incidenttui.domain.enums import Role


class Permission(StrEnum):
    READ = "read"
    RESPOND = "respond"  # create incidents, lifecycle moves, notes, escalations
    COMMAND = "command"  # run a major incident (roles, stakeholder updates)
    ADMIN = "admin"  # users, teams, integrations


_RANK = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.COMMANDER: 2, Role.ADMIN: 3}
_NEEDS = {Permission.READ: 0, Permission.RESPOND: 1, Permission.COMMAND: 2, Permission.ADMIN: 3}


def allowed(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``; each role includes the ones below it."""
    return _RANK[Role(role)] >= _NEEDS[permission]
