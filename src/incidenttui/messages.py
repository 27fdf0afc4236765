"""Messages the app's parts exchange (small dataclasses, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

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
    """The store (and, unless offline, the sync engine) finished loading after first paint."""

    error: str | None = None
