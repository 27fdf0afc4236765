"""Knowing when something reached the screen: a clock on Textual's frame output.

``App._display`` is where a compositor update becomes a frame (written to the terminal, or
dropped by the headless driver after all the rendering work is done). The clock stamps every
frame; the probes also mark when the content they wait for was rendered (a queue row, a
DataTable row, a label), and the first paint is the first frame at or after that mark.
Both our app and its baseline are timed by the same clock, so the comparison is fair.
"""

from __future__ import annotations

import time
from typing import Any


class PaintClock:
    def __init__(self) -> None:
        self.frames: list[float] = []
        self.content_at: float | None = None
        self.loading_at: float | None = None
        self.first_paint: float | None = None
        self._installed = False

    def reset(self) -> None:
        self.frames.clear()
        self.content_at = self.loading_at = self.first_paint = None

    def loading(self) -> None:
        """The widget starts loading its data (the first-paint clock of the queue starts)."""
        if self.loading_at is None:
            self.loading_at = time.monotonic()

    def content(self) -> None:
        """The content waited for was rendered into a strip; the next frame shows it."""
        if self.content_at is None:
            self.content_at = time.monotonic()

    def install(self) -> None:
        """Wrap ``App._display`` (once per process) so every frame is stamped."""
        if self._installed:
            return
        from textual.app import App

        original = App._display
        clock = self

        def _display(app: Any, screen: Any, renderable: Any) -> None:
            original(app, screen, renderable)
            if renderable is None or app._batch_count:
                return
            now = time.monotonic()
            clock.frames.append(now)
            if clock.first_paint is None and clock.content_at is not None:
                clock.first_paint = now

        App._display = _display  # type: ignore[method-assign]
        self._installed = True

    def frame_after(self, since: float) -> float | None:
        """The first frame stamped at or after ``since``."""
        for stamp in self.frames:
            if stamp >= since:
                return stamp
        return None


CLOCK = PaintClock()


def hook_queue_view() -> None:
    """Mark content when our QueueView renders a line holding an incident."""
    from incidenttui.widgets.queue_view import QueueView

    if getattr(QueueView.render_line, "_bench", False):
        return
    original = QueueView.render_line

    def render_line(self: Any, y: int) -> Any:
        strip = original(self, y)
        if y + int(self.scroll_offset.y) < len(self.ids):
            CLOCK.content()
        return strip

    render_line._bench = True  # type: ignore[attr-defined]
    QueueView.render_line = render_line  # type: ignore[method-assign]
