"""The change feed's cursor tokens (server/cursors.py): opaque, authenticated, fresh each time;
and the integer cursors of stores synced before them, still taken up to the legacy horizon
that migration 0009 records (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from apihelpers import API, assert_error, create, feed_seqs, read_feed
from servers import DATABASES, LiveServer
from sqlalchemy import text

from incidenttui.server.cursors import (
    TOKEN_LENGTH,
    BadCursor,
    CursorCodec,
    UnknownCursor,
    load_codec,
)


def codec(horizon: int = 0, secret: bytes = b"k" * 32) -> CursorCodec:
    return CursorCodec(secret, horizon)


@pytest.mark.parametrize("seq", [0, 1, 1041, 2**40, 2**63 - 1])
def test_a_token_decodes_to_its_position_and_is_new_every_time(seq: int) -> None:
    tokens = {codec().encode(seq) for _ in range(20)}
    assert len(tokens) == 20
    assert {len(t) for t in tokens} == {TOKEN_LENGTH}
    assert {codec().decode(t) for t in tokens} == {seq}


def test_tokens_of_near_and_far_positions_look_alike() -> None:
    """Same length and alphabet; no byte of the position readable: the sealed position of
    two tokens for the same seq differs (a fresh nonce each)."""
    a, b = codec().encode(7), codec().encode(7)
    raw_a, raw_b = (base64.urlsafe_b64decode(t[3:] + "=" * (-len(t[3:]) % 4)) for t in (a, b))
    assert raw_a[12:20] != raw_b[12:20]
    assert len(codec().encode(1)) == len(codec().encode(2**62))


def test_a_changed_forged_or_foreign_token_is_refused() -> None:
    token = codec().encode(1234)
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    sealed = list(token)
    sealed[20] = "A" if sealed[20] != "A" else "B"
    for bad in (flipped, "".join(sealed), token[:-1], token + "A", "c1." + "A" * 50,
                "c2" + token[2:], "", "-1", "1.5", "abc", str(2**62 + 1), "9" * 20):
        with pytest.raises(BadCursor):
            codec(horizon=2**62).decode(bad)
    with pytest.raises(BadCursor):  # another server's secret
        codec(secret=b"x" * 32).decode(token)


def test_integer_cursors_are_taken_up_to_the_horizon() -> None:
    old = codec(horizon=500)
    assert old.decode("0") == 0 and old.decode("499") == 499 and old.decode("500") == 500
    with pytest.raises(UnknownCursor):
        old.decode("501")


# -- against the server ----------------------------------------------------------------------


@pytest.fixture(params=DATABASES)
def fresh(request, make_server: Callable[[str], LiveServer]) -> LiveServer:
    return make_server(request.param)


def test_a_store_synced_before_the_tokens_resumes_where_it_was(fresh: LiveServer) -> None:
    """A client store holding an integer cursor (an older server's seq) resumes after it:
    nothing skipped, nothing sent again; its next cursor is a token. Past the horizon (the
    feed's head at the upgrade) an integer is refused: no client could hold one."""
    with fresh.client() as rita:
        first = create(rita)
        second = create(rita)
    with fresh.database.write() as session:
        seqs = session.execute(text(
            "SELECT seq FROM changes WHERE incident_id = :i ORDER BY seq"),
            {"i": first["id"]}).scalars().all()
        head = session.execute(text("SELECT max(seq) FROM changes")).scalar()
        held = max(seqs)  # the old client had read up to the first incident
        # as if the database had been upgraded now: the head is the horizon
        session.execute(text("UPDATE server_secrets SET value = :h "
                             "WHERE name = 'feed_legacy_horizon'"), {"h": str(head)})
    with fresh.client() as rita:
        # (the server reads its codec with the first page it serves: this one)
        changes, cursor = read_feed(rita, held)
        assert {c["id"] for c in changes if c["entity"] == "incident"} == {second["id"]}
        assert feed_seqs(fresh.database, changes) == list(range(held + 1, head + 1))
        assert cursor.startswith("c1.") and read_feed(rita, cursor)[0] == []
        assert_error(rita.get(f"{API}/changes", params={"cursor": head + 1}), 410, "cursor")


def test_a_token_past_the_feed_is_gone_and_a_forged_one_is_bad(fresh: LiveServer) -> None:
    """A token from a feed longer than this one (the database was restored from an older
    backup) is answered 410; a token not made with this database's key, 422."""
    with fresh.client() as rita:
        create(rita)
        _, cursor = read_feed(rita, 0)
        mine = load_codec(fresh.database)
        ahead = mine.encode(mine.decode(cursor) + 10)
        assert_error(rita.get(f"{API}/changes", params={"cursor": ahead}), 410, "cursor",
                     contains="reset the local store")
        foreign = CursorCodec(b"another database", 0).encode(1)
        assert_error(rita.get(f"{API}/changes", params={"cursor": foreign}), 422, "cursor")


@pytest.mark.parametrize("kind", DATABASES)
def test_migration_0009_keeps_numbers_and_records_the_horizon(db_url, kind) -> None:
    """An older database: its incidents keep their INC numbers, the horizon is its feed's
    head, a key is made; new restricted incidents are numbered SEC-1, SEC-2, ..."""
    from incidenttui.server.db import Database
    from incidenttui.server.migrate import upgrade

    db = Database(db_url(kind))
    try:
        upgrade(db.write_engine, "0005")
        with db.write_engine.begin() as conn:
            for n in range(3):
                conn.execute(text(
                    "INSERT INTO incidents (id, number, title, description, service, category, "
                    "impact, urgency, priority, status, escalation_level, management_engaged, "
                    "major, created_at, updated_at, hold_seconds, reopen_count, links, version, "
                    "field_versions, restricted) VALUES (:id, :n, 't', '', 'checkout', "
                    "'availability', 2, 2, 3, 'new', 1, false, false, :at, :at, 0, 0, '[]', 1, "
                    "'{}', false)"), {"id": f"00000000-0000-4000-8000-00000000000{n}",
                                       "n": 1001 + n, "at": "2026-12-01 10:00:00"})
                conn.execute(text("INSERT INTO changes (at, entity, entity_id, data, restricted) "
                                  "VALUES (:at, 'team', :id, '{}', false)"),
                             {"at": "2026-12-01 10:00:00", "id": f"t{n}"})
            head = conn.execute(text("SELECT max(seq) FROM changes")).scalar()
        upgrade(db.write_engine)
        with db.read() as session:
            values = dict(session.execute(text(
                "SELECT name, value FROM server_secrets")).all())
            rows = session.execute(text(
                "SELECT series, number FROM incidents ORDER BY number")).all()
        assert values["feed_legacy_horizon"] == str(head)
        assert len(bytes.fromhex(values["feed_cursor_key"])) == 32
        assert [tuple(r) for r in rows] == [("INC", 1001), ("INC", 1002), ("INC", 1003)]
        assert load_codec(db).horizon == head
        from incidenttui.server.service import SEC, next_number

        with db.write() as session:
            assert [next_number(session, SEC) for _ in range(2)] == [1, 2]
    finally:
        db.dispose()
