"""QueueQuery: every question has a generation; the first screenful comes at once and the
whole list once the keys pause; late answers (an earlier view, the head of what is shown)
are dropped; a whole list read for an earlier view is interrupted; a burst of synced
changes is read once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

import incidenttui.store.queue_query as queue_query
from incidenttui.store.queue_query import QueueAnswer, QueueQuery
from incidenttui.store.reader import IncidentFilter

IDS = [f"id-{n}" for n in range(100)]


class FakeReader:
    """The reader's six calls over ``IDS``; ``text`` keeps the ids holding it. A whole-list
    read can be held until released, and is interrupted as a real one would be."""

    def __init__(self) -> None:
        self.whole_reads: list[IncidentFilter] = []
        self.first_reads: list[IncidentFilter] = []
        self.hold = threading.Event()
        self.hold.set()
        self.interrupted = threading.Event()
        self.fail: Exception | None = None

    def _ids(self, flt: IncidentFilter) -> list[str]:
        return [i for i in IDS if flt.text in i]

    def first(self, flt: IncidentFilter, limit: int) -> list[str]:
        self.first_reads.append(flt)
        if self.fail is not None:
            raise self.fail
        return self._ids(flt)[:limit]

    def query_ids(self, flt: IncidentFilter) -> list[str]:
        self.whole_reads.append(flt)
        self.interrupted.clear()
        while not self.hold.wait(0.01):
            if self.interrupted.is_set():
                raise sqlite3.OperationalError("interrupted")
        return self._ids(flt)

    def has_data(self) -> bool:
        return True

    def search_stale(self) -> bool:
        return False

    def rows(self, ids: list[str]) -> dict[str, Any]:
        return {i: f"row of {i}" for i in ids}

    def interrupt(self) -> None:
        self.interrupted.set()


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue_query, "WHOLE_LIST_AFTER", 0.05)
    monkeypatch.setattr(queue_query, "COALESCE_CHANGES", 0.05)


@pytest.fixture
def made(fast: None) -> Any:
    reader = FakeReader()
    answers: list[QueueAnswer] = []
    query = QueueQuery(lambda: reader, answers.append)
    yield query, reader, answers
    query.close()


def wait(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_first_screenful_now_then_the_whole_list(made: Any) -> None:
    query, reader, answers = made
    first = query.ask_now(IncidentFilter(), 40)
    assert first is not None and first.ids == IDS[:40] and first.partial
    assert first.generation == query.generation == 1
    # The screenful's rows come with it: the view draws them without reading them itself.
    assert first.rows == {i: f"row of {i}" for i in IDS[:40]}
    wait(lambda: answers)
    assert answers == [QueueAnswer(IDS, 1)] and not query.partial
    assert answers[0].rows is None  # a whole list: the view reads the rows it draws


def test_a_short_view_is_whole_at_once_and_not_read_again(made: Any) -> None:
    query, reader, answers = made
    first = query.ask_now(IncidentFilter(text="id-9"), 40)  # 11 ids: fewer than asked
    assert first is not None and not first.partial and len(first.ids) == 11
    time.sleep(0.2)
    assert answers == [] and reader.whole_reads == []


def test_keys_in_a_burst_read_one_whole_list_for_the_last_view(made: Any) -> None:
    query, reader, answers = made
    for text in ("i", "id", "id-", "id-1"):
        query.ask(IncidentFilter(text=text), 5)
    wait(lambda: any(not a.partial for a in answers))
    time.sleep(0.1)
    assert [f.text for f in reader.whole_reads] == ["id-1"]
    shown = [a for a in answers if not a.partial]
    assert [a.generation for a in shown] == [4] and shown[0].ids == reader._ids(
        IncidentFilter(text="id-1"))
    # Every answer delivered was for the view asked at the time, never older than the last.
    generations = [a.generation for a in answers]
    assert generations == sorted(generations)


def test_late_answers_are_dropped(made: Any) -> None:
    query, reader, answers = made
    query.ask_now(IncidentFilter(), 40)
    wait(lambda: answers)
    answers.clear()
    assert not query.offer(QueueAnswer(IDS[:40], 1, partial=True))  # the head of what shows
    assert not query.offer(QueueAnswer(IDS[:3], 0))  # an earlier view
    query.ask(IncidentFilter(text="id-5"), 40)
    wait(lambda: any(a.generation == 2 and not a.partial for a in answers))
    assert not query.offer(QueueAnswer(IDS, 1))  # the whole list of the view before
    assert all(a.generation == 2 for a in answers)


def test_a_new_view_interrupts_the_whole_list_of_the_last(made: Any) -> None:
    query, reader, answers = made
    reader.hold.clear()  # the whole list of the first view takes its time
    query.ask_now(IncidentFilter(), 40)
    wait(lambda: reader.whole_reads)
    query.ask(IncidentFilter(text="id-7"), 40)  # the user asks something else
    wait(lambda: reader.interrupted.is_set())
    reader.hold.set()
    wait(lambda: any(a.generation == 2 and not a.partial for a in answers))
    time.sleep(0.1)
    assert [a.generation for a in answers if not a.partial] == [2]


def test_a_burst_of_synced_changes_is_read_once(made: Any) -> None:
    query, reader, answers = made
    query.ask_now(IncidentFilter(), 40)
    wait(lambda: answers)
    reads = len(reader.whole_reads)
    for _ in range(20):
        query.changed(IncidentFilter())
    wait(lambda: len(reader.whole_reads) > reads)
    time.sleep(0.2)
    assert len(reader.whole_reads) == reads + 1
    assert answers[-1].generation == query.generation and not answers[-1].partial


def test_changes_while_a_whole_list_is_read_make_one_more_read_after_it(made: Any) -> None:
    query, reader, answers = made
    query.ask_now(IncidentFilter(), 40)
    wait(lambda: answers)
    reader.hold.clear()
    query.changed(IncidentFilter())
    wait(lambda: len(reader.whole_reads) == 2)
    for _ in range(5):
        query.changed(replace(IncidentFilter(), text="id-1"))
    time.sleep(0.2)
    assert len(reader.whole_reads) == 2  # still reading: the changes wait for it
    reader.hold.set()
    wait(lambda: len(reader.whole_reads) == 3)
    assert reader.whole_reads[-1].text == "id-1"


def test_a_failed_read_is_answered_in_words(made: Any) -> None:
    query, reader, answers = made
    reader.fail = sqlite3.OperationalError("database is locked")
    answer = query.ask_now(IncidentFilter(), 40)
    assert answer is not None and answer.ids == []
    assert answer.error == "Reading the queue failed: OperationalError: database is locked"


def test_nothing_is_delivered_after_close(made: Any) -> None:
    query, reader, answers = made
    query.ask(IncidentFilter(), 40)
    query.close()
    time.sleep(0.2)
    assert not query.offer(QueueAnswer(IDS, 99))
    assert all(a.generation == 1 for a in answers)


def test_a_text_answer_says_when_the_search_index_is_being_built(fast: None,
                                                                 tmp_path: Any) -> None:
    """A first pull cut short (store/search.py): the real reader matches row by row, and
    the answers say so, the screen's title with them; with no text there is nothing to say."""
    from hostile import change_page, incident_snapshot

    from incidenttui.store import Store
    from incidenttui.store.reader import QueueReader

    store = Store(tmp_path / "s.db")
    snaps = [incident_snapshot(number=n, ref=f"INC-{n}", title=title)
             for n, title in ((1, "Checkout returns 502"), (2, "Search index lag"))]
    page = change_page([("incident", s) for s in snaps], more=True)
    store.apply_changes(page["changes"], page["cursor"], first_pull=True)
    assert store.search_stale()
    reader = QueueReader(store.path)
    answers: list[QueueAnswer] = []
    query = QueueQuery(lambda: reader, answers.append)
    try:
        first = query.ask_now(IncidentFilter(text="50"), 1)
        assert first is not None and first.ids == [snaps[0]["id"]] and first.search_building
        wait(lambda: answers)
        assert answers[0].ids == [snaps[0]["id"]] and answers[0].search_building
        plain = query.ask_now(IncidentFilter(), 40)
        assert plain is not None and len(plain.ids) == 2 and not plain.search_building
        assert store.fill_search_index()
        filled = query.ask_now(IncidentFilter(text="50"), 40)
        assert filled is not None and filled.ids == [snaps[0]["id"]]
        assert not filled.search_building
    finally:
        query.close()
        reader.close()
        store.close()
