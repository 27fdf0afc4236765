"""An incident's description and timeline as wrapped lines, drawn with the Line API.

Entries are plain ``rich.text.Text`` built from already-sanitised strings: nothing in them is
parsed as markup, and long lines wrap by terminal cells (wide CJK and emoji included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Entry:
    """One block: a dim heading (time, actor, kind) and a body."""

    heading: str
    body: str
    pending: bool = False
    #: Drawn to stand out (a major incident's decisions, findings and mitigations).
    highlight: bool = False


class TimelineView(ScrollView, can_focus=True):
    """Scrollable, live timeline; keeps to the bottom when it was already at the bottom."""

    BINDINGS = [
        Binding("j,down", "scroll_down", "Down", show=False, id="timeline.down"),
        Binding("k,up", "scroll_up", "Up", show=False, id="timeline.up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="timeline.top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="timeline.bottom"),
    ]
    COMPONENT_CLASSES = {"timeline-view--heading", "timeline-view--pending",
                         "timeline-view--highlight"}
    DEFAULT_CSS = "TimelineView { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[Entry] = []
        self._lines: list[Strip] = []
        self._width = 0

    def on_mount(self) -> None:
        # Textual keeps an anchored view at its end through every layout (the first sizing
        # and later resizes included) until the user scrolls up, and again once they scroll
        # back down: a view opened before it had its size still shows the newest entries.
        self.anchor()

    def set_entries(self, entries: Sequence[Entry]) -> None:
        at_end = self.scroll_offset.y >= self.max_scroll_y - 1
        self._entries = list(entries)
        self._layout(self._text_width())
        if at_end:
            self.scroll_end(animate=False)

    def on_resize(self) -> None:
        self._layout(self._text_width())

    def _text_width(self) -> int:
        """The width lines wrap at: the widget's less the vertical scrollbar, shown or not
        (wrapped to the full width, a line lost its last characters under the scrollbar
        when it appeared)."""
        if not self.region.width:
            return self.size.width
        return self.region.width - self.styles.scrollbar_size_vertical

    def _layout(self, width: int) -> None:
        width = max(10, width)
        console = self.app.console
        heading = self.get_component_rich_style("timeline-view--heading")
        pending = self.get_component_rich_style("timeline-view--pending")
        highlight = self.get_component_rich_style("timeline-view--highlight")
        lines: list[Strip] = []
        for entry in self._entries:
            head = Text(entry.heading + (" (pending)" if entry.pending else ""),
                        style=pending if entry.pending else heading, no_wrap=True,
                        overflow="ellipsis")
            head.truncate(width, overflow="ellipsis")
            lines.append(Strip(head.render(console), head.cell_len).adjust_cell_length(width))
            if entry.body:
                body = Text(entry.body, style=highlight if entry.highlight else Style())
                for line in body.wrap(console, width - 2, overflow="fold"):
                    line.pad_left(2)
                    lines.append(Strip(line.render(console)).adjust_cell_length(width))
        self._lines = lines
        self._width = width
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        if 0 <= index < len(self._lines):
            return self._lines[index].apply_style(self.rich_style)
        return Strip.blank(self.size.width, self.rich_style)
