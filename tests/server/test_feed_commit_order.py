"""The change feed never skips a change when PostgreSQL transactions commit out of order.

Sequence values are handed out at INSERT time, but become visible at COMMIT. Without care a
reader can see seq N+1 (committed) while N is still in flight, move its cursor past N, and
never see N. The server prevents this by taking a database-wide advisory lock before it takes
its change seqs (``record_changes``), held until commit, so seqs are handed out in commit order.

These tests drive real write transactions of the server's own code (``Writer`` and
``record_changes`` on a ``Database``) from threads, with events to force the commit order,
while a reader follows the live server's feed over HTTP. A control test shows that the same
scenario without the lock does skip, so the harness can see the bug it guards against.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from apihelpers import API, create, feed_seqs, read_feed
from servers import threaded_server
from sqlalchemy import text

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(db_url):
    with threaded_server("postgres", db_url("postgres")) as live:
        yield live


@pytest.fixture
def api(pg_server):
    with pg_server.client("viewer") as client:
        yield client


def in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def waiting_on_advisory_lock(pg_server) -> int:
    """How many sessions of this database wait on an advisory lock right now."""
    with pg_server.database.read() as session:
        return int(session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")).scalar_one())


def note_writer(pg_server, incident_id: str, text_: str, *, after_rows: threading.Event | None
                = None, before_finish: threading.Event | None = None,
                after_finish: threading.Event | None = None,
                before_commit: threading.Event | None = None,
                done: threading.Event | None = None) -> Callable[[], None]:
    """A server write (a note) in one transaction, pausing where the events say."""
    from incidenttui.api.schemas import NoteBody
    from incidenttui.server.models import User
    from incidenttui.server.service import Writer, find_incident

    def run() -> None:
        with pg_server.database.write() as session:
            actor = session.get(User, pg_server.users["responder"])
            writer = Writer(session, actor)
            incident = find_incident(session, incident_id, for_update=True)
            writer.note(incident, NoteBody(text=text_))
            session.flush()  # the incident and event rows are written, the feed not yet
            if after_rows:
                after_rows.set()
            if before_finish:
                assert before_finish.wait(30)
            writer.finish()  # takes the feed lock and the change seqs
            if after_finish:
                after_finish.set()
            if before_commit:
                assert before_commit.wait(30)
        if done:
            done.set()

    return run


class FeedReader:
    """Follows the live feed over HTTP like a client: cursor only moves forward."""

    def __init__(self, client, cursor: str) -> None:
        self.client, self.cursor, self.seen = client, cursor, []

    def poll(self) -> list[dict]:
        page = self.client.get(f"{API}/changes", params={"cursor": self.cursor,
                                                         "limit": 1000}).json()
        self.seen += page["changes"]
        self.cursor = page["cursor"]
        return page["changes"]


def committed_after(pg_server, after: int) -> list[int]:
    with pg_server.database.read() as session:
        return [int(s) for s in session.execute(text(
            "SELECT seq FROM changes WHERE seq > :c ORDER BY seq"), {"c": after}).scalars()]


def head_seq(pg_server) -> int:
    """White-box: the feed's last seq (the wire's cursor is an opaque token)."""
    with pg_server.database.read() as session:
        return int(session.execute(text("SELECT coalesce(max(seq), 0) FROM changes")).scalar())


def seen_seqs(pg_server, reader: FeedReader) -> list[int]:
    return feed_seqs(pg_server.database, reader.seen)


def test_a_writer_holding_seqs_blocks_later_writers_until_it_commits(pg_server, api):
    """A takes its seqs first and commits last-possible; B, ready to commit meanwhile, must
    wait for A; the reader sees neither until A commits, then A's changes before B's."""
    with pg_server.client() as client:
        x, y = create(client), create(client)
    reader = FeedReader(api, read_feed(api, 0)[1])
    start = head_seq(pg_server)
    a_recorded, a_commit, b_rows, b_done = (threading.Event() for _ in range(4))
    a_thread, a_errors = in_thread(note_writer(pg_server, x["id"], "A", after_finish=a_recorded,
                                               before_commit=a_commit))
    assert a_recorded.wait(15)
    b_thread, b_errors = in_thread(note_writer(pg_server, y["id"], "B", after_rows=b_rows,
                                               done=b_done))
    assert b_rows.wait(15)
    deadline = time.monotonic() + 10
    while waiting_on_advisory_lock(pg_server) < 1:  # B is now blocked on the feed lock
        assert time.monotonic() < deadline, "B never waited on the feed lock"
        time.sleep(0.02)
    for _ in range(5):
        assert reader.poll() == [], "nothing is committed yet"
        time.sleep(0.05)
    assert not b_done.is_set(), "B committed while A held the feed lock"
    a_commit.set()
    a_thread.join(15)
    b_thread.join(15)
    assert not a_errors and not b_errors, (a_errors, b_errors)
    while reader.poll():
        pass
    texts = [c["data"]["text"] for c in reader.seen if c["entity"] == "event"]
    assert texts == ["A", "B"]
    assert seen_seqs(pg_server, reader) == committed_after(pg_server, start)


def test_a_writer_that_wrote_first_but_records_last_is_not_skipped(pg_server, api):
    """A writes its rows first, B writes, records and commits, then A records and commits:
    B's change comes first in the feed, A's after it, and the reader sees both."""
    with pg_server.client() as client:
        x, y = create(client), create(client)
    reader = FeedReader(api, read_feed(api, 0)[1])
    start = head_seq(pg_server)
    a_rows, a_go = threading.Event(), threading.Event()
    a_thread, a_errors = in_thread(note_writer(pg_server, x["id"], "A", after_rows=a_rows,
                                               before_finish=a_go))
    assert a_rows.wait(15)
    b_thread, b_errors = in_thread(note_writer(pg_server, y["id"], "B"))
    b_thread.join(15)
    assert not b_errors, b_errors
    assert [c["data"].get("text") for c in reader.poll() if c["entity"] == "event"] == ["B"]
    a_go.set()
    a_thread.join(15)
    assert not a_errors, a_errors
    assert [c["data"].get("text") for c in reader.poll() if c["entity"] == "event"] == ["A"]
    assert seen_seqs(pg_server, reader) == committed_after(pg_server, start)


def test_without_the_feed_lock_a_reader_would_skip(pg_server, api):
    """Control: raw transactions that take seqs WITHOUT the advisory lock do make a reader
    skip a change. This is the failure the other tests would catch."""
    import psycopg
    from pgcluster import to_libpq

    reader = FeedReader(api, read_feed(api, 0)[1])
    insert = ("INSERT INTO changes (at, entity, entity_id, data) "
              "VALUES (now(), 'team', %s, '{}') RETURNING seq")
    url = to_libpq(pg_server.db_url)
    with psycopg.connect(url) as a, psycopg.connect(url) as b:
        seq_a = a.execute(insert, (f"probe-a-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
        seq_b = b.execute(insert, (f"probe-b-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
        assert seq_a < seq_b
        b.commit()
        assert feed_seqs(pg_server.database, reader.poll()) == [seq_b]  # passes seq_a ...
        a.commit()
    assert reader.poll() == []  # ... so seq_a is never seen
    assert seq_a not in seen_seqs(pg_server, reader)


def test_with_the_feed_lock_the_same_raw_scenario_does_not_skip(pg_server, api):
    """The same raw transactions following the server's protocol (advisory lock first)."""
    import psycopg
    from pgcluster import to_libpq

    from incidenttui.server.changes import FEED_LOCK_ID

    reader = FeedReader(api, read_feed(api, 0)[1])
    start = head_seq(pg_server)
    lock = "SELECT pg_advisory_xact_lock(%s)"
    insert = ("INSERT INTO changes (at, entity, entity_id, data) "
              "VALUES (now(), 'team', %s, '{}') RETURNING seq")
    url = to_libpq(pg_server.db_url)
    b_seq: list[int] = []
    with psycopg.connect(url) as a:
        a.execute(lock, (FEED_LOCK_ID,))
        seq_a = a.execute(insert, ("probe-a",)).fetchone()[0]

        def txn_b() -> None:
            with psycopg.connect(url) as b:
                b.execute(lock, (FEED_LOCK_ID,))
                b_seq.append(b.execute(insert, ("probe-b",)).fetchone()[0])

        b_thread, b_errors = in_thread(txn_b)
        time.sleep(0.3)
        assert not b_seq, "B got a seq while A held the lock"
        assert reader.poll() == []
        a.commit()
    b_thread.join(15)
    assert not b_errors, b_errors
    while reader.poll():
        pass
    assert seen_seqs(pg_server, reader) == [seq_a, b_seq[0]]
    assert committed_after(pg_server, start) == [seq_a, b_seq[0]]


def test_random_commit_orders_never_make_the_reader_skip(pg_server, api):
    """Many writers pause at random points of their transactions (before taking seqs, and
    between taking seqs and committing) while a reader polls without waiting; at the end it
    has seen exactly the committed changes, in order, each once."""
    with pg_server.client() as client:
        incidents = [create(client)["id"] for _ in range(4)]
    reader = FeedReader(api, read_feed(api, 0)[1])
    start = head_seq(pg_server)
    stop = threading.Event()
    reader_errors: list[BaseException] = []

    def follow() -> None:
        try:
            with pg_server.client("viewer") as client:
                own = FeedReader(client, reader.cursor)
                while not stop.is_set():
                    own.poll()
                    time.sleep(0.002)
                own.poll()
                reader.seen = own.seen
                reader.cursor = own.cursor
        except BaseException as exc:  # noqa: BLE001
            reader_errors.append(exc)

    from incidenttui.api.schemas import NoteBody
    from incidenttui.server.models import User
    from incidenttui.server.service import Writer, find_incident

    def writer(n: int) -> None:
        rng = random.Random(n)
        for i in range(5):
            with pg_server.database.write() as session:
                w = Writer(session, session.get(User, pg_server.users["responder"]))
                incident = find_incident(session, rng.choice(incidents[n % 2::2]),
                                         for_update=True)
                w.note(incident, NoteBody(text=f"{n}-{i}"))
                session.flush()
                time.sleep(rng.random() * 0.03)
                w.finish()
                time.sleep(rng.random() * 0.03)

    follower, _ = in_thread(follow)
    threads = [in_thread(lambda n=n: writer(n)) for n in range(6)]
    for thread, errors in threads:
        thread.join(60)
        assert not errors, errors
    stop.set()
    follower.join(30)
    assert not reader_errors, reader_errors
    seqs = seen_seqs(pg_server, reader)
    assert seqs == committed_after(pg_server, start)
    assert len(seqs) == 6 * 5 * 2  # each note: the incident's snapshot and the event
