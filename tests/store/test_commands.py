"""One command path: every user action is checked by the shared rules, applied to the local
store and appended to the outbox (idempotency key, base version) in one transaction; a
refused action says why and writes nothing, with no server anywhere."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hostile import change_page, incident_snapshot

from incidenttui.domain import Refused
from incidenttui.domain.refs import ref
from incidenttui.store import (
    AddLink,
    AddNote,
    CreateIncident,
    Escalate,
    Store,
    Transition,
    UpdateFields,
)
from incidenttui.store.commands import command_from_outbox


def act(action: str, **kw: Any) -> Callable[[str], Transition]:
    return lambda i: Transition(i, action=action, **kw)


RESOLVE = {"resolution_code": "fixed", "resolution_note": "rolled back"}


@dataclass
class Case:
    before: list[Callable[[str], Any]]
    command: Callable[[str], Any]
    expect: dict[str, Any]
    events: list[str]
    also: Callable[[Any], bool] = field(default=lambda row: True)


CASES: dict[str, Case] = {
    "acknowledge": Case([], act("acknowledge"), {"status": "acknowledged"}, ["status"],
                        lambda r: r.acknowledged_at is not None),
    "start": Case([], act("start"), {"status": "in_progress"}, ["status"]),
    "hold": Case([act("start")], act("hold"), {"status": "on_hold"}, ["status"],
                 lambda r: r.on_hold_since is not None),
    "resume": Case([act("start"), act("hold")], act("resume"),
                   {"status": "in_progress", "on_hold_since": None}, ["status"]),
    "assign": Case([], lambda i: UpdateFields(i, {"team": "platform", "assignee": "ray"}),
                   {"team": "platform", "assignee": "ray"}, ["assignment"]),
    "reprioritise": Case([], lambda i: UpdateFields(i, {"impact": 1, "urgency": 1}),
                         {"impact": 1, "urgency": 1, "priority": 1}, ["priority"]),
    "edit": Case([], lambda i: UpdateFields(i, {"title": "New title", "category": "network"}),
                 {"title": "New title", "category": "network"}, ["field"]),
    "escalate-functional": Case(
        [], lambda i: Escalate(i, escalation="functional", reason="needs L2",
                               to_team="network"),
        {"team": "network", "escalation_level": 2, "assignee": None}, ["escalation"]),
    "escalate-hierarchical": Case(
        [], lambda i: Escalate(i, escalation="hierarchical", reason="revenue at risk"),
        {"management_engaged": True, "team": "service-desk", "escalation_level": 1},
        ["escalation"]),
    "note": Case([], lambda i: AddNote(i, text="customers report 502s"), {"status": "new"},
                 ["note"]),
    "resolve": Case([act("acknowledge")], act("resolve", **RESOLVE),
                    {"status": "resolved", "resolution_code": "fixed",
                     "resolution_note": "rolled back", "is_open": False, "sla_due_at": None},
                    ["status"]),
    "close": Case([act("acknowledge"), act("resolve", **RESOLVE)], act("close"),
                  {"status": "closed", "is_open": False}, ["status"],
                  lambda r: r.closed_at is not None),
    "reopen": Case([act("acknowledge"), act("resolve", **RESOLVE)], act("reopen"),
                   {"status": "in_progress", "reopen_count": 1, "resolution_code": None},
                   ["status"]),
    "cancel": Case([], act("cancel"), {"status": "cancelled", "is_open": False}, ["status"]),
    "ack-with-note": Case([], act("acknowledge", note="on it"), {"status": "acknowledged"},
                          ["status", "note"]),
}


def outbox_rows(store: Store) -> list[tuple[Any, ...]]:
    return [(e.seq, e.key, e.kind, e.payload, e.base_version) for e in store.outbox()]


@pytest.mark.parametrize("name", list(CASES))
def test_each_command_is_applied_locally_and_queued_once(synced, name):
    store, snap = synced
    case = CASES[name]
    for before in case.before:
        store.execute(before(snap["id"]))
    queued = store.outbox()
    command = case.command(snap["id"])
    store.execute(command)
    row = store.get(snap["id"])

    # Applied locally: the row shows the change at once.
    for attr, value in case.expect.items():
        assert getattr(row, attr) == value, attr
    assert case.also(row)
    # One outbox row: the command itself, with a fresh idempotency key and the server version
    # the user saw when making it.
    entries = store.outbox()
    assert len(entries) == len(queued) + 1
    entry = entries[-1]
    assert entry.incident_id == snap["id"] and entry.kind == command.kind
    assert uuid.UUID(entry.key) and entry.key not in {e.key for e in queued}
    assert entry.base_version == 3
    assert entry.actor == "rita"
    assert command_from_outbox(entry.kind, entry.payload) == command
    # The server still has version 3; the row counts its pending changes.
    assert row.version == 3 and row.number == 1042 and row.pending == len(entries)
    # The timeline shows what it did, pending, tied to the outbox row.
    mine = [e for e in store.timeline(snap["id"]) if e.outbox_key == entry.key]
    assert sorted(e.kind for e in mine) == sorted(case.events)
    assert all(e.pending and e.actor == "rita" for e in mine)


def test_link_records_the_target(synced):
    store, snap = synced
    other = store.execute(CreateIncident.new(title="Payments down", service="payments"))
    store.execute(AddLink(snap["id"], link="caused_by", target_id=other.id,
                          target_ref="pending"))
    row = store.get(snap["id"])
    assert row.links == [{"kind": "caused_by", "target": other.id}]
    entry = store.outbox()[-1]
    assert entry.kind == "link" and entry.base_version == 3
    assert [e.kind for e in store.timeline(snap["id"]) if e.outbox_key == entry.key] == ["link"]


def test_an_offline_create_gets_a_uuid_and_waits_for_its_number(store: Store):
    command = CreateIncident.new(title="Search index lag", description="30 min behind",
                                 service="search", category="performance", impact=2,
                                 urgency=1)
    row = store.execute(command)
    assert row.id == command.incident_id and uuid.UUID(row.id)
    assert row.number is None and ref(row.number) == "INC-pending"
    assert (row.status, row.priority, row.version, row.pending) == ("new", 2, 0, 1)
    assert row.created_at.tzinfo is not None and row.sla_due_at is not None
    (entry,) = store.outbox()
    assert (entry.kind, entry.base_version, entry.incident_id) == ("create", 0, row.id)
    assert [e.kind for e in store.timeline(row.id)] == ["created"]
    # Found by its UUID; by number only once the server has given one.
    assert store.get(row.id) == row and store.get("pending") is None


def test_the_service_owner_team_is_filled_in_from_the_directory(synced):
    store, _ = synced
    row = store.execute(CreateIncident.new(title="Card declines", service="payments"))
    assert row.team == "platform" and row.reporter == "rita"


def test_commands_queued_on_an_unsynced_incident_stay_at_base_version_0(store: Store):
    created = store.execute(CreateIncident.new(title="t", service="checkout"))
    store.execute(Transition(created.id, action="acknowledge"))
    store.execute(AddNote(created.id, text="n"))
    assert [(e.kind, e.base_version) for e in store.outbox()] == [
        ("create", 0), ("action", 0), ("note", 0)]
    assert store.get(created.id).pending == 3


REFUSALS: dict[str, tuple[list[Callable[[str], Any]], Callable[[str], Any], str]] = {
    "close a new incident": ([], act("close"), "only a resolved incident can be closed"),
    "resolve a new incident": ([], act("resolve", **RESOLVE), "acknowledge a new incident"),
    "ack twice": ([act("acknowledge")], act("acknowledge"), "already acknowledged"),
    "resolve without a code": ([act("acknowledge")],
                               act("resolve", resolution_note="x"), "resolution code"),
    "hold a new incident": ([], act("hold"), "only an incident in progress"),
    "edit a closed incident": ([act("cancel")], lambda i: UpdateFields(i, {"title": "x"}),
                               "can no longer change"),
    "escalate a cancelled incident": ([act("cancel")], lambda i: Escalate(
        i, reason="x", to_team="network"), "only open incidents"),
    "escalate without a reason": ([], lambda i: Escalate(i, reason=" ", to_team="network"),
                                  "reason is required"),
    "escalate to the same team": ([], lambda i: Escalate(i, reason="r",
                                                         to_team="service-desk"),
                                  "already with service-desk"),
    "empty note": ([], lambda i: AddNote(i, text="  "), "cannot be empty"),
    "empty title": ([], lambda i: UpdateFields(i, {"title": None}), "cannot be empty"),
    "nothing to change": ([], lambda i: UpdateFields(i, {}), "Nothing to change"),
    "link to itself": ([], lambda i: AddLink(i, target_id=i, target_ref="INC-1042"),
                       "cannot be linked to itself"),
    "unknown incident": ([], lambda i: AddNote(str(uuid.uuid4()), text="x"), "No such"),
    "create an existing id": ([], lambda i: CreateIncident(i, title="t", service="checkout"),
                              "already exists"),
    "create without a title": ([], lambda i: CreateIncident.new(title=" ", service="x"),
                               "title is required"),
    "create with impact 4": ([], lambda i: CreateIncident.new(title="t", service="x",
                                                               impact=4), "Impact"),
}


def snapshot_of_store(store: Store) -> tuple[Any, ...]:
    return (outbox_rows(store), [(i.id, i.model_dump()) for i in store.list()],
            [(e.id, e.model_dump()) for i in store.list() for e in store.timeline(i.id)],
            store.conflicts(), store.cursor)


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_refused_command_says_why_and_writes_nothing(synced, name):
    store, snap = synced
    before, command, reason = REFUSALS[name]
    for step in before:
        store.execute(step(snap["id"]))
    state = snapshot_of_store(store)
    with pytest.raises(Refused) as refused:
        store.execute(command(snap["id"]))
    assert reason.lower() in refused.value.reason.lower()
    assert snapshot_of_store(store) == state
    assert store.integrity_check() == "ok"


def test_the_change_and_its_outbox_row_are_one_transaction(synced, store_path):
    """If any part of the write fails (here: the timeline insert, made to fail by a trigger
    in the file itself), nothing of the command is left: no row change, no outbox entry."""
    store, snap = synced
    store.execute(Transition(snap["id"], action="acknowledge"))
    state = snapshot_of_store(store)
    with sqlite3.connect(store_path) as conn:
        conn.execute("CREATE TRIGGER fail_notes BEFORE INSERT ON events "
                     "WHEN NEW.kind = 'status' BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(Exception, match="disk says no"):
        store.execute(Transition(snap["id"], action="start", note="starting"))
    assert snapshot_of_store(store) == state
    assert store.get(snap["id"]).status == "acknowledged"
    with sqlite3.connect(store_path) as conn:
        conn.execute("DROP TRIGGER fail_notes")
    store.execute(Transition(snap["id"], action="start"))
    assert store.get(snap["id"]).status == "in_progress"


def test_execute_returns_the_incident_after_the_command(synced):
    store, snap = synced
    row = store.execute(Transition(snap["id"], action="acknowledge"))
    assert (row.status, row.pending) == ("acknowledged", 1)


def test_keys_are_unique_and_entries_keep_their_order(synced):
    store, snap = synced
    for n in range(20):
        store.execute(AddNote(snap["id"], text=f"note {n}"))
    entries = store.outbox()
    assert [e.payload["text"] for e in entries] == [f"note {n}" for n in range(20)]
    assert len({e.key for e in entries}) == 20
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


def test_a_server_page_keeps_pending_changes_on_top(synced):
    """A newer server state arriving while changes are queued becomes the base; the row shows
    the base with the queued changes replayed, so the user's change does not flicker away."""
    store, snap = synced
    store.execute(UpdateFields(snap["id"], {"assignee": "ray"}))
    newer = {**snap, "version": 4, "title": "Renamed by someone else",
             "field_versions": {"title": 4}}
    page = change_page([("incident", newer)], start=20)
    store.apply_changes(page["changes"], page["cursor"])
    row = store.get(snap["id"])
    assert (row.title, row.assignee, row.version, row.pending) == (
        "Renamed by someone else", "ray", 4, 1)
    assert store.cursor == "21"
    # An older page (a replay) changes nothing.
    old = change_page([("incident", {**snap, "version": 2, "title": "old"})], start=21)
    store.apply_changes(old["changes"], old["cursor"])
    assert store.get(snap["id"]).title == "Renamed by someone else"


def test_a_malformed_page_applies_nothing(synced):
    store, snap = synced
    state = snapshot_of_store(store)
    good = incident_snapshot(number=2000)
    bad = {**incident_snapshot(number=2001), "status": "exploded"}
    page = change_page([("incident", good), ("incident", bad)], start=20)
    with pytest.raises(ValueError):
        store.apply_changes(page["changes"], page["cursor"])
    assert snapshot_of_store(store) == state and store.get(good["id"]) is None
