"""Messages the app's parts exchange (small dataclasses, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from incidenttui.store.queue_query import QueueAnswer
from incidenttui.sync.status import SyncStatus


@dataclass
class SyncStatusChanged(Message):
    """The sync engine's state changed (online/offline, counts, errors)."""

    status: SyncStatus


@dataclass
class StoreChanged(Message):
    """The local store changed (a local action or a sync); views re-read what they show."""


@dataclass
class BackendReady(Message):
    """The store (and, unless offline, the sync engine) finished loading after first paint,
    with what the status line needs from it (read in the loading thread)."""

    error: str | None = None
    user: str | None = None
    team: str | None = None
    pending: int = 0
    conflicts: int = 0


@dataclass
class QueueLoaded(Message):
    """The queue's question has an answer to show (see :class:`~incidenttui.store.queue_query.
    QueueQuery`): its ordered ids, or why there are none."""

    answer: QueueAnswer


@dataclass
class DirectoryLoaded(Message):
    """Teams, users and services read from the store for a form's choices."""

    teams: list[Any]
    users: list[Any]
    services: list[Any]


@dataclass
class IncidentsForgotten(Message):
    """The server took incidents out of the user's sight; the store removed them (each
    notice: ``{"id", "number", "dropped"}``)."""

    notices: list[dict[str, Any]]
