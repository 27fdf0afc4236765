"""Conflicts made for real: a second client edits the same fields on the server while this
store holds older versions; the app lists them, keep mine / take theirs settle them."""

from __future__ import annotations

from typing import Any

from app_harness import (  # type: ignore[import-not-found]
    screen_lines,
    screen_text,
    wait_for,
    wait_online,
    wait_screen,
    wait_synced,
    wait_text,
    widget_text,
)
from app_servers import sync_store_async  # type: ignore[import-not-found]

from incidenttui.store import Store
from incidenttui.store.commands import Transition, UpdateFields
from incidenttui.tui import make_app


async def make_conflicts(live: Any, tag: str, store_path: Any) -> dict[str, Any]:
    """Two field conflicts (titles) and one refusal (ack of an incident cancelled meanwhile)."""
    x = live.create(f"{tag} original x")
    y = live.create(f"{tag} original y")
    z = live.create(f"{tag} original z")
    store = Store(store_path)
    try:
        await sync_store_async(store, live.url, live.tokens["responder"])
        live.patch(x["id"], role="other", title=f"{tag} theirs x")
        live.patch(y["id"], role="other", title=f"{tag} theirs y")
        live.act(z["id"], "cancel", role="other")
        store.execute(UpdateFields(x["id"], {"title": f"{tag} mine x"}))
        store.execute(UpdateFields(y["id"], {"title": f"{tag} mine y"}))
        store.execute(Transition(z["id"], action="acknowledge"))
        await sync_store_async(store, live.url, live.tokens["responder"])
        assert store.conflict_count() == 3, store.conflicts()
        assert store.pending_count() == 0
    finally:
        store.close()
    return {"x": x, "y": y, "z": z}


def conflict_labels(app: Any) -> list[str]:
    options = app.screen.query_one("#conflict-list")
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_keep_mine_take_theirs_and_dismiss_a_refusal(live: Any, tag: str,
                                                           config_for: Any) -> None:
    config = config_for(live)
    made = await make_conflicts(live, tag, config.store_path)
    refs = {k: f"INC-{v['number']}" for k, v in made.items()}
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_online(pilot)
        await wait_for(pilot, lambda: "· 3 conflicts ·" in screen_lines(app)[-2],
                       what="3 conflicts on the status line")
        await pilot.press("C")
        await wait_screen(pilot, "ConflictsScreen")
        await wait_text(pilot, "Conflicts · 3 · m: keep mine · t: take theirs")
        labels = conflict_labels(app)
        assert labels[:2] == [f"{refs['x']} · title changed by someone else",
                              f"{refs['y']} · title changed by someone else"]
        assert labels[2].startswith(f"{refs['z']} · refused: acknowledge — ")
        mine, theirs = (widget_text(app.screen.query_one(s)) for s in ("#mine", "#theirs"))
        assert mine == f"MINE (title)\n{tag} mine x"
        assert theirs.startswith("THEIRS (version ") and theirs.endswith(f"\n{tag} theirs x")

        await pilot.press("m")  # keep mine for x: sent again over their version
        await wait_text(pilot, "Conflicts · 2 ·")
        await wait_for(pilot, lambda: "· 2 conflicts ·" in screen_lines(app)[-2],
                       what="2 conflicts on the status line")
        await wait_synced(pilot)
        assert widget_text(app.screen.query_one("#mine")) == f"MINE (title)\n{tag} mine y"

        await pilot.press("t")  # take theirs for y
        await wait_text(pilot, "Conflicts · 1 ·")
        text = screen_text(app)
        assert "MY CHANGE" in text and "THE SERVER SAID" in text

        await pilot.press("m")  # a refusal cannot be kept
        await wait_for(pilot, lambda: any("cannot be kept" in n.message
                                          for n in app._notifications), what="a warning")
        assert app.store.conflict_count() == 1
        await pilot.press("t")  # dismissed
        await wait_text(pilot, "No conflicts: every change was applied.")
        await wait_for(pilot, lambda: "· 0 conflicts ·" in screen_lines(app)[-2],
                       what="0 conflicts on the status line")
        await wait_synced(pilot)
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
        local = {k: app.store.get(v["id"]) for k, v in made.items()}
        assert local["x"].title == f"{tag} mine x"
        assert local["y"].title == f"{tag} theirs y"
        assert local["z"].status == "cancelled"
    assert live.get(made["x"]["id"])["title"] == f"{tag} mine x"
    assert live.get(made["y"]["id"])["title"] == f"{tag} theirs y"
    assert live.get(made["z"]["id"])["status"] == "cancelled"



def offline_conflicts(path: Any) -> dict[str, Any]:
    """A store (no server) holding a refused acknowledge, then a title conflict."""
    from hostile import change_page, incident_snapshot

    snap = incident_snapshot(number=1042, version=3)
    store = Store(path)
    try:
        store.set_meta("user", "rita")
        store.apply_changes(change_page([("incident", snap)])["changes"], cursor=1)
        store.execute(Transition(snap["id"], action="acknowledge"))
        store.reject(store.outbox()[-1].key, "the incident was cancelled meanwhile")
        store.execute(UpdateFields(snap["id"], {"title": "mine"}))
        theirs = {**snap, "version": 4, "title": "theirs", "field_versions": {"title": 4}}
        store.record_conflict(store.outbox()[-1].key, {"incident": theirs, "conflicts": [
            {"field": "title", "mine": "mine", "theirs": "theirs"}]})
        refused, field = store.conflicts()
    finally:
        store.close()
    return {"snap": snap, "refused": refused.id, "field": field.id}


async def test_a_refused_settle_is_shown_in_words_never_as_done(config_for: Any,
                                                                tmp_path: Any) -> None:
    from app_fixtures import OFFLINE_URL  # type: ignore[import-not-found]
    from app_harness import notification_texts, wait_store  # type: ignore[import-not-found]

    from incidenttui.store import SettleConflict

    path = tmp_path / "conflicts.db"
    made = offline_conflicts(path)
    app = make_app(config_for(store_path=path, offline=True, server_url=OFFLINE_URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_store(pilot)
        await pilot.press("C")
        await wait_screen(pilot, "ConflictsScreen")
        await wait_text(pilot, "Conflicts · 2 ·")
        assert conflict_labels(app)[0].startswith("INC-1042 · refused: acknowledge — ")

        await pilot.press("m")  # keep a refusal: the store refuses, the screen says why
        await wait_for(pilot, lambda: any("cannot be kept" in t
                                          for t in notification_texts(app)), what="why")
        assert not any("Kept mine" in t for t in notification_texts(app))
        assert app.store.conflict_count() == 2

        # Settled meanwhile (the CLI, say): taking theirs now is refused in words too, and
        # the list catches up.
        app.store.execute(SettleConflict(made["refused"]))
        await pilot.press("t")
        await wait_for(pilot, lambda: any("already settled" in t
                                          for t in notification_texts(app)), what="why")
        assert not any("Took theirs" in t for t in notification_texts(app))
        await wait_text(pilot, "Conflicts · 1 ·")
        assert conflict_labels(app) == ["INC-1042 · title changed by someone else"]

        await pilot.press("m")  # keep mine: applied and queued, then said so
        await wait_text(pilot, "No conflicts: every change was applied.")
        await wait_for(pilot, lambda: any("Kept mine" in t for t in notification_texts(app)),
                       what="done")
        assert app.store.get(made["snap"]["id"]).title == "mine"
        assert app.store.pending_count() == 1
