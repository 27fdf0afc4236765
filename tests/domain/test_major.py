"""The major-incident rules: quick-entry tags, the update cadence and clock, entry times,
the stakeholder-update contract, action items, roles and reading the record back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from incidenttui.domain import Refused
from incidenttui.domain.enums import EventKind
from incidenttui.domain.major import (
    MajorRole,
    QuickTag,
    ReviewField,
    cadence,
    check_major_event,
    check_status_update,
    declare_effect,
    entry_tag,
    entry_time,
    fold_major,
    major_event_effect,
    parse_quick_entry,
    tagged_note_effect,
    update_clock,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("line", "tag", "text", "owner", "due"), [
    ("decision: fail over to Stripe", QuickTag.DECISION, "fail over to Stripe", None, None),
    ("Decision:fail over", QuickTag.DECISION, "fail over", None, None),
    ("d: roll back", QuickTag.DECISION, "roll back", None, None),
    ("finding: retry storm", QuickTag.FINDING, "retry storm", None, None),
    ("f:  two   spaces", QuickTag.FINDING, "two spaces", None, None),
    ("mitigation: error rate at baseline", QuickTag.MITIGATION, "error rate at baseline", None,
     None),
    ("m: done", QuickTag.MITIGATION, "done", None, None),
    ("bridge is open", QuickTag.NOTE, "bridge is open", None, None),
    ("Adyen: degraded node", QuickTag.NOTE, "Adyen: degraded node", None, None),
    ("note: plain", QuickTag.NOTE, "plain", None, None),
    ("action: lower retries @kenji.w due 2026-05-06", QuickTag.ACTION, "lower retries",
     "kenji.w", "2026-05-06"),
    ("a: add a PSP timeout alert", QuickTag.ACTION, "add a PSP timeout alert", None, None),
    ("todo: mail @bob about it", QuickTag.ACTION, "mail about it", "bob", None),
    ("action: email a@b.c", QuickTag.ACTION, "email a@b.c", None, None),
])
def test_parse_quick_entry(line, tag, text, owner, due):
    entry = parse_quick_entry(line)
    assert (entry.tag, entry.text, entry.owner, entry.due) == (tag, text, owner, due)


@pytest.mark.parametrize(("line", "words"), [
    ("", "cannot be empty"),
    ("   ", "cannot be empty"),
    ("decision:", "after the tag"),
    ("action: @bob", "needs a text"),
    ("action: fix due 2026-13-40", "YYYY-MM-DD"),
    ("x" * 2001, "at most"),
])
def test_parse_quick_entry_refuses(line, words):
    with pytest.raises(Refused, match=words):
        parse_quick_entry(line)


@pytest.mark.parametrize(("priority", "minutes"), [(1, 30), (2, 60), (3, 120), (4, 240),
                                                   (5, 480), (9, 480)])
def test_cadence_per_priority(priority, minutes):
    assert cadence(priority) == timedelta(minutes=minutes)


@pytest.mark.parametrize(("last", "last_at", "now", "due", "late"), [
    (None, None, T0 + timedelta(minutes=10), T0 + timedelta(minutes=30), False),
    (None, None, T0 + timedelta(minutes=31), T0 + timedelta(minutes=30), True),
    ({"next_update_due": "2026-05-04T10:45:00Z"}, T0 + timedelta(minutes=20),
     T0 + timedelta(minutes=44), T0 + timedelta(minutes=45), False),
    ({"next_update_due": "2026-05-04T10:45:00Z"}, T0 + timedelta(minutes=20),
     T0 + timedelta(minutes=46), T0 + timedelta(minutes=45), True),
    ({}, T0 + timedelta(minutes=20), T0 + timedelta(minutes=40),
     T0 + timedelta(minutes=50), False),  # no promise: last update + cadence
    ({"next_update_due": "garbage"}, T0, T0, T0 + timedelta(minutes=30), False),
])
def test_update_clock(last, last_at, now, due, late):
    clock = update_clock(1, T0, now, last, last_at)
    assert (clock.due_at, clock.late) == (due, late)
    assert clock.remaining == (due - now).total_seconds()


@pytest.mark.parametrize(("written", "expected"), [
    (None, T0),
    (T0 - timedelta(hours=2), T0 - timedelta(hours=2)),  # written offline: kept
    (T0 + timedelta(minutes=2), T0),  # a clock a little ahead: now
    (T0 + timedelta(days=1), T0),  # far ahead: now
])
def test_entry_time(written, expected):
    assert entry_time(written, T0) == expected


def test_entry_time_refuses_a_naive_time():
    with pytest.raises(Refused, match="time zone"):
        entry_time(datetime(2026, 5, 4, 10, 0), T0)


UPDATE = {"state": "Degraded", "impact": "1 in 3 card payments fail", "next_steps": "Failover",
          "next_update_due": "2026-05-04T10:30:00+00:00"}


@pytest.mark.parametrize(("data", "expected"), [
    (UPDATE, {**UPDATE, "next_update_due": "2026-05-04T10:30:00Z", "public": False,
              "public_text": None}),
    ({**UPDATE, "public": True, "public_text": " Some payments fail. "},
     {**UPDATE, "next_update_due": "2026-05-04T10:30:00Z", "public": True,
      "public_text": "Some payments fail."}),
    ({**UPDATE, "next_update_due": "2026-05-04T12:30:00+02:00"},
     {**UPDATE, "next_update_due": "2026-05-04T10:30:00Z", "public": False,
      "public_text": None}),
])
def test_check_status_update(data, expected):
    assert check_status_update(data) == expected


@pytest.mark.parametrize(("data", "words"), [
    ({**UPDATE, "state": ""}, "state is required"),
    ({k: v for k, v in UPDATE.items() if k != "impact"}, "impact is required"),
    ({**UPDATE, "next_steps": 3}, "next steps is required"),
    ({**UPDATE, "next_update_due": "soon"}, "ISO-8601"),
    ({**UPDATE, "next_update_due": "2026-05-04T10:30:00"}, "time zone"),
    ({**UPDATE, "next_update_due": "9999-12-31T23:59:59-05:00"}, "out of range"),
    ({**UPDATE, "public": True}, "public text is required"),
    ({**UPDATE, "public": True, "public_text": "  "}, "public text is required"),
    ({**UPDATE, "public": "yes"}, "true or false"),
    ({**UPDATE, "public_text": "leak"}, "only for a public update"),
    ({**UPDATE, "state": "x" * 2001}, "at most"),
    ({**UPDATE, "state": "a\x00b"}, "NUL"),
])
def test_check_status_update_refuses(data, words):
    with pytest.raises(Refused, match=words):
        check_status_update(data)


ITEM = str(uuid.uuid4())


@pytest.mark.parametrize(("kind", "data", "known", "text", "out"), [
    ("role", {"role": "commander", "user": "claire"}, (), "incident commander: claire",
     {"role": "commander", "user": "claire", "from": None}),
    ("role", {"role": "scribe", "user": None, "from": "tom"}, (), "scribe: nobody",
     {"role": "scribe", "user": None, "from": "tom"}),
    ("action_item", {"item": ITEM, "text": "Lower retries", "owner": "kenji"}, (),
     "action item: Lower retries",
     {"item": ITEM, "text": "Lower retries", "owner": "kenji", "due": None, "done": False}),
    ("action_item", {"item": ITEM, "done": True}, (ITEM,), "action item done",
     {"item": ITEM, "done": True}),
    ("action_item", {"item": ITEM, "done": False}, (ITEM,), "action item reopened",
     {"item": ITEM, "done": False}),
    ("action_item", {"item": ITEM, "owner": "ann", "due": "2026-05-09"}, (ITEM,),
     "action item changed: owner ann, due 2026-05-09",
     {"item": ITEM, "owner": "ann", "due": "2026-05-09"}),
    ("review", {"field": "root_cause", "text": "A degraded PSP node"}, (),
     "review root cause written", {"field": "root_cause", "text": "A degraded PSP node"}),
])
def test_check_major_event(kind, data, known, text, out):
    assert check_major_event(kind, data, known) == (text, out)


@pytest.mark.parametrize(("kind", "data", "known", "words"), [
    ("note", {}, (), "not a major-incident entry"),
    ("bogus", {}, (), "Unknown kind"),
    ("role", {"role": "captain", "user": "x"}, (), "Unknown role"),
    ("role", {"role": "scribe", "user": ""}, (), "user is a user id"),
    ("action_item", {"item": "nope", "text": "x"}, (), "UUID"),
    ("action_item", {"item": ITEM, "done": True}, (), "text is required"),  # unknown item
    ("action_item", {"item": ITEM, "text": "x", "done": "yes"}, (), "true or false"),
    ("action_item", {"item": ITEM, "text": "x", "due": "Friday"}, (), "YYYY-MM-DD"),
    ("review", {"field": "blame", "text": "x"}, (), "Unknown review field"),
    ("status_update", {**UPDATE, "public": True}, (), "public text"),
])
def test_check_major_event_refuses(kind, data, known, words):
    with pytest.raises(Refused, match=words):
        check_major_event(kind, data, known)


def test_entries_need_a_major_incident_and_declaring_is_once():
    with pytest.raises(Refused, match="declare it major"):
        major_event_effect({"major": False}, "role", {"role": "scribe", "user": "x"},
                           str(uuid.uuid4()), T0)
    effect = declare_effect({"major": False})
    assert effect.changes == {"major": True} and effect.events[0].kind is EventKind.MAJOR
    assert declare_effect({"major": True}).events == []
    at = T0 - timedelta(hours=1)
    (event,) = major_event_effect({"major": True}, "role", {"role": "scribe", "user": "x"},
                                  "e1", at).events
    assert (event.id, event.at, event.kind) == ("e1", at, EventKind.ROLE)


@pytest.mark.parametrize(("tag", "data"), [("decision", {"tag": "decision"}),
                                           ("note", {})])
def test_tagged_note_effect(tag, data):
    (event,) = tagged_note_effect(tag, " x ", "n1", T0).events
    assert (event.kind, event.text, event.data, event.at) == (EventKind.NOTE, "x", data, T0)


def test_tagged_note_refuses_an_action_and_unknown_tags():
    for tag, words in (("action", "action item"), ("rant", "Unknown tag")):
        with pytest.raises(Refused, match=words):
            tagged_note_effect(tag, "x", "n1", T0)


def _event(minute: float, kind: str, data: dict, incident: str = "m", text: str = ""):
    return SimpleNamespace(id=f"e{minute}", incident_id=incident, kind=kind, data=data,
                           text=text, at=T0 + timedelta(minutes=minute), actor="ann")


def test_fold_major_reads_the_record_back_whatever_the_arrival_order():
    events = [
        _event(5, "role", {"role": "commander", "user": "bob"}),
        _event(1, "major", {"major": True}),
        _event(2, "role", {"role": "commander", "user": "ann"}),
        _event(3, "action_item", {"item": "i1", "text": "Retries", "owner": None,
                                  "due": None, "done": False}),
        _event(4, "action_item", {"item": "i1", "owner": "kenji"}),
        _event(6, "action_item", {"item": "i1", "done": True}),
        _event(7, "note", {"tag": "mitigation"}),
        _event(8, "note", {"tag": "mitigation"}),
        _event(9, "status_update", UPDATE),
        _event(10, "review", {"field": "root_cause", "text": "first"}),
        _event(11, "review", {"field": "root_cause", "text": "second"}),
        _event(12, "role", {"role": "scribe", "user": "zed"}, incident="linked"),
    ]
    record = fold_major("m", reversed(events))
    assert record.roles == {MajorRole.COMMANDER: "bob"}  # the latest; linked ones ignored
    assert record.declared_at == T0 + timedelta(minutes=1)
    item = record.items["i1"]
    assert (item.text, item.owner, item.done) == ("Retries", "kenji", True)
    assert record.open_items() == []
    assert record.mitigated_at == T0 + timedelta(minutes=7)  # the first mitigation
    assert [u.id for u in record.updates] == ["e9"] and record.last_update.id == "e9"
    assert record.review == {ReviewField.ROOT_CAUSE: "second"}


@pytest.mark.parametrize(("kind", "data", "tag"), [
    ("note", {"tag": "decision"}, "decision"), ("note", {}, None),
    ("action_item", {}, "action_item"), ("status_update", {}, "status_update"),
    ("escalation", {}, None)])
def test_entry_tag(kind, data, tag):
    assert entry_tag(_event(0, kind, data)) == tag
