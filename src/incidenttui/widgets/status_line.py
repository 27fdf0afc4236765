"""The status line on every screen: online/offline/syncing, last sync, pending, conflicts."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from incidenttui.sync.status import SyncState, SyncStatus


class StatusLine(Static):
    """One line, words first so it reads the same without colour."""

    DEFAULT_CSS = "StatusLine { height: 1; }"

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self._text = ""

    def on_mount(self) -> None:
        self.show(getattr(self.app, "sync_status", SyncStatus()))
        self.set_interval(5, self._tick)

    def _tick(self) -> None:
        self.show(getattr(self.app, "sync_status", SyncStatus()))

    def on_resize(self) -> None:
        self._text = ""
        self._tick()

    def show(self, status: SyncStatus) -> None:
        width = self.size.width or 80
        text = status.line(width=width)
        room = width - len(text) - 3
        if status.last_error and status.state.troubled and room > 12:
            error = status.last_error
            text += " · " + (error if len(error) <= room else error[:room - 1] + "…")
        if text == self._text:
            return  # no repaint when nothing changed: fewer bytes over SSH
        self._text = text
        for state in SyncState:
            self.set_class(status.state == state, f"-{state.value}")
        self.update(Content(text))
