"""KPIs for the service manager, computed from the local store (offline too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from incidenttui.present import percent, seconds
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine

WINDOWS = (7, 30, 90)


def _bars(counts: dict[str, int], width: int = 30) -> list[str]:
    top = max(counts.values(), default=0)
    return [f"  {name:<18} {count:>6} {'#' * max(1, round(width * count / top))}"
            for name, count in list(counts.items())[:10]] if top else ["  (none)"]


class KpiScreen(Screen[None]):
    AREA = "kpis"
    BINDINGS = [
        Binding("escape", "back", "Back", id="kpis.back"),
        Binding("w", "window", "Window 7/30/90 days", id="kpis.window"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = 30

    def compose(self) -> ComposeResult:
        yield Static(id="kpis-title", markup=False)
        with VerticalScroll():
            yield Static(id="kpis-body", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.load()

    def store_changed(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_window(self) -> None:
        self.days = WINDOWS[(WINDOWS.index(self.days) + 1) % len(WINDOWS)]
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        until = datetime.now(UTC)
        try:
            kpis = store.kpis(until - timedelta(days=self.days), until)
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error("Computing KPIs failed", exc)
            return
        self.app.call_from_thread(self._show, kpis)

    def _show(self, k: Any) -> None:
        self.query_one("#kpis-title", Static).update(Content(
            f"KPIs · last {self.days} days · {k.incidents} incidents (from the local store)"))
        lines = [
            f"MTTD {seconds(k.mttd_seconds)}   MTTA {seconds(k.mtta_seconds)}   "
            f"MTTR {seconds(k.mttr_seconds)}",
            f"SLA met: response {percent(k.response_sla_pct)}   resolution "
            f"{percent(k.resolution_sla_pct)}",
            f"first-contact resolution {percent(k.first_contact_pct)}   reopen rate "
            f"{percent(k.reopen_pct)}",
            "", "by priority:", *_bars(k.by_priority), "", "by service:",
            *_bars(k.by_service), "", "by category:", *_bars(k.by_category),
        ]
        self.query_one("#kpis-body", Static).update(Content("\n".join(lines)))
