"""The change feed over HTTP: ordered, complete, paginated, long-polling; and a concurrency
test where writers hammer the server while a reader follows the feed. SQLite and PostgreSQL.

The out-of-order-commit tests (PostgreSQL only) are in test_feed_commit_order.py.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from apihelpers import API, RESOLVE, create, feed_seqs, get, move, read_feed


@pytest.fixture
def api(server):
    with server.client("responder") as client:
        yield client


def end_of_feed(api) -> str:
    _, cursor = read_feed(api, 0)
    return cursor


def assert_ordered(server, changes: list[dict]) -> None:
    """In the feed's order (white-box: the wire carries no seq)."""
    seqs = feed_seqs(server.database, changes)
    assert seqs == sorted(set(seqs)), "seqs must be strictly increasing"


def test_every_write_appears_in_order_with_snapshots(server, api):
    cursor = end_of_feed(api)
    incident = create(api)
    move(api, incident["id"], "acknowledge")
    note = api.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "n"}).json()
    move(api, incident["id"], "resolve", RESOLVE)
    changes, new_cursor = read_feed(api, cursor)
    assert_ordered(server, changes)
    assert all(set(c) == {"entity", "id", "data"} for c in changes)  # no seq to difference
    assert read_feed(api, new_cursor)[0] == []
    snapshots = [c["data"] for c in changes if c["entity"] == "incident"]
    assert [s["version"] for s in snapshots] == [1, 2, 3, 4]
    assert [s["status"] for s in snapshots] == ["new", "acknowledged", "acknowledged",
                                                "resolved"]
    detail = get(api, incident["id"])
    latest = {k: v for k, v in detail.items() if k != "timeline"}
    assert snapshots[-1] == latest
    events = {c["id"]: c["data"] for c in changes if c["entity"] == "event"}
    assert set(events) == {e["id"] for e in detail["timeline"]}
    assert events[note["id"]] == note
    # Within one write the incident's snapshot comes with its events.
    kinds = [(c["entity"], c["data"].get("kind")) for c in changes]
    assert kinds[:2] in ([("incident", None), ("event", "created")],
                         [("event", "created"), ("incident", None)])


def test_refused_writes_leave_no_trace_in_the_feed(api):
    incident = create(api)
    cursor = end_of_feed(api)
    assert api.post(f"{API}/incidents/{incident['id']}/close").status_code == 409
    assert api.patch(f"{API}/incidents/{incident['id']}",
                     json={"base_version": 1, "service": "nope"}).status_code == 422
    assert read_feed(api, cursor)[0] == []


def test_directory_changes_are_in_the_feed(server, api):
    cursor = end_of_feed(api)
    service_id = server.add_service()
    changes, _ = read_feed(api, cursor)
    assert [(c["entity"], c["id"]) for c in changes] == [("service", service_id)]
    assert changes[0]["data"]["team_id"] == "platform"


def test_pages_follow_more_and_never_skip(api):
    cursor = end_of_feed(api)
    for _ in range(4):
        create(api)  # two changes each
    everything, end = read_feed(api, cursor)
    assert len(everything) == 8
    paged: list[dict] = []
    page_cursor = cursor
    pages = 0
    while True:
        page = api.get(f"{API}/changes", params={"cursor": page_cursor, "limit": 3}).json()
        pages += 1
        assert len(page["changes"]) <= 3
        paged += page["changes"]
        page_cursor = page["cursor"]
        if not page["more"]:
            break
        assert len(page["changes"]) == 3
    assert paged == everything and pages == 3
    assert read_feed(api, page_cursor)[0] == read_feed(api, end)[0] == []
    # Starting in the middle (a full page's cursor) gives exactly the rest.
    middle = api.get(f"{API}/changes", params={"cursor": cursor, "limit": 4}).json()
    assert middle["more"] and middle["changes"] == everything[:4]
    rest, _ = read_feed(api, middle["cursor"])
    assert rest == everything[4:]


def test_long_poll_with_nothing_new_returns_empty_after_wait(api):
    cursor = end_of_feed(api)
    started = time.monotonic()
    r = api.get(f"{API}/changes", params={"cursor": cursor, "wait": 1})
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    page = r.json()
    assert (page["changes"], page["more"]) == ([], False)
    assert page["cursor"] != cursor  # a fresh token, for the same position
    assert read_feed(api, page["cursor"])[0] == []
    assert 0.9 <= elapsed < 3.0, elapsed


def test_long_poll_with_changes_ready_returns_at_once(api):
    cursor = end_of_feed(api)
    create(api)
    started = time.monotonic()
    page = api.get(f"{API}/changes", params={"cursor": cursor, "wait": 20}).json()
    assert len(page["changes"]) == 2
    assert time.monotonic() - started < 1.0


def _long_poll_in_thread(server, cursor: str, wait: float) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def reader() -> None:
        with server.client("viewer") as client:
            result["started"] = time.monotonic()
            r = client.get(f"{API}/changes", params={"cursor": cursor, "wait": wait})
            result["returned"] = time.monotonic()
            result["response"] = r

    thread = threading.Thread(target=reader)
    thread.start()
    return thread, result


def test_long_poll_wakes_within_a_second_of_a_write(server, api):
    cursor = end_of_feed(api)
    thread, result = _long_poll_in_thread(server, cursor, wait=15)
    time.sleep(0.6)  # the reader is waiting now
    assert "returned" not in result
    incident = create(api)
    written = time.monotonic()
    thread.join(15)
    assert "returned" in result
    assert result["returned"] - written < 1.0, result["returned"] - written
    page = result["response"].json()
    assert incident["id"] in {c["id"] for c in page["changes"]}


def test_long_poll_sees_writes_from_another_replica(server, api):
    """A write that this server process did not make (another replica, the admin CLI) wakes
    the long-poll by its periodic re-read, still well within a second or so."""
    cursor = end_of_feed(api)
    thread, result = _long_poll_in_thread(server, cursor, wait=15)
    time.sleep(0.6)
    service_id = server.add_service()  # straight into the database, no notification
    written = time.monotonic()
    thread.join(15)
    assert result["returned"] - written < 1.5, result["returned"] - written
    assert [c["id"] for c in result["response"].json()["changes"]] == [service_id]


def test_concurrent_writers_and_a_long_polling_reader(server, api):
    """N threads create incidents and add notes over HTTP while a reader follows the feed
    with long-polls; the reader sees every change exactly once, in increasing seq order
    (white-box: the seqs are matched in the server's table)."""
    start = end_of_feed(api)
    writers, incidents_each, notes_each = 6, 3, 2
    made_incidents: list[str] = []
    made_notes: list[str] = []
    errors: list[str] = []
    writers_done = threading.Event()
    seen: list[dict] = []
    reader_error: list[BaseException] = []
    expected = writers * incidents_each * (1 + 1 + notes_each)  # created: snapshot + event
    expected += writers * incidents_each * notes_each  # each note re-snapshots the incident

    def writer(n: int) -> None:
        rng = random.Random(n)
        with server.client() as client:
            for _ in range(incidents_each):
                r = client.post(f"{API}/incidents", json={
                    "id": f"{n:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
                    "title": f"writer {n}", "service": "checkout", "category": "performance",
                    "impact": rng.randint(1, 3), "urgency": rng.randint(1, 3)})
                if r.status_code != 201:
                    errors.append(r.text)
                    continue
                made_incidents.append(r.json()["id"])
                for j in range(notes_each):
                    note = client.post(f"{API}/incidents/{r.json()['id']}/notes",
                                       json={"text": f"note {j} from {n}"})
                    if note.status_code != 201:
                        errors.append(note.text)
                    else:
                        made_notes.append(note.json()["id"])

    def reader() -> None:
        cursor = start
        deadline = time.monotonic() + 90
        try:
            with server.client("viewer") as client:
                while time.monotonic() < deadline:
                    r = client.get(f"{API}/changes",
                                   params={"cursor": cursor, "limit": 7, "wait": 2})
                    assert r.status_code == 200, r.text
                    page = r.json()
                    seen.extend(page["changes"])
                    cursor = page["cursor"]
                    if writers_done.is_set() and len(seen) >= expected and not page["more"]:
                        return
            raise AssertionError("the reader did not catch up in time")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            reader_error.append(exc)

    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    writers_done.set()
    reader_thread.join(120)
    assert not errors, errors[:3]
    assert not reader_error, reader_error
    seqs = feed_seqs(server.database, seen)
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), "exactly once, in order"
    everything, _ = read_feed(api, start)
    assert seen == everything, "nothing skipped"
    assert len(seen) == expected
    assert {c["id"] for c in seen if c["entity"] == "incident"} == set(made_incidents)
    note_ids = {c["id"] for c in seen if c["entity"] == "event" and c["data"]["kind"] == "note"}
    assert note_ids == set(made_notes)
