"""Help lists the current screen's keys from its bindings; the command palette offers every
action as "area: verb"; keys remap by binding id from the settings."""

from __future__ import annotations

import re
from typing import Any

from app_fixtures import DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    type_text,
    wait_for,
    wait_queue,
    wait_screen,
    wait_store,
    wait_text,
    widget_text,
)

from incidenttui.settings import Settings
from incidenttui.tui import make_app
from incidenttui.widgets.queue_view import QueueView


def offline_app(config_for: Any, demo_store: Any, **fields: Any) -> Any:
    return make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL,
                               **fields))


def help_lines(app: Any) -> list[str]:
    return widget_text(app.screen.query_one("#help-keys")).split("\n")


def queue_title(app: Any) -> str:
    return widget_text(app.screen.query_one("#queue-title"))


async def test_help_lists_the_queue_keys(demo_store: Any, frozen: Any,
                                         config_for: Any) -> None:
    app = offline_app(config_for, demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("question_mark")
        await wait_screen(pilot, "HelpScreen")
        await wait_text(pilot, "Keys: queue")
        lines = help_lines(app)
        for key, description in (("/", "Filter"), ("s", "Sort"), ("p", "Preset"),
                                 ("a", "Ack"), ("e", "Escalate"), ("r", "Resolve"),
                                 ("space", "Select"), ("esc", "Clear"), ("1", "Mine"),
                                 ("7", "All"), ("j, down", "Down")):
            assert any(re.match(rf"{re.escape(key)}\s+{description}\b", line)
                       for line in lines), (key, description, lines)
        # tooltips explain
        assert any(line.startswith("a ") and "Acknowledge the selected incidents" in line
                   for line in lines)
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")


async def test_help_lists_the_detail_keys(demo_store: Any, frozen: Any,
                                          config_for: Any) -> None:
    app = offline_app(config_for, demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await pilot.press("question_mark")
        await wait_screen(pilot, "HelpScreen")
        await wait_text(pilot, "Keys: incident")
        lines = help_lines(app)
        for key, description in (("esc", "Back"), ("a", "Ack"), ("s", "Start"),
                                 ("h", "Hold"), ("r", "Resolve"), ("e", "Escalate"),
                                 ("n", "Note"), ("x", "Cancel incident"), ("t", "Assign")):
            assert any(re.match(rf"{re.escape(key)}\s+{description}\b", line)
                       for line in lines), (key, description, lines)
        await pilot.press("q")
        await wait_screen(pilot, "DetailScreen")


def palette_prompts(app: Any) -> list[str]:
    from textual.command import CommandList

    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt).split("\n")[0]
            for i in range(options.option_count)]


async def open_palette_and_sort(pilot: Any, app: Any, key: str) -> None:
    await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
    await pilot.press(key)
    await wait_screen(pilot, "CommandPalette")
    await type_text(pilot, "queue")
    prompts = await wait_for(pilot, lambda: len(palette_prompts(app)) > 10 and
                             palette_prompts(app), what="commands listed")
    for wanted in ("queue: filter", "queue: sort", "queue: ack", "queue: escalate",
                   "queue: resolve", "queue: select", "queue: open", "queue: all"):
        assert wanted in prompts, (wanted, prompts)
    assert all(re.fullmatch(r"[a-z]+: [a-z0-9–/ ]+", p) for p in prompts), prompts
    await type_text(pilot, ": so")
    await wait_for(pilot, lambda: palette_prompts(app)[:1] == ["queue: sort"],
                   what="queue: sort first")
    await pilot.press("enter")
    await wait_screen(pilot, "QueueScreen")
    await wait_for(pilot, lambda: "sort sla" in queue_title(app), what="sorted by SLA")


async def test_command_palette_with_colon(demo_store: Any, frozen: Any,
                                          config_for: Any) -> None:
    app = offline_app(config_for, demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_palette_and_sort(pilot, app, "colon")


async def test_command_palette_with_ctrl_p(demo_store: Any, frozen: Any,
                                           config_for: Any) -> None:
    app = offline_app(config_for, demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("ctrl+p")
        await wait_screen(pilot, "CommandPalette", timeout=2)


async def test_palette_offers_the_detail_actions(demo_store: Any, frozen: Any,
                                                 config_for: Any) -> None:
    app = offline_app(config_for, demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await pilot.press("colon")
        await wait_screen(pilot, "CommandPalette")
        await type_text(pilot, "incident")
        prompts = await wait_for(pilot, lambda: len(palette_prompts(app)) > 5 and
                                 palette_prompts(app), what="commands listed")
        for wanted in ("incident: ack", "incident: resolve", "incident: escalate",
                       "incident: note", "incident: back"):
            assert wanted in prompts, (wanted, prompts)
        await pilot.press("escape")
        await wait_screen(pilot, "DetailScreen")


async def test_keymap_remaps_by_binding_id(demo_store: Any, frozen: Any,
                                           config_for: Any) -> None:
    settings = Settings(keys={"queue.sort": "o", "incident.acknowledge": "A"})
    app = offline_app(config_for, demo_store, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert "sort priority" in queue_title(app)
        await pilot.press("o")
        await wait_for(pilot, lambda: "sort sla" in queue_title(app), what="o sorts")
        await pilot.press("question_mark")
        await wait_screen(pilot, "HelpScreen")
        assert any(re.match(r"o\s+Sort\b", line) for line in help_lines(app))
        assert not any(re.match(r"s\s+Sort\b", line) for line in help_lines(app))
        await pilot.press("escape")
        # INC-1286 (new) sorts first by SLA: "A" acknowledges it in the detail screen
        await wait_queue(pilot, lambda ids: app.screen.query_one(QueueView).row(ids[0]).ref
                         == "INC-1286")
        await pilot.press("g", "enter")
        await wait_text(pilot, "INC-1286 · P2 · new")
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.store.pending_count() == 0
        await pilot.press("A")
        await wait_text(pilot, "INC-1286 · P2 · acked")
        assert app.store.pending_count() == 1
