"""TimelineView: plain text (never markup), wrapped by terminal cells, long lines folded."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from incidenttui.widgets.timeline_view import Entry, TimelineView


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield TimelineView(id="timeline")


async def test_markup_is_text_and_long_lines_fold_by_cells() -> None:
    entries = [
        Entry("03-02 09:00 rita note", "[@click=app.quit]y [bold]x[/] [link=file:///x]z"),
        Entry("03-02 09:01 rita note", "漢字" * 100),
        Entry("03-02 09:02 rita note", "L" * 10_000),
        Entry("03-02 09:03 rita note", "queued here", pending=True),
    ]
    app = Harness()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(TimelineView)
        view.set_entries(entries)
        await pilot.pause()
        texts = [strip.text for strip in view._lines]
        assert "  [@click=app.quit]y [bold]x[/] [link=file:///x]z" in [t.rstrip() for t in texts]
        # as wide as the widget less its scrollbar: nothing is drawn under the scrollbar
        assert all(strip.cell_length == 58 for strip in view._lines)
        cjk = [t for t in texts if "漢" in t]
        assert all(cell_len(t.rstrip()) <= 58 + 2 for t in cjk) and len(cjk) >= 7
        assert sum(t.count("L") for t in texts) == 10_000
        assert any(t.startswith("03-02 09:03 rita note (pending)") for t in texts)
        # no link or click style sneaked in
        for strip in view._lines:
            for segment in strip:
                assert segment.style is None or (segment.style.link is None
                                                 and not segment.style.meta)
        assert app.is_running


async def test_keeps_to_the_bottom_when_at_the_bottom() -> None:
    app = Harness()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(TimelineView)
        view.set_entries([Entry(f"h{n}", f"body {n}") for n in range(30)])
        await pilot.pause()
        view.scroll_end(animate=False)
        await pilot.pause()
        view.set_entries([Entry(f"h{n}", f"body {n}") for n in range(31)])
        await pilot.pause()
        assert view.scroll_offset.y == view.max_scroll_y
        view.scroll_home(animate=False)
        await pilot.pause()
        view.set_entries([Entry(f"h{n}", f"body {n}") for n in range(32)])
        await pilot.pause()
        assert view.scroll_offset.y == 0


async def test_stays_at_the_newest_entries_through_a_resize() -> None:
    """The view keeps to its end when its size changes (its first sizing included): the
    lines re-wrap, the end moves, and the newest entries stay on screen."""
    app = Harness()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(TimelineView)
        view.set_entries([Entry(f"h{n}", "word " * (n % 7 + 3)) for n in range(30)])
        await pilot.pause()
        assert view.scroll_offset.y == view.max_scroll_y
        before = view.max_scroll_y
        await pilot.resize_terminal(30, 10)  # narrower: every body wraps to more lines
        await pilot.pause()
        assert view.max_scroll_y > before
        assert view.scroll_offset.y == view.max_scroll_y
        view.scroll_home(animate=False)  # scrolled up by the user: a resize leaves it there
        await pilot.pause()
        await pilot.resize_terminal(50, 10)
        await pilot.pause()
        assert view.scroll_offset.y == 0
