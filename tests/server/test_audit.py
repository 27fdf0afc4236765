"""The audit log's hash chain: appends chain, verify finds every kind of tampering (by raw SQL,
as someone with database access would do it), concurrent writers keep one chain, and the
JSON-lines export verifies offline. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from servers import DATABASES
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from incidenttui.server import audit
from incidenttui.server.audit import GENESIS, Head, Origin
from incidenttui.server.changes import record_changes
from incidenttui.server.db import Database
from incidenttui.server.migrate import alembic_config, upgrade

WHO = Origin(actor="amira", token_id="tok-1", token_name="laptop", client="incidenttui/1.0")
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, db_url) -> Iterator[Database]:
    database = Database(db_url(request.param))
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


def fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        with db.write() as session:
            audit.append(session, WHO, "incident.note", "incident", f"inc-{i}",
                         {"text": f"note {i}", "n": i, "nested": {"b": [1, 2], "a": None}},
                         at=T0 + timedelta(seconds=i))


def check(db: Database, anchor: Head | None = None) -> audit.VerifyResult:
    with db.read() as session:
        return audit.verify(session, anchor)


def sql(db: Database, statement: str, **params: object) -> None:
    with db.write_engine.begin() as conn:
        conn.execute(text(statement), params)


# -- the chain -------------------------------------------------------------------------------


def test_an_empty_log_verifies(db: Database) -> None:
    result = check(db)
    assert result.ok and result.entries == 0 and result.head == Head(0, GENESIS)


def test_appends_chain_and_verify(db: Database) -> None:
    fill(db, 5)
    with db.read() as session:
        rows = session.execute(text("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")
                               ).all()
        recorded = audit.head(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert recorded == Head(5, rows[-1].hash)
    result = check(db)
    assert result.ok, result.reason
    assert result.entries == 5 and result.head == recorded and result.broken_at is None


def test_an_entry_keeps_who_what_and_how(db: Database) -> None:
    with db.write() as session:
        entry = audit.append(session, WHO, "token.revoke", "token", "tok-9", {"why": "lost"},
                             at=datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=2))))
    with db.read() as session:
        [record] = list(audit._records(session))
    assert record == audit.as_record(entry)
    assert record["at"] == "2026-12-03T08:00:00.000000+00:00"
    assert (record["actor"], record["token_id"], record["token_name"], record["client"]) == (
        "amira", "tok-1", "laptop", "incidenttui/1.0")
    assert record["hash"] == audit.entry_hash(GENESIS, record)


def test_a_long_client_is_cut_and_a_naive_time_refused(db: Database) -> None:
    with db.write() as session:
        entry = audit.append(session, Origin("amira", client="x" * 5000), "a", "b")
    assert entry.client == "x" * audit.CLIENT_MAX
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        audit.append(session, WHO, "a", "b", at=datetime(2026, 1, 1))
    assert check(db).ok


def test_an_append_rolled_back_leaves_no_trace(db: Database) -> None:
    fill(db, 2)
    with pytest.raises(RuntimeError), db.write() as session:
        audit.append(session, WHO, "incident.create", "incident", "x")
        raise RuntimeError("the change failed")
    fill(db, 1)
    result = check(db)
    assert result.ok and result.entries == 3


def test_appends_and_change_feed_in_one_transaction(db: Database) -> None:
    # Both take the feed lock on PostgreSQL; in either order, in one transaction, no deadlock.
    with db.write() as session:
        audit.append(session, WHO, "incident.note", "incident", "a")
        record_changes(session, [("incident", "a", {"id": "a"})])
        audit.append(session, WHO, "incident.note", "incident", "a")
    assert check(db).entries == 2


# -- tampering -------------------------------------------------------------------------------


def test_a_changed_detail_is_found(db: Database) -> None:
    fill(db)
    sql(db, "UPDATE audit_log SET detail = :d WHERE seq = 3", d=json.dumps({"text": "nothing"}))
    result = check(db)
    assert not result.ok and result.broken_at == 3 and "changed" in result.reason


@pytest.mark.parametrize("column", ["actor", "action", "entity_id", "client", "token_name"])
def test_any_changed_column_is_found(db: Database, column: str) -> None:
    fill(db)
    sql(db, f"UPDATE audit_log SET {column} = 'mallory' WHERE seq = 2")
    assert check(db).broken_at == 2


def test_a_changed_time_is_found(db: Database) -> None:
    fill(db)
    sql(db, "UPDATE audit_log SET at = :at WHERE seq = 4",
        at=datetime(2020, 1, 1, 0, 0))
    assert check(db).broken_at == 4


def test_a_removed_middle_entry_is_found(db: Database) -> None:
    fill(db)
    sql(db, "DELETE FROM audit_log WHERE seq = 3")
    result = check(db)
    assert not result.ok and result.broken_at == 3 and "missing" in result.reason


def test_a_removed_first_entry_is_found(db: Database) -> None:
    fill(db)
    sql(db, "DELETE FROM audit_log WHERE seq = 1")
    assert check(db).broken_at == 1


def test_renumbering_after_a_removal_is_found(db: Database) -> None:
    fill(db)
    sql(db, "DELETE FROM audit_log WHERE seq = 3")
    for seq in (4, 5):
        sql(db, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    sql(db, "UPDATE audit_head SET seq = 4")
    assert check(db).broken_at == 3


def test_two_swapped_entries_are_found(db: Database) -> None:
    fill(db)
    columns = ("at", "actor", "action", "entity", "entity_id", "detail", "prev_hash", "hash")
    with db.write_engine.begin() as conn:
        rows = {r.seq: r for r in conn.execute(text(
            f"SELECT seq, {', '.join(columns)} FROM audit_log WHERE seq IN (2, 4)"))}
        for seq, other in ((2, 4), (4, 2)):
            values = {c: getattr(rows[other], c) for c in columns}
            values["detail"] = json.dumps(values["detail"]) if not isinstance(
                values["detail"], str) else values["detail"]
            conn.execute(text(f"UPDATE audit_log SET {', '.join(f'{c} = :{c}' for c in columns)}"
                              " WHERE seq = :seq"), {**values, "seq": seq})
    result = check(db)
    assert not result.ok and result.broken_at == 2


def test_a_forged_entry_at_the_end_is_found(db: Database) -> None:
    fill(db, 3)
    with db.read() as session:
        last = audit.head(session)
    forged = {"seq": 4, "at": T0.isoformat(timespec="microseconds"), "actor": "mallory",
              "token_id": None, "token_name": None, "client": None, "action": "user.create",
              "entity": "user", "entity_id": "mallory", "detail": {}, "prev_hash": last.hash}
    forged["hash"] = audit.entry_hash(last.hash, forged)  # a well-made row, but the head
    sql(db, "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, detail, "
            "prev_hash, hash) VALUES (4, :at, 'mallory', 'user.create', 'user', 'mallory', "
            "'{}', :prev, :hash)", at=T0.replace(tzinfo=None), prev=last.hash,
        hash=forged["hash"])
    result = check(db)
    assert not result.ok and result.broken_at == 4 and "added" in result.reason


def test_a_forged_entry_in_the_middle_is_found(db: Database) -> None:
    fill(db, 3)
    sql(db, "UPDATE audit_log SET seq = seq + 10")
    sql(db, "UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13")  # 1, 3, 4 left; 2 is free
    sql(db, "UPDATE audit_log SET seq = 1 WHERE seq = 11")
    sql(db, "INSERT INTO audit_log (seq, at, actor, action, entity, detail, prev_hash, hash) "
            "VALUES (2, :at, 'mallory', 'x', 'y', '{}', :p, :h)",
        at=T0.replace(tzinfo=None), p=GENESIS, h=GENESIS)
    sql(db, "UPDATE audit_head SET seq = 4")
    assert check(db).broken_at == 2


def test_a_truncated_tail_is_found_against_the_head(db: Database) -> None:
    fill(db, 5)
    sql(db, "DELETE FROM audit_log WHERE seq >= 4")
    result = check(db)
    assert not result.ok and result.broken_at == 4 and "missing" in result.reason
    assert result.entries == 3


def test_a_removed_head_row_is_found(db: Database) -> None:
    fill(db, 2)
    sql(db, "DELETE FROM audit_head")
    assert check(db).broken_at == 1
    # appends refuse rather than start a second chain or hide a cut-off tail
    with pytest.raises(audit.AuditTampered), db.write() as session:
        audit.append(session, WHO, "incident.note", "incident", "x")


def test_a_rewrite_with_a_matching_head_shows_only_against_an_anchor(db: Database) -> None:
    fill(db, 3)
    anchor = check(db).head
    # The attacker recomputes every hash from entry 2 on and the head: verify alone passes...
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    with db.read() as session:
        records = list(audit._records(session))
    prev = records[0]["hash"]
    for record in records[1:]:
        record["prev_hash"] = prev
        record["hash"] = prev = audit.entry_hash(prev, record)
        sql(db, "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=record["prev_hash"], h=record["hash"], s=record["seq"])
    sql(db, "UPDATE audit_head SET hash = :h", h=prev)
    assert check(db).ok
    # ...but not against the head recorded elsewhere before the rewrite.
    result = check(db, anchor)
    assert not result.ok and result.broken_at == 3 and "anchor" in result.reason
    assert check(db, Head(1, records[0]["hash"])).ok  # before the rewrite: still sound


def test_an_anchor_beyond_the_log_is_found(db: Database) -> None:
    fill(db, 2)
    assert not check(db, Head(7, "f" * 64)).ok


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_appends_keep_one_chain(db: Database) -> None:
    threads, per_thread, errors = 6, 15, []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with db.write() as session:
                    audit.append(session, Origin(f"user-{n}"), "incident.note", "incident",
                                 f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors, errors
    result = check(db)
    assert result.ok, result.reason
    assert result.entries == threads * per_thread
    with db.read() as session:
        ids = [r["entity_id"] for r in audit._records(session)]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in range(threads) for i in range(per_thread))


def test_verify_while_others_append_sees_one_consistent_chain(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "BATCH", 3)  # many batches, appends landing between them
    fill(db, 10)
    stop, errors = threading.Event(), []

    def writer() -> None:
        try:
            while not stop.is_set():
                with db.write() as session:
                    audit.append(session, WHO, "incident.note", "incident", "busy")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        results = [check(db) for _ in range(15)]
    finally:
        stop.set()
        for worker in workers:
            worker.join(60)
    assert not errors, errors
    assert all(r.ok for r in results), [r.reason for r in results if not r.ok]
    assert check(db).ok


# -- export ----------------------------------------------------------------------------------


def test_export_writes_json_lines_that_verify(db: Database) -> None:
    fill(db, 4)
    out = io.StringIO()
    with db.read() as session:
        assert audit.export(session, out) == 4
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert first["seq"] == 1 and first["prev_hash"] == GENESIS and first["actor"] == "amira"
    assert audit.verify_export(lines).ok
    assert audit.verify_export(lines, check(db).head).ok
    edited = lines[:]
    edited[1] = edited[1].replace("note 1", "note X")
    assert audit.verify_export(edited).broken_at == 2
    assert audit.verify_export(lines[:2] + lines[3:]).broken_at == 3
    assert audit.verify_export(lines[:3], check(db).head).broken_at == 4  # cut-off tail


# -- the migration ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DATABASES)
def test_0003_upgrades_from_0002_matches_the_models_and_downgrades(db_url, kind: str) -> None:
    database = Database(db_url(kind))
    new = {"audit_log", "audit_head", "api_tokens", "incident_members"}
    try:
        upgrade(database.write_engine, "0002")
        assert not new & set(inspect(database.write_engine).get_table_names())
        upgrade(database.write_engine)
        assert new <= set(inspect(database.write_engine).get_table_names())
        with database.write_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
        with database.read() as session:
            assert audit.head(session) == Head(0, GENESIS)
        command.downgrade(alembic_config(database.write_engine), "0002")
        assert not new & set(inspect(database.write_engine).get_table_names())
    finally:
        database.dispose()
