"""Incident detail: every field, SLA clocks, the live timeline, a note composer, actions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from incidenttui.domain import legal_actions, sla_clocks
from incidenttui.domain.major import cadence
from incidenttui.domain.refs import describe_event
from incidenttui.present import clock_text, ref, status_long
from incidenttui.screens.incident_read import IncidentRead, read_incident
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.similar_view import SimilarView
from incidenttui.widgets.status_line import StatusLine
from incidenttui.widgets.timeline_view import Entry, TimelineView

ACTION_KEYS = {"acknowledge": "a", "start": "s", "hold": "h", "resume": "u", "resolve": "r",
               "close": "c", "reopen": "o", "cancel": "x"}

DONE = {"acknowledge": "Acknowledged", "start": "Started", "hold": "Put on hold",
        "resume": "Resumed", "close": "Closed", "reopen": "Reopened", "cancel": "Cancelled"}


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


class DetailScreen(Screen[None]):
    """One incident."""

    AREA = "incident"
    BINDINGS = [
        Binding("escape", "back", "Back", id="incident.back"),
        Binding("a", "act('acknowledge')", "Ack", id="incident.acknowledge"),
        Binding("s", "act('start')", "Start", id="incident.start"),
        Binding("h", "act('hold')", "Hold", id="incident.hold"),
        Binding("u", "act('resume')", "Resume", id="incident.resume"),
        Binding("r", "resolve", "Resolve", id="incident.resolve"),
        Binding("c", "act('close')", "Close", id="incident.close"),
        Binding("o", "act('reopen')", "Reopen", id="incident.reopen"),
        Binding("x", "act('cancel')", "Cancel incident", show=False, id="incident.cancel"),
        Binding("e", "escalate", "Escalate", id="incident.escalate"),
        Binding("n", "note", "Note", id="incident.note", tooltip="Write a note (enter sends)"),
        Binding("t", "assign", "Assign", show=False, id="incident.assign"),
        Binding("i", "priority", "Impact/urgency", show=False, id="incident.priority"),
        Binding("l", "link", "Link", show=False, id="incident.link"),
        Binding("D", "link_duplicate", "Link duplicate", show=False,
                id="incident.link_duplicate",
                tooltip="Link this incident as a duplicate of the open similar one shown"),
        Binding("P", "playbook", "Playbook", show=False, id="incident.playbook",
                tooltip="The security playbook's checklist (check steps)"),
        Binding("M", "commander", "Commander", show=False, id="incident.commander",
                tooltip="Run it as a major incident: the commander screen (declares it "
                        "major first)"),
        Binding("U", "public_update", "Public update", show=False, id="incident.public_update",
                tooltip="Post a public update to the status page (and its component's state)"),
    ]

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.incident: Any = None
        #: What the user may do (store.capabilities.Capabilities), read with the incident.
        self.capabilities: Any = None
        self.security: Any = None  # store.security.SecurityView
        self._events: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title", markup=False)
        yield Static(id="detail-fields", markup=False)
        yield Static(id="detail-security", markup=False)
        yield SimilarView(self.incident_id, id="detail-similar")
        yield TimelineView(id="timeline")
        yield Input(placeholder="n: write a note, enter to add it, esc to leave",
                    id="note", compact=True)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.query_one(TimelineView).focus()
        self.load()
        self.set_interval(30, self._tick)

    def _tick(self) -> None:
        if self.incident is not None and self.is_current:
            self._show(self.incident, None)

    def store_changed(self) -> None:
        self.load()
        self.query_one(SimilarView).load()

    @work(thread=True, exclusive=True, group="detail-load")
    def load(self) -> None:
        read = read_incident(self.app, self.incident_id, "Reading the incident failed")
        if read is not None:
            self.app.call_from_thread(self._loaded, read)

    def _loaded(self, read: IncidentRead) -> None:
        self.capabilities = read.capabilities
        self.sla_pauses = read.sla_pauses  # maintenance windows pause its clocks
        self._show(read.incident, read.events)

    def _refusal(self, operation: str, what: str) -> str | None:
        """Why the user may not do ``operation`` here (None: they may, or it is not known)."""
        if self.capabilities is None or self.incident is None:
            return None
        return self.capabilities.refusal(operation, what, self.incident.category,
                                         bool((self.incident.base or {}).get("restricted")))

    def _allowed(self, operation: str, what: str) -> bool:
        """Say why not, when the user may not: the key does nothing else."""
        reason = self._refusal(operation, what)
        if reason is not None:
            self.notify(reason, title="Not allowed", severity="warning", timeout=6)
        return reason is None

    def _show(self, incident: Any, events: list[Any] | None) -> None:
        if incident is None:
            self.query_one("#detail-title", Static).update(
                Content("This incident is no longer in the local store."))
            return
        self.incident = incident
        now = datetime.now(UTC)
        major = "MAJOR · " if incident.major else ""
        title = (f"{ref(incident.number, incident.series)} · P{incident.priority} · "
                 f"{status_long(incident.status)} · {major}{incident.title}")
        self.query_one("#detail-title", Static).update(Content(title))
        clocks = sla_clocks(incident.priority, incident.created_at, now,
                            acknowledged_at=incident.acknowledged_at,
                            resolved_at=incident.resolved_at,
                            hold_seconds=incident.hold_seconds,
                            on_hold_since=incident.on_hold_since,
                            pauses=getattr(self, "sla_pauses", ()))

        legal = legal_actions(incident.status)
        allowed = [a for a in legal if self._refusal("move", f"{a.value} incidents") is None]
        moves = ", ".join(f"{ACTION_KEYS[a.value]}:{a.value}" for a in allowed)
        if legal and not allowed and self.capabilities is not None:
            moves = f"none for role {self.capabilities.role}"
        lines = [
            f"service {incident.service} · {incident.category} · impact {incident.impact} "
            f"urgency {incident.urgency}",
            f"team {incident.team or '-'} · assignee {incident.assignee or '-'} · "
            f"level L{incident.escalation_level}"
            + (" · management engaged" if incident.management_engaged else ""),
            f"SLA: response {clock_text(clocks.response)} · "
            f"resolution {clock_text(clocks.resolution)}",
            f"detected {_time(incident.detected_at)} · acked {_time(incident.acknowledged_at)}"
            f" · resolved {_time(incident.resolved_at)}",
            f"moves: {moves or 'none'}" + (" · M: commander" if incident.major else
                                           " · M: declare major" if incident.priority == 1
                                           and incident.is_open else "")
            + (f" · {incident.pending} change(s) waiting to sync" if incident.pending else ""),
        ]
        self.query_one("#detail-fields", Static).update(Content("\n".join(lines)))
        if events is not None:
            self._events = events
        self._show_security(incident, now)
        if events is not None:
            entries = []
            if incident.description:
                entries.append(Entry("description", incident.description))
            if incident.resolution_note:
                entries.append(Entry(f"resolution ({incident.resolution_code})",
                                     incident.resolution_note))
            for e in events:
                heading = f"{e.at.astimezone(UTC):%m-%d %H:%M} {e.actor or '-'} {e.kind}"
                entries.append(Entry(heading, describe_event(e), e.pending))
            self.query_one(TimelineView).set_entries(entries)

    def _show_security(self, incident: Any, now: datetime) -> None:
        """The breach clock and the playbook's progress (two lines; none when neither)."""
        from incidenttui.domain.playbooks import progress
        from incidenttui.present import breach_text
        from incidenttui.store.security import security_view

        self.security = view = security_view(incident, self._events, now)
        lines = []
        if view.breach is not None:
            lines.append(breach_text(view.breach))
        if view.playbook is not None:
            done = progress(view.playbook, view.checked)
            upcoming = (f"next ({done.next_step.phase.value}): {done.next_step.text}"
                        if done.next_step is not None else "all steps done")
            lines.append(f"playbook {view.playbook.title} {done.label} · {upcoming} · "
                         "P: checklist")
        box = self.query_one("#detail-security", Static)
        box.display = bool(lines)
        box.update(Content("\n".join(lines)))

    # -- actions ---------------------------------------------------------------------------

    def action_playbook(self) -> None:
        from incidenttui.screens.playbook import PlaybookScreen

        if self.security is None or self.security.playbook is None:
            self.notify("No playbook for this incident (security incidents only).",
                        timeout=4)
            return
        self.app.push_screen(PlaybookScreen(self.incident_id))

    @work(exclusive=True, group="detail-action")
    async def action_commander(self) -> None:
        """The commander screen; an incident not yet major is declared major first (after
        a yes), which the user's role must allow."""
        from incidenttui.screens.commander import CommanderScreen
        from incidenttui.screens.forms import ConfirmScreen
        from incidenttui.store.commands import DeclareMajor

        if self.incident is None:
            return
        if not self.incident.major:
            if not self._allowed("command", "run major incidents"):
                return
            question = (f"Declare {self._ref()} (P{self.incident.priority}) a major incident? "
                        "It gets roles, stakeholder updates every "
                        f"{cadence(self.incident.priority).total_seconds() / 60:.0f} min, "
                        "action items and a post-incident review.")
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
            if not await self.app.execute([DeclareMajor(self.incident_id)],
                                          done="Declared a major incident"):
                return
        self.app.push_screen(CommanderScreen(self.incident_id))

    def action_back(self) -> None:
        note = self.query_one("#note", Input)
        if note.has_focus:
            self.query_one(TimelineView).focus()
        else:
            self.app.pop_screen()

    async def action_act(self, action: str) -> None:
        from incidenttui.store.commands import Transition

        if not self._allowed("move", f"{action} incidents"):
            return
        await self.app.execute([Transition(self.incident_id, action=action)],
                               done=DONE.get(action, action))

    @work(exclusive=True, group="detail-action")
    async def action_resolve(self) -> None:
        from incidenttui.screens.forms import ResolveScreen
        from incidenttui.store.commands import Transition

        if not self._allowed("move", "resolve incidents"):
            return
        answer = await self.app.push_screen_wait(ResolveScreen(self._ref()))
        if answer is not None:
            await self.app.execute([Transition(self.incident_id, action="resolve",
                                               resolution_code=answer[0],
                                               resolution_note=answer[1])], done="Resolved")

    def action_escalate(self) -> None:
        from incidenttui.screens.escalate import EscalateScreen

        if self._allowed("escalate", "escalate incidents"):
            self.app.push_screen(EscalateScreen([self.incident_id]))

    def action_note(self) -> None:
        if self._allowed("note", "add notes"):
            self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    async def _send_note(self, event: Input.Submitted) -> None:
        from incidenttui.store.commands import AddNote

        text = event.value.strip()
        if not text:
            return
        if await self.app.execute([AddNote(self.incident_id, text=text)]):
            event.input.value = ""

    @work(exclusive=True, group="detail-action")
    async def action_assign(self) -> None:
        from incidenttui.screens.forms import AssignScreen
        from incidenttui.store.commands import UpdateFields

        if not self._allowed("change_fields", "change incident fields"):
            return
        answer = await self.app.push_screen_wait(AssignScreen(self._ref()))
        if answer is not None:
            await self.app.execute([UpdateFields(self.incident_id, answer)], done="Assigned")

    @work(exclusive=True, group="detail-action")
    async def action_priority(self) -> None:
        from incidenttui.screens.forms import PriorityScreen
        from incidenttui.store.commands import UpdateFields

        if self.incident is None or not self._allowed("change_fields", "change incident fields"):
            return
        answer = await self.app.push_screen_wait(
            PriorityScreen(self._ref(), self.incident.impact, self.incident.urgency))
        if answer is not None:
            await self.app.execute([UpdateFields(self.incident_id, answer)],
                                   done="Reprioritised")

    @work(exclusive=True, group="detail-action")
    async def action_link(self) -> None:
        from incidenttui.screens.forms import LinkScreen
        from incidenttui.store.commands import AddLink

        if not self._allowed("link", "link incidents"):
            return
        answer = await self.app.push_screen_wait(LinkScreen(self._ref()))
        if answer is None:
            return
        kind, key = answer
        target = await asyncio.to_thread(self.app.store.get, key)
        if target is None:
            self.notify(f"No incident {key!r} in the local store.", severity="warning")
            return
        link = AddLink(self.incident_id, link=kind, target_id=target.id,
                       target_ref=ref(target.number, target.series))
        await self.app.execute([link], done="Linked")

    async def action_link_duplicate(self) -> None:
        """One key: this incident is a duplicate of the open similar one shown."""
        from incidenttui.store.commands import AddLink

        target = self.query_one(SimilarView).duplicate
        if target is None:
            self.notify("No open similar incident to link as a duplicate.", timeout=4)
            return
        if self._allowed("link", "link incidents"):
            await self.app.execute([AddLink(self.incident_id, link="duplicate_of",
                                            target_id=target.id,
                                            target_ref=ref(target.number))],
                                   done=f"Linked as a duplicate of {ref(target.number)}")

    @work(exclusive=True, group="detail-action")
    async def action_public_update(self) -> None:
        from incidenttui.screens.public_update import PublicUpdateScreen
        from incidenttui.store.status_commands import PostPublicUpdate

        if self.incident is None or not self._allowed("publish_status", "post public updates"):
            return
        answer = await self.app.push_screen_wait(
            PublicUpdateScreen(self._ref(), self.incident.service))
        if answer is not None:
            await self.app.execute([PostPublicUpdate(self.incident_id, public_text=answer[0],
                                                     components=answer[1])],
                                   done="Public update queued")

    def _ref(self) -> str:
        if self.incident is None:
            return "this incident"
        return ref(self.incident.number, self.incident.series)
