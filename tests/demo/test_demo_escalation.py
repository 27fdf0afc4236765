"""The demo's organisation code (demo/organisation.toml): its schedules and policies are
applied on the seeded directory, its unacknowledged incident escalates by itself level by
level (run here with a chosen clock), the audit trail verifies, and the organisation
round-trips through export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from incidenttui.demo.seed import seed_demo
from incidenttui.server import audit, service
from incidenttui.server.db import Database
from incidenttui.server.escalation import ACTOR, EscalationClock, run_due
from incidenttui.server.organisation import current, export_text, parse_text

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, in office hours in Berlin


def test_the_demo_incident_nobody_acknowledged_escalates_level_by_level(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        db.migrate()
        assert seed_demo(db, now=T0)
        with db.read() as session:
            [clock] = session.exec(select(EscalationClock)).all()
            incident = service.find_incident(session, clock.incident_id)
        assert (incident.number, incident.status, incident.service) == (1286, "new",
                                                                         "accounts")
        # its clock runs from when it was opened, 20-odd minutes ago: level 2 at once,
        # level 3 once level 2's three minutes are up
        assert clock.since == incident.created_at < T0
        assert run_due(db, T0) == 1
        assert run_due(db, T0 + timedelta(seconds=179)) == 0
        assert run_due(db, T0 + timedelta(seconds=181)) == 1
        with db.read() as session:
            moves = [e for e in service.timeline(session, incident.id)
                     if e.kind == "escalation" and e.actor == ACTOR]
            assigned = service.find_incident(session, incident.id).assignee
            assert audit.verify(session).ok
            org = current(session)
            assert parse_text(export_text(session, "toml"), "toml") == org
            assert parse_text(export_text(session, "yaml"), "yaml") == org
        assert [(m.data["level"], m.data["to_level"]) for m in moves] == [(1, 2), (2, 3)]
        assert moves[0].text == ("Not acknowledged within 2m at level 1: escalated to level 2 "
                                 "(schedule platform-primary).")
        assert moves[0].data["on_call"] == ["jonas.weber"]  # office hours, Monday 09:30
        assert moves[1].data["targets"] == ["team management"]
        assert assigned == "jonas.weber"
        assert {p.id for p in org.policies} == {"customer-facing", "payments"}
    finally:
        db.dispose()
