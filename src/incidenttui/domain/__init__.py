"""The shared incident domain: pure Python, no I/O. The server and the client both use it.

Names load on first use (``from incidenttui.domain import Refused`` imports the lifecycle
module then): the queue's cells need one formatter before the first frame, not every rule.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULES = {
    "changes": ("EDITABLE_FIELDS", "FIELD_EVENT", "FieldConflict", "find_conflicts"),
    "enums": ("Action", "Category", "EscalationKind", "EventKind", "Impact", "LinkKind",
              "Priority", "ResolutionCode", "Role", "Status", "Urgency"),
    "lifecycle": ("MAX_ESCALATION_LEVEL", "MOVES", "Refused", "action_effects", "check_action",
                  "check_editable", "escalation_effects", "legal_actions"),
    "priority": ("MATRIX", "priority_for"),
    "roles": ("Permission", "allowed"),
    "sla": ("DEFAULT_SLA", "Clock", "SlaClocks", "SlaTarget", "format_duration", "sla_clocks",
            "sla_policy"),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
