"""A security incident's playbook and 72-hour breach clock as the client derives them,
and checking a step through the one command path (a structured note)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hostile import change_page, event_json, incident_snapshot, iso

from incidenttui.domain import Refused
from incidenttui.domain.playbooks import DEFAULT_PLAYBOOKS, PlaybookKind, check_text
from incidenttui.store import CheckPlaybookStep, Store
from incidenttui.store.reader import QueueReader
from incidenttui.store.security import choose_kind, security_view

DETECTED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = DETECTED + timedelta(hours=10, minutes=30)


@pytest.mark.parametrize(("title", "description", "kind"), [
    ("Customer data exposed via misconfigured bucket", "", PlaybookKind.DATA_BREACH),
    ("DDoS on storefront: L7 flood on /search", "", PlaybookKind.DDOS),
    ("Leaked API key: ERP key in public GitHub repo", "", PlaybookKind.COMPROMISED_CREDENTIAL),
    ("Credential stuffing attempt on login endpoint", "", PlaybookKind.COMPROMISED_CREDENTIAL),
    ("Chargeback wave on gift cards", "", PlaybookKind.FRAUD),
    ("Odd process on build host", "Ransomware note found", PlaybookKind.MALWARE),
    ("Something odd", "", None),
])
def test_the_kind_comes_from_title_then_description(title: str, description: str,
                                                    kind: PlaybookKind | None) -> None:
    assert choose_kind("security", title, description) is kind


def test_only_security_incidents_get_a_playbook_unless_the_server_names_one() -> None:
    assert choose_kind("availability", "DDoS on storefront") is None
    assert choose_kind("availability", "x", explicit="fraud") is PlaybookKind.FRAUD
    assert choose_kind("security", "DDoS", explicit="not-a-kind") is PlaybookKind.DDOS


def breach_store(store: Store, **overrides: Any) -> dict[str, Any]:
    fields = {"number": 77, "ref": "INC-77", "category": "security",
              "title": "Personal data of customers exfiltrated",
              "detected_at": iso(DETECTED), "created_at": iso(DETECTED), **overrides}
    snap = incident_snapshot(**fields)
    store.apply_changes(change_page([("incident", snap)])["changes"], 1)
    return snap


def test_checking_a_step_is_a_note_through_the_one_command_path(store: Store) -> None:
    snap = breach_store(store)
    store.execute(CheckPlaybookStep(snap["id"], playbook="data_breach", step="isolate"),
                  now=NOW)
    entry = store.outbox()[0]
    assert entry.kind == "playbook"
    from incidenttui.store.commands import command_from_outbox

    request = command_from_outbox(entry.kind, entry.payload).request(entry.base_version)
    assert (request.method, request.path) == ("POST", f"/api/v1/incidents/{snap['id']}/notes")
    assert request.body["text"].startswith("[playbook] data_breach/isolate done: ")
    [event] = store.timeline(snap["id"])
    assert event.kind == "note" and event.pending
    view = security_view(store.get(snap["id"]), store.timeline(snap["id"]), NOW)
    assert view.playbook.kind is PlaybookKind.DATA_BREACH and set(view.checked) == {"isolate"}
    with pytest.raises(Refused, match="No playbook step data_breach/nope"):
        store.execute(CheckPlaybookStep(snap["id"], playbook="data_breach", step="nope"))


def test_the_breach_clock_runs_from_detection_and_the_notify_step_stops_it(
        store: Store) -> None:
    snap = breach_store(store)
    view = security_view(store.get(snap["id"]), [], NOW)
    assert view.breach.aware_at == DETECTED and view.breach.label == "notify within 61h30m"
    late = DETECTED + timedelta(hours=75)
    assert security_view(store.get(snap["id"]), [], late).breach.overdue
    store.execute(CheckPlaybookStep(snap["id"], playbook="data_breach",
                                    step="notify-authority"), now=NOW)
    view = security_view(store.get(snap["id"]), store.timeline(snap["id"]), late)
    assert view.breach.stopped and not view.breach.overdue
    assert view.breach.label == "notified after 10h30m"


def test_server_times_win(store: Store) -> None:
    aware = DETECTED + timedelta(hours=1)
    snap = breach_store(store, aware_at=iso(aware), title="Leaked API key")
    view = security_view(store.get(snap["id"]), [], NOW)
    assert view.playbook.kind is PlaybookKind.COMPROMISED_CREDENTIAL
    assert view.breach.aware_at == aware  # a breach because the server says so


def test_no_clock_for_other_kinds(store: Store) -> None:
    snap = breach_store(store, title="DDoS on storefront")
    assert security_view(store.get(snap["id"]), [], NOW).breach is None


def test_the_queue_row_carries_the_clock(store: Store) -> None:
    snap = breach_store(store)
    other = incident_snapshot(number=78, ref="INC-78", title="personal data? no: availability")
    store.apply_changes(change_page([("incident", other)], start=1)["changes"], 2)
    reader = QueueReader(store.path)
    try:
        rows = reader.rows([snap["id"], other["id"]])
        assert rows[snap["id"]].breach_aware_at == DETECTED
        assert rows[snap["id"]].breach_notified_at is None
        assert rows[other["id"]].breach_aware_at is None
        notified = event_json(snap["id"], check_text(DEFAULT_PLAYBOOKS[
            PlaybookKind.DATA_BREACH], "notify-authority"), at=iso(NOW))
        store.apply_changes(change_page([("event", notified)], start=2)["changes"], 3)
        assert reader.rows([snap["id"]])[snap["id"]].breach_notified_at == NOW
    finally:
        reader.close()
