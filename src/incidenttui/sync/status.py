"""The sync state the status line shows (standard library only: it is drawn at first paint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class SyncStatus:
    """Online/offline/syncing, last sync time, pending changes, conflicts, user@server."""

    state: str = "offline"  # online | offline | syncing | auth | error | local
    last_sync_at: datetime | None = None
    pending: int = 0
    conflicts: int = 0
    last_error: str | None = None
    user: str | None = None
    server: str = ""

    def line(self, now: datetime | None = None) -> str:
        """The status line's text, readable without colour."""
        now = now or datetime.now(UTC)
        label = {"online": "ONLINE", "offline": "OFFLINE", "syncing": "SYNCING",
                 "auth": "LOGIN NEEDED", "error": "SYNC ERROR",
                 "local": "OFFLINE (--offline)"}.get(self.state, self.state.upper())
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
        return " · ".join(p for p in parts if p)
