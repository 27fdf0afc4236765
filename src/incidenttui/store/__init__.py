"""The client's local store: cached incidents, the outbox, conflicts, the search index.

Names are loaded on first use, so ``incidenttui.store.reader`` (the queue's fast path) can be
imported without SQLModel.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AddLink": "commands", "AddNote": "commands", "Command": "commands",
    "CreateIncident": "commands", "Escalate": "commands", "Transition": "commands",
    "UpdateFields": "commands",
    "IncidentFilter": "reader", "QueueReader": "reader", "QueueRow": "reader",
    "Store": "store", "StoreError": "store", "ref_of": "store", "store_path_for": "reader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
