"""The shared incident domain: pure Python, no I/O. The server and the client both use it."""

from incidenttui.domain.changes import EDITABLE_FIELDS, FIELD_EVENT, FieldConflict, find_conflicts
from incidenttui.domain.enums import (
    Action,
    Category,
    EscalationKind,
    EventKind,
    Impact,
    LinkKind,
    Priority,
    ResolutionCode,
    Role,
    Status,
    Urgency,
)
from incidenttui.domain.lifecycle import (
    MAX_ESCALATION_LEVEL,
    MOVES,
    Refused,
    action_effects,
    check_action,
    check_editable,
    escalation_effects,
    legal_actions,
)
from incidenttui.domain.priority import MATRIX, priority_for
from incidenttui.domain.roles import Permission, allowed
from incidenttui.domain.sla import (
    DEFAULT_SLA,
    Clock,
    SlaClocks,
    SlaTarget,
    format_duration,
    sla_clocks,
    sla_policy,
)

__all__ = [
    "DEFAULT_SLA", "EDITABLE_FIELDS", "FIELD_EVENT", "MATRIX", "MAX_ESCALATION_LEVEL", "MOVES",
    "Action", "Category", "Clock", "EscalationKind", "EventKind", "FieldConflict", "Impact",
    "LinkKind", "Permission", "Priority", "Refused", "ResolutionCode", "Role", "SlaClocks",
    "SlaTarget", "Status", "Urgency", "action_effects", "allowed", "check_action",
    "check_editable", "escalation_effects", "find_conflicts", "format_duration",
    "legal_actions", "priority_for", "sla_clocks", "sla_policy",
]
