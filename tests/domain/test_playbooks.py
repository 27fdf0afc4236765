"""Security playbooks as data: the defaults keep the phase order, round-trip through plain
data, refuse bad input in words, and report progress; checking a step is a structured note
that reads back the same for everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incidenttui.domain.playbooks import (
    CHECK_PREFIX,
    DEFAULT_PLAYBOOKS,
    NOTIFY_STEP,
    PHASE_ORDER,
    Phase,
    PlaybookKind,
    check_prefix,
    check_text,
    checked_steps,
    parse_check,
    playbook_from_dict,
    playbook_to_dict,
    progress,
)

BOOKS = list(DEFAULT_PLAYBOOKS.values())


def test_every_kind_has_a_default_playbook() -> None:
    assert set(DEFAULT_PLAYBOOKS) == set(PlaybookKind)
    assert PHASE_ORDER == (Phase.CONTAINMENT, Phase.ERADICATION, Phase.RECOVERY,
                           Phase.COMMUNICATION)


@pytest.mark.parametrize("book", BOOKS, ids=[b.kind.value for b in BOOKS])
def test_defaults_cover_every_phase_in_order_with_unique_ids(book) -> None:
    phases = [s.phase for s in book.steps]
    assert phases == sorted(phases, key=PHASE_ORDER.index)
    assert set(phases) == set(Phase)
    assert len({s.id for s in book.steps}) == len(book.steps)
    assert book.evidence


@pytest.mark.parametrize("book", BOOKS, ids=[b.kind.value for b in BOOKS])
def test_round_trip_through_plain_data(book) -> None:
    assert playbook_from_dict(playbook_to_dict(book)) == book


def test_only_the_data_breach_starts_the_notification_clock() -> None:
    assert [b.kind for b in BOOKS if b.personal_data] == [PlaybookKind.DATA_BREACH]


def test_progress() -> None:
    book = DEFAULT_PLAYBOOKS[PlaybookKind.DDOS]
    start = progress(book, [])
    assert (start.done, start.total, start.complete) == (0, 6, False)
    assert start.next_step == book.steps[0] and start.label == "0/6"
    mid = progress(book, ["mitigate", "block", "status-page", "from-an-old-version"])
    assert mid.label == "3/6" and mid.next_step is not None and mid.next_step.id == "vector"
    assert mid.by_phase[Phase.CONTAINMENT] == (2, 2)
    assert mid.by_phase[Phase.COMMUNICATION] == (1, 2)
    done = progress(book, [s.id for s in book.steps])
    assert done.complete and done.next_step is None


def test_step_lookup() -> None:
    book = DEFAULT_PLAYBOOKS[PlaybookKind.MALWARE]
    assert book.step("quarantine").phase is Phase.CONTAINMENT
    with pytest.raises(ValueError, match="malware playbook has no step 'nope'"):
        book.step("nope")


def good() -> dict[str, Any]:
    return {"kind": "fraud", "title": "Fraud", "steps": [
        {"id": "freeze", "phase": "containment", "text": "Freeze"},
        {"id": "tell", "phase": "communication", "text": "Tell"}]}


@pytest.mark.parametrize(("change", "words"), [
    ({"kind": "gossip"}, "unknown playbook kind"),
    ({"title": " "}, "needs a title"),
    ({"steps": []}, "needs a list of steps"),
    ({"steps": ["freeze"]}, "must be a table"),
    ({"steps": [{"id": "Bad Id", "phase": "containment", "text": "x"}]}, "step id"),
    ({"steps": [{"id": "a", "phase": "containment", "text": "x"},
                {"id": "a", "phase": "recovery", "text": "y"}]}, "appears twice"),
    ({"steps": [{"id": "a", "phase": "panic", "text": "x"}]}, "unknown phase"),
    ({"steps": [{"id": "a", "phase": "recovery", "text": " "}]}, "needs a text"),
    ({"steps": [{"id": "a", "phase": "recovery", "text": "x"},
                {"id": "b", "phase": "containment", "text": "y"}]}, "keep the order"),
])
def test_bad_playbooks_are_refused_in_words(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        playbook_from_dict({**good(), **change})


def test_a_good_playbook_reads() -> None:
    book = playbook_from_dict(good())
    assert [s.id for s in book.steps] == ["freeze", "tell"] and book.evidence == ()


# -- checking a step: the structured note ---------------------------------------------------


def test_check_notes_round_trip() -> None:
    playbook = DEFAULT_PLAYBOOKS[PlaybookKind.DDOS]
    text = check_text(playbook, "mitigate")
    assert text == ("[playbook] ddos/mitigate done: Enable upstream mitigation (CDN, "
                    "scrubbing, rate limits)")
    assert parse_check(text) == ("ddos", "mitigate")


@pytest.mark.parametrize("book", BOOKS, ids=[b.kind.value for b in BOOKS])
def test_every_default_step_round_trips_and_begins_with_its_prefix(book) -> None:
    for step in book.steps:
        text = check_text(book, step.id)
        assert text.startswith(CHECK_PREFIX)
        assert text.startswith(check_prefix(book.kind.value, step.id) + ": ")
        assert parse_check(text) == (book.kind.value, step.id)


def test_the_breach_notification_step_is_in_the_personal_data_playbook() -> None:
    breach = [b for b in BOOKS if b.personal_data]
    assert [b.kind for b in breach] == [PlaybookKind.DATA_BREACH]
    assert breach[0].step(NOTIFY_STEP).phase is Phase.COMMUNICATION


def test_checking_a_step_the_playbook_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="ddos playbook has no step 'isolate'"):
        check_text(DEFAULT_PLAYBOOKS[PlaybookKind.DDOS], "isolate")


@pytest.mark.parametrize("text", [
    "a plain note",
    "",
    None,
    "[playbook] ddos/mitigate maybe",
    "[playbook] ddos/mitigate doneish",
    "[Playbook] ddos/mitigate done: x",
    " [playbook] ddos/mitigate done: x",
    "quoted: [playbook] ddos/mitigate done: x",
    "[playbook] DDoS/mitigate done: x",
    "[playbook] ddos/Mitigate done: x",
    "[playbook] ddos/-mitigate done: x",
    "[playbook] ddos/" + "m" * 65 + " done: x",
    "[playbook]ddos/mitigate done: x",
])
def test_other_notes_are_no_checks(text: str | None) -> None:
    assert parse_check(text) is None


def test_a_check_needs_only_its_head() -> None:
    """What follows ``done`` is for people: an edited step text still counts."""
    assert parse_check("[playbook] ddos/mitigate done") == ("ddos", "mitigate")
    assert parse_check("[playbook] ddos/mitigate done: anything else") == ("ddos", "mitigate")


@dataclass
class Event:
    kind: str
    text: str
    at: datetime


T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_checked_steps_are_the_first_check_of_each_step_of_the_kind() -> None:
    book = DEFAULT_PLAYBOOKS[PlaybookKind.DATA_BREACH]
    events = [
        Event("note", check_text(book, "isolate"), T0 + timedelta(minutes=30)),
        Event("note", check_text(book, "isolate"), T0 + timedelta(minutes=10)),  # earlier
        Event("note", check_text(book, NOTIFY_STEP), (T0 + timedelta(hours=2)).replace(
            tzinfo=None)),  # naive: UTC
        Event("status_change", check_text(book, "scope"), T0),  # not a note
        Event("note", check_text(DEFAULT_PLAYBOOKS[PlaybookKind.DDOS], "mitigate"), T0),
        Event("note", "isolate done, I think", T0),
    ]
    assert checked_steps(events, PlaybookKind.DATA_BREACH) == {
        "isolate": T0 + timedelta(minutes=10), NOTIFY_STEP: T0 + timedelta(hours=2)}
    assert checked_steps(events, "ddos") == {"mitigate": T0}
    assert checked_steps(events, PlaybookKind.FRAUD) == {}
