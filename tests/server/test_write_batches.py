"""Writes that share one group commit (server/writes.py): each job keeps its own answer, a
repeat of a key in the same batch replays the first answer, a refused job rolls back alone
(its answer still recorded for its Idempotency-Key), and a bug in one job leaves the others
committed. SQLite and PostgreSQL.

The batches are written with ``GroupCommit.write_batch`` on the server's database, so the
test knows which writes share a transaction; everything is read back over HTTP."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from apihelpers import API, create, get, read_feed

from incidenttui.api.schemas import ActionBody, IncidentPatch, NoteBody
from incidenttui.domain import Action
from incidenttui.server import writes
from incidenttui.server.auth import authenticate_token


@pytest.fixture
def api(server):
    with server.client("responder") as client:
        yield client


@pytest.fixture
def batch(server):
    """``batch(jobs)``: the outcomes of ``jobs`` written as one group commit."""
    state = SimpleNamespace(db=server.database)
    user = authenticate_token(server.database, server.tokens["responder"])

    def job(key: str | None, op: writes.Op) -> writes.Job:
        return writes.Job(user, key, f"fingerprint-{key}", op)

    def run(*jobs: writes.Job) -> list[writes.Outcome]:
        tickets = writes.commits(state).write_batch(list(jobs))
        return [t.outcome() for t in tickets]

    run.job = job  # type: ignore[attr-defined]
    return run


def note(incident: dict, text: str) -> writes.Op:
    return writes.on_incident(incident["id"], lambda w, i: w.event_snapshot(
        w.note(i, NoteBody(text=text))), status=201)


def retitle(incident: dict, title: str, base_version: int) -> writes.Op:
    body = IncidentPatch(title=title, base_version=base_version)
    return writes.on_incident(incident["id"], lambda w, i: w.snapshot(w.patch(i, body)))


def acknowledge(incident: dict) -> writes.Op:
    return writes.on_incident(incident["id"], lambda w, i: w.snapshot(
        w.act(i, Action.ACKNOWLEDGE, ActionBody())))


def test_a_batch_writes_every_job_and_a_repeated_key_replays_within_it(api, batch):
    a, c = create(api), create(api)
    _, cursor = read_feed(api, 0)
    k1, k2 = f"k-{uuid.uuid4()}", f"k-{uuid.uuid4()}"
    outcomes = batch(
        batch.job(k1, note(a, "pods restarted")),
        batch.job(k2, acknowledge(c)),
        batch.job(k1, note(a, "pods restarted")),
    )
    assert [status for status, _, _ in outcomes] == [201, 200, 201]
    assert outcomes[2] == (201, outcomes[0][1], {"Idempotent-Replayed": "true"})
    assert [e["text"] for e in get(api, a["id"])["timeline"]].count("pods restarted") == 1
    assert get(api, c["id"])["status"] == "acknowledged"
    changes, _ = read_feed(api, cursor)
    assert {ch["id"] for ch in changes if ch["entity"] == "incident"} == {a["id"], c["id"]}
    # The feed rows of the batch, in job order: the note's incident first.
    incidents = [ch["id"] for ch in changes if ch["entity"] == "incident"]
    assert incidents == [a["id"], c["id"]]
    # Both keys were recorded with their answers.
    assert batch(batch.job(k2, acknowledge(c)))[0] == (200, outcomes[1][1],
                                                       {"Idempotent-Replayed": "true"})


def test_jobs_in_one_commit_keep_their_own_answers(api, batch):
    a, b, c = create(api), create(api), create(api)
    get(api, b["id"])
    api.patch(f"{API}/incidents/{b['id']}", json={"title": "Theirs", "base_version": 1})
    _, cursor = read_feed(api, 0)
    k1, k2 = f"k-{uuid.uuid4()}", f"k-{uuid.uuid4()}"
    outcomes = batch(
        batch.job(k1, note(a, "pods restarted")),
        batch.job(k2, retitle(b, "Mine", 1)),  # stale: 409
        batch.job(k1, note(a, "pods restarted")),  # the same key again: a replay
        batch.job(None, acknowledge(c)),
    )
    statuses = [status for status, _, _ in outcomes]
    assert statuses == [201, 409, 201, 200]
    assert outcomes[2][1] == outcomes[0][1]
    assert outcomes[2][2] == {"Idempotent-Replayed": "true"}
    assert outcomes[1][1]["conflicts"][0]["field"] == "title"

    assert [e["text"] for e in get(api, a["id"])["timeline"]].count("pods restarted") == 1
    assert get(api, b["id"])["title"] == "Theirs"
    assert get(api, c["id"])["status"] == "acknowledged"
    changed = {ch["id"] for ch in read_feed(api, cursor)[0] if ch["entity"] == "incident"}
    assert changed == {a["id"], c["id"]}  # the refused patch left nothing in the feed

    # The refusal was recorded for its key: a repeat answers the same, applies nothing.
    again = batch(batch.job(k2, retitle(b, "Mine", 1)))
    assert again[0][0] == 409 and again[0][2] == {"Idempotent-Replayed": "true"}


def test_a_bug_in_one_job_reaches_its_caller_and_the_others_commit(api, server, batch):
    a, c = create(api), create(api)

    def broken(writer, incident):  # type: ignore[no-untyped-def]
        writer.note(incident, NoteBody(text="half done"))
        raise RuntimeError("a bug in a write path")

    state = SimpleNamespace(db=server.database)
    tickets = writes.commits(state).write_batch([
        batch.job(None, note(a, "first")),
        batch.job(None, writes.on_incident(c["id"], broken)),
        batch.job(None, acknowledge(c)),
    ])
    assert tickets[0].outcome()[0] == 201
    with pytest.raises(RuntimeError, match="a bug"):
        tickets[1].outcome()
    assert tickets[2].outcome()[0] == 200
    timeline = [e["text"] for e in get(api, c["id"])["timeline"]]
    assert "half done" not in timeline
    assert [e["text"] for e in get(api, a["id"])["timeline"]].count("first") == 1


def test_a_batch_appends_its_audit_entries_in_job_order_and_the_chain_verifies(api, server,
                                                                                batch):
    from sqlmodel import col, select

    from incidenttui.server import audit
    from incidenttui.server.audit import AuditEntry

    a, c = create(api), create(api)
    with server.database.read() as session:
        before = audit.head(session).seq
    def audited(op: writes.Op, action: str) -> writes.Op:
        def run(writer):  # type: ignore[no-untyped-def]
            status, answer = op(writer)
            key = answer["incident_id"] if "incident_id" in answer else answer["id"]
            writer.audit(action, "incident", key)
            return status, answer
        return run

    batch(batch.job(None, audited(note(a, "first"), "incident.note")),
          batch.job(None, audited(acknowledge(c), "incident.acknowledge")),
          batch.job(None, audited(note(a, "second"), "incident.note")))
    with server.database.read() as session:
        entries = list(session.exec(select(AuditEntry).where(col(AuditEntry.seq) > before)
                                    .order_by(col(AuditEntry.seq))))
        assert audit.verify(session).broken_at is None
    assert [e.entity_id for e in entries] == [a["id"], c["id"], a["id"]]
    assert [e.seq for e in entries] == [before + 1, before + 2, before + 3]


def test_an_update_from_a_stale_version_fails_in_the_database_and_commits_nothing(api, batch):
    """The incident's UPDATE is checked against the version it was read at by the database
    itself (service._UPDATE_ROW), not by a row count read afterwards: on PostgreSQL the
    batch's COMMIT is queued behind the update in the same round trip, so only a failing
    statement can stop it. A write whose row moved on under it (a bug: the row is locked)
    leaves no trace; the other job of its batch commits."""
    a, c = create(api), create(api)
    events_before = len(get(api, c["id"])["timeline"])
    _, cursor = read_feed(api, 0)

    def stale(writer, incident):  # type: ignore[no-untyped-def]
        answer = writer.snapshot(writer.act(incident, Action.ACKNOWLEDGE, ActionBody()))
        incident.loaded_version += 5  # as if read at a version the row never had
        return answer

    outcomes = []
    for job in (batch.job(None, writes.on_incident(c["id"], stale)),
                batch.job(None, note(a, "beside it"))):
        try:
            outcomes.append(batch(job, batch.job(None, note(a, "in the same batch")))[0])
        except Exception as exc:  # the stale job's failure, as its caller gets it
            outcomes.append(exc)
    assert not isinstance(outcomes[0], tuple) or outcomes[0][0] >= 500
    assert outcomes[1][0] == 201
    stored = get(api, c["id"])
    assert stored["status"] == "new" and stored["version"] == c["version"]
    assert len(stored["timeline"]) == events_before
    texts = [e["text"] for e in get(api, a["id"])["timeline"]]
    assert texts.count("in the same batch") == 2 and "beside it" in texts
    changes, _ = read_feed(api, cursor)
    assert c["id"] not in {change.get("id") for change in changes}
    assert a["id"] in {change.get("id") for change in changes}


def test_an_audit_head_moved_by_another_writer_is_found_and_the_chain_holds(api, server,
                                                                             batch):
    """On PostgreSQL a batch chains its audit entries from the head its last commit left,
    without reading it (server/writes.py ``_HEADS``). Another writer's entries in between
    (another worker, an admin command) must not fork the chain: the database refuses the
    stale head, the batch is written again from the head read under the lock, and every
    entry lands once, in one unbroken chain."""
    from sqlmodel import col, select

    from incidenttui.server import audit
    from incidenttui.server.audit import AuditEntry, Origin

    a = create(api)

    def audited(text: str) -> writes.Job:
        def run(writer):  # type: ignore[no-untyped-def]
            status, answer = note(a, text)(writer)
            writer.audit("incident.note", "incident", a["id"])
            return status, answer
        run.incident = a["id"]  # type: ignore[attr-defined]
        return batch.job(None, run)

    assert batch(audited("first"))[0][0] == 201  # our commit leaves the head it wrote
    with server.database.write() as session:  # someone else appends meanwhile
        audit.append(session, Origin("admin"), "token.revoke", "token", "elsewhere")
    with server.database.read() as session:
        before = audit.head(session).seq
    outcomes = batch(audited("second"), audited("third"))
    assert [status for status, _, _ in outcomes] == [201, 201]
    with server.database.read() as session:
        assert audit.verify(session).broken_at is None
        entries = list(session.exec(select(AuditEntry).where(col(AuditEntry.seq) > before)
                                    .order_by(col(AuditEntry.seq))))
    assert [(e.seq, e.entity_id) for e in entries] == [(before + 1, a["id"]),
                                                       (before + 2, a["id"])]
    texts = [e["text"] for e in get(api, a["id"])["timeline"]]
    assert [texts.count(t) for t in ("first", "second", "third")] == [1, 1, 1]
