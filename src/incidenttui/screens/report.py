"""A full screen that shows a report read from the local store (offline too): a title line,
a scrolling body, the status line and the key hints. The store is read in a worker thread,
again whenever the store changes; a failed read is said and the app keeps running."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine


class _AbstractScreenMeta(type(Screen), ABCMeta):  # type: ignore[misc]
    """Textual's screen metaclass with ABCMeta's abstract-method check: a report screen
    that forgets :meth:`ReportScreen.read` or :meth:`ReportScreen.show` cannot be made."""


class ReportScreen(Screen[None], metaclass=_AbstractScreenMeta):
    """Subclasses give ``AREA``, ``FAILED`` (what the error says failed), :meth:`read`
    (in a thread) and :meth:`show` (on the event loop)."""

    AREA = "report"
    FAILED = "Reading the local store failed"

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.AREA}-title", markup=False)
        with VerticalScroll():
            yield Static(id=f"{self.AREA}-body", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.load()

    def store_changed(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    @abstractmethod
    def read(self, store: Any) -> Any:
        """What :meth:`show` shows, read from ``store`` (in a worker thread)."""

    @abstractmethod
    def show(self, report: Any) -> tuple[str, list[str]]:
        """The title line and the body's lines of ``report``."""

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            report = self.read(store)
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error(self.FAILED, exc)
            return
        self.app.call_from_thread(self._show, report)

    def _show(self, report: Any) -> None:
        title, lines = self.show(report)
        self.query_one(f"#{self.AREA}-title", Static).update(Content(title))
        self.query_one(f"#{self.AREA}-body", Static).update(Content("\n".join(lines)))
