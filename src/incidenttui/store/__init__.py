"""The client's local store: cached incidents, the outbox, conflicts, the search index."""

from incidenttui.store.commands import (
    AddLink,
    AddNote,
    Command,
    CreateIncident,
    Escalate,
    Transition,
    UpdateFields,
)
from incidenttui.store.store import IncidentFilter, Store, StoreError, ref_of, store_path_for

__all__ = [
    "AddLink", "AddNote", "Command", "CreateIncident", "Escalate", "IncidentFilter", "Store",
    "StoreError", "Transition", "UpdateFields", "ref_of", "store_path_for",
]
