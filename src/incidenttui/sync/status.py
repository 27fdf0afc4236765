"""The sync state the status line shows (standard library only: it is drawn at first paint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class SyncState(StrEnum):
    """Where the link to the server stands; each state has its words on the status line."""

    ONLINE = "online"
    OFFLINE = "offline"
    SYNCING = "syncing"
    #: The server refused the token: log in again.
    AUTH = "auth"
    #: The server answered something unusable, or a local fault stopped the cycle.
    ERROR = "error"
    #: Started with ``--offline`` (or chose to work offline at the login): no syncing.
    LOCAL = "local"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def troubled(self) -> bool:
        """Whether the last error says why this state is not online (shown beside it)."""
        return self in (SyncState.OFFLINE, SyncState.ERROR, SyncState.AUTH)


_LABELS = {SyncState.ONLINE: "ONLINE", SyncState.OFFLINE: "OFFLINE",
           SyncState.SYNCING: "SYNCING", SyncState.AUTH: "LOGIN NEEDED",
           SyncState.ERROR: "SYNC ERROR", SyncState.LOCAL: "OFFLINE (--offline)"}


@dataclass(frozen=True)
class SyncStatus:
    """Online/offline/syncing, last sync time, pending changes, conflicts, user@server."""

    state: SyncState = SyncState.OFFLINE
    last_sync_at: datetime | None = None
    pending: int = 0
    conflicts: int = 0
    last_error: str | None = None
    user: str | None = None
    server: str = ""
    #: The user's team (the "my team" preset), from the local directory.
    team: str | None = None

    def __post_init__(self) -> None:
        # A state given by name ("online") is the enum member: one type to compare against.
        object.__setattr__(self, "state", SyncState(self.state))

    def line(self, now: datetime | None = None, width: int | None = None) -> str:
        """The status line's text, readable without colour; shortened to fit ``width``."""
        now = now or datetime.now(UTC)
        label = self.state.label
        if self.last_sync_at is None:
            age = "never synced"
        else:
            seconds = int((now - self.last_sync_at).total_seconds())
            age = "synced just now" if seconds < 5 else (
                f"synced {seconds}s ago" if seconds < 60 else
                f"synced {seconds // 60}m ago" if seconds < 3600 else
                f"synced {seconds // 3600}h ago")
        host = self.server.split("://", 1)[-1]
        who = f"{self.user or '?'}@{host}" if host else (self.user or "")
        parts = [label, age, f"{self.pending} pending", f"{self.conflicts} conflicts", who]
        text = " · ".join(p for p in parts if p)
        if width is None or len(text) <= width:
            return text
        # Too wide (80 columns, a long host name): drop what says least first.
        host_only = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        who = f"{self.user or '?'}@{host_only}" if host else who
        conflicts = f"{self.conflicts} conflicts" if self.conflicts else ""
        text = " · ".join(p for p in (label, age, f"{self.pending} pending", conflicts, who)
                          if p)
        if len(text) <= width:
            return text
        short_age = age.replace("synced ", "").replace(" ago", "").replace("just now", "now")
        parts = [label, short_age, f"{self.pending} pend", f"{self.conflicts} confl"]
        head = " · ".join(parts) + " · "
        room = width - len(head)
        if len(who) > room > 8:  # keep both ends of user@host
            keep = room - 1
            who = who[:keep - keep // 2] + "…" + who[len(who) - keep // 2:]
        return head + who
