"""The incident queue: a Line-API list that draws only the visible rows.

It holds the ordered incident ids (from the store's index) and fetches rows for the lines on
screen, so painting and moving the cursor cost the same at 100 or 100,000 incidents. A cursor
move repaints two lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from incidenttui.domain.lifecycle import is_open
from incidenttui.present import age, breach_marker, escalation_cell, sla_cell, status_short
from incidenttui.store.reader import QueueRow
from incidenttui.widgets.cells import fit

RowFetcher = Callable[[list[str]], dict[str, QueueRow]]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # 0: takes the rest


# AUTO: the time left before the service's escalation policy moves the incident on by
# itself (store/reader.py works it out for the rows on screen only); L: its support line.
WIDE = (Column("sel", "", 1), Column("ref", "NUMBER", 12), Column("pri", "P", 2),
        Column("status", "STATUS", 5), Column("title", "TITLE", 0),
        Column("service", "SERVICE", 14), Column("owner", "TEAM/ASSIGNEE", 20),
        Column("age", "AGE", 6), Column("sla", "SLA", 8), Column("auto", "AUTO", 4),
        Column("level", "L", 2))
COMPACT = (Column("sel", "", 1), Column("ref", "NUMBER", 12), Column("pri", "P", 2),
           Column("status", "STAT", 4), Column("title", "TITLE", 0),
           Column("service", "SERVICE", 10), Column("sla", "SLA", 7), Column("auto", "AUTO", 4),
           Column("level", "L", 2))


def columns_for(width: int) -> tuple[Column, ...]:
    """The compact layout at 80 columns or less (and for narrow windows)."""
    return COMPACT if width <= 100 else WIDE


def header_text(width: int) -> str:
    cols = columns_for(width)
    flexible = max(8, width - sum(c.width + 1 for c in cols if c.width))
    return " ".join(fit(c.title, c.width or flexible) for c in cols)[:width]


def _let_go(_ids: list[str]) -> None:
    """Holds a list until it is called (then the list is freed, unless used elsewhere)."""


class QueueView(ScrollView, can_focus=True, inherit_bindings=False):
    """The queue's rows; ``space`` selects, ``enter`` opens. Only its own keys: it never
    scrolls sideways (ScrollView's left/right keys would do nothing but fill help)."""

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="queue.down"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="queue.up"),
        Binding("g,home", "jump(0)", "Top", show=False, id="queue.top"),
        Binding("G,end", "jump(-1)", "Bottom", show=False, id="queue.bottom"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="queue.page_down"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="queue.page_up"),
        Binding("space", "toggle_select", "Select", id="queue.select",
                tooltip="Select or unselect this incident for a bulk action"),
        Binding("enter", "open", "Open", id="queue.open", tooltip="Open the incident"),
    ]
    COMPONENT_CLASSES = {"queue-view--cursor", "queue-view--selected", "queue-view--breach",
                         "queue-view--p1", "queue-view--p2", "queue-view--closed"}
    DEFAULT_CSS = """
    QueueView { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    cursor: reactive[int] = reactive(0, repaint=False, always_update=True)

    class Opened(Message):
        def __init__(self, incident_id: str) -> None:
            super().__init__()
            self.incident_id = incident_id

    class WantsAll(Message):
        """Only the first rows are here and the user asked for the bottom: read the rest."""

    class Painted(Message):
        """The first frame holding an answer (rows, or none to show) has been drawn: at
        start-up, what can wait for the cached queue may start now."""

    class Moved(Message):
        def __init__(self, incident_id: str | None) -> None:
            super().__init__()
            self.incident_id = incident_id

    def __init__(self, fetch: RowFetcher, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._fetch = fetch
        self.ids: list[str] = []
        self.partial = False
        self._bottom_wanted = False
        self.selected: set[str] = set()
        self._rows: dict[str, QueueRow] = {}
        self._now = datetime.now(UTC)
        #: (row kind, cell component) → style, while a frame is drawn (:meth:`render_lines`).
        self._frame_styles: dict[tuple[str, str | None], Style] | None = None
        #: Whether an answer has been shown (set_ids), and whether Painted has been posted.
        self._answered = self._painted = False

    # -- data ------------------------------------------------------------------------------

    def set_ids(self, ids: list[str], *, reload: Iterable[str] | None = None,
                partial: bool = False, rows: dict[str, QueueRow] | None = None) -> None:
        """Show ``ids`` in order, keeping the cursor on the same incident where it remains.

        ``partial``: only the first rows of the list; the rest follows (a jump to the bottom
        asked for meanwhile is made when it comes). ``rows``: rows already read for some of
        ``ids`` (current: they replace what the view held for those ids)."""
        current = self.current_id
        self._answered = True
        # The list shown before (up to every incident) is let go once the new one is drawn:
        # freeing 100,000 ids takes milliseconds a key need not wait for.
        self.call_after_refresh(_let_go, self.ids)
        self.ids = ids
        self.partial = partial
        self.selected &= set(ids)
        if reload is None:
            self._rows.clear()
        else:
            for incident_id in reload:
                self._rows.pop(incident_id, None)
        if rows:
            self._rows.update(rows)
        self._size_to_content()
        index = 0
        if current is not None:
            try:
                index = ids.index(current)
            except ValueError:
                index = min(self.cursor, max(0, len(ids) - 1))
        self._now = datetime.now(UTC)
        self.cursor = index
        self._scroll_cursor_into_view()
        self.refresh()
        if self._bottom_wanted and not partial:
            self._bottom_wanted = False
            self.action_jump(-1)

    @property
    def current_id(self) -> str | None:
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    @property
    def targets(self) -> list[str]:
        """What a bulk action applies to: the selection, or else the incident at the cursor."""
        if self.selected:
            return [i for i in self.ids if i in self.selected]
        return [self.current_id] if self.current_id else []

    def row(self, incident_id: str) -> QueueRow | None:
        return self._rows.get(incident_id) or self._fetch([incident_id]).get(incident_id)

    def _ensure_rows(self, start: int, end: int) -> None:
        missing = [i for i in self.ids[start:end] if i not in self._rows]
        if missing:
            self._rows.update(self._fetch(missing))
        if len(self._rows) > 5_000:  # keep memory flat on huge queues
            visible = set(self.ids[start:end])
            self._rows = {k: v for k, v in self._rows.items() if k in visible}

    # -- cursor ----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self.post_message(self.Moved(self.current_id))

    def _move_to(self, index: int) -> None:
        if not self.ids:
            return
        self.cursor = max(0, min(index, len(self.ids) - 1))
        self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_jump(self, index: int) -> None:
        if index < 0 and self.partial:
            self._bottom_wanted = True  # the bottom is not known yet
            self.post_message(self.WantsAll())
        self._move_to(index if index >= 0 else len(self.ids) - 1)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height))

    def action_toggle_select(self) -> None:
        incident_id = self.current_id
        if incident_id is None:
            return
        self.selected.symmetric_difference_update({incident_id})
        self.refresh_line(self.cursor)
        self._move_to(self.cursor + 1)

    def action_open(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Opened(self.current_id))

    # -- drawing ---------------------------------------------------------------------------

    def refresh_line(self, y: int) -> None:
        """Repaint line ``y`` of the list, left of the scrollbar: a cursor move sends the two
        rows it changed and not the scrollbar's cells beside them (bytes over SSH)."""
        self.refresh_lines(y)

    def refresh_lines(self, y_start: int, line_count: int = 1) -> None:
        """Repaint ``line_count`` lines of the list from ``y_start`` (content only)."""
        width = self.scrollable_content_region.width or self.size.width
        self.refresh(Region(0, y_start - int(self.scroll_offset.y), width, line_count))

    def on_resize(self) -> None:
        self._size_to_content()

    def _size_to_content(self) -> None:
        # As wide as the region left of the scrollbar: never a horizontal scrollbar.
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, len(self.ids))

    def render_lines(self, crop: Region) -> list[Strip]:
        # The styles every row is drawn from are worked out once per frame, not per cell:
        # the widget's own style walks its ancestors each time it is asked for.
        self._frame_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None
            if self._answered and not self._painted:
                # Handled once this frame is written: the compositor draws and writes a
                # frame in one go, and messages wait for the next turn of the loop.
                self._painted = True
                self.post_message(self.Painted())

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        width = self.scrollable_content_region.width  # left of the scrollbar
        if index >= len(self.ids):
            return Strip.blank(width, self._style("base"))
        top = int(self.scroll_offset.y)
        self._ensure_rows(top, top + self.size.height + 1)
        incident_id = self.ids[index]
        row = self._rows.get(incident_id)
        if row is None:
            return Strip([Segment(fit(" (gone)", width), self._style("base"))])
        # Adjacent cells share a style: merged, a line costs a few SGR codes instead of one
        # per cell (bytes over SSH on every cursor move).
        return Strip(list(Segment.simplify(self._segments(row, index, width))), width)

    def _style(self, row: str, cell: str | None = None) -> Style:
        """The style of a ``row`` kind (base, cursor, closed, cursor-closed) with a ``cell``
        component (``queue-view--p1`` ...) on top, from this frame's styles."""
        styles = self._frame_styles if self._frame_styles is not None else {}
        key = (row, cell)
        style = styles.get(key)
        if style is None:
            if cell is not None:
                style = self._style(row) + self.get_component_rich_style(cell, partial=True)
            elif row == "base":
                style = self.rich_style
            elif row == "cursor":
                style = self._style("base") + (
                    self.get_component_rich_style("queue-view--cursor") if self.has_focus
                    else Style(reverse=True))
            else:  # closed, or cursor-closed: the closed colour over the row's
                style = self._style(row.removesuffix("closed").rstrip("-") or "base") + \
                    self.get_component_rich_style("queue-view--closed", partial=True)
            styles[key] = style
        return style

    def _segments(self, row: QueueRow, index: int, width: int) -> list[Segment]:
        kind = "closed" if not is_open(row.status) else "base"
        if index == self.cursor:
            kind = "cursor" if kind == "base" else "cursor-closed"
        base = self._style(kind)
        cols = columns_for(width)
        flexible = max(8, width - sum(c.width + 1 for c in cols if c.width))
        sla, breached = sla_cell(row.sla_due_at, self._now, paused=row.on_hold_since is not None)
        owner = "/".join(v for v in (row.team, row.assignee) if v) or "-"
        breach = breach_marker(row.breach_aware_at, row.breach_notified_at, self._now)
        breach = f"{breach} " if breach else ""
        selected = row.id in self.selected
        values = {
            "sel": "*" if selected else " ",
            "ref": row.ref + ("+" if row.pending else ""),
            "pri": f"P{row.priority}",
            "status": status_short(row.status),
            "title": ("MAJOR " if row.major else "") + breach + row.title,
            "service": row.service, "owner": owner, "age": age(row.created_at, self._now),
            "sla": sla, "auto": escalation_cell(row.escalates_at, self._now),
            "level": f"L{row.escalation_level}",
        }
        segments = []
        for n, col in enumerate(cols):
            text = fit(values[col.key], col.width or flexible)
            style = base
            if col.key == "pri" and row.priority <= 2:
                style = self._style(kind, f"queue-view--p{row.priority}")
            elif col.key == "sla" and breached:
                style = self._style(kind, "queue-view--breach")
            elif col.key == "sel" and selected:
                style = self._style(kind, "queue-view--selected")
            segments.append(Segment(text, style))
            if n < len(cols) - 1:
                segments.append(Segment(" ", base))
        return segments

    def tick(self) -> None:
        """Advance the clock used for ages and SLA and repaint (called about once a minute)."""
        self._now = datetime.now(UTC)
        self.refresh()
