"""The shared incident domain: pure Python, no I/O. The server and the client both use it.

Names load on first use (``from incidenttui.domain import Refused`` imports the lifecycle
module then): what the first frame does not need is not loaded before it.
"""

from __future__ import annotations

from incidenttui.lazy import exports

_MODULES = {
    "changes": ("EDITABLE_FIELDS", "FIELD_EVENT", "FieldConflict", "check_base_version",
                "check_fields", "find_conflicts"),
    "enums": ("Action", "Category", "EscalationKind", "EventKind", "Impact", "LinkKind",
              "Priority", "ResolutionCode", "Role", "Status", "Urgency"),
    "lifecycle": ("DONE_STATUSES", "MAX_ESCALATION_LEVEL", "MOVES", "OPEN_STATUSES",
                  "RefusalKind", "Refused", "action_effects", "can_take", "check_action",
                  "check_editable", "escalation_effects", "escalation_targets", "is_editable",
                  "is_open", "legal_actions"),
    "priority": ("MATRIX", "priority_for"),
    "permissions": ("Decision", "Operation", "Visibility", "can_see", "decide",
                    "is_restricted", "may", "may_at_all", "visibility_of"),
    "roles": ("Permission", "allowed"),
    "sla": ("DEFAULT_SLA", "Clock", "SlaClocks", "SlaTarget", "sla_clocks",
            "sla_policy"),
}
__getattr__ = exports(__name__, _MODULES)
__all__ = sorted(name for names in _MODULES.values() for name in names)
