"""Capabilities in the store: what /me said the user may do is kept, and Store.execute
refuses the rest offline, in words (the server stays the authority)."""

from __future__ import annotations

from typing import Any

import pytest
from hostile import change_page, incident_snapshot

from incidenttui.domain import Refused
from incidenttui.domain.permissions import Operation, Visibility, operations
from incidenttui.store import AddNote, Store, Transition
from incidenttui.store.capabilities import Capabilities
from incidenttui.store.commands import CreateIncident


def as_role(store: Store, role: str) -> None:
    """What an older server's /me leaves: the role only (the domain's matrix stands in)."""
    store.set_capabilities(Capabilities.from_me(role, None, None))


def test_a_viewer_store_refuses_ack_offline_with_a_reason(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    as_role(store, "viewer")
    with pytest.raises(Refused) as info:
        store.execute(Transition(snap["id"], action="acknowledge"))
    assert info.value.reason == "Your role viewer may not acknowledge incidents."
    with pytest.raises(Refused, match="may not add notes"):
        store.execute(AddNote(snap["id"], text="hello"))
    assert store.pending_count() == 0 and store.get(snap["id"]).status == "new"


def test_a_responder_acks(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    as_role(store, "responder")
    assert store.execute(Transition(snap["id"], action="acknowledge")).status == "acknowledged"


def test_nothing_known_allows_everything_locally(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    assert not store.capabilities().known
    store.execute(Transition(snap["id"], action="acknowledge"))
    assert store.pending_count() == 1


def test_the_server_lists_win_over_the_role(synced: tuple[Store, Any]) -> None:
    store, snap = synced
    store.set_capabilities(Capabilities.from_me("responder", ["read", "note"], []))
    caps = store.capabilities()
    assert caps.role == "responder" and caps.normal == {Operation.READ, Operation.NOTE}
    store.execute(AddNote(snap["id"], text="still allowed"))
    with pytest.raises(Refused, match="Your role responder may not resolve incidents"):
        store.execute(Transition(snap["id"], action="resolve", resolution_code="fixed",
                                 resolution_note="x"))


def test_older_server_falls_back_to_the_domain_matrix() -> None:
    caps = Capabilities.from_me("commander", None, None)
    assert caps.normal == operations("commander")
    assert caps.restricted == operations("commander", Visibility.RESTRICTED)
    # an operation a newer server names that this client does not know is ignored
    assert Capabilities.from_me("viewer", ["read", "teleport"], []).normal == {Operation.READ}


def test_restricted_incident_held_means_member(store: Store) -> None:
    """A responder holds a security incident only as a member: they may note it, but not
    lift its restriction or record the breach notification."""
    snap = incident_snapshot(category="security", number=7, ref="INC-7")
    plain = incident_snapshot(number=8, ref="INC-8", restricted=True)
    store.apply_changes(change_page([("incident", snap), ("incident", plain)])["changes"], 2)
    as_role(store, "responder")
    caps = store.capabilities()
    assert caps.may(Operation.NOTE, "security")
    assert caps.may(Operation.NOTE, "availability", restricted=True)
    assert not caps.may(Operation.UNRESTRICT, "security")
    assert caps.refusal(Operation.COMMAND, "run major incidents", "security") == \
        "Your role responder may not run major incidents."
    store.execute(AddNote(snap["id"], text="member note"))
    store.execute(AddNote(plain["id"], text="member note"))
    as_role(store, "viewer")
    with pytest.raises(Refused, match="viewer may not add notes"):
        store.execute(AddNote(plain["id"], text="no"))


def test_creating_is_checked_against_the_new_incident(store: Store) -> None:
    as_role(store, "viewer")
    with pytest.raises(Refused, match="Your role viewer may not log incidents"):
        store.execute(CreateIncident.new(title="x", service="checkout", category="security"))
    assert store.pending_count() == 0
