"""Hostile strings pushed through the server (titles, descriptions, notes) and typed by the
user: no crash, shown literally, nothing interpreted, nothing passed to the terminal."""

from __future__ import annotations

from typing import Any

import pytest
from app_harness import (  # type: ignore[import-not-found]
    SIZE_IDS,
    SIZES,
    assert_inert,
    paste,
    screen_text,
    wait_for,
    wait_online,
    wait_queue,
    wait_screen,
    wait_synced,
    wait_text,
    widget_text,
)
from app_hostile import CORPUS, LONG_LINE  # type: ignore[import-not-found]

from incidenttui.tui import make_app
from incidenttui.widgets.queue_view import QueueView
from incidenttui.widgets.timeline_view import TimelineView


@pytest.fixture(scope="module")
def hostile(live: Any) -> dict[str, Any]:
    """One incident per corpus entry (in its title and description); the first one's
    description holds the whole corpus and the long line, and every entry is a note on it."""
    # short, so the title column (narrower since the queue's AUTO column) shows the short
    # corpus entries whole after it, at 80 columns and at 120
    tag = "zqx"
    made = []
    everything = "\n".join(text for _, text, _ in CORPUS) + "\n" + LONG_LINE
    for n, (_, text, _) in enumerate(CORPUS):
        made.append(live.create(f"{tag} {n:02d} {text}",
                                description=everything if n == 0 else f"{text}\n{text}"))
    for _, text, _ in CORPUS:
        live.note(made[0]["id"], text)
    live.note(made[0]["id"], LONG_LINE)
    return {"tag": tag, "incidents": made}


def shown(text: str, replacement: str | None) -> str:
    return text if replacement is None else replacement


async def check_everywhere(pilot: Any, app: Any, svg: bool = True) -> None:
    """Still running; nothing raw on screen (nor in an SVG export of it)."""
    assert app.is_running
    assert_inert(screen_text(app))
    if svg:
        image = app.export_screenshot()
        assert "\x1b" not in image and "\x9b" not in image and "\u202e" not in image


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_hostile_queue_and_detail(size: tuple[int, int], live: Any,
                                        hostile: dict[str, Any], config_for: Any) -> None:
    app = make_app(config_for(live))
    count = len(CORPUS)
    async with app.run_test(size=size) as pilot:
        await wait_online(pilot)
        await pilot.press("slash")
        await paste(pilot, hostile["tag"])
        await pilot.press("enter")
        ids = await wait_queue(pilot, lambda ids: len(ids) == count, timeout=15)
        await check_everywhere(pilot, app)
        view = app.screen.query_one(QueueView)
        # the queue's rows hold the text made inert; the short ones show whole on screen
        text = screen_text(app)
        for n, (name, raw, replacement) in enumerate(CORPUS):
            row = next(view.row(i) for i in ids if view.row(i).title.startswith(
                f"{hostile['tag']} {n:02d} "))
            assert row.title == f"{hostile['tag']} {n:02d} {shown(raw, replacement)}", name
        assert "[/]" in text and "[bold]x" in text and "[@click=app.quit]y" in text
        if size[0] >= 120:
            assert "[link=file:///etc/passwd]z" in text and "␛[31mRED" in text
        # every incident's detail: title, description, timeline (at 120x40: two of them)
        for n in range(count) if size[0] < 120 else (0, count - 1):
            view.cursor = n
            row = view.row(view.ids[n])
            await pilot.press("enter")
            await wait_screen(pilot, "DetailScreen")
            await wait_for(pilot, lambda r=row: widget_text(app.screen.query_one(
                "#detail-title")).endswith(r.title) and app.screen.query_one(
                    TimelineView)._lines, what=f"the detail of {row.title!r}")
            await pilot.pause()
            await check_everywhere(pilot, app, svg=n in (0, count - 1))
            await pilot.press("escape")
            await wait_screen(pilot, "QueueScreen")
        assert app.is_running


async def test_hostile_timeline_scrolls_through(live: Any, hostile: dict[str, Any],
                                                config_for: Any) -> None:
    first = hostile["incidents"][0]
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await pilot.press("slash")
        await paste(pilot, f"{hostile['tag']} 00")
        await pilot.press("enter")
        await wait_queue(pilot, lambda ids: ids == [first["id"]], timeout=15)
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        timeline = app.screen.query_one(TimelineView)
        await wait_for(pilot, lambda: sum("END-OF-LONG" in s.text for s in timeline._lines)
                       == 2, what="the timeline with the description and notes")
        # everything the timeline holds, by lines: the corpus literally, the long line folded
        body = "\n".join(strip.text for strip in timeline._lines)
        assert_inert(body, "timeline")
        for name, raw, replacement in CORPUS:
            assert shown(raw, replacement) in body, name
        assert body.count("END-OF-LONG") == 2  # description and note
        assert max(strip.cell_length for strip in timeline._lines) <= timeline.size.width
        # scroll from top to bottom, checking each page on screen
        await pilot.press("g")
        pages = 0
        while timeline.scroll_offset.y < timeline.max_scroll_y and pages < 200:
            await check_everywhere(pilot, app, svg=False)
            timeline.scroll_page_down(animate=False)
            await pilot.pause()
            pages += 1
        assert pages > 5
        await check_everywhere(pilot, app)
        await pilot.press("G")
        await wait_text(pilot, "END-OF-LONG")
        assert app.is_running


async def test_hostile_text_typed_by_the_user(live: Any, tag: str, config_for: Any) -> None:
    incident = live.create(f"{tag} typed")
    app = make_app(config_for(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await pilot.press("slash")
        await paste(pilot, "[/] [@click=app.quit]y \x1b[2J")  # the filter survives it
        await pilot.pause(0.2)
        assert app.is_running
        await pilot.press("escape", "slash")
        await paste(pilot, tag)
        await pilot.press("enter")
        await wait_queue(pilot, lambda ids: ids == [incident["id"]])
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await pilot.press("n")
        await paste(pilot, "[@click=app.quit]y [bold]x[/] \x1b]52;c;aGVsbG8=\x07")
        await pilot.press("enter")
        await wait_text(pilot, "[@click=app.quit]y [bold]x[/] ␛]52;c;aGVsbG8=␇")
        await pilot.press("escape", "e")
        await wait_screen(pilot, "EscalateScreen")
        await paste(pilot, "[@click=app.quit]y [/]")
        await pilot.press("enter")
        await wait_screen(pilot, "ConfirmScreen")
        question = widget_text(app.screen.query_one(".form-title"))
        assert question.endswith("Reason: [@click=app.quit]y [/]")
        await pilot.press("y")
        await wait_screen(pilot, "DetailScreen")
        await wait_synced(pilot)
        await wait_for(pilot, lambda: any("Escalated to" in n.message
                                          for n in app._notifications), what="notified")
        assert_inert(screen_text(app))
        assert app.is_running
    notes = [e["text"] for e in live.timeline(incident["id"]) if e["kind"] == "note"]
    # what the server keeps is what the user typed, made inert by the store before sending
    assert len(notes) == 1 and notes[0].startswith("[@click=app.quit]y [bold]x[/]")
