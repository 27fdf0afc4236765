"""How people name incidents (``INC-1042``, ``1042``, ``SEC-7`` or a UUID) and read timeline
events."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from incidenttui.domain.enums import EventKind
from incidenttui.domain.refs import INC, SEC, Number, describe_event, parse_key, ref, series_for

UUID = "0f6c2f4e-8a57-4d0e-9a57-1d2d6a0e3c11"


@pytest.mark.parametrize(("key", "parsed"), [
    (UUID, UUID),
    (UUID.upper(), UUID),
    (UUID.replace("-", ""), UUID),
    (f"{{{UUID}}}", UUID),
    (f"urn:uuid:{UUID}", UUID),
    (f"  {UUID}\n", UUID),
    ("INC-1042", Number(INC, 1042)),
    ("inc-1042", Number(INC, 1042)),
    ("INC1042", Number(INC, 1042)),
    ("inc1042", Number(INC, 1042)),
    ("Inc-01042", Number(INC, 1042)),
    ("1042", Number(INC, 1042)),
    (" 1042 ", Number(INC, 1042)),
    ("\tINC-1042\n", Number(INC, 1042)),
    ("7", Number(INC, 7)),
    ("123456789", Number(INC, 123456789)),
    ("SEC-7", Number(SEC, 7)),
    ("sec7", Number(SEC, 7)),
    ("Sec-0042", Number(SEC, 42)),
])
def test_keys_that_name_an_incident(key: str, parsed: str | Number) -> None:
    assert parse_key(key) == parsed
    assert type(parse_key(key)) is type(parsed)


@pytest.mark.parametrize("key", [
    "", "   ", "INC-", "INC", "garbage", "INC 1042", "INC--1042", "INC-10x", "#1042", "-1042",
    "10.42", "1e3", "INC-1042-2", "PRB-1042", "SEC-", "SEC", "SECINC-7", "SEC 7",
    "1234567890",  # ten digits: no incident number is that long
    "INC-1234567890",
    UUID[:-1], UUID + "0", UUID.replace("-", "_"),
    "\uff11\uff10\uff14\uff12", "INC-\u0661\u0660",  # digits, but not ASCII ones
])
def test_keys_that_name_nothing(key: str) -> None:
    assert parse_key(key) is None


@pytest.mark.parametrize(("number", "text"), [
    (1042, "INC-1042"), (1, "INC-1"), (0, "INC-0"), (None, "INC-pending"),
])
def test_ref(number: int | None, text: str) -> None:
    assert ref(number) == text == ref(number, INC)


def test_a_restricted_incident_has_its_own_series() -> None:
    assert (series_for(False), series_for(True)) == (INC, SEC)
    assert ref(7, SEC) == "SEC-7" and ref(None, SEC) == "SEC-pending"
    assert ref(1042, None) == "INC-1042"  # an older server's incident: no series


def test_a_ref_parses_back_to_its_number() -> None:
    assert parse_key(ref(1042)) == Number(INC, 1042)
    assert parse_key(ref(7, SEC)) == Number(SEC, 7)
    assert parse_key(ref(None)) is None


def event(kind: str, text: str = "", data: dict[str, Any] | None = None) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, text=text, data=data)


@pytest.mark.parametrize(("ev", "shown"), [
    (event("status", "", {"from": "new", "to": "acknowledged"}), "new → acknowledged"),
    (event("status", "Restarted the pods.",
           {"from": "in_progress", "to": "resolved", "resolution_code": "restart"}),
     "in_progress → resolved (restart): Restarted the pods."),
    (event("status", "waiting", {"from": "in_progress", "to": "on_hold"}),
     "in_progress → on_hold: waiting"),
    (event("status", "", {"from": "resolved", "to": "in_progress", "resolution_code": None}),
     "resolved → in_progress"),
    (event("status"), "? → ?"),
    (event(EventKind.STATUS, "", {"from": "new", "to": "cancelled"}), "new → cancelled"),
    (event("escalation", "Revenue impact.", {"kind": "hierarchical", "from_team": "platform",
                                             "from_level": 2, "to_team": "platform",
                                             "to_level": 2}),
     "management engaged: Revenue impact."),
    (event("escalation", "Needs the SOC.", {"kind": "functional", "from_team": "network",
                                            "from_level": 2, "to_team": "security",
                                            "to_level": 3}),
     "network (L2) → security (L3): Needs the SOC."),
    (event("escalation", "r", {"kind": "functional", "from_team": None, "from_level": 1,
                               "to_team": "platform", "to_level": 2}),
     "- (L1) → platform (L2): r"),
    (event("escalation", "r", {}), "- (L?) → - (L?): r"),
    (event("note", "Bridge open.", {}), "Bridge open."),
    (event("assignment", "assignee: None → ana", {"fields": {}}), "assignee: None → ana"),
    (event("link", "related INC-7", {"kind": "related"}), "related INC-7"),
    (event("created", "Checkout slow", {"priority": 3}), "Checkout slow"),
    (event("alert", "", None), ""),
], ids=["ack", "resolve", "hold-with-text", "reopen", "no-data", "enum-kind", "hierarchical",
        "functional", "functional-from-no-team", "escalation-no-data", "note", "assignment",
        "link", "created", "alert-no-text"])
def test_describe_event(ev: SimpleNamespace, shown: str) -> None:
    assert describe_event(ev) == shown


def test_a_policy_escalation_is_described_by_its_own_text():
    from types import SimpleNamespace

    from incidenttui.domain.refs import describe_event

    event = SimpleNamespace(kind="escalation", text="Not acknowledged within 2m at level 1: "
                            "escalated to level 2 (team dba).",
                            data={"step": "escalate", "level": 1, "to_level": 2})
    assert describe_event(event) == ("policy: Not acknowledged within 2m at level 1: "
                                     "escalated to level 2 (team dba).")
