"""Escalation: functional (to a more expert team, the next support line) or hierarchical
(management). Shows the incident's support line (ITIL L1-L3: which team has it), its
escalation policy's level (who is paged, and when the next automatic move comes: a separate
ladder, always called "policy level") and the history; a reason is required; confirmed
before it is queued."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from incidenttui.domain.lifecycle import escalation_targets
from incidenttui.domain.oncall import roster
from incidenttui.domain.refs import describe_event
from incidenttui.present import policy_lines, ref
from incidenttui.widgets.bindings import bind, leave
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine


def team_on_call(schedules: list[Any], now: datetime) -> dict[str, str]:
    """Who is on call now for each team that has a schedule (its first, by id)."""
    answer: dict[str, str] = {}
    for schedule, shift, _next in roster(schedules, now):
        if schedule.team and shift.user and schedule.team not in answer:
            answer[schedule.team] = shift.user
    return answer


class EscalateScreen(Screen[bool]):
    """Escalate one incident, or several selected in the queue."""

    AREA = "escalate"
    BINDINGS = [
        leave(AREA, "cancel", "Cancel"),
        bind(AREA, "ctrl+t", "toggle_kind", "Functional/hierarchical", name="kind",
             tooltip="Switch between handing to a team and engaging management"),
        bind(AREA, "ctrl+s", "submit", "Escalate"),
        bind(AREA, "up", "team(-1)", "Previous team", name="team_up", show=False),
        bind(AREA, "down", "team(1)", "Next team", name="team_down", show=False),
    ]

    def __init__(self, incident_ids: list[str]) -> None:
        super().__init__()
        self.incident_ids = incident_ids
        self.kind = "functional"
        self.incidents: list[Any] = []
        self.teams: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="escalate"):
            yield Static(id="escalate-title", markup=False)
            yield Static(id="escalate-history", markup=False)
            yield Static(id="escalate-policy", markup=False)
            yield Static(id="escalate-kind", markup=False)
            yield Label("Target team (↑/↓)", id="team-label")
            yield OptionList(id="teams", compact=True)
            yield Label("Person in that team (optional)")
            yield Input(id="user", placeholder="user id", compact=True)
            yield Label("Reason (required)")
            yield Input(id="reason", placeholder="why this needs more help", compact=True)
            yield Static("", id="escalate-error", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True)
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            incidents = store.incidents(self.incident_ids)
            teams = store.teams()
            now = datetime.now(UTC)
            schedules = store.schedules()[0]
            timeline = store.timeline(incidents[0].id) if incidents else []
            history = [e for e in timeline if e.kind == "escalation"]
            policy = store.escalation_view(incidents[0], now, schedules=schedules,
                                           events=timeline) if incidents else None
            on_call = team_on_call(schedules, now)
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error("Reading the incident failed", exc)
            return
        self.app.call_from_thread(self._show, incidents, teams, history, policy, on_call)

    def _show(self, incidents: list[Any], teams: list[Any], history: list[Any],
              policy: Any = None, on_call: dict[str, str] | None = None) -> None:
        self.incidents, self.teams = incidents, teams
        if not incidents:
            self.query_one("#escalate-title", Static).update(Content("Nothing to escalate."))
            return
        first = incidents[0]
        refs = ", ".join(ref(i.number, i.series) for i in incidents[:3])
        more = f" and {len(incidents) - 3} more" if len(incidents) > 3 else ""
        self.query_one("#escalate-title", Static).update(Content(
            f"Escalate {refs}{more} · support line L{first.escalation_level} "
            f"({first.team or 'no team'})"
            + (" · management engaged" if first.management_engaged else "")))
        lines = [f"  {e.at:%m-%d %H:%M} {describe_event(e)}" for e in history[-3:]]
        self.query_one("#escalate-history", Static).update(Content(
            "history:\n" + "\n".join(lines) if lines else "history: never escalated"))
        box = self.query_one("#escalate-policy", Static)
        box.display = policy is not None
        if policy is not None:
            box.update(Content("\n".join(policy_lines(policy))))
        options = self.query_one("#teams", OptionList)
        options.clear_options()
        for team in escalation_targets(teams, first.team, first.escalation_level):
            who = (on_call or {}).get(team.id)
            options.add_option(Option(Content(f"{team.id} — {team.name} (L{team.level})"
                                              + (f" · on call: {who}" if who else "")),
                                      id=team.id))
        options.highlighted = 0 if options.option_count else None
        self._show_kind()
        self.query_one("#reason").focus()

    def _show_kind(self) -> None:
        functional = self.kind == "functional"
        self.query_one("#escalate-kind", Static).update(Content(
            "kind: FUNCTIONAL (hand to a more expert team) · ctrl+t: hierarchical"
             if functional else
             "kind: HIERARCHICAL (inform/engage management) · ctrl+t: functional"))
        for selector in ("#teams", "#team-label", "#user"):
            self.query_one(selector).display = functional

    def action_toggle_kind(self) -> None:
        self.kind = "hierarchical" if self.kind == "functional" else "functional"
        self._show_kind()

    def action_team(self, delta: int) -> None:
        options = self.query_one("#teams", OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @work(exclusive=True)
    async def action_submit(self) -> None:
        from incidenttui.screens.forms import ConfirmScreen
        from incidenttui.store.commands import Escalate

        reason = self.query_one("#reason", Input).value.strip()
        error = self.query_one("#escalate-error", Static)
        if not reason:
            error.update(Content("A reason is required."))
            self.query_one("#reason").focus()
            return
        team = user = None
        if self.kind == "functional":
            options = self.query_one("#teams", OptionList)
            if options.highlighted is None:
                error.update(Content("Choose the team to hand it to."))
                return
            team = options.get_option_at_index(options.highlighted).id
            user = self.query_one("#user", Input).value.strip() or None
        level = next((t.level for t in self.teams if t.id == team), None)
        target = f"{team} (L{level})" if team else "management"
        count = len(self.incidents)
        what = "this incident" if count == 1 else f"{count} incidents"
        if not await self.app.push_screen_wait(
                ConfirmScreen(f"Escalate {what} to {target}? Reason: {reason}")):
            return
        applied = await self.app.execute(
            [Escalate(i.id, escalation=self.kind, reason=reason, to_team=team, to_user=user)
             for i in self.incidents], done=f"Escalated to {target}")
        if applied:
            self.dismiss(True)
