"""Who is on call now and next, for every schedule the store last synced (offline too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.binding import Binding

from incidenttui.domain.oncall import roster
from incidenttui.screens.report import ReportScreen


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


class OnCallScreen(ReportScreen):
    AREA = "oncall"
    FAILED = "Reading the on-call schedules failed"
    BINDINGS = [
        Binding("escape", "back", "Back", id="oncall.back"),
    ]

    def read(self, store: Any) -> tuple[datetime, list[Any], list[str]]:
        now = datetime.now(UTC)
        schedules, problems = store.schedules()
        return now, roster(schedules, now), problems

    def show(self, report: tuple[datetime, list[Any], list[str]]) -> tuple[str, list[str]]:
        now, answer, problems = report
        return (f"On call · {now:%a %d %b %H:%M} UTC · {len(answer)} schedule(s), from the "
                "local store"), roster_lines(answer, problems)
