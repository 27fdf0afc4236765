"""Untrusted text is made inert once, at the store boundary: what the user typed (commands)
and what the server sent (change pages, push answers, refusals) alike.

Inert means: no C0 control but newline (multi-line text only), no DEL, no C1 control (CSI is
also 0x9b), no bidirectional embedding/override/isolate, no lone surrogate; ESC is shown as
a visible symbol so the responder sees that something was there.
"""

from __future__ import annotations

from typing import Any

import pytest
from hostile import change_page, event_json, incident_snapshot

from incidenttui.store import AddNote, CreateIncident, Escalate, Store, Transition, UpdateFields
from incidenttui.store.sanitize import clean_line, clean_text

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # writes the clipboard
CSI = "\x1b[2J\x1b[1;31m"
C1_CSI = "\x9b2J\x9b31m"
C1_OTHER = "\x85\x90\x9d\x9c"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x7f"
SURROGATES = "\ud800\udfff"
HOSTILE = f"a{OSC52}b{CSI}c{C1_CSI}d{C1_OTHER}e{BIDI}f{CONTROLS}g{SURROGATES}h\x1bi"

FORBIDDEN = (set(range(0x00, 0x20)) | {0x7F} | set(range(0x80, 0xA0))
             | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
             | set(range(0xD800, 0xE000)))


def assert_inert(value: Any, *, multiline: bool, where: str = "") -> None:
    """``value`` (a string, or JSON holding strings) carries nothing a terminal acts on."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert_inert(k, multiline=False, where=f"{where}.{k!r}")
            assert_inert(v, multiline=multiline, where=f"{where}.{k}")
        return
    if isinstance(value, list):
        for n, v in enumerate(value):
            assert_inert(v, multiline=multiline, where=f"{where}[{n}]")
        return
    if not isinstance(value, str):
        return
    allowed = {0x0A} if multiline else set()
    bad = sorted({hex(ord(c)) for c in value if ord(c) in FORBIDDEN - allowed})
    assert not bad, f"{where}: {bad} left in {value!r}"
    value.encode("utf-8")  # no lone surrogate survives


# -- the function -----------------------------------------------------------------------------


@pytest.mark.parametrize("multiline", [True, False])
def test_every_kind_of_escape_is_made_inert(multiline):
    out = clean_text(HOSTILE, multiline=multiline)
    assert_inert(out, multiline=multiline)
    # The printable text around the escapes is kept, and ESC stays visible as a symbol.
    for letter in "abcdefghi":
        assert letter in out
    assert out.count("\u241b") == HOSTILE.count("\x1b")  # ␛
    assert "]52;c;" in out  # visible, but no longer an escape sequence


def test_newlines_survive_in_multiline_text_and_become_spaces_in_one_line_text():
    assert clean_text("line 1\r\nline 2\n\tindented") == "line 1\nline 2\n    indented"
    assert clean_line("line 1\r\nline 2\n\tx") == "line 1  line 2  x"
    assert clean_line("a\u2028b\u2029c") == "a b c"
    assert "\n" not in clean_line("x\ny\rz") and "\r" not in clean_line("x\ny\rz")


def test_plain_text_is_kept_as_it_is():
    text = "Paiement échoue — 決済 ✓ 🚨 P1 <b>&amp;</b> \"quoted\" 'single'"
    assert clean_text(text) == text
    assert clean_line(text) == text
    assert clean_text(None) == "" and clean_line("") == ""


def test_long_text_is_cut():
    assert len(clean_line("x" * 10_000)) <= 2_001
    assert len(clean_text("y" * 200_000)) <= 100_001


# -- at the store boundary: what the user typed ----------------------------------------------


def test_user_commands_are_stored_inert(synced):
    store, snap = synced
    created = store.execute(CreateIncident.new(
        title=f"Checkout {HOSTILE}\nsecond line", description=f"desc {HOSTILE}\nline 2",
        service="checkout", impact=2, urgency=2))
    assert_inert(created.title, multiline=False)
    assert "second line" in created.title
    assert_inert(created.description, multiline=True)
    assert "\nline 2" in created.description
    store.execute(AddNote(created.id, text=f"note {HOSTILE}\nmore"))
    store.execute(UpdateFields(snap["id"], {"title": f"t {OSC52}\n{BIDI}", "description": CSI}))
    store.execute(Escalate(snap["id"], escalation="functional", reason=f"why {OSC52}",
                           to_team="platform"))
    store.execute(Transition(snap["id"], action="acknowledge", note=f"ack {HOSTILE}"))
    store.execute(Transition(snap["id"], action="resolve", resolution_code=f"fixed{C1_CSI}",
                             resolution_note=f"rolled back {OSC52}\nfor real"))
    for incident in store.list():
        assert_inert(incident.title, multiline=False, where="title")
        assert_inert(incident.description, multiline=True, where="description")
        assert_inert(incident.resolution_code, multiline=False, where="resolution_code")
        assert_inert(incident.resolution_note, multiline=True, where="resolution_note")
        for event in store.timeline(incident.id):
            assert_inert(event.text, multiline=True, where=f"{event.kind}.text")
            assert_inert(event.data, multiline=True, where=f"{event.kind}.data")
    note = [e for e in store.timeline(created.id) if e.kind == "note"][0]
    assert note.text.endswith("\nmore")


# -- at the store boundary: what the server sent ----------------------------------------------


def hostile_page() -> tuple[dict[str, Any], dict[str, Any]]:
    incident = incident_snapshot(
        title=f"Title {HOSTILE}\nforged line", description=f"Body {HOSTILE}\nline 2",
        service=f"checkout{OSC52}", team=f"platform{BIDI}", assignee=f"ray{CSI}",
        reporter=f"rita{C1_CSI}", category=f"availability{CONTROLS}",
        resolution_code=f"fixed{OSC52}", resolution_note=f"note {HOSTILE}",
        links=[{"kind": "related", "target": f"x{OSC52}"}])
    event = event_json(incident["id"], text=f"note {HOSTILE}\nline 2",
                       data={f"k{OSC52}": [f"v{CSI}", {"deep": f"{BIDI}x"}]})
    directory = [
        ("team", {"id": "t1", "name": f"Team {OSC52}", "level": 2,
                  "description": f"d {HOSTILE}"}),
        ("service", {"id": "s1", "name": f"Svc {CSI}", "team_id": "t1", "tier": 1,
                     "description": f"{BIDI}"}),
        ("user", {"id": "u1", "display_name": f"Mallory {OSC52}{BIDI}", "role": "responder",
                  "team_id": "t1", "email": f"m{CSI}@example.org", "active": True}),
    ]
    page = change_page([("incident", incident), ("event", event), *directory])
    return page, incident


def test_server_pages_are_stored_inert(store: Store):
    page, incident = hostile_page()
    store.apply_changes(page["changes"], page["cursor"])
    row = store.get(incident["id"])
    assert row is not None
    for name in ("title", "service", "team", "assignee", "reporter", "category",
                 "resolution_code"):
        assert_inert(getattr(row, name), multiline=False, where=name)
    assert "forged line" in row.title
    assert_inert(row.description, multiline=True, where="description")
    assert row.description.endswith("\nline 2")
    assert_inert(row.resolution_note, multiline=True, where="resolution_note")
    assert_inert(row.links, multiline=False, where="links")
    (event,) = store.timeline(incident["id"])
    assert_inert(event.text, multiline=True, where="event.text")
    assert event.text.endswith("\nline 2")
    assert_inert(event.data, multiline=True, where="event.data")
    for team in store.teams():
        assert_inert(team.name, multiline=False, where="team.name")
        assert_inert(team.description, multiline=True, where="team.description")
    for service in store.services():
        assert_inert(service.name, multiline=False, where="service.name")
        assert_inert(service.description, multiline=True, where="service.description")
    for user in store.users():
        assert_inert(user.display_name, multiline=True, where="user.display_name")
        assert_inert(user.email, multiline=False, where="user.email")


def test_a_server_event_actor_is_stored_inert(store: Store):
    incident = incident_snapshot()
    event = event_json(incident["id"], text="hi", actor=f"mallory{OSC52}{BIDI}")
    page = change_page([("incident", incident), ("event", event)])
    store.apply_changes(page["changes"], page["cursor"])
    (stored,) = store.timeline(incident["id"])
    assert_inert(stored.actor, multiline=False, where="event.actor")


def test_directory_names_from_the_server_are_one_line(store: Store):
    page = change_page([
        ("team", {"id": "t1", "name": "Team\nINC-1 P1 new", "level": 2, "description": ""}),
        ("user", {"id": "u1", "display_name": "Mallory\nINC-2 P1", "role": "responder",
                  "team_id": "t1", "email": None, "active": True}),
    ])
    store.apply_changes(page["changes"], page["cursor"])
    assert "\n" not in store.teams()[0].name
    assert "\n" not in store.users()[0].display_name


def test_push_answers_conflicts_and_refusals_are_stored_inert(synced):
    store, snap = synced
    # A confirmation whose incident carries escapes.
    store.execute(Transition(snap["id"], action="acknowledge"))
    key = store.outbox()[-1].key
    store.confirm(key, {**snap, "status": "acknowledged", "version": 4,
                        "title": f"ack {HOSTILE}", "acknowledged_at": snap["created_at"]})
    row = store.get(snap["id"])
    assert row is not None and row.status == "acknowledged" and row.version == 4
    assert_inert(row.title, multiline=False, where="title")
    # A note's confirmation is the server's event.
    store.execute(AddNote(snap["id"], text="plain"))
    key = store.outbox()[-1].key
    store.confirm(key, event_json(snap["id"], text=f"evil {HOSTILE}"))
    assert all(e.pending is False for e in store.timeline(snap["id"]))
    for event in store.timeline(snap["id"]):
        assert_inert(event.text, multiline=True, where="confirmed note")
    # A field conflict: the server's value is untrusted.
    store.execute(UpdateFields(snap["id"], {"title": "mine"}))
    key = store.outbox()[-1].key
    theirs = f"theirs {HOSTILE}"
    store.record_conflict(key, {"detail": "x", "conflicts": [
        {"field": "title", "mine": "mine", "theirs": theirs, "their_version": 5}],
        "incident": {**snap, "status": "acknowledged", "version": 5, "title": theirs,
                     "acknowledged_at": snap["created_at"]}})
    # A refusal's reason is untrusted too.
    store.execute(AddNote(snap["id"], text="refused note"))
    store.reject(store.outbox()[-1].key, f"no {HOSTILE}\nsecond line")
    conflicts = store.conflicts()
    assert [c.field for c in conflicts] == ["title", None]
    assert_inert(conflicts[0].theirs, multiline=True, where="conflict.theirs")
    assert_inert(conflicts[1].reason, multiline=False, where="refusal.reason")
    assert_inert(store.get(snap["id"]).title, multiline=False, where="title after conflict")
