"""A security incident's playbook: the checklist by phase, progress, evidence to keep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from incidenttui.present import ref
from incidenttui.screens.incident_read import read_incident
from incidenttui.widgets.bindings import bind, leave
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine


class PlaybookScreen(Screen[None]):
    """Check the steps of the incident's playbook; each check is a timeline event."""

    AREA = "playbook"
    BINDINGS = [
        leave(AREA),
        bind(AREA, "space,x", "check", "Check step",
             tooltip="Check the highlighted step (a timeline event)"),
    ]

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.incident: Any = None
        self.view: Any = None  # store.security.SecurityView
        self.capabilities: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="playbook-title", markup=False)
        yield OptionList(id="playbook-steps", compact=True)
        yield Static(id="playbook-evidence", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.query_one("#playbook-steps").focus()
        self.load()

    def store_changed(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="playbook-load")
    def load(self) -> None:
        from incidenttui.store.security import security_view

        read = read_incident(self.app, self.incident_id, "Reading the playbook failed")
        if read is None:
            return
        incident = read.incident
        view = security_view(incident, read.events, datetime.now(UTC)) if incident else None
        self.app.call_from_thread(self._show, incident, view, read.capabilities)

    def _show(self, incident: Any, view: Any, capabilities: Any) -> None:
        from incidenttui.domain.playbooks import PHASE_ORDER, progress

        self.incident, self.view, self.capabilities = incident, view, capabilities
        title = self.query_one("#playbook-title", Static)
        options = self.query_one("#playbook-steps", OptionList)
        if incident is None or view is None or view.playbook is None:
            title.update(Content("No playbook for this incident."))
            options.clear_options()
            return
        playbook = view.playbook
        done = progress(playbook, view.checked)
        name = ref(incident.number, incident.series)
        title.update(Content(f"{name} · playbook {playbook.title} · "
                             f"{done.label} done · space: check"))
        highlighted = options.highlighted
        options.clear_options()
        for phase in PHASE_ORDER:
            steps = [s for s in playbook.steps if s.phase is phase]
            if not steps:
                continue
            ticked, total = done.by_phase[phase]
            options.add_option(Option(Content(f"{phase.value} {ticked}/{total}"),
                                      disabled=True))
            for step in steps:
                at = view.checked.get(step.id)
                mark = f"[x] {step.text} ({at:%m-%d %H:%M})" if at else f"[ ] {step.text}"
                options.add_option(Option(Content(mark), id=step.id))
        if highlighted is None and done.next_step is not None:
            highlighted = options.get_option_index(done.next_step.id)
        options.highlighted = highlighted if highlighted is not None else 1
        evidence = "; ".join(playbook.evidence)
        self.query_one("#playbook-evidence", Static).update(
            Content(f"evidence to keep: {evidence}" if evidence else ""))

    def action_back(self) -> None:
        self.app.pop_screen()

    async def action_check(self) -> None:
        from incidenttui.store.commands import CheckPlaybookStep

        options = self.query_one("#playbook-steps", OptionList)
        if self.view is None or self.view.playbook is None or options.highlighted is None:
            return
        step = options.get_option_at_index(options.highlighted).id
        if step is None:
            return
        if step in self.view.checked:
            self.notify("That step is checked already.", timeout=3)
            return
        if self.capabilities is not None:
            reason = self.capabilities.refusal(
                "check_playbook", "check playbook steps", self.incident.category,
                bool((self.incident.base or {}).get("restricted")))
            if reason is not None:
                self.notify(reason, title="Not allowed", severity="warning", timeout=6)
                return
        await self.app.execute([CheckPlaybookStep(self.incident_id,
                                                  playbook=self.view.playbook.kind.value,
                                                  step=step)], done="Checked")
