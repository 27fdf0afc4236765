"""The commander screen: run a major incident from the keyboard.

One live timeline across the major incident and the incidents grouped under it, a one-line
quick entry at the bottom (``decision:``, ``finding:``, ``mitigation:``, ``action:``; see
domain/major.py), the roles, the clocks (since start, since detection, since the last
stakeholder update, and the next update due, which stands out when late), the action
items, stakeholder updates, the review's own fields and the review itself. Every change is a
command through the store (offline too); entries keep the time they were written.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from incidenttui.domain.major import (
    HIGHLIGHTED,
    MajorRole,
    QuickTag,
    entry_tag,
    iso,
    parse_quick_entry,
)
from incidenttui.domain.refs import describe_event
from incidenttui.present import age, duration, ref, status_long
from incidenttui.widgets.bindings import bind, leave
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine
from incidenttui.widgets.timeline_view import Entry, TimelineView

AREA = "commander"
#: Short role names for the one roles line.
SHORT = {MajorRole.COMMANDER: "IC", MajorRole.COMMUNICATIONS: "comms",
         MajorRole.OPERATIONS: "ops", MajorRole.SCRIBE: "scribe"}
#: What a refusal names when the user's role may not run major incidents.
RUN = ("command", "run major incidents")


def clock_line(view: Any, now: datetime) -> tuple[str, bool]:
    """The clocks line, the next update first (at 80 columns the tail may wrap), and
    whether that update is late."""
    incident, clock = view.incident, view.clock
    start = incident.started_at or incident.detected_at or incident.created_at
    due = f"{clock.due_at.astimezone(UTC):%H:%M}"
    if not incident.is_open:
        first, late = "incident closed: no more updates due", False
    elif clock.late:
        first, late = f"NEXT UPDATE LATE {duration(-delta(clock.remaining))} (due {due})", True
    else:
        first, late = f"next update in {duration(delta(clock.remaining))} ({due})", False
    parts = [first, f"impact {age(start, now)}"]
    if incident.detected_at:
        parts.append(f"detected {age(incident.detected_at, now)} ago")
    parts.append(f"last update {age(clock.last_at, now)} ago" if clock.last_at
                 else "no update yet")
    return " · ".join(parts), late


def delta(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


class CommanderScreen(Screen[None]):
    """One major incident, as its commander runs it."""

    AREA = AREA
    BINDINGS = [
        leave(AREA),
        bind(AREA, "n", "entry", "Entry", tooltip="Quick entry: decision: finding: "
             "mitigation: action: (enter adds it)"),
        bind(AREA, "u", "update", "Update", tooltip="Publish a stakeholder update"),
        bind(AREA, "r", "role", "Role", tooltip="Assign a role (commander, comms, ops, "
             "scribe)"),
        bind(AREA, "a", "item", "Action", tooltip="Add an action item"),
        bind(AREA, "d", "done", "Done", tooltip="Mark an action item done (or open)"),
        bind(AREA, "f", "review_field", "Notes",
             tooltip="Root cause, contributing factors, went well/badly, summary, impact"),
        bind(AREA, "w", "write_review", "Review",
             tooltip="Write the post-incident review as Markdown"),
    ]

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.view: Any = None  # store.major.MajorView
        self.capabilities: Any = None
        self._shown = False

    def compose(self) -> ComposeResult:
        yield Static(id="major-title", markup=False)
        yield Static(id="major-clock", markup=False)
        yield Static(id="major-roles", markup=False)
        yield Static(id="major-items", markup=False)
        yield TimelineView(id="major-timeline")
        yield Input(placeholder="n: decision: / finding: / mitigation: / action: … @owner, "
                                "enter adds", id="quick", compact=True)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.query_one(TimelineView).focus()
        self.load()
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        if self.is_current:
            self.load()

    def store_changed(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="commander-load")
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            view = store.major_view(self.incident_id, datetime.now(UTC))
            capabilities = store.capabilities()
        except Exception as exc:  # a locked or damaged store: say so, keep the screen
            self.app.report_error("Reading the major incident failed", exc)
            return
        self.app.call_from_thread(self._show, view, capabilities)

    def _show(self, view: Any, capabilities: Any) -> None:
        self.capabilities = capabilities
        if view is None:
            self.query_one("#major-title", Static).update(
                Content("This incident is no longer in the local store."))
            return
        self.view = view
        now = datetime.now(UTC)
        incident, record = view.incident, view.record
        major = "MAJOR" if incident.major else "not major"
        self.query_one("#major-title", Static).update(Content(
            f"{ref(incident.number)} · P{incident.priority} · {major} · "
            f"{status_long(incident.status)} · {incident.title}"))
        text, late = clock_line(view, now)
        clock = self.query_one("#major-clock", Static)
        clock.update(Content(text))
        clock.set_class(late, "-late")
        roles = " · ".join(f"{SHORT[r]} {record.roles.get(r) or '-'}" for r in MajorRole)
        grouped = [f"{ref(i.number)} {i.how}" for i in view.linked if i.grouped]
        self.query_one("#major-roles", Static).update(Content(
            roles + (f" · grouped: {', '.join(grouped)}" if grouped else "")))
        items = list(record.items.values())
        open_items = [(n, i) for n, i in enumerate(items, 1) if not i.done]
        listed = " · ".join(f"{n}. {i.text}" + (f" @{i.owner}" if i.owner else "")
                            + (f" due {i.due}" if i.due else "") for n, i in open_items)
        self.query_one("#major-items", Static).update(Content(
            f"actions {len(open_items)} open of {len(items)}" + (f": {listed}" if listed
                                                                  else "")))
        timeline = self.query_one(TimelineView)
        timeline.set_entries(self._entries(view))
        if not self._shown:  # the latest entries first, as the commander reads them
            self._shown = True
            self.call_after_refresh(timeline.scroll_end, animate=False)

    def _entries(self, view: Any) -> list[Entry]:
        entries = []
        numbers = {i.id: i.number for i in view.linked}
        for event in view.events:
            tag = entry_tag(event)
            where = "" if event.incident_id == view.incident.id else \
                f"{ref(numbers.get(event.incident_id))} "
            label = (tag or event.kind).replace("_", " ")
            if tag in HIGHLIGHTED:
                label = label.upper()
            heading = (f"{event.at.astimezone(UTC):%H:%M} {where}{event.actor or '-'} "
                       f"{label}")
            entries.append(Entry(heading, describe_event(event), event.pending,
                                 highlight=tag in HIGHLIGHTED))
        return entries

    # -- helpers ---------------------------------------------------------------------------

    def _ref(self) -> str:
        return ref(self.view.incident.number) if self.view is not None else "this incident"

    def _may(self, operation: str, what: str) -> bool:
        """Say why not when the user may not: the key does nothing else."""
        if self.capabilities is None or self.view is None:
            return self.view is not None
        reason = self.capabilities.refusal(operation, what, self.view.incident.category,
                                           bool((self.view.incident.base or {})
                                                .get("restricted")))
        if reason is not None:
            self.notify(reason, title="Not allowed", severity="warning", timeout=6)
        return reason is None

    async def _entry(self, event: str, data: dict[str, Any], done: str) -> bool:
        from incidenttui.store.commands import MajorEntry

        return bool(await self.app.execute([MajorEntry(
            self.incident_id, event=event, data=data, at=iso(datetime.now(UTC)))], done=done))

    # -- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        quick = self.query_one("#quick", Input)
        if quick.has_focus:
            self.query_one(TimelineView).focus()
        else:
            self.app.pop_screen()

    def action_entry(self) -> None:
        self.query_one("#quick", Input).focus()

    @on(Input.Submitted, "#quick")
    async def _quick(self, event: Input.Submitted) -> None:
        from incidenttui.domain import Refused
        from incidenttui.store.commands import QuickNote

        if not event.value.strip():
            return
        try:
            entry = parse_quick_entry(event.value)
        except Refused as exc:
            self.notify(exc.reason, title="Quick entry", severity="warning", timeout=6)
            return
        if entry.tag is QuickTag.ACTION:
            if not self._may(*RUN):
                return
            added = await self._entry("action_item", {
                "item": str(uuid.uuid4()), "text": entry.text, "owner": entry.owner,
                "due": entry.due, "done": False}, "Action item added")
        else:
            added = bool(await self.app.execute([QuickNote(
                self.incident_id, tag=entry.tag.value, text=entry.text,
                at=iso(datetime.now(UTC)))]))
        if added:
            event.input.value = ""

    @work(exclusive=True, group="commander-form")
    async def action_update(self) -> None:
        from incidenttui.screens.major_forms import StatusUpdateForm

        if self.view is None or not self._may(*RUN):
            return
        data = await self.app.push_screen_wait(StatusUpdateForm(
            self._ref(), self.view.incident.priority, datetime.now(UTC)))
        if data is not None:
            await self._entry("status_update", data, "Stakeholder update published")

    @work(exclusive=True, group="commander-form")
    async def action_role(self) -> None:
        from incidenttui.screens.major_forms import RoleForm

        if self.view is None or not self._may(*RUN):
            return
        data = await self.app.push_screen_wait(RoleForm(self._ref(), self.view.record.roles))
        if data is not None:
            await self._entry("role", data, "Role assigned")

    @work(exclusive=True, group="commander-form")
    async def action_item(self) -> None:
        from incidenttui.screens.major_forms import ActionItemForm

        if self.view is None or not self._may(*RUN):
            return
        data = await self.app.push_screen_wait(ActionItemForm(self._ref()))
        if data is not None:
            await self._entry("action_item", {"item": str(uuid.uuid4()), **data},
                              "Action item added")

    @work(exclusive=True, group="commander-form")
    async def action_done(self) -> None:
        from incidenttui.screens.major_forms import ItemDoneForm

        if self.view is None or not self._may(*RUN):
            return
        answer = await self.app.push_screen_wait(ItemDoneForm(
            self._ref(), list(self.view.record.items.values())))
        if answer is not None:
            item, done = answer
            await self._entry("action_item", {"item": item, "done": done},
                              "Action item done" if done else "Action item open again")

    @work(exclusive=True, group="commander-form")
    async def action_review_field(self) -> None:
        from incidenttui.screens.major_forms import ReviewFieldForm

        if self.view is None or not self._may(*RUN):
            return
        data = await self.app.push_screen_wait(ReviewFieldForm(
            self._ref(), dict(self.view.record.review)))
        if data is not None:
            await self._entry("review", data, "Review field saved")

    @work(exclusive=True, group="commander-form")
    async def action_write_review(self) -> None:
        from incidenttui.files import write_whole
        from incidenttui.screens.major_forms import ReviewFileForm

        if self.view is None:
            return
        default = f"{self._ref()}-review.md"
        path = await self.app.push_screen_wait(ReviewFileForm(self._ref(), default))
        if path is None:
            return
        store, key = self.app.store, self.incident_id

        def write() -> None:
            now = datetime.now(UTC)
            view = store.major_view(key, now)  # the record as it is now, pending entries too
            if view is None:
                raise OSError("the incident is no longer in the local store")
            write_whole(Path(path), view.review(now))

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            self.notify(str(exc), title="Review not written", severity="error", timeout=10)
            return
        self.notify(f"Review written to {path}", title="Post-incident review", timeout=6)
