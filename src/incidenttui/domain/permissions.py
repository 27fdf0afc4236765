"""Who may do what: one permission matrix, role × operation × incident visibility.

The matrix is data (:data:`RULES`, expanded into :data:`MATRIX`); the server checks every
endpoint against it, the client hides what the user may not do, and the README's table is
generated from it (:func:`markdown_table`). Pure Python, no I/O.

Restricted incidents (see :func:`is_restricted`) are visible only to the security role, to
admins, and to the people added to the incident (its *members*). The restricted column of a
rule says what a role may do on a restricted incident *it can see*: for security and admin
always, for the other roles only as a member. Someone who cannot see an incident may do
nothing with it, and should be told it does not exist (404), exactly as for a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from incidenttui.domain.enums import Category, Role


class Visibility(StrEnum):
    """Who can see an incident at all."""

    NORMAL = "normal"
    RESTRICTED = "restricted"


class Operation(StrEnum):
    """Every kind of thing a caller asks the server to do."""

    # on one incident (the incident's visibility matters)
    READ = "read"
    CREATE = "create"
    CHANGE_FIELDS = "change_fields"
    MOVE = "move"
    NOTE = "note"
    EVIDENCE_NOTE = "evidence_note"
    ESCALATE = "escalate"
    LINK = "link"
    COMMAND = "command"
    CHECK_PLAYBOOK = "check_playbook"
    RECORD_BREACH_NOTIFICATION = "record_breach_notification"
    MANAGE_MEMBERS = "manage_members"
    RESTRICT = "restrict"
    UNRESTRICT = "unrestrict"
    PUBLISH_STATUS = "publish_status"
    # not about one incident
    READ_SELF = "read_self"
    READ_DIRECTORY = "read_directory"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    READ_AUDIT = "read_audit"
    MANAGE_DIRECTORY = "manage_directory"
    MANAGE_TOKENS = "manage_tokens"
    MANAGE_INTEGRATIONS = "manage_integrations"
    INGEST_ALERTS = "ingest_alerts"
    SET_COMPONENT_STATE = "set_component_state"
    MANAGE_MAINTENANCE = "manage_maintenance"
    MANAGE_STATUS_SUBSCRIBERS = "manage_status_subscribers"


#: What each operation covers, in the words of the README's table.
DESCRIPTIONS: dict[Operation, str] = {
    Operation.READ: "list, get and search incidents, their timelines, links and changes",
    Operation.CREATE: "log a new incident",
    Operation.CHANGE_FIELDS: "change an incident's fields (title, impact, team, ...)",
    Operation.MOVE: "lifecycle moves (acknowledge, start, hold, resolve, close, ...)",
    Operation.NOTE: "add a note to the timeline",
    Operation.EVIDENCE_NOTE: "add a note marked as evidence (never edited or deleted)",
    Operation.ESCALATE: "functional or hierarchical escalation",
    Operation.LINK: "link incidents (duplicate of, related, caused by)",
    Operation.COMMAND: "run a major incident: roles, stakeholder updates, action items",
    Operation.CHECK_PLAYBOOK: "check an item of a security playbook",
    Operation.RECORD_BREACH_NOTIFICATION: "record the breach notification (stops the 72 h "
                                          "clock)",
    Operation.MANAGE_MEMBERS: "add or remove the people who may see a restricted incident",
    Operation.RESTRICT: "mark an incident restricted",
    Operation.UNRESTRICT: "lift an incident's restriction",
    Operation.PUBLISH_STATUS: "post a public update to the status page (never of a "
                              "restricted incident: refused)",
    Operation.READ_SELF: "who am I, and what may I do (`/me`)",
    Operation.READ_DIRECTORY: "list users, teams and services",
    Operation.MANAGE_OWN_TOKENS: "list, create and revoke one's own tokens",
    Operation.READ_AUDIT: "read, verify and export the audit log",
    Operation.MANAGE_DIRECTORY: "create and change users, teams and services",
    Operation.MANAGE_TOKENS: "list, expire and revoke anyone's tokens",
    Operation.MANAGE_INTEGRATIONS: "create, list and revoke alert integrations",
    Operation.INGEST_ALERTS: "send alerts (Alertmanager webhook, Events API v2)",
    Operation.SET_COMPONENT_STATE: "set a status page component's state",
    Operation.MANAGE_MAINTENANCE: "plan and end maintenance windows",
    Operation.MANAGE_STATUS_SUBSCRIBERS: "add, list and remove status page webhook "
                                         "subscribers",
}

#: Operations on one incident; the others take no visibility.
SCOPED: frozenset[Operation] = frozenset({
    Operation.READ, Operation.CREATE, Operation.CHANGE_FIELDS, Operation.MOVE, Operation.NOTE,
    Operation.EVIDENCE_NOTE, Operation.ESCALATE, Operation.LINK, Operation.COMMAND,
    Operation.CHECK_PLAYBOOK, Operation.RECORD_BREACH_NOTIFICATION, Operation.MANAGE_MEMBERS,
    Operation.RESTRICT, Operation.UNRESTRICT, Operation.PUBLISH_STATUS,
})

#: Operations whose caller becomes a member of the incident: who reports a security
#: incident must be able to follow it (the server adds the reporter as it creates it).
JOINS: frozenset[Operation] = frozenset({Operation.CREATE})
#: Roles that see every restricted incident without being added to it.
SEES_ALL_RESTRICTED: frozenset[Role] = frozenset({Role.SECURITY, Role.ADMIN})
#: Categories whose incidents are restricted whatever their flag says.
RESTRICTED_CATEGORIES: frozenset[Category] = frozenset({Category.SECURITY})

_PEOPLE = frozenset({Role.VIEWER, Role.RESPONDER, Role.COMMANDER, Role.SECURITY, Role.ADMIN})
_RESPONDERS = frozenset({Role.RESPONDER, Role.COMMANDER, Role.SECURITY, Role.ADMIN})
_COMMANDERS = frozenset({Role.COMMANDER, Role.ADMIN})
_SECURITY = frozenset({Role.SECURITY, Role.ADMIN})
_ADMINS = frozenset({Role.ADMIN})
_NOBODY: frozenset[Role] = frozenset()

#: The definition: for each operation, the roles allowed on a normal incident and the roles
#: allowed on a restricted one they can see (``None`` for operations not about one incident).
#: A reporter of a restricted incident must be made a member of it as it is created, or
#: their own client could not follow it.
RULES: dict[Operation, tuple[frozenset[Role], frozenset[Role] | None]] = {
    Operation.READ: (_PEOPLE, _PEOPLE),
    Operation.CREATE: (_RESPONDERS, _RESPONDERS),
    Operation.CHANGE_FIELDS: (_RESPONDERS, _RESPONDERS),
    Operation.MOVE: (_RESPONDERS, _RESPONDERS),
    Operation.NOTE: (_RESPONDERS, _RESPONDERS),
    Operation.EVIDENCE_NOTE: (_RESPONDERS, _RESPONDERS),
    Operation.ESCALATE: (_RESPONDERS, _RESPONDERS),
    Operation.LINK: (_RESPONDERS, _RESPONDERS),
    # the security team runs its own incidents
    Operation.COMMAND: (_COMMANDERS, _COMMANDERS | {Role.SECURITY}),
    Operation.CHECK_PLAYBOOK: (_RESPONDERS, _RESPONDERS),
    Operation.RECORD_BREACH_NOTIFICATION: (_SECURITY, _SECURITY),
    Operation.MANAGE_MEMBERS: (_SECURITY, _SECURITY),
    # anyone working an incident may hide it; only security lifts that
    Operation.RESTRICT: (_RESPONDERS, _RESPONDERS),
    Operation.UNRESTRICT: (_SECURITY, _SECURITY),
    # the route refuses restricted incidents whoever asks: they never go public
    Operation.PUBLISH_STATUS: (_RESPONDERS, _RESPONDERS),
    Operation.READ_SELF: (_PEOPLE | {Role.INTEGRATION}, None),
    Operation.READ_DIRECTORY: (_PEOPLE, None),
    Operation.MANAGE_OWN_TOKENS: (_PEOPLE, None),
    Operation.READ_AUDIT: (_SECURITY, None),
    Operation.MANAGE_DIRECTORY: (_ADMINS, None),
    Operation.MANAGE_TOKENS: (_ADMINS, None),
    Operation.MANAGE_INTEGRATIONS: (_ADMINS, None),
    Operation.INGEST_ALERTS: (frozenset({Role.INTEGRATION}), None),
    Operation.SET_COMPONENT_STATE: (_RESPONDERS, None),
    Operation.MANAGE_MAINTENANCE: (_RESPONDERS, None),
    Operation.MANAGE_STATUS_SUBSCRIBERS: (_ADMINS, None),
}


def _expand() -> dict[tuple[Role, Operation, Visibility], bool]:
    matrix: dict[tuple[Role, Operation, Visibility], bool] = {}
    for operation, (normal, restricted) in RULES.items():
        for role in Role:
            matrix[role, operation, Visibility.NORMAL] = role in normal
            if restricted is not None:
                matrix[role, operation, Visibility.RESTRICTED] = role in restricted
    return matrix


#: Every (role, operation, visibility) the rules define, and whether it is allowed; operations
#: not about one incident appear with ``Visibility.NORMAL`` only. For restricted incidents
#: a role outside :data:`SEES_ALL_RESTRICTED` needs membership as well (see :func:`may`).
MATRIX: dict[tuple[Role, Operation, Visibility], bool] = _expand()


def is_restricted(category: Category | str, restricted: bool = False) -> bool:
    """Whether an incident is restricted: a security incident, or one marked restricted."""
    return bool(restricted) or Category(category) in RESTRICTED_CATEGORIES


def visibility_of(category: Category | str, restricted: bool = False) -> Visibility:
    """An incident's visibility from its category and its ``restricted`` flag."""
    return Visibility.RESTRICTED if is_restricted(category, restricted) else Visibility.NORMAL


def can_see(role: Role | str, restricted: bool, member: bool = False) -> bool:
    """Whether ``role`` can see an incident at all (``member``: the user was added to it)."""
    return may(role, Operation.READ,
               Visibility.RESTRICTED if restricted else Visibility.NORMAL, member=member)


def may(role: Role | str, operation: Operation | str,
        visibility: Visibility | str = Visibility.NORMAL, *, member: bool = False) -> bool:
    """Whether ``role`` may do ``operation`` on an incident of ``visibility``.

    ``member``: the user was added to the incident (matters only when it is restricted).
    Unknown roles or operations raise ValueError; so does a visibility other than normal for
    an operation that is not about one incident.
    """
    role, operation, visibility = Role(role), Operation(operation), Visibility(visibility)
    if visibility is Visibility.RESTRICTED:
        if operation not in SCOPED:
            raise ValueError(f"{operation.value!r} is not about one incident")
        if role not in SEES_ALL_RESTRICTED and not (member or operation in JOINS):
            return False
    return MATRIX[role, operation, visibility]


def may_at_all(role: Role | str, operation: Operation | str) -> bool:
    """Whether ``role`` may do ``operation`` on some incident (as a member where that
    counts): an endpoint's first check, made before the incident is looked up, so its 403
    says nothing about whether any incident exists; also what a client shows at all."""
    operation = Operation(operation)
    return may(role, operation) or (operation in SCOPED and may(
        role, operation, Visibility.RESTRICTED, member=True))


class Decision(StrEnum):
    """The answer to one request: go ahead, refuse it, or act as if the incident were not
    there (a caller who cannot see it must not learn that it exists)."""

    ALLOW = "allow"
    FORBID = "forbid"  # 403, with the reason
    HIDE = "hide"  # 404, word for word the answer for a missing incident


def decide(role: Role | str, operation: Operation | str,
           visibility: Visibility | str = Visibility.NORMAL, *,
           member: bool = False) -> Decision:
    """What to answer ``role`` asking for ``operation`` on an incident of ``visibility``:
    HIDE whenever the caller cannot see the incident, FORBID when it can but may not do this,
    else ALLOW. For operations not about one incident: ALLOW or FORBID. For ``create``, the
    visibility is that of the incident asked for, and never HIDE (nothing exists yet)."""
    operation, visibility = Operation(operation), Visibility(visibility)
    if may(role, operation, visibility, member=member):
        return Decision.ALLOW
    if (operation in SCOPED and operation not in JOINS
            and not may(role, Operation.READ, visibility, member=member)):
        return Decision.HIDE
    return Decision.FORBID


def operations(role: Role | str, visibility: Visibility | str = Visibility.NORMAL, *,
               member: bool = False) -> frozenset[Operation]:
    """Everything ``role`` may do (on an incident of ``visibility``): what ``/me`` reports."""
    visibility = Visibility(visibility)
    ops: Iterable[Operation] = (Operation if visibility is Visibility.NORMAL else SCOPED)
    return frozenset(op for op in ops if may(role, op, visibility, member=member))


def _cell(role: Role, operation: Operation, visibility: Visibility) -> str:
    if not MATRIX[role, operation, visibility]:
        return "no"
    if (visibility is Visibility.RESTRICTED and role not in SEES_ALL_RESTRICTED
            and operation not in JOINS):
        return "if member"
    return "yes"


def markdown_table() -> str:
    """The matrix as the README's Markdown table: a row per operation and visibility."""
    roles = list(Role)
    lines = ["| operation | incident | what it covers | " + " | ".join(r.value for r in roles)
             + " |", "|---|---|---|" + "---|" * len(roles)]
    for operation, (_normal, restricted) in RULES.items():
        rows = ([(Visibility.NORMAL, "normal"), (Visibility.RESTRICTED, "restricted")]
                if restricted is not None else [(Visibility.NORMAL, "—")])
        for index, (visibility, label) in enumerate(rows):
            what = DESCRIPTIONS[operation] if index == 0 else ""
            cells = " | ".join(_cell(r, operation, visibility) for r in roles)
            lines.append(f"| `{operation.value}` | {label} | {what} | {cells} |")
    return "\n".join(lines) + "\n"
