"""The client's local store: cached incidents, the outbox, conflicts, the search index.

Names are loaded on first use, so ``incidenttui.store.reader`` (the queue's fast path) can be
imported without SQLModel.
"""

from __future__ import annotations

from incidenttui.lazy import exports

_MODULES = {
    "commands": ("AddLink", "AddNote", "Command", "CreateIncident", "Escalate", "SettleConflict",
                 "Transition", "UpdateFields", "CheckPlaybookStep", "DeclareMajor",
                 "MajorEntry", "QuickNote"),
    "reader": ("IncidentFilter", "QueueReader", "QueueRow", "store_path_for"),
    "store": ("Store", "StoreError"),
}
__getattr__ = exports(__name__, _MODULES)
__all__ = sorted(name for names in _MODULES.values() for name in names)
