"""What each role may do, in the server's four coarse permissions.

Kept for the routes that check ``allowed(role, Permission)`` today; each permission is the set
of matrix operations (domain/permissions.py, on a normal incident) it stands for, so the
matrix stays the one definition.
"""

from __future__ import annotations

from enum import StrEnum

from incidenttui.domain.enums import Role
from incidenttui.domain.permissions import Operation, may


class Permission(StrEnum):
    READ = "read"
    RESPOND = "respond"  # create incidents, lifecycle moves, notes, escalations
    COMMAND = "command"  # run a major incident (roles, stakeholder updates)
    ADMIN = "admin"  # users, teams, integrations


#: The matrix operations each permission stands for; a role has it when it may do them all.
PERMISSION_OPERATIONS: dict[Permission, frozenset[Operation]] = {
    Permission.READ: frozenset({Operation.READ, Operation.READ_DIRECTORY}),
    Permission.RESPOND: frozenset({Operation.CREATE, Operation.CHANGE_FIELDS, Operation.MOVE,
                                   Operation.NOTE, Operation.ESCALATE, Operation.LINK}),
    Permission.COMMAND: frozenset({Operation.COMMAND}),
    Permission.ADMIN: frozenset({Operation.MANAGE_DIRECTORY, Operation.MANAGE_INTEGRATIONS}),
}


def allowed(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission`` (on incidents that are not restricted)."""
    role = Role(role)
    return all(may(role, op) for op in PERMISSION_OPERATIONS[Permission(permission)])
