"""KPIs for the service manager, computed from the local store (offline too).

The figures and their definitions are domain/kpis.py's; kpi_text.py words them, the same
as ``incidenttui kpis``. ``?`` shows the definitions under the keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.binding import Binding

from incidenttui.domain.kpis import GROUPS
from incidenttui.kpi_text import DEFINITIONS, report_lines
from incidenttui.screens.report import ReportScreen

WINDOWS = (7, 30, 90)
#: ``b`` cycles: no grouping, then each of domain.kpis.GROUPS.
GROUPINGS: tuple[str | None, ...] = (None, *GROUPS)


class KpiScreen(ReportScreen):
    AREA = "kpis"
    FAILED = "Computing KPIs failed"
    HELP = ("What the figures mean (also in the README):", *DEFINITIONS)
    BINDINGS = [
        Binding("escape", "back", "Back", id="kpis.back"),
        Binding("w", "window", "Window 7/30/90 days", id="kpis.window",
                tooltip="The window: the last 7, 30 or 90 days"),
        Binding("b", "group", "By service/team/…", id="kpis.group",
                tooltip="A table by service, team, category or priority (or none)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = 30
        self.by: str | None = None

    def action_window(self) -> None:
        self.days = WINDOWS[(WINDOWS.index(self.days) + 1) % len(WINDOWS)]
        self.load()

    def action_group(self) -> None:
        self.by = GROUPINGS[(GROUPINGS.index(self.by) + 1) % len(GROUPINGS)]
        self.load()

    def read(self, store: Any) -> Any:
        now = datetime.now(UTC)
        return store.kpis(now - timedelta(days=self.days), now, by=self.by, now=now)

    def show(self, k: Any) -> tuple[str, list[str]]:
        by = f" · by {self.by}" if self.by else ""
        since = datetime.fromtimestamp(k.since, UTC).strftime("%Y-%m-%d")
        return f"KPIs · last {self.days} days · {k.window['incidents']} incidents{by}", [
            f"since {since} · {k.cancelled} cancelled left out · from the local store", "",
            *report_lines(k)]
