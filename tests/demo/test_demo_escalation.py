"""The demo's organisation code (demo/organisation.toml): its schedules and policies are
applied on the seeded directory, its unacknowledged incident escalates by itself level by
level (run here with a chosen clock), the audit trail verifies, and the organisation
round-trips through export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from incidenttui.demo.seed import seed_demo
from incidenttui.domain.refs import ref
from incidenttui.server import audit, service
from incidenttui.server.db import Database
from incidenttui.server.escalation import ACTOR, EscalationClock, run_due
from incidenttui.server.models import TimelineEvent
from incidenttui.server.organisation import current, export_text, parse_text

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, in office hours in Berlin


def _policy_moves(db: Database, incident_id: str) -> list[TimelineEvent]:
    with db.read() as session:
        return [e for e in service.timeline(session, incident_id)
                if e.kind == "escalation" and e.actor == ACTOR and "to_level" in e.data]


def test_the_demo_incident_nobody_acknowledged_escalates_level_by_level(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        db.migrate()
        assert seed_demo(db, now=T0)
        with db.read() as session:
            clocks = {c.incident_id: c for c in session.exec(select(EscalationClock)).all()}
            running = {}
            for incident_id in clocks:
                found = service.find_incident(session, incident_id)
                running[ref(found.number, found.series)] = incident_id
            incident = service.find_incident(session, running["INC-1286"])
            acked = service.find_incident(session, running["INC-1284"])
        # every open incident of a service with a policy runs it (as the app shows it)
        assert sorted(running) == ["INC-1282", "INC-1284", "INC-1286", "INC-1287", "SEC-23",
                                   "SEC-24"]
        assert (incident.status, incident.service) == ("new", "accounts")
        # its clock runs from when it was opened, minutes ago: level 2 at once,
        # level 3 once level 2's three minutes are up
        assert clocks[incident.id].since == incident.created_at < T0
        run_due(db, T0)
        assert len(_policy_moves(db, incident.id)) == 1
        run_due(db, T0 + timedelta(seconds=179))
        assert len(_policy_moves(db, incident.id)) == 1
        run_due(db, T0 + timedelta(seconds=181))
        moves = _policy_moves(db, incident.id)
        # the checkout P2 acknowledged 40 minutes ago and left alone: escalated again at once
        [again] = _policy_moves(db, acked.id)
        assert again.data["step"] == "reescalate"
        with db.read() as session:
            assigned = service.find_incident(session, incident.id).assignee
            assert audit.verify(session).ok
            org = current(session)
            assert parse_text(export_text(session, "toml"), "toml") == org
            assert parse_text(export_text(session, "yaml"), "yaml") == org
        assert [(m.data["level"], m.data["to_level"]) for m in moves] == [(1, 2), (2, 3)]
        assert moves[0].text == ("Not acknowledged within 2m at level 1: escalated to "
                                 "level 2 (schedule platform-primary).")
        assert moves[0].data["on_call"] == ["jonas.weber"]
        assert moves[1].data["targets"] == ["team management"]
        assert assigned == "jonas.weber"
        assert {p.id for p in org.policies} == {"customer-facing", "payments"}
    finally:
        db.dispose()
