"""The directory's admin functions (the CLI's admin verbs call them): they validate, save and
record each change in the feed."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from incidenttui.server.admin import (
    AdminError,
    create_user_with_token,
    save_service,
    save_team,
)
from incidenttui.server.auth import hash_token
from incidenttui.server.db import Database
from incidenttui.server.models import Change, User
from incidenttui.server.tokens import list_tokens


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'admin.db'}")
    database.migrate()
    yield database
    database.dispose()


def feed(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        return [(c.entity, c.entity_id)
                for c in session.exec(select(Change).order_by(col(Change.seq))).all()]


def test_saves_are_recorded_in_the_feed(db):
    with db.write() as session:
        team = save_team(session, "platform", "Platform", 2)
        service = save_service(session, "checkout", "Checkout", "platform")
        user, token = create_user_with_token(session, "rita", "responder", "platform")
    assert (team.level, service.team_id, user.team_id) == (2, "platform", "platform")
    assert feed(db) == [("team", "platform"), ("service", "checkout"), ("user", "rita")]
    with db.write() as session:
        save_team(session, "platform", "Platform engineering", 3)
        again, new_token = create_user_with_token(session, "rita", "commander")
    assert new_token != token
    with db.read() as session:
        stored = session.get(User, "rita")
        assert stored is not None and stored.role == "commander"
        tokens = {t.token_hash: t for t in list_tokens(session, "rita")}
        assert tokens[hash_token(new_token)].name == "default"
        assert tokens[hash_token(new_token)].revoked_at is None
        assert tokens[hash_token(token)].revoked_at is not None  # re-issued: the old one goes
    assert feed(db)[-2:] == [("team", "platform"), ("user", "rita")]


@pytest.mark.parametrize("call,message", [
    (lambda s: save_team(s, "bad id", "x"), "invalid team id"),
    (lambda s: save_team(s, "ok", "   "), "invalid name"),
    (lambda s: save_team(s, "ok", "Ok", 7), "invalid level"),
    (lambda s: save_service(s, "svc", "Svc", "nope"), "unknown team 'nope'"),
    (lambda s: create_user_with_token(s, "x", "overlord"), "invalid role"),
    (lambda s: create_user_with_token(s, "x", "viewer", "nope"), "unknown team 'nope'"),
    (lambda s: create_user_with_token(s, "bad name!", "viewer"), "invalid user name"),
])
def test_bad_input_is_refused_and_nothing_is_recorded(db, call, message):
    with pytest.raises(AdminError, match=message), db.write() as session:
        call(session)
    assert feed(db) == []
