"""The queue (home): filter, search, presets, sort, bulk triage."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Input, Static

from incidenttui.store.reader import IncidentFilter
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.queue_view import QueueView, header_text
from incidenttui.widgets.status_line import StatusLine

#: Preset name → (label, key)
PRESETS = {"mine": ("mine", "1"), "team": ("my team", "2"), "unassigned": ("unassigned", "3"),
           "breaching": ("breaching", "4"), "p1p2": ("P1–P2", "5"), "open": ("open", "6"),
           "all": ("all", "7")}
SORT_CYCLE = ("priority", "sla", "newest", "updated")
#: Rows read at once when the view changes (at least a screenful; the whole list follows).
FIRST_ROWS = 40
#: Seconds of quiet after a key before the view's whole list is read.
WHOLE_LIST_AFTER = 0.15
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
                tooltip="Cycle presets: mine, my team, unassigned, breaching, P1–P2, open, all"),
        *[Binding(key, f"preset('{name}')", label[0].upper() + label[1:], show=False,
                  id=f"queue.preset_{name}", tooltip=f"Preset: show the {label} view")
          for name, (label, key) in PRESETS.items()],
        Binding("a", "ack", "Ack", id="queue.ack",
                tooltip="Acknowledge the selected incidents (or the one at the cursor)"),
        Binding("e", "escalate", "Escalate", id="queue.escalate"),
        Binding("r", "resolve", "Resolve", id="queue.resolve"),
        Binding("t", "assign", "Assign", id="queue.assign", tooltip="Assign to a team/person"),
        Binding("n", "new", "New", id="queue.new", tooltip="Log a new incident"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.preset = "open"
        self.sort = "priority"
        self.text = ""
        self._pending_reload = False
        self._selected_shown = 0
        #: Reloads asked for; the first for the current view (a key the user pressed); the
        #: one whose answer is on screen, and whether that is only the first rows of it (the
        #: whole list still being read).
        self._asked = self._view = self._shown = 0
        self._partial = False
        #: The whole-list read in flight (0: none), and whether another should follow it.
        self._reading = 0
        self._read_again = False

    def compose(self) -> ComposeResult:
        yield Static(id="queue-title", markup=False)
        yield Static(id="queue-header", markup=False)
        yield QueueView(self.app.reader.rows, id="queue")
        yield Static(id="queue-empty", markup=False)
        # The filter box and the key hints are mounted just after the first frame, so the
        # cached queue paints without waiting for them (start-up over a slow link).
        box = Input(placeholder="filter: words, INC-number, service…", id="queue-filter",
                    compact=True)
        box.display = False
        yield Lazy(box)
        yield StatusLine()
        yield Lazy(key_hints())

    @property
    def view(self) -> QueueView:
        return self.query_one(QueueView)

    def on_mount(self) -> None:
        self.view.focus()
        # The very first screenful is read here, before the first frame, so the cached queue
        # is in it (a few milliseconds, in index order); every later read is in a worker.
        self.reload(in_place=True)
        self.set_interval(60, self.view.tick)

    def on_resize(self) -> None:
        self._update_header()

    def _update_header(self) -> None:
        if self._widgets_gone():
            return
        # The rows are drawn in the view's content width (left of its scrollbar).
        width = self.view.scrollable_content_region.width or self.size.width
        self._set_text("#queue-header", header_text(width))

    def _set_text(self, selector: str, text: str) -> None:
        """Update a line of text only if it changed: every update is a repaint (bytes)."""
        line = self.query_one(selector, Static)
        if str(line.content) != text:
            line.update(Content(text))

    # -- the filter ------------------------------------------------------------------------

    def current_filter(self) -> IncidentFilter:
        user = getattr(self.app.sync_status, "user", None)
        flt = IncidentFilter(text=self.text, sort=self.sort)
        if self.preset == "mine":
            return replace(flt, assignee=user or "\x00nobody", open_only=True)
        if self.preset == "team":
            return replace(flt, team=self._my_team() or "\x00none", open_only=True)
        if self.preset == "unassigned":
            return replace(flt, unassigned=True, open_only=True)
        if self.preset == "breaching":
            return replace(flt, breaching_before=datetime.now(UTC) + BREACH_WINDOW)
        if self.preset == "p1p2":
            return replace(flt, priorities=(1, 2), open_only=True)
        if self.preset == "open":
            return replace(flt, open_only=True)
        return flt

    def _my_team(self) -> str | None:
        store = self.app.store
        user = getattr(self.app.sync_status, "user", None)
        if store is None or user is None:
            return None
        return next((u.team_id for u in store.users() if u.id == user), None)

    def reload(self, *, at_once: bool = True, in_place: bool = False) -> None:
        """Re-read the ordered ids in workers (the event loop never waits on a query), but
        for ``in_place``: the first screenful at mount, read before the first frame.

        ``at_once``: what the queue shows has changed (a key the user pressed), so the first
        screenful comes first, in milliseconds, and the whole list follows; a change synced
        from the server swaps the whole list in when it is read."""
        if not at_once and self._reading:
            self._read_again = True  # a burst of synced changes: one more read after this
            return
        self._asked += 1
        if at_once:
            self._view = self._asked
            self.app.reader.interrupt()  # a whole list still being read for an earlier view
        flt = self.current_filter()
        asked = self._asked
        if at_once or not self.view.ids:
            limit = max(FIRST_ROWS, self.view.size.height + 10)
            if in_place:
                self._first_rows(flt, limit, asked, self._show)
            else:
                self._query_first(flt, limit, asked)
            # The whole list waits for a pause in typing: read for every key, it would
            # compete with the next key's first screenful.
            self.set_timer(WHOLE_LIST_AFTER, lambda: self._read_whole(flt, asked))
        else:
            self._read_whole(flt, asked)

    def _read_whole(self, flt: IncidentFilter, asked: int) -> None:
        if self._widgets_gone():
            return
        if asked < self._view or (self._shown == asked and not self._partial) \
                or self._reading == asked:
            return  # another view asked for since, all of it on screen, or being read
        self._reading = asked
        self._query_all(flt, asked)

    def _read(self, asked: int) -> None:
        """A whole-list read ended (shown, failed or interrupted)."""
        if asked == self._reading:
            self._reading = 0
            if self._read_again:
                self._read_again = False
                self.reload(at_once=False)

    @work(thread=True, exclusive=True, group="queue-first")
    def _query_first(self, flt: IncidentFilter, limit: int, asked: int) -> None:
        self._first_rows(flt, limit, asked,
                         lambda *args, **kwargs: self.app.call_from_thread(self._show, *args,
                                                                           **kwargs))

    def _first_rows(self, flt: IncidentFilter, limit: int, asked: int,
                    show: Callable[..., Any]) -> None:
        try:
            ids = self.app.reader.first(flt, limit)
            # Fewer than asked for is the whole list: no need to read it again.
            whole = len(ids) < limit
            has_cache = bool(ids) or self.app.reader.has_data()
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error("Reading the queue failed", exc)
            return
        show(ids, has_cache, asked, partial=not whole)

    @work(thread=True, group="queue-all")
    def _query_all(self, flt: IncidentFilter, asked: int) -> None:
        try:
            ids = self.app.reader.query_ids(flt)
            has_cache = bool(ids) or self.app.reader.has_data()
        except Exception as exc:  # a locked or damaged store: say so, keep running
            if not (isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc)):
                self.app.report_error("Reading the queue failed", exc)
            # (interrupted: the user asked for another view meanwhile)
        else:
            self.app.call_from_thread(self._show, ids, has_cache, asked)
        finally:
            self.app.call_from_thread(self._read, asked)

    def _widgets_gone(self) -> bool:
        """The app is shutting down (its widgets are gone): late answers are dropped."""
        return not self.query(QueueView)

    def _show(self, ids: list[str], has_cache: bool, asked: int, *,
              partial: bool = False) -> None:
        if self._widgets_gone():
            return
        if asked < self._view or asked < self._shown or \
                asked == self._shown and (partial or not self._partial):
            return  # for an earlier view, or older than (or the first rows of) what is shown
        self._shown, self._partial = asked, partial
        self.view.set_ids(ids, partial=partial)
        self.call_after_refresh(self.app.queue_painted)
        self.call_after_refresh(self._update_header)
        empty = self.query_one("#queue-empty", Static)
        if ids:
            empty.display = False
        else:
            empty.display = True
            status = self.app.sync_status
            if not has_cache:
                why = ("no cached incidents yet and offline: nothing to show until the "
                       "server is reachable" if status.state != "online" else
                       "no incidents yet")
            else:
                why = "no incidents match this view (p: presets, /: filter, esc: clear)"
            empty.update(Content(why))
        self._update_title()

    def _update_title(self) -> None:
        self._selected_shown = len(self.view.selected)
        label = PRESETS[self.preset][0]
        # While the whole list is still being read, the count is at least what is shown.
        count = f"{len(self.view.ids)}" + ("+" if self._partial else "")
        parts = [f"Queue · {label} · {count} · sort {self.sort}"]
        if self.text:
            parts.append(f"filter “{self.text}”")
        if self.view.selected:
            parts.append(f"{len(self.view.selected)} selected")
        self._set_text("#queue-title", " · ".join(parts))

    def store_changed(self) -> None:
        # Coalesce bursts of changes (an alert storm) into one re-query.
        if not self._pending_reload:
            self._pending_reload = True
            self.set_timer(0.3, self._reload_now)

    def _reload_now(self) -> None:
        self._pending_reload = False
        self.reload(at_once=False)

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

    @on(QueueView.WantsAll)
    def _wants_all(self) -> None:
        if self._partial:
            self._read_whole(self.current_filter(), self._shown)

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
        if not targets:
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
        if not targets or not await self._store_ready():
            return
        answer = await self.app.push_screen_wait(AssignScreen(self._refs(targets)))
        if answer is None:
            return
        await self.app.execute([UpdateFields(i, answer) for i in targets], done="Assigned")
        self._after_bulk()

    def action_escalate(self) -> None:
        from incidenttui.screens.escalate import EscalateScreen

        targets = self._targets()
        if targets:
            self.app.push_screen(EscalateScreen(targets), lambda _: self._after_bulk())

    @work(exclusive=True, group="queue-action")
    async def action_new(self) -> None:
        from incidenttui.screens.forms import NewIncidentScreen

        if not await self._store_ready():
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
