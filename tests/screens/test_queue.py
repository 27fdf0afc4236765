"""The queue on the cached demo store: it paints before (and without) any sync, filters as
you type, switches presets and sorts; actions taken offline queue up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import APP_NOW, DEMO_ALL, DEMO_OPEN, OFFLINE_URL  # type: ignore[import-not-found]
from app_harness import (  # type: ignore[import-not-found]
    SIZE_IDS,
    SIZES,
    screen_lines,
    screen_text,
    type_text,
    wait_for,
    wait_lines,
    wait_queue,
    wait_store,
    wait_text,
    widget_text,
)
from app_servers import blackhole, refused_port  # type: ignore[import-not-found]

from incidenttui.tui import make_app
from incidenttui.widgets.queue_view import QueueView

#: The demo data set's open incidents, in the default (priority) order.
#: The demo's open incidents by priority, as the demo responder sees them: not the leaked
#: key (SEC-22) nor the DDoS (SEC-23), restricted security incidents. INC-1287 is the
#: forgotten acknowledgement (logged offline, numbered last).
OPEN_REFS = ["INC-1282", "INC-1286", "INC-1284", "INC-1285", "INC-1281", "INC-1287",
             "INC-1280"]


def view(app: Any) -> QueueView:
    return app.screen.query_one(QueueView)


def rows(app: Any) -> list[Any]:
    queue = view(app)
    return [queue.row(i) for i in queue.ids]


def title(app: Any) -> str:
    return widget_text(app.screen.query_one("#queue-title"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_cached_queue_paints_with_offline_flag(size: tuple[int, int], demo_store: Any,
                                                     frozen: Any, config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=size) as pilot:
        text = await wait_text(pilot, "INC-1280")
        lines = await wait_lines(pilot, lambda lines: "Filter" in lines[-1], what="the footer")
        assert lines[0].startswith(f"Queue · open · {DEMO_OPEN} · sort priority")
        top = first_row(lines)
        assert [line.split()[0] for line in lines[top:top + DEMO_OPEN]] == OPEN_REFS
        assert lines[-2].startswith("OFFLINE (--offline) · never synced · 0 pending")
        assert "Ack" in lines[-1]
        assert "MAJOR Checkout failing" in text
        await wait_store(pilot)
        # INC-1286 is new: acknowledging it offline queues the change.
        await pilot.press("j")
        assert view(app).current_id == view(app).ids[1]
        await pilot.press("a")
        await wait_for(pilot, lambda: app.sync_status.pending == 1, what="1 pending")
        text = await wait_text(pilot, "INC-1286+")
        line = next(line for line in screen_lines(app) if line.startswith("  INC-1286+"))
        assert " ACK " in line
        assert "1 pending" in screen_lines(app)[-2]
        assert app.store.pending_count() == 1


async def test_unreachable_server_says_offline_and_works_from_store(
        demo_store: Any, frozen: Any, config_for: Any) -> None:
    url = f"http://127.0.0.1:{refused_port()}"
    app = make_app(config_for(store_path=demo_store, server_url=url, token="not-checked"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "INC-1280")
        await wait_for(pilot, lambda: app.sync_status.last_error is not None,
                       what="a failed sync attempt")
        status = screen_lines(app)[-2]
        assert status.startswith("OFFLINE · never synced · 0 pending"), status
        assert app.sync_status.state == "offline"
        await wait_store(pilot)
        await pilot.press("j", "a")
        await wait_for(pilot, lambda: app.sync_status.pending == 1, what="1 pending")
        await wait_text(pilot, "INC-1286+")
        assert screen_lines(app)[-2].startswith("OFFLINE · never synced · 1 pending")
        # and another: the detail screen works from the store too
        await pilot.press("enter")
        await wait_text(pilot, "INC-1286 · P2 · acked")
        await pilot.press("n")
        await type_text(pilot, "checked the WAF rules")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.sync_status.pending == 2, what="2 pending")
        await wait_text(pilot, "(pending)")


async def test_cached_queue_paints_before_the_first_sync_answers(
        demo_store: Any, frozen: Any, config_for: Any) -> None:
    with blackhole() as url:
        app = make_app(config_for(store_path=demo_store, server_url=url, token="t"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "INC-1280", timeout=3)
            assert app.sync_status.state != "online"
            assert app.sync_status.last_sync_at is None
            assert "never synced" in screen_lines(app)[-2]


async def test_empty_cache_offline_explains_itself(config_for: Any, tmp_path: Any) -> None:
    app = make_app(config_for(store_path=tmp_path / "nothing.db", server_url=OFFLINE_URL,
                              offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_store(pilot)
        text = await wait_text(pilot, "no cached incidents yet")
        assert "OFFLINE (--offline)" in text


def first_row(lines: list[str]) -> int:
    """The screen line of the queue's first row: under its header (a maintenance window's
    line may come before the header)."""
    return next(n for n, line in enumerate(lines) if line.lstrip().startswith("NUMBER")) + 1


async def test_filter_as_you_type_and_escape_clears(demo_store: Any, frozen: Any,
                                                    config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("slash")
        box = app.screen.query_one("#queue-filter")
        assert box.display and box.has_focus
        counts = []
        for key in "apple":
            await pilot.press(key)
            typed = box.value
            await wait_for(pilot, lambda t=typed: f"filter “{t}”" in title(app),
                           what=f"filter {typed!r}")
            counts.append(len(view(app).ids))
        assert counts == sorted(counts, reverse=True), counts
        assert counts[0] > 1
        await wait_queue(pilot, lambda ids: len(ids) == 1)
        assert [r.ref for r in rows(app)] == ["INC-1286"]
        lines = screen_lines(app)
        top = first_row(lines)
        assert lines[top].startswith("  INC-1286") and not lines[top + 1].strip()
        # a word that matches nothing: the empty view says why and how out
        await type_text(pilot, " zzzz")
        await wait_text(pilot, "no incidents match this view")
        await pilot.press("escape")
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        assert not box.display and not box.value
        assert view(app).has_focus
        assert "filter" not in title(app)


async def test_filter_enter_returns_to_the_list(demo_store: Any, frozen: Any,
                                                config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("slash")
        await type_text(pilot, "checkout")
        await pilot.press("enter")
        refs = await wait_queue(pilot, lambda ids: len(ids) == 3)
        assert view(app).has_focus
        assert {view(app).row(i).ref for i in refs} == {"INC-1282", "INC-1284", "INC-1287"}
        await pilot.press("j")  # j moves the cursor now, it is not typed
        assert app.screen.query_one("#queue-filter").value == "checkout"
        assert view(app).cursor == 1


async def test_presets_by_number(demo_store: Any, frozen: Any, config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        await wait_for(pilot, lambda: app.sync_status.user == "demo", what="user known")

        async def preset(key: str, label: str) -> list[Any]:
            await pilot.press(key)
            await wait_for(pilot, lambda: title(app).startswith(f"Queue · {label} · "),
                           what=f"preset {label}")
            await pilot.pause(0.05)
            await wait_for(pilot, lambda: title(app).startswith(
                f"Queue · {label} · {len(view(app).ids)} "), what="count in title")
            return rows(app)

        everything = await preset("7", "all")
        assert len(everything) == DEMO_ALL
        assert {r.status for r in everything} > {"closed", "new", "in_progress"}
        mine = await preset("1", "mine")
        assert all(r.assignee == "demo" for r in mine)
        if not mine:
            assert "no incidents match this view" in screen_text(app)
        team = await preset("2", "my team")
        assert team and all(r.team == "service-desk" and r.status not in
                            ("resolved", "closed", "cancelled") for r in team)
        unassigned = await preset("3", "unassigned")
        assert unassigned and all(r.assignee is None for r in unassigned)
        breaching = await preset("4", "breaching")
        limit = APP_NOW + timedelta(minutes=30)
        assert breaching and all(r.sla_due_at is not None and r.sla_due_at <= limit
                                 for r in breaching)
        assert "sort sla" in title(app)
        assert [r.sla_due_at for r in breaching] == sorted(r.sla_due_at for r in breaching)
        top = await preset("5", "P1–P2")
        assert top and all(r.priority <= 2 for r in top)
        assert {r.ref for r in top} == {"INC-1282", "INC-1286", "INC-1284"}
        opened = await preset("6", "open")
        assert {r.ref for r in opened} == set(OPEN_REFS)
        stale = await preset("8", "stale acks")
        assert [r.ref for r in stale] == ["INC-1287"]  # the demo's forgotten one
        assert stale[0].assignee == "lucia.moreno"
        await wait_for(pilot, lambda: "oldest INC-1287 lucia.moreno idle 4h27m" in title(app),
                       what="the oldest's owner and idle time")
        assert title(app).startswith("Queue · stale acks · 1 · idle ≥4h · ")


async def test_preset_cycle_with_p(demo_store: Any, frozen: Any, config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        seen = []
        for _ in range(8):
            await pilot.press("p")
            seen.append(title(app).split(" · ")[1])
        assert seen == ["all", "stale acks", "mine", "my team", "unassigned", "breaching",
                        "P1–P2", "open"]


async def test_sort_cycle(demo_store: Any, frozen: Any, config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        assert "sort priority" in title(app)
        orders = {}
        for name in ("sla", "newest", "updated", "priority"):
            before = list(view(app).ids)
            await pilot.press("s")
            await wait_for(pilot, lambda n=name: f"sort {n}" in title(app), what=name)
            if name != "updated":
                await wait_queue(pilot, lambda ids, b=before: ids != b, what=f"{name} order")
            orders[name] = [r.ref for r in rows(app)]
        newest = rows(app)
        assert orders["priority"] == OPEN_REFS
        await pilot.press("s", "s")
        await wait_queue(pilot, lambda ids: [view(app).row(i).ref for i in ids]
                         == orders["newest"])
        newest = rows(app)
        assert [r.created_at for r in newest] == sorted((r.created_at for r in newest),
                                                        reverse=True)
        assert orders["sla"][0] == "INC-1286"  # the new P2 breaches first


async def test_cursor_keys_and_selection_marks(demo_store: Any, frozen: Any,
                                               config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("G")
        assert view(app).cursor == DEMO_OPEN - 1
        await pilot.press("g", "space", "space")
        assert len(view(app).selected) == 2 and view(app).cursor == 2
        await wait_for(pilot, lambda: "2 selected" in title(app), what="2 selected")
        lines = screen_lines(app)
        top = first_row(lines)
        assert lines[top].startswith("* INC-1282") and lines[top + 1].startswith("* INC-1286")
        await pilot.press("escape")
        assert not view(app).selected
        assert not screen_lines(app)[top].startswith("*")


async def test_typeahead_after_slash_goes_into_the_filter(demo_store: Any, frozen: Any,
                                                          config_for: Any) -> None:
    from textual import events

    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await wait_store(pilot)
        # what a terminal delivers when "/pp" arrives in one read
        for key, char in (("slash", "/"), ("p", "p"), ("p", "p")):
            app._driver.send_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert app.screen.query_one("#queue-filter").value == "pp"
        assert title(app).startswith("Queue · open · ")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_level_column_visible_when_the_queue_scrolls(size: tuple[int, int],
                                                           demo_store: Any, frozen: Any,
                                                           config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=size) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        await pilot.press("7")
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_ALL)
        levels = tuple(f"L{n}" for n in (1, 2, 3))

        def queue_rows(lines: list[str]) -> list[str]:
            return [line for line in lines if line.startswith("  INC-")]

        def missing_level(lines: list[str]) -> list[str]:
            return [line for line in queue_rows(lines)
                    if not line.rstrip(" ▁▂▃▄▅▆▇█▔▏▕").endswith(levels)]

        # The rows repaint once the longer list has been measured (a scrollbar appears):
        # wait for a full page where every row shows its level.
        await wait_lines(pilot, lambda lines: len(queue_rows(lines)) > 10
                         and not missing_level(lines), what="a full page of rows with levels")


async def test_status_line_shows_user_at_server_at_80_columns(demo_store: Any, frozen: Any,
                                                              config_for: Any) -> None:
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_store(pilot)
        await wait_for(pilot, lambda: app.sync_status.user == "demo", what="user known")
        await pilot.pause(0.1)
        assert "demo@incidents.example.test" in screen_lines(app)[-2]


async def test_whole_list_follows_the_first_screenful_and_late_answers_are_dropped(
        demo_store: Any, frozen: Any, config_for: Any) -> None:
    from incidenttui.store.queue_query import COALESCE_CHANGES, QueueAnswer

    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        # The store's arrival re-reads the view (as a sync would): let it pass, so that no
        # question but ours is asked meanwhile.
        await wait_store(pilot)
        await pilot.pause(COALESCE_CHANGES + 0.3)
        query = app.screen.queue_query
        await pilot.press("7")  # all of them: more than a first screenful
        await wait_for(pilot, lambda: title(app).startswith(f"Queue · all · {DEMO_ALL} · "),
                       what="the whole list")
        whole = list(view(app).ids)
        asked = query.generation
        # The first screenful of the same question, arriving late, does not replace it …
        assert not query.offer(QueueAnswer(whole[:40], asked, partial=True))
        # … nor does an answer to an earlier view.
        assert not query.offer(QueueAnswer(whole[:3], asked - 1))
        await pilot.pause(0.05)
        assert view(app).ids == whole
        # A new question's first screenful shows at once, its count marked as a lower bound.
        with query._lock:
            query._asked = query._view = asked + 1
        assert query.offer(QueueAnswer(whole[:40], asked + 1, partial=True))
        await wait_for(pilot, lambda: view(app).ids == whole[:40], what="the first rows")
        assert title(app).startswith("Queue · all · 40+ · ")
        assert query.offer(QueueAnswer(whole, asked + 1))
        await wait_for(pilot, lambda: title(app).startswith(f"Queue · all · {DEMO_ALL} · "),
                       what="the whole list again")


async def test_bottom_while_only_the_first_rows_are_in_goes_to_the_real_bottom(
        demo_store: Any, frozen: Any, config_for: Any, monkeypatch: Any) -> None:
    import incidenttui.store.queue_query as queue_query

    # The whole list would follow after a pause in typing; here only G may bring it.
    monkeypatch.setattr(queue_query, "WHOLE_LIST_AFTER", 60.0)
    app = make_app(config_for(store_path=demo_store, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_queue(pilot, lambda ids: len(ids) == DEMO_OPEN)
        # The store's arrival re-reads the view (as a sync would): let that pass first, or
        # it brings the whole list by itself.
        await wait_store(pilot)
        await pilot.pause(queue_query.COALESCE_CHANGES + 0.3)
        await pilot.press("7")
        await wait_for(pilot, lambda: view(app).partial, what="the first rows of all")
        await pilot.press("G")  # the bottom is not known yet
        await wait_for(pilot, lambda: len(view(app).ids) == DEMO_ALL
                       and view(app).cursor == DEMO_ALL - 1, what="the cursor on the last")
        assert title(app).startswith(f"Queue · all · {DEMO_ALL} · ")
