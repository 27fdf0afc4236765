"""The queue (home): filter, search, presets, sort, bulk triage."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from incidenttui.messages import QueueLoaded
from incidenttui.store.queue_query import FIRST_ROWS, QueueAnswer, QueueQuery
from incidenttui.store.reader import DEFAULT_STALE_HOURS, IncidentFilter
from incidenttui.sync.status import SyncState
from incidenttui.widgets.queue_view import QueueView, header_text
from incidenttui.widgets.status_line import StatusLine

#: Preset name → (label, key)
PRESETS = {"mine": ("mine", "1"), "team": ("my team", "2"), "unassigned": ("unassigned", "3"),
           "breaching": ("breaching", "4"), "p1p2": ("P1–P2", "5"), "open": ("open", "6"),
           "all": ("all", "7"), "stale": ("stale acks", "8")}
SORT_CYCLE = ("priority", "sla", "newest", "updated")
#: "Stale acks": acknowledged or in progress with no note or status change for this long
#: (the default of ``incidenttui list --stale`` too).
STALE_HOURS = DEFAULT_STALE_HOURS
#: "Breaching" also shows what breaches within this time.
BREACH_WINDOW = timedelta(minutes=30)


class QueueScreen(Screen[None]):
    """The incident queue."""

    AREA = "queue"
    BINDINGS = [
        # A priority binding runs as the key arrives, before keys typed right after it are
        # routed: "/pp" in one burst (fast typist, laggy SSH) types "pp" into the filter.
        Binding("slash", "filter", "Filter", id="queue.filter", priority=True,
                tooltip="Filter as you type (number, title, description, service, notes)"),
        Binding("escape", "clear", "Clear", show=False, id="queue.clear",
                tooltip="Clear the filter and the selection"),
        Binding("s", "sort", "Sort", id="queue.sort", tooltip="Cycle the sort order"),
        Binding("p", "next_preset", "Preset", id="queue.preset",
                tooltip="Cycle presets: mine, my team, unassigned, breaching, P1–P2, open, all, "
                        "stale acks"),
        *[Binding(key, f"preset('{name}')", label[0].upper() + label[1:], show=False,
                  id=f"queue.preset_{name}", tooltip=f"Preset: show the {label} view")
          for name, (label, key) in PRESETS.items()],
        Binding("a", "ack", "Ack", id="queue.ack",
                tooltip="Acknowledge the selected incidents (or the one at the cursor)"),
        Binding("e", "escalate", "Escalate", id="queue.escalate"),
        Binding("r", "resolve", "Resolve", id="queue.resolve"),
        Binding("t", "assign", "Assign", id="queue.assign", tooltip="Assign to a team/person"),
        Binding("n", "new", "New", id="queue.new", tooltip="Log a new incident"),
        Binding("M", "maintenance", "Maintenance window", show=False, id="queue.maintenance",
                tooltip="Plan a maintenance window (alerts held, SLA paused)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.preset = "open"
        self.sort = "priority"
        self.text = ""
        self._selected_shown = 0
        #: The stale view's note on its longest forgotten incident (read in a worker).
        self._oldest_stale = ""
        #: Whether the filter box and the key hints are mounted (just after the first frame).
        self._rest_mounted = False
        #: The filter's text is matched without the search index (a first pull builds it).
        self._search_building = False
        #: The store has nothing cached yet: the empty queue's words follow the link's state.
        self._empty_cache = False
        #: Loads what the queue shows; its answers come back as QueueLoaded messages.
        self.queue_query = QueueQuery(lambda: self.app.reader,
                                      lambda answer: self.post_message(QueueLoaded(answer)))

    def compose(self) -> ComposeResult:
        yield Static(id="queue-title", markup=False)
        maintenance = Static(id="queue-maintenance", markup=False)
        maintenance.display = False  # shown while a maintenance window runs or is near
        yield maintenance
        yield Static(id="queue-header", markup=False)
        yield QueueView(self.app.reader.rows, id="queue")
        yield Static(id="queue-empty", markup=False)
        yield StatusLine()
        # The filter box and the key hints are mounted once the first frame is out
        # (_painted), so the cached queue paints without waiting for them; the hints' row
        # is kept meanwhile, so nothing moves when they come.
        yield Static(id="queue-hints-slot", markup=False)

    @property
    def view(self) -> QueueView:
        return self.query_one(QueueView)

    def on_mount(self) -> None:
        self.view.focus()
        # The very first screenful is read here, before the first frame, so the cached queue
        # is in it (a few milliseconds, in index order); every later read is in a thread.
        self.reload(now=True)
        self.set_interval(60, self.view.tick)
        self.set_timer(1.0, self._mount_the_rest)
        self.call_after_refresh(self._read_maintenance)

    def on_unmount(self) -> None:
        self.queue_query.close()

    def on_resize(self) -> None:
        self._update_header()

    def _update_header(self) -> None:
        if self._widgets_gone():
            return
        # The rows are drawn in the view's content width (left of its scrollbar).
        width = self.view.scrollable_content_region.width or self.size.width
        self._set_text("#queue-header", header_text(width))

    def _set_text(self, selector: str, text: str, *, layout: bool = False) -> None:
        """Update a line of text only if it changed: every update is a repaint (bytes).
        ``layout``: its height may change (else the line keeps its one row and the screen is
        not laid out again: the title changes with every filter key)."""
        line = self.query_one(selector, Static)
        if str(line.content) != text:
            line.update(Content(text), layout=layout)

    # -- the filter ------------------------------------------------------------------------

    def current_filter(self) -> IncidentFilter:
        user = getattr(self.app.sync_status, "user", None)
        flt = IncidentFilter(text=self.text, sort=self.sort)
        if self.preset == "mine":
            return replace(flt, assignee=user or "\x00nobody", open_only=True)
        if self.preset == "team":
            team = getattr(self.app.sync_status, "team", None)
            return replace(flt, team=team or "\x00none", open_only=True)
        if self.preset == "unassigned":
            return replace(flt, unassigned=True, open_only=True)
        if self.preset == "breaching":
            return replace(flt, breaching_before=datetime.now(UTC) + BREACH_WINDOW)
        if self.preset == "p1p2":
            return replace(flt, priorities=(1, 2), open_only=True)
        if self.preset == "open":
            return replace(flt, open_only=True)
        if self.preset == "stale":
            # Acknowledged or in progress, untouched for STALE_HOURS: oldest first.
            return replace(flt, idle_before=datetime.now(UTC) - timedelta(hours=STALE_HOURS))
        return flt

    def _first_rows(self) -> int:
        return max(FIRST_ROWS, self.view.size.height + 10)

    def reload(self, *, now: bool = False) -> None:
        """What the queue shows has changed (a key): ask again. The first screenful comes in
        milliseconds and the whole list follows (:class:`QueueQuery`); the event loop never
        waits on a query, but for ``now``: the first screenful at mount, before the first
        frame."""
        if not now:
            self.queue_query.ask(self.current_filter(), self._first_rows())
            return
        answer = self.queue_query.ask_now(self.current_filter(), self._first_rows())
        if answer is not None:
            self._show(answer)

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        if not self._widgets_gone():
            self._show(message.answer)

    def _widgets_gone(self) -> bool:
        """The app is shutting down (its widgets are gone): late answers are dropped."""
        return not self.query(QueueView)

    def _show(self, answer: QueueAnswer) -> None:
        """Show ``answer`` (the query has dropped late ones already)."""
        if answer.error is not None:
            self.notify(answer.error, title="Error", severity="error", timeout=15)
            return
        ids = answer.ids
        self._search_building = answer.search_building
        self.view.set_ids(ids, partial=answer.partial, rows=answer.rows)
        self.call_after_refresh(self._update_header)
        self._empty_cache = not ids and not answer.has_cache
        empty = self.query_one("#queue-empty", Static)
        if ids:
            empty.display = False
        else:
            empty.display = True
            if self._empty_cache:
                self.status_changed()
            else:
                empty.update(Content(
                    "no incidents match this view (p: presets, /: filter, esc: clear)"))
        self._update_title()
        if self.preset == "stale":
            self._read_oldest_stale()

    def status_changed(self) -> None:
        """The link to the server changed (the app calls this): an empty store says why
        there is nothing to show in the words of the link's state."""
        if not self._empty_cache or self._widgets_gone():
            return
        state = self.app.sync_status.state
        why = ("no incidents yet" if state == SyncState.ONLINE
               else "no cached incidents yet: fetching them from the server"
               if state == SyncState.SYNCING
               else "no cached incidents yet and offline: nothing to show until the server "
                    "is reachable")
        self.query_one("#queue-empty", Static).update(Content(why))

    @work(thread=True, exclusive=True, group="queue-stale")
    def _read_oldest_stale(self) -> None:
        """The stale view's title names the longest forgotten: owner and idle time (the
        narrow layout has no owner column)."""
        from incidenttui.present import duration, ref

        store = self.app.store
        if store is None:
            return
        now = datetime.now(UTC)
        try:
            stale = store.stale(STALE_HOURS, now)
            oldest = store.get(stale[0].incident_id) if stale else None
        except Exception as exc:  # a locked store: the list still shows
            self.app.report_error("Reading stale acknowledgements failed", exc)
            return
        note = (f"oldest {ref(oldest.number)} {stale[0].owner or '-'} idle "
                f"{duration(stale[0].idle(now))}") if oldest is not None else ""
        self.app.call_from_thread(self._stale_read, note)

    def _stale_read(self, note: str) -> None:
        self._oldest_stale = note
        if not self._widgets_gone():
            self._update_title()

    def _update_title(self) -> None:
        self._selected_shown = len(self.view.selected)
        label = PRESETS[self.preset][0]
        # While the whole list is still being read, the count is at least what is shown.
        count = f"{len(self.view.ids)}" + ("+" if self.view.partial else "")
        order = f"idle ≥{STALE_HOURS:g}h" if self.preset == "stale" else f"sort {self.sort}"
        parts = [f"Queue · {label} · {count} · {order}"]
        if self.preset == "stale" and self._oldest_stale:
            parts.append(self._oldest_stale)
        if self.text:
            parts.append(f"filter “{self.text}”")
            if self._search_building:  # slower keys have a reason the user can see
                parts.append("search index building")
        if self.view.selected:
            parts.append(f"{len(self.view.selected)} selected")
        self._set_text("#queue-title", " · ".join(parts))

    def store_changed(self) -> None:
        # A burst of changes (an alert storm) is read as one (the query coalesces them).
        self.queue_query.changed(self.current_filter())
        self._read_maintenance()

    @work(exclusive=True, group="queue-action")
    async def action_maintenance(self) -> None:
        from incidenttui.screens.maintenance_form import MaintenanceScreen

        command = await self.app.push_screen_wait(MaintenanceScreen())
        if command is not None:
            await self.app.execute([command], done="Maintenance window planned")

    @work(thread=True, exclusive=True, group="queue-maintenance")
    def _read_maintenance(self) -> None:
        """The maintenance windows running now or starting within a day (store, offline)."""
        from incidenttui.present import maintenance_line

        store = getattr(self.app, "store", None)
        if store is None:
            return
        now = datetime.now(UTC)
        text = maintenance_line(store.maintenance(now), now)
        self.app.call_from_thread(self._show_maintenance, text)

    def _show_maintenance(self, text: str) -> None:
        if self._widgets_gone():
            return
        line = self.query_one("#queue-maintenance", Static)
        line.display = bool(text)
        self._set_text("#queue-maintenance", text, layout=True)

    @on(Input.Changed, "#queue-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text = event.value
        self.reload()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self) -> None:
        self.view.focus()

    @on(QueueView.Opened)
    def _open(self, event: QueueView.Opened) -> None:
        from incidenttui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(event.incident_id))

    @on(QueueView.Painted)
    async def _painted(self) -> None:
        """The cached queue is on screen: the filter box and the key hints come now, then
        the app loads the rest (the store, the sync engine)."""
        await self._mount_the_rest()
        self.app.queue_painted()

    async def _mount_the_rest(self) -> None:
        """The filter box and the key hints (once): after the first frame, or after a second
        if the list was never drawn (a window too small for it)."""
        if self._rest_mounted or self._widgets_gone():
            return
        self._rest_mounted = True
        box = Input(placeholder="filter: words, INC-number, service…", id="queue-filter",
                    compact=True)
        box.display = False
        from incidenttui.widgets.hints import key_hints

        slot = self.query_one("#queue-hints-slot")
        async with self.batch():  # one frame: the hints replace their slot
            await self.mount(box, before=self.query_one(StatusLine))
            await self.mount(key_hints(), after=slot)
            await slot.remove()

    @on(QueueView.WantsAll)
    def _wants_all(self) -> None:
        self.queue_query.read_all()

    @on(QueueView.Moved)
    def _moved(self) -> None:
        # Only the selection count can change with the cursor (space selects and moves):
        # repainting the title on every move would cost bytes over SSH for nothing.
        if len(self.view.selected) != self._selected_shown:
            self._update_title()

    # -- actions ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:  # '/' in the first frame, before the box is mounted
            self.call_after_refresh(self.action_filter)
            return
        if box.has_focus:
            box.insert_text_at_cursor("/")  # a slash typed in the filter itself
            return
        if not isinstance(self.focused, QueueView | Input | None):
            return
        box.display = True
        # Focus now, not after a refresh: keys typed in the same burst as '/' (a fast typist,
        # a laggy SSH link) must land in the filter, not run as queue commands.
        self.set_focus(box)

    def _filter_box(self) -> Input | None:
        boxes = self.query("#queue-filter").results(Input)
        return next(boxes, None)

    def action_clear(self) -> None:
        box = self._filter_box()
        if self.view.selected:
            self.view.selected.clear()
            self.view.refresh()
        if box is not None:
            if box.value:
                box.value = ""
            box.display = False
        self.view.focus()
        self._update_title()

    def action_sort(self) -> None:
        self.sort = SORT_CYCLE[(SORT_CYCLE.index(self.sort) + 1) % len(SORT_CYCLE)]
        self.reload()

    def action_preset(self, name: str) -> None:
        self.preset = name
        if name == "breaching":
            self.sort = "sla"
        self.reload()

    def action_next_preset(self) -> None:
        names = list(PRESETS)
        self.action_preset(names[(names.index(self.preset) + 1) % len(names)])

    async def _may(self, operation: str, what: str) -> bool:
        """Whether the user's role may do ``operation`` at all; if not, say why (the store
        refuses each incident it may not change anyway, in the same words)."""
        store = self.app.store
        if store is None:
            return True
        capabilities = await asyncio.to_thread(store.capabilities)
        if capabilities.may(operation) or capabilities.may(operation, "security"):
            return True
        self.notify(capabilities.refusal(operation, what) or what, title="Not allowed",
                    severity="warning", timeout=6)
        return False

    def _targets(self) -> list[str]:
        targets = self.view.targets
        if not targets:
            self.notify("No incident here.", severity="warning")
        return targets

    def _refs(self, targets: list[str]) -> str:
        rows = [self.view.row(i) for i in targets[:3]]
        text = ", ".join(r.ref for r in rows if r is not None)
        return text + (f" and {len(targets) - 3} more" if len(targets) > 3 else "")

    @work(exclusive=True, group="queue-action")
    async def action_ack(self) -> None:
        from incidenttui.screens.forms import ConfirmScreen
        from incidenttui.store.commands import Transition

        targets = self._targets()
        if not targets:
            return
        if len(targets) > 1 and not await self.app.push_screen_wait(
                ConfirmScreen(f"Acknowledge {len(targets)} incidents ({self._refs(targets)})?")):
            return
        await self.app.execute([Transition(i, action="acknowledge") for i in targets],
                               done="Acknowledged")
        self._after_bulk()

    @work(exclusive=True, group="queue-action")
    async def action_resolve(self) -> None:
        from incidenttui.screens.forms import ResolveScreen
        from incidenttui.store.commands import Transition

        targets = self._targets()
        if not targets or not await self._may("move", "resolve incidents"):
            return
        answer = await self.app.push_screen_wait(ResolveScreen(self._refs(targets)))
        if answer is None:
            return
        code, note = answer
        await self.app.execute([Transition(i, action="resolve", resolution_code=code,
                                           resolution_note=note) for i in targets],
                               done="Resolved")
        self._after_bulk()

    @work(exclusive=True, group="queue-action")
    async def action_assign(self) -> None:
        from incidenttui.screens.forms import AssignScreen
        from incidenttui.store.commands import UpdateFields

        targets = self._targets()
        if not targets or not await self._store_ready() or not await self._may(
                "change_fields", "change incident fields"):
            return
        answer = await self.app.push_screen_wait(AssignScreen(self._refs(targets)))
        if answer is None:
            return
        await self.app.execute([UpdateFields(i, answer) for i in targets], done="Assigned")
        self._after_bulk()

    @work(exclusive=True, group="queue-action")
    async def action_escalate(self) -> None:
        from incidenttui.screens.escalate import EscalateScreen

        targets = self._targets()
        if targets and await self._may("escalate", "escalate incidents"):
            self.app.push_screen(EscalateScreen(targets), lambda _: self._after_bulk())

    @work(exclusive=True, group="queue-action")
    async def action_new(self) -> None:
        from incidenttui.screens.forms import NewIncidentScreen

        if not await self._store_ready() or not await self._may("create", "log incidents"):
            return
        command = await self.app.push_screen_wait(NewIncidentScreen())
        if command is not None:
            await self.app.execute([command], done="Logged")

    async def _store_ready(self) -> bool:
        for _ in range(50):
            if self.app.store is not None:
                return True
            await asyncio.sleep(0.1)
        self.notify("The local store is not available.", severity="error")
        return False

    def _after_bulk(self, *_: Any) -> None:
        if self.view.selected:
            self.view.selected.clear()
            self.view.refresh()
        self._update_title()
