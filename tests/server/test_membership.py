"""The people added to an incident (who may see a restricted one). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from servers import DATABASES

from incidenttui.domain.permissions import can_see
from incidenttui.server import membership
from incidenttui.server.db import Database
from incidenttui.server.models import Incident, User

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
LEAK, OTHER = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"


def incident(id_: str, number: int) -> Incident:
    return Incident(id=id_, number=number, title="Leaked API key", service="checkout",
                    category="security", impact=1, urgency=1, priority=1, status="new",
                    created_at=NOW, updated_at=NOW)


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, db_url) -> Iterator[Database]:
    database = Database(db_url(request.param))
    database.migrate()
    with database.write() as session:
        session.add_all([User(id="rita", display_name="Rita", role="responder"),
                         User(id="vera", display_name="Vera", role="viewer"),
                         incident(LEAK, 1), incident(OTHER, 2)])
    try:
        yield database
    finally:
        database.dispose()


def test_add_list_and_remove(db: Database) -> None:
    with db.write() as session:
        assert membership.add_member(session, LEAK, "rita", added_by="sam", now=NOW)
        assert not membership.add_member(session, LEAK, "rita", added_by="sam", now=NOW)
        assert membership.add_member(session, LEAK, "vera", now=NOW + timedelta(seconds=1))
        assert membership.add_member(session, OTHER, "rita", now=NOW)
    with db.read() as session:
        assert [(m.user_id, m.added_by, m.added_at) for m in membership.members(session, LEAK)
                ] == [("rita", "sam", NOW), ("vera", None, NOW + timedelta(seconds=1))]
        assert membership.is_member(session, LEAK, "vera")
        assert membership.incidents_of(session, "rita") == {LEAK, OTHER}
        assert membership.incidents_of(session, "nobody") == set()
    with db.write() as session:
        assert membership.remove_member(session, LEAK, "vera")
        assert not membership.remove_member(session, LEAK, "vera")
    with db.read() as session:
        assert not membership.is_member(session, LEAK, "vera")
        assert [m.user_id for m in membership.members(session, LEAK)] == ["rita"]


def test_membership_decides_what_a_responder_sees(db: Database) -> None:
    with db.write() as session:
        membership.add_member(session, LEAK, "rita", now=NOW)
    with db.read() as session:
        seen = {i for i in (LEAK, OTHER)
                if can_see("responder", restricted=True,
                           member=membership.is_member(session, i, "rita"))}
    assert seen == {LEAK}


@pytest.mark.parametrize(("incident_id", "user_id", "words"), [
    ("00000000-0000-4000-8000-00000000dead", "rita", "no incident"),
    (LEAK, "nobody", "no user"),
])
def test_unknown_incident_or_user_is_refused(db: Database, incident_id: str, user_id: str,
                                             words: str) -> None:
    with pytest.raises(ValueError, match=words), db.write() as session:
        membership.add_member(session, incident_id, user_id)


def test_naive_time_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        membership.add_member(session, LEAK, "rita", now=datetime(2026, 1, 1))
