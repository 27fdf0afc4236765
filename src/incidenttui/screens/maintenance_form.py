"""Plan a maintenance window from the app: services, start, how long, reason. Dismisses with
a :class:`~incidenttui.store.status_commands.PlanMaintenance` the queue executes (offline
too: it is queued like every change)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Label, Static

from incidenttui.domain import Refused
from incidenttui.domain.statuspage import REASON_MAX, check_window, parse_span, parse_when
from incidenttui.screens.forms import Form
from incidenttui.store.status_commands import PlanMaintenance


class MaintenanceScreen(Form):
    """A new maintenance window; the domain's rules check it before it is dismissed."""

    TITLE_TEXT = "Plan a maintenance window"

    def fields(self) -> ComposeResult:
        yield Static(Content("Alerts for these services open no incident and page no one "
                             "until the window ends; it shows on the status page."),
                     classes="form-hint")
        yield Label("Services (ids, comma-separated)")
        yield Input(id="services", placeholder="e.g. erp-sync, payments", compact=True)
        yield Label("Start (now, +2h, or 2026-12-06T02:00+01:00)")
        yield Input(id="start", value="now", compact=True)
        yield Label("How long (90m, 2h, 1d)")
        yield Input(id="duration", value="1h", compact=True)
        yield Label("Reason (public)")
        yield Input(id="reason", max_length=REASON_MAX, compact=True,
                    placeholder="e.g. Warehouse system upgrade")

    def on_mount(self) -> None:
        self.query_one("#services").focus()

    def answer(self) -> PlanMaintenance | None:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        services = [s.strip() for s in value("services").split(",") if s.strip()]
        now = datetime.now(UTC)
        try:
            start = parse_when(value("start") or "now", now, "start")
            end = start + parse_span(value("duration") or "1h", "how long")
            check_window(services, start, end, value("reason"), now)
        except Refused as exc:
            self.error(exc.reason)
            return None
        return PlanMaintenance.new(services, start, end, value("reason"))
