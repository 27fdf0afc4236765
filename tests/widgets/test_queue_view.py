"""QueueView in a harness app: the Line API draws only visible rows, compact columns at 80,
breach marked without colour, wide text cut to the cell, cursor and selection."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import APP_NOW as NOW  # type: ignore[import-not-found]
from rich.cells import cell_len
from textual.app import App, ComposeResult

from incidenttui.store.reader import QueueRow
from incidenttui.widgets.queue_view import COMPACT, WIDE, QueueView, columns_for, header_text


def make_row(n: int, **fields: Any) -> QueueRow:
    values: dict[str, Any] = {
        "id": f"id-{n}", "number": 1000 + n, "priority": 3, "status": "new",
        "title": f"incident {n}", "service": "checkout", "team": "service-desk",
        "assignee": None, "created_at": NOW - timedelta(minutes=30),
        "sla_due_at": NOW + timedelta(hours=2), "escalation_level": 1, "pending": 0,
        "major": False, "on_hold_since": None}
    values.update(fields)
    return QueueRow(**values)


class Fetcher:
    """Rows by id, counting what was asked for."""

    def __init__(self, rows: dict[str, QueueRow]) -> None:
        self.rows = rows
        self.asked: list[int] = []

    def __call__(self, ids: list[str]) -> dict[str, QueueRow]:
        self.asked.append(len(ids))
        return {i: self.rows[i] for i in ids if i in self.rows}


class Harness(App[None]):
    def __init__(self, fetch: Fetcher) -> None:
        super().__init__()
        self.fetch = fetch
        self.opened: list[str] = []

    def on_queue_view_opened(self, message: QueueView.Opened) -> None:
        self.opened.append(message.incident_id)

    def compose(self) -> ComposeResult:
        yield QueueView(self.fetch, id="queue")


def lines(app: App[Any]) -> list[str]:
    view = app.query_one(QueueView)
    return [view.render_line(y).text for y in range(view.size.height)]


@pytest.mark.parametrize(("width", "columns"), [(80, COMPACT), (100, COMPACT), (120, WIDE)])
def test_compact_layout_at_80_columns(width: int, columns: Any) -> None:
    assert columns_for(width) == columns
    header = header_text(width)
    assert cell_len(header) <= width
    assert "NUMBER" in header and "SLA" in header
    assert ("TEAM/ASSIGNEE" in header) == (width > 100)


async def test_rows_are_drawn_to_the_cell_and_breach_is_marked_without_colour(frozen: Any
                                                                               ) -> None:
    rows = {
        "id-0": make_row(0, title="漢字テスト中文の障害漢字テスト中文の障害漢字テスト中文の障害",
                         priority=1, major=True),
        "id-1": make_row(1, title="🔥🚒 fire", sla_due_at=NOW - timedelta(minutes=65)),
        "id-2": make_row(2, title="on hold", sla_due_at=None, on_hold_since=NOW,
                         status="on_hold"),
        "id-3": make_row(3, number=None, pending=1, title="made offline"),
    }
    app = Harness(Fetcher(rows))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(QueueView)
        view.set_ids(list(rows))
        await pilot.pause()
        drawn = lines(app)
        assert all(cell_len(line) == 80 for line in drawn)
        assert drawn[0].startswith("  INC-1000     P1 NEW  MAJOR 漢字")
        assert "…" in drawn[0]
        assert " !1h05m " in drawn[1]
        assert " paused " in drawn[2] and " HOLD " in drawn[2]
        assert drawn[3].startswith("  INC-pending+ ")
        assert drawn[4].strip() == ""


async def test_only_visible_rows_are_fetched_from_100000() -> None:
    ids = [f"id-{n}" for n in range(100_000)]
    fetch = Fetcher({i: make_row(int(i[3:])) for i in ids[:50] + ids[-50:]})
    app = Harness(fetch)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(QueueView)
        started = time.perf_counter()
        view.set_ids(ids)
        await pilot.pause()
        assert time.perf_counter() - started < 1.0
        assert sum(fetch.asked) <= 2 * 25
        await pilot.press("G")
        await pilot.pause()
        assert view.cursor == 99_999 and view.current_id == "id-99999"
        assert any(" incident 99999 " in line for line in lines(app)), lines(app)
        assert sum(fetch.asked) <= 4 * 25


async def test_cursor_selection_and_keeping_the_cursor_on_its_incident() -> None:
    rows = {f"id-{n}": make_row(n) for n in range(30)}
    app = Harness(Fetcher(rows))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(QueueView)
        view.focus()
        view.set_ids(list(rows))
        await pilot.press("j", "j", "k")
        assert view.cursor == 1
        await pilot.press("space", "space")
        assert view.selected == {"id-1", "id-2"} and view.cursor == 3
        assert view.targets == ["id-1", "id-2"]
        assert lines(app)[1].startswith("*") and lines(app)[2].startswith("*")
        await pilot.press("pagedown")
        assert view.cursor >= 3 + 8
        # live update: the order changes, the cursor stays on its incident
        current = view.current_id
        view.set_ids(list(reversed(list(rows))))
        assert view.current_id == current
        # the selection keeps only what is still listed
        view.set_ids([i for i in rows if i != "id-1"])
        assert view.selected == {"id-2"}
        await pilot.press("enter")
        assert app.opened == [view.current_id]


@pytest.mark.parametrize("size", [(80, 6), (120, 6)], ids=["80", "120"])
async def test_long_numbers_and_the_pending_mark_stay_readable(size: tuple[int, int]) -> None:
    rows = {"id-0": make_row(0, number=10_042, pending=1),
            "id-1": make_row(1, number=100_999)}
    app = Harness(Fetcher(rows))
    async with app.run_test(size=size) as pilot:
        view = app.query_one(QueueView)
        view.set_ids(list(rows))
        await pilot.pause()
        drawn = lines(app)
        assert drawn[0].startswith("  INC-10042+ "), drawn[0]
        assert drawn[1].startswith("  INC-100999 "), drawn[1]


@pytest.mark.parametrize("size", [(80, 6), (120, 6)], ids=["80", "120"])
async def test_the_countdown_to_the_next_automatic_escalation_is_a_column(
        frozen: Any, size: tuple[int, int]) -> None:
    rows = {"id-0": make_row(0, escalates_at=NOW + timedelta(minutes=4, seconds=30)),
            "id-1": make_row(1, escalates_at=NOW - timedelta(seconds=5)),
            "id-2": make_row(2, escalates_at=NOW + timedelta(hours=2, minutes=59)),
            "id-3": make_row(3)}  # no policy, or none coming: an empty cell
    app = Harness(Fetcher(rows))
    async with app.run_test(size=size) as pilot:
        view = app.query_one(QueueView)
        view.set_ids(list(rows))
        await pilot.pause()
        drawn = lines(app)
        header = header_text(size[0])
        at = header.index("AUTO")
        # in its own column, in words without colour: 4m, due (overdue), 2h, nothing
        assert [line[at:at + 4] for line in drawn[:4]] == ["4m  ", "due ", "2h  ", "    "]
        assert header[at - 1] == " " and header[at + 4:at + 6] == " L"


async def test_rows_read_with_the_ids_are_drawn_without_a_look_up() -> None:
    rows = {f"id-{n}": make_row(n) for n in range(30)}
    fetch = Fetcher({})  # knows no row: each drawn one must have come with the ids
    app = Harness(fetch)
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(QueueView)
        view.set_ids(list(rows), rows=rows)
        await pilot.pause()
        assert fetch.asked == []
        assert " incident 0 " in lines(app)[0]


class StyledHarness(Harness):
    CSS = """
    QueueView > .queue-view--cursor { background: blue; color: white; text-style: bold; }
    QueueView > .queue-view--selected { color: yellow; }
    QueueView > .queue-view--breach { color: red; text-style: reverse; }
    QueueView > .queue-view--p1 { color: red; }
    QueueView > .queue-view--p2 { color: orange; }
    QueueView > .queue-view--closed { color: gray; }
    """


async def test_a_frame_draws_each_row_as_alone(frozen: Any) -> None:
    """The styles worked out once per frame are the ones each row would get by itself."""
    rows = {"id-0": make_row(0, priority=1, sla_due_at=NOW - timedelta(minutes=5)),
            "id-1": make_row(1, status="resolved", priority=2),
            "id-2": make_row(2, priority=2), "id-3": make_row(3, status="closed")}
    app = StyledHarness(Fetcher(rows))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(QueueView)
        view.set_ids(list(rows))
        view.selected.add("id-2")
        closed_colour = None
        for cursor in range(4):
            view.cursor = cursor
            await pilot.pause()
            alone = [list(view.render_line(y)) for y in range(4)]
            view._frame_styles = {}
            try:
                in_frame = [list(view.render_line(y)) for y in (3, 2, 1, 0)][::-1]
            finally:
                view._frame_styles = None
            assert in_frame == alone
            if cursor == 0:
                closed_colour = alone[3][0].style
        # On a closed incident the cursor's background shows with the closed colour on it.
        cursor_style, closed = alone[3][0].style, closed_colour
        assert closed is not None and cursor_style.color == closed.color
        assert cursor_style.bgcolor != closed.bgcolor
