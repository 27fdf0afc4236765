"""Who is on call now and next, for every schedule the store last synced (offline too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from incidenttui.domain.oncall import roster
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine


def _when(moment: datetime, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def roster_lines(answer: list[Any], problems: list[str]) -> list[str]:
    """The roster as the screen shows it: per schedule, who now and who next."""
    lines: list[str] = []
    for schedule, now, following in answer:
        team = f" · team {schedule.team}" if schedule.team else ""
        lines.append(f"{schedule.name} ({schedule.id}{team}, {schedule.time_zone})")
        lines.append(f"  now  {now.user or 'nobody'} until {_when(now.end, schedule.zone)}"
                     + (f" ({now.source})" if now.source else ""))
        lines.append(f"  next {following.user or 'nobody'} from "
                     f"{_when(following.start, schedule.zone)}")
        lines.append("")
    lines += problems
    if not answer and not problems:
        lines.append("No on-call schedules in the local store. They come from the server's "
                     "organisation file (incidenttui admin apply) with the next sync.")
    return lines


class OnCallScreen(Screen[None]):
    AREA = "oncall"
    BINDINGS = [
        Binding("escape", "back", "Back", id="oncall.back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="oncall-title", markup=False)
        with VerticalScroll():
            yield Static(id="oncall-body", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.load()

    def store_changed(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        now = datetime.now(UTC)
        try:
            schedules, problems = store.schedules()
            answer = roster(schedules, now)
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error("Reading the on-call schedules failed", exc)
            return
        self.app.call_from_thread(self._show, now, answer, problems)

    def _show(self, now: datetime, answer: list[Any], problems: list[str]) -> None:
        self.query_one("#oncall-title", Static).update(Content(
            f"On call · {now:%a %d %b %H:%M} UTC · {len(answer)} schedule(s), from the local "
            "store"))
        self.query_one("#oncall-body", Static).update(Content(
            "\n".join(roster_lines(answer, problems))))
