"""KPIs for the service manager, computed from the local store (offline too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.binding import Binding

from incidenttui.present import percent, seconds
from incidenttui.screens.report import ReportScreen

WINDOWS = (7, 30, 90)


def _bars(counts: dict[str, int], width: int = 30) -> list[str]:
    top = max(counts.values(), default=0)
    return [f"  {name:<18} {count:>6} {'#' * max(1, round(width * count / top))}"
            for name, count in list(counts.items())[:10]] if top else ["  (none)"]


class KpiScreen(ReportScreen):
    AREA = "kpis"
    FAILED = "Computing KPIs failed"
    BINDINGS = [
        Binding("escape", "back", "Back", id="kpis.back"),
        Binding("w", "window", "Window 7/30/90 days", id="kpis.window"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = 30

    def action_window(self) -> None:
        self.days = WINDOWS[(WINDOWS.index(self.days) + 1) % len(WINDOWS)]
        self.load()

    def read(self, store: Any) -> Any:
        until = datetime.now(UTC)
        return store.kpis(until - timedelta(days=self.days), until)

    def show(self, k: Any) -> tuple[str, list[str]]:
        return (f"KPIs · last {self.days} days · {k.incidents} incidents (from the local "
                "store)"), [
            f"MTTD {seconds(k.mttd_seconds)}   MTTA {seconds(k.mtta_seconds)}   "
            f"MTTR {seconds(k.mttr_seconds)}",
            f"SLA met: response {percent(k.response_sla_pct)}   resolution "
            f"{percent(k.resolution_sla_pct)}",
            f"first-contact resolution {percent(k.first_contact_pct)}   reopen rate "
            f"{percent(k.reopen_pct)}",
            "", "by priority:", *_bars(k.by_priority), "", "by service:",
            *_bars(k.by_service), "", "by category:", *_bars(k.by_category),
        ]
