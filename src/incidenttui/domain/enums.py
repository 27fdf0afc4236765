"""The incident vocabulary: every enum the server, the store and the screens share."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(StrEnum):
    """Where an incident is in the ITIL lifecycle."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def is_open(self) -> bool:
        """Open means someone still has work to do on it."""
        return self not in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)


class Category(StrEnum):
    """What kind of failure an incident is."""

    AVAILABILITY = "availability"
    PERFORMANCE = "performance"
    SECURITY = "security"
    DATA = "data"
    NETWORK = "network"
    SOFTWARE_BUG = "software_bug"
    THIRD_PARTY = "third_party"
    CAPACITY = "capacity"
    OTHER = "other"


class Impact(IntEnum):
    """How much of the business is affected (1 is the most)."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Urgency(IntEnum):
    """How fast the business needs it fixed (1 is the fastest)."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Priority(IntEnum):
    """P1 (critical) to P5 (planning), derived from impact and urgency."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4
    P5 = 5

    @property
    def label(self) -> str:
        return f"P{self.value}"


class Action(StrEnum):
    """Lifecycle moves a responder can make on an incident."""

    ACKNOWLEDGE = "acknowledge"
    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


class EventKind(StrEnum):
    """Kinds of append-only timeline events."""

    CREATED = "created"
    STATUS = "status"
    NOTE = "note"
    FIELD = "field"
    ASSIGNMENT = "assignment"
    ESCALATION = "escalation"
    PRIORITY = "priority"
    LINK = "link"
    ALERT = "alert"
    STATUS_UPDATE = "status_update"
    ROLE = "role"
    MAJOR = "major"  # declared a major incident
    ACTION_ITEM = "action_item"  # a major incident's action item, or a change to one
    REVIEW = "review"  # a field of the post-incident review, written by the commander


class EscalationKind(StrEnum):
    """ITIL escalation: functional hands to more expertise, hierarchical informs management."""

    FUNCTIONAL = "functional"
    HIERARCHICAL = "hierarchical"


class LinkKind(StrEnum):
    """How one incident relates to another."""

    DUPLICATE_OF = "duplicate_of"
    RELATED = "related"
    CAUSED_BY = "caused_by"


class ResolutionCode(StrEnum):
    """How an incident was resolved."""

    FIXED = "fixed"
    WORKAROUND = "workaround"
    ROLLBACK = "rollback"
    CONFIG_CHANGE = "config_change"
    RESTART = "restart"
    THIRD_PARTY_FIX = "third_party_fix"
    DUPLICATE = "duplicate"
    NOT_REPRODUCIBLE = "not_reproducible"
    FALSE_ALARM = "false_alarm"
    OTHER = "other"


class Role(StrEnum):
    """Who a user is to the server; what each role may do is domain/permissions.py's matrix.

    Stored as text (``users.role``), so a new role needs no migration.
    """

    VIEWER = "viewer"
    RESPONDER = "responder"
    COMMANDER = "commander"
    SECURITY = "security"  # a responder who also works restricted (security) incidents
    ADMIN = "admin"
    INTEGRATION = "integration"  # a monitoring tool's account: alert intake only
