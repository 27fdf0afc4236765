"""Named API tokens: several per user, expiry, revocation that holds at once (also seen from
another connection, as another replica would), and lookups that refuse the rest.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from servers import DATABASES

from incidenttui.server import tokens
from incidenttui.server.auth import hash_token
from incidenttui.server.db import Database
from incidenttui.server.models import User

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, db_url) -> Iterator[Database]:
    database = Database(db_url(request.param))
    database.migrate()
    with database.write() as session:
        session.add(User(id="amira", display_name="Amira", role="responder"))
        session.add(User(id="tom", display_name="Tom", role="viewer"))
        session.add(User(id="gone", display_name="Gone", role="responder", active=False))
    try:
        yield database
    finally:
        database.dispose()


def make(db: Database, user: str = "amira", name: str = "laptop", now: datetime = NOW,
         **kw) -> tuple[str, str]:
    with db.write() as session:
        token, secret = tokens.create_token(session, user, name, now=now, **kw)
        return token.id, secret


def find(db: Database, secret: str, now: datetime = NOW) -> tokens.TokenMatch | None:
    with db.read() as session:
        return tokens.lookup(session, secret, now=now)


def test_several_named_tokens_per_user(db: Database) -> None:
    laptop_id, laptop = make(db, name="laptop")
    jump_id, jump = make(db, name="jump host", now=NOW + timedelta(seconds=1),
                         expires_at=NOW + timedelta(days=30))
    assert laptop != jump and laptop.startswith("itui_")
    for secret, token_id in ((laptop, laptop_id), (jump, jump_id)):
        match = find(db, secret)
        assert match is not None and match.user.id == "amira" and match.token.id == token_id
    with db.read() as session:
        listed = tokens.list_tokens(session, "amira")
        assert [t.name for t in listed] == ["laptop", "jump host"]
        assert listed[1].expires_at == NOW + timedelta(days=30)
        assert tokens.list_tokens(session, "tom") == []
        assert len(tokens.list_tokens(session)) == 2


def test_only_the_hash_is_stored(db: Database) -> None:
    token_id, secret = make(db)
    with db.read() as session:
        row = session.get(tokens.ApiToken, token_id)
    assert row is not None and row.token_hash == hash_token(secret)
    assert secret not in repr(row.model_dump())


def test_a_revoked_token_fails_at_once_also_on_another_connection(db: Database) -> None:
    token_id, secret = make(db)
    other = Database(db.url)  # another replica's engine on the same database
    try:
        with other.read() as session:
            assert tokens.lookup(session, secret, now=NOW) is not None
        with db.write() as session:
            revoked = tokens.revoke_token(session, token_id, now=NOW + timedelta(minutes=1))
            assert revoked.state(NOW + timedelta(minutes=1)) == "revoked"
        with other.read() as session:
            assert tokens.lookup(session, secret, now=NOW + timedelta(minutes=1)) is None
    finally:
        other.dispose()
    assert find(db, secret, NOW + timedelta(minutes=1)) is None


def test_revoking_twice_keeps_the_first_time(db: Database) -> None:
    token_id, _ = make(db)
    with db.write() as session:
        tokens.revoke_token(session, token_id, now=NOW)
    with db.write() as session:
        assert tokens.revoke_token(session, token_id, now=NOW + timedelta(hours=1)
                                   ).revoked_at == NOW


def test_a_user_may_revoke_only_their_own(db: Database) -> None:
    token_id, secret = make(db)
    with pytest.raises(tokens.TokenNotFound), db.write() as session:
        tokens.revoke_token(session, token_id, user_id="tom")
    with pytest.raises(tokens.TokenNotFound), db.write() as session:
        tokens.revoke_token(session, "no-such-token")
    assert find(db, secret) is not None


def test_an_expired_token_fails(db: Database) -> None:
    _, secret = make(db, expires_at=NOW + timedelta(hours=1))
    assert find(db, secret, NOW + timedelta(minutes=59)) is not None
    assert find(db, secret, NOW + timedelta(hours=1)) is None
    assert find(db, secret, NOW + timedelta(days=1)) is None


def test_a_deactivated_users_tokens_fail(db: Database) -> None:
    _, secret = make(db)
    with db.write() as session:
        user = session.get(User, "amira")
        assert user is not None
        user.active = False
        session.add(user)
    assert find(db, secret) is None


def test_revoke_all(db: Database) -> None:
    secrets = [make(db, name=f"t{i}")[1] for i in range(3)]
    _, toms = make(db, user="tom")
    with db.write() as session:
        assert tokens.revoke_all(session, "amira", now=NOW) == 3
    with db.write() as session:
        assert tokens.revoke_all(session, "amira", now=NOW) == 0
    assert all(find(db, s) is None for s in secrets)
    assert find(db, toms) is not None


@pytest.mark.parametrize("secret", ["", "itui_" + "x" * 43, "x" * 5000, "\x00"])
def test_unknown_or_malformed_secrets_fail(db: Database, secret: str) -> None:
    make(db)
    assert find(db, secret) is None


@pytest.mark.parametrize(("user", "name", "expires", "words"), [
    ("nobody", "laptop", None, "no active user"),
    ("gone", "laptop", None, "no active user"),
    ("amira", "   ", None, "1 to 200"),
    ("amira", "x" * 201, None, "1 to 200"),
    ("amira", "laptop", NOW, "future"),
    ("amira", "laptop", NOW - timedelta(seconds=1), "future"),
])
def test_create_refusals_in_words(db: Database, user: str, name: str,
                                  expires: datetime | None, words: str) -> None:
    with pytest.raises(ValueError, match=words), db.write() as session:
        tokens.create_token(session, user, name, expires_at=expires, now=NOW)


def test_a_name_in_use_is_refused_until_that_token_is_revoked_or_expired(db: Database) -> None:
    token_id, _ = make(db, name="laptop")
    with pytest.raises(ValueError, match="already has a token named"):
        make(db, name="laptop")
    with db.write() as session:
        tokens.revoke_token(session, token_id, now=NOW)
    make(db, name="laptop")
    make(db, name="ci", expires_at=NOW + timedelta(seconds=1))
    with db.write() as session:  # expired by now: the name is free again
        tokens.create_token(session, "amira", "ci", now=NOW + timedelta(seconds=2))
    assert make(db, user="tom", name="laptop")  # names are per user


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        tokens.create_token(session, "amira", "x", now=datetime(2026, 1, 1))


def test_touch_records_last_use_at_most_once_a_minute(db: Database) -> None:
    token_id, _ = make(db)
    with db.write() as session:
        assert tokens.touch(session, token_id, now=NOW)
        assert not tokens.touch(session, token_id, now=NOW + timedelta(seconds=30))
        assert tokens.touch(session, token_id, now=NOW + timedelta(minutes=2))
    with db.read() as session:
        row = session.get(tokens.ApiToken, token_id)
    assert row is not None and row.last_used_at == NOW + timedelta(minutes=2)
