"""Security playbooks as data: the defaults keep the phase order, round-trip through plain
data, refuse bad input in words, and report progress."""

from __future__ import annotations

from typing import Any

import pytest

from incidenttui.domain.playbooks import (
    DEFAULT_PLAYBOOKS,
    PHASE_ORDER,
    Phase,
    PlaybookKind,
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
