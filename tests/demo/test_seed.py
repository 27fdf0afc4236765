"""The demo data set: deterministic, realistic, lifecycle-correct and fully in the change feed."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import col, select

from incidenttui.api.schemas import (
    ActionBody,
    EscalateBody,
    IncidentCreate,
    IncidentPatch,
    LinkBody,
    MajorEventBody,
    NoteBody,
)
from incidenttui.demo import seed as seed_module
from incidenttui.demo.seed import MAJOR_TITLE, PAST_INCIDENTS, seed_demo
from incidenttui.domain import (
    EDITABLE_FIELDS,
    Action,
    Category,
    EscalationKind,
    EventKind,
    LinkKind,
    Status,
    action_effects,
    check_action,
    priority_for,
)
from incidenttui.domain.effects import (
    Effect,
    act_effect,
    create_effect,
    escalate_effect,
    link_effect,
    note_effect,
    patch_effect,
)
from incidenttui.domain.major import fold_major, major_event_effect, tagged_note_effect
from incidenttui.domain.statuspage import public_update_effect
from incidenttui.server.db import Database
from incidenttui.server.models import Change, Incident, Service, Team, TimelineEvent, User
from incidenttui.server.models import Counter as CounterRow
from incidenttui.server.service import (
    COUNTERS,
    Writer,
    event_json,
    incident_json,
    incident_state,
    record_directory,
)

NOW = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)


def _new_db(path: Path) -> Database:
    db = Database(f"sqlite:///{path / 'server.db'}")
    db.migrate()
    return db


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = _new_db(tmp_path_factory.mktemp("seeded"))
    assert seed_demo(db, now=NOW) is True
    yield db
    db.dispose()


@dataclasses.dataclass
class Data:
    incidents: list[Incident]
    events: dict[str, list[TimelineEvent]]

    def by_title(self, title: str) -> Incident:
        (found,) = [i for i in self.incidents if i.title == title]
        return found


def _load(db: Database) -> Data:
    with db.read() as session:
        incidents = list(session.exec(select(Incident).order_by(col(Incident.number))).all())
        events: dict[str, list[TimelineEvent]] = defaultdict(list)
        for event in session.exec(select(TimelineEvent).order_by(
                col(TimelineEvent.at), col(TimelineEvent.id))).all():
            events[event.incident_id].append(event)
    return Data(incidents, events)


@pytest.fixture(scope="module")
def data(seeded: Database) -> Data:
    return _load(seeded)


def _rows(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with db.read() as session:
        incidents = [i.model_dump() for i in session.exec(
            select(Incident).order_by(col(Incident.number))).all()]
        events = [e.model_dump() for e in session.exec(
            select(TimelineEvent).order_by(col(TimelineEvent.id))).all()]
    return incidents, events


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_and_now_give_identical_rows(seeded: Database, tmp_path: Path) -> None:
    again = _new_db(tmp_path)
    try:
        assert seed_demo(again, now=NOW) is True
        assert _rows(again) == _rows(seeded)
    finally:
        again.dispose()


def test_another_seed_gives_other_incidents(seeded: Database, tmp_path: Path) -> None:
    other = _new_db(tmp_path)
    try:
        assert seed_demo(other, now=NOW, seed=8) is True
        mine, theirs = _rows(seeded)[0], _rows(other)[0]
        assert {i["id"] for i in mine}.isdisjoint({i["id"] for i in theirs})
        assert [i["title"] for i in mine] != [i["title"] for i in theirs]
    finally:
        other.dispose()


def test_ids_are_version_4_uuids(data: Data) -> None:
    for incident in data.incidents:
        assert uuid.UUID(incident.id).version == 4
    for event in (e for events in data.events.values() for e in events):
        assert uuid.UUID(event.id).version == 4


def test_times_follow_now(seeded: Database, data: Data, tmp_path: Path) -> None:
    later = _new_db(tmp_path)
    try:
        assert seed_demo(later, now=NOW + timedelta(days=3)) is True
        shifted = _load(later)
        assert [i.created_at - data.incidents[n].created_at
                for n, i in enumerate(shifted.incidents)] == \
            [timedelta(days=3)] * len(data.incidents)
    finally:
        later.dispose()


# -- the organisation ------------------------------------------------------------------------


def test_directory(seeded: Database) -> None:
    with seeded.read() as session:
        teams = {t.id: t for t in session.exec(select(Team)).all()}
        users = list(session.exec(select(User)).all())
        services = {s.id: s for s in session.exec(select(Service)).all()}
    assert {t: teams[t].level for t in teams} == {
        "service-desk": 1, "platform": 2, "payments-experts": 2, "network": 2, "security": 3,
        "management": 3}
    assert set(services) == {"storefront", "checkout", "payments", "search", "catalog",
                             "accounts", "order-management", "erp-sync", "cdn"}
    assert all(s.team_id in teams for s in services.values())
    per_team = Counter(u.team_id for u in users)
    assert set(per_team) == set(teams) and all(2 <= n <= 4 for n in per_team.values())
    roles = Counter(u.role for u in users)
    assert roles["admin"] == 1 and 1 <= roles["commander"] <= 2
    assert roles["responder"] > len(users) / 2
    assert all(u.token_hash is None for u in users)
    assert all("." in u.id and u.display_name != u.id for u in users)


def test_the_organisation_is_code_and_round_trips_through_export(seeded: Database) -> None:
    from incidenttui.server.organisation import apply, export_text, parse_text

    with seeded.read() as session:
        exported = export_text(session, "toml")
    again = parse_text(exported, "toml")
    assert again.sorted() == seed_module.demo_organisation().sorted()
    with seeded.write() as session:  # applying the export changes nothing
        assert apply(session, again, dry_run=True).steps == []


# -- the incidents ---------------------------------------------------------------------------


def test_counts_and_spread(data: Data) -> None:
    incidents = data.incidents
    past = [i for i in incidents if i.created_at < NOW - timedelta(days=1)]
    assert len(past) == PAST_INCIDENTS
    assert 6 <= len(incidents) - len(past) <= 15
    assert min(i.created_at for i in incidents) >= NOW - timedelta(days=90)
    priorities = Counter(i.priority for i in incidents)
    assert priorities[3] + priorities[4] > len(incidents) / 2
    assert priorities[3] > priorities[2] > priorities[1] >= 1
    statuses = Counter(i.status for i in incidents)
    assert statuses["closed"] > len(incidents) / 2
    assert statuses["cancelled"] >= 3 and statuses["resolved"] >= 1
    assert sum(i.reopen_count > 0 for i in incidents) >= 3
    assert sum(i.hold_seconds > 0 for i in incidents) >= 5
    assert Counter(i.escalation_level for i in incidents).keys() >= {1, 2, 3}
    assert sum(i.management_engaged for i in incidents) >= 5
    kinds = Counter(link["kind"] for i in incidents for link in i.links)
    assert kinds.keys() == {k.value for k in LinkKind}
    assert all(i.service in seed_module.SERVICE_WEIGHTS for i in incidents)


def test_numbers_follow_creation_and_the_counter(seeded: Database, data: Data) -> None:
    """Each series runs without gaps in created order: INC for the incidents everyone may
    see, SEC for the security ones (restricted from the start, domain/refs.py). The forgotten
    acknowledgement was logged offline: the server numbered it on arrival, after all the
    others (so the demo's other incidents kept their numbers)."""
    forgotten = data.by_title(seed_module.FORGOTTEN_TITLE)
    ordered = sorted((i for i in data.incidents if i.id != forgotten.id),
                     key=lambda i: (i.created_at, i.number)) + [forgotten]
    for series, (name, start) in COUNTERS.items():
        numbers = [i.number for i in ordered if i.series == series]
        assert numbers == list(range(start + 1, start + 1 + len(numbers))), series
        with seeded.read() as session:
            counter = session.get(CounterRow, name)
        assert counter is not None and counter.value == numbers[-1]
    assert {i.series for i in data.incidents if i.category == Category.SECURITY} == {"SEC"}
    assert {i.series for i in data.incidents if i.category != Category.SECURITY} == {"INC"}


def test_the_live_major_incident(data: Data) -> None:
    major = data.by_title(MAJOR_TITLE)
    assert (major.priority, major.major, major.status, major.service) == (
        1, True, Status.IN_PROGRESS, "payments")
    assert major.management_engaged and major.escalation_level == 2
    assert major.team == "payments-experts" and major.assignee
    notes = [e for e in data.events[major.id] if e.kind == EventKind.NOTE]
    assert len(notes) >= 10
    assert all(NOW - timedelta(minutes=55) < e.at < NOW for e in notes)
    assert len({e.actor for e in notes}) >= 4
    # run as a major incident: roles, two public stakeholder updates (the next one due in
    # the future), a decision and a finding, an open action item
    record = fold_major(major.id, data.events[major.id])
    assert {r.value: u for r, u in record.roles.items()} == {
        "commander": "claire.dubois", "communications": "tom.becker",
        "operations": "daniel.okafor"}
    # (the two stakeholder updates, and the two public updates posted for the status page)
    stakeholder = [u for u in record.updates if "state" in u.data]
    assert len(stakeholder) == 2 and all(u.data["public"] for u in record.updates)
    assert len(record.updates) == 4
    assert datetime.fromisoformat(record.last_update.data["next_update_due"]) > NOW
    assert {e.data.get("tag") for e in notes} >= {"decision", "finding"}
    assert [i.done for i in record.items.values()] == [False]


def test_the_other_live_incidents(data: Data) -> None:
    open_ = [i for i in data.incidents if Status(i.status).is_open]
    new = [i for i in open_ if i.status == Status.NEW and i.priority == 2]
    assert new and all(i.acknowledged_at is None and i.team == "service-desk" for i in new)
    assert any(i.status == Status.ON_HOLD and i.on_hold_since is not None for i in open_)
    security = [i for i in open_ if i.category == "security"]
    assert any(i.service == "storefront" and "DDoS" in i.title for i in security)
    assert any("API key" in i.title for i in security)
    assert any(i.service == "search" and "index lag" in i.title for i in open_)
    latest = max(i.created_at for i in data.incidents)
    assert NOW - timedelta(minutes=15) < latest < NOW


def test_incident_fields_are_consistent(data: Data) -> None:
    for i in data.incidents:
        assert i.priority == priority_for(i.impact, i.urgency), i.number
        assert i.started_at is not None and i.detected_at is not None
        assert i.started_at < i.detected_at <= i.created_at, i.number
        assert i.created_at <= i.updated_at < NOW
        assert i.version >= 1 and all(1 < v <= i.version for v in i.field_versions.values())
        if i.status not in (Status.NEW, Status.CANCELLED):
            assert i.assignee is not None, i.number
        if i.status in (Status.RESOLVED, Status.CLOSED):
            assert i.resolution_code and i.resolution_note and i.resolved_at
        if i.status in (Status.CLOSED, Status.CANCELLED):
            assert i.closed_at is not None
        targets = {link["target"] for link in i.links}
        known = {j.id: j for j in data.incidents}
        assert all(t in known and known[t].created_at < i.created_at for t in targets)


def _replay(incident: Incident, events: list[TimelineEvent]) -> SimpleNamespace:
    """Replay the status events through the domain; return the lifecycle fields they give."""
    state = SimpleNamespace(status=Status.NEW.value, acknowledged_at=None, resolved_at=None,
                            on_hold_since=None, hold_seconds=0.0, reopen_count=0,
                            resolution_code=None, resolution_note=None, closed_at=None)
    for event in events:
        if event.kind != EventKind.STATUS:
            continue
        data = event.data
        assert data["from"] == state.status, (incident.number, data)
        assert check_action(state.status, data["action"]) == data["to"], (incident.number, data)
        changes = action_effects(state, data["action"], event.at,
                                 data.get("resolution_code"), event.text or None)
        for name, value in changes.items():
            setattr(state, name, value)
    return state


def test_every_status_history_obeys_the_lifecycle(data: Data) -> None:
    lifecycle = ("status", "acknowledged_at", "resolved_at", "on_hold_since", "hold_seconds",
                 "reopen_count", "resolution_code", "resolution_note", "closed_at")
    for incident in data.incidents:
        events = data.events[incident.id]
        assert events[0].kind == EventKind.CREATED and events[0].at == incident.created_at
        assert all(e.at < NOW for e in events)
        status_times = [e.at for e in events if e.kind == EventKind.STATUS]
        assert status_times == sorted(set(status_times))
        state = _replay(incident, events)
        assert {n: getattr(state, n) for n in lifecycle} == \
            {n: getattr(incident, n) for n in lifecycle}, incident.number
        assert incident.reopen_count == sum(e.data.get("action") == Action.REOPEN
                                            for e in events)


def test_escalation_events_match_the_incident(data: Data) -> None:
    for incident in data.incidents:
        level, team, engaged = 1, None, False
        for event in data.events[incident.id]:
            if event.kind == EventKind.CREATED:
                team = event.data["team"]
            elif event.kind == EventKind.ESCALATION:
                d = event.data
                assert (d["from_team"], d["from_level"]) == (team, level)
                assert d["to_level"] >= level and event.text
                level, team = d["to_level"], d["to_team"]
                engaged |= d["kind"] == EscalationKind.HIERARCHICAL
            elif event.kind == EventKind.ASSIGNMENT and "team" in event.data["fields"]:
                team = event.data["fields"]["team"]["to"]
        assert (level, team, engaged) == (incident.escalation_level, incident.team,
                                          incident.management_engaged), incident.number


#: Team levels and user ids of the demo organisation.
LEVELS = {team.id: team.level for team in seed_module.demo_organisation().teams}
USER_IDS = {user.id for user in seed_module.demo_organisation().users}


def _writes(events: list[TimelineEvent]) -> list[list[TimelineEvent]]:
    """The events grouped by write: the events of one write are a microsecond apart."""
    writes: list[list[TimelineEvent]] = []
    for event in events:
        if writes and event.at - writes[-1][-1].at == timedelta(microseconds=1):
            writes[-1].append(event)
        else:
            writes.append([event])
    return writes


def _created(incident: Incident, events: list[TimelineEvent]) -> Effect:
    """create_effect for the incident as it was created, read from the stored rows."""
    first_values: dict[str, Any] = {}
    for event in events:
        if event.kind in (EventKind.FIELD, EventKind.ASSIGNMENT, EventKind.PRIORITY):
            for name, change in event.data["fields"].items():
                first_values.setdefault(name, change["from"])
        elif event.kind == EventKind.ESCALATION and event.data["kind"] == "functional":
            first_values.setdefault("assignee", None)  # replaced: not in the timeline
    created = events[0]
    fields = {name: first_values.get(name, getattr(incident, name)) for name in (
        "description", "category", "impact", "urgency", "assignee", "major", "detected_at",
        "started_at")}
    fields.update(title=created.text, service=created.data["service"],
                  team=created.data["team"])
    return create_effect(incident.id, fields, reporter=created.actor, now=created.at,
                         team=None)


def _effect_of(state: dict[str, Any], write: list[TimelineEvent]) -> Effect:
    """The effect function call that a write's events stand for, made on ``state``."""
    first, data = write[0], write[0].data
    if first.kind == EventKind.STATUS:
        resolving = data["action"] == Action.RESOLVE
        return act_effect(state, data["action"], first.at,
                          resolution_code=data.get("resolution_code"),
                          resolution_note=first.text if resolving else None,
                          note=write[1].text if len(write) > 1 else None)
    if first.kind == EventKind.ESCALATION:
        functional = data["kind"] == EscalationKind.FUNCTIONAL
        to_team = data["to_team"] if functional else None
        return escalate_effect(state, data["kind"], first.text, to_team=to_team,
                               to_user=data["to_user"],
                               target_level=LEVELS[to_team] if to_team else None)
    if first.kind == EventKind.NOTE:
        if data.get("tag"):  # a major incident's quick entry
            return tagged_note_effect(data["tag"], first.text, first.id, first.at)
        return note_effect(first.text)
    if first.kind == EventKind.STATUS_UPDATE and "state" not in data:
        # a public update posted for the status page (not a commander's stakeholder update)
        return public_update_effect(state, data["public_text"], data.get("components"),
                                    first.id)
    if first.kind in (EventKind.ROLE, EventKind.STATUS_UPDATE, EventKind.ACTION_ITEM):
        return major_event_effect(state, first.kind, data, first.id, first.at)
    if first.kind == EventKind.LINK:
        return link_effect(state, data["kind"], data["target"], data["target_ref"])
    assert first.kind in (EventKind.FIELD, EventKind.ASSIGNMENT, EventKind.PRIORITY), first.kind
    asked = {name: change["to"] for event in write
             for name, change in event.data["fields"].items() if name in EDITABLE_FIELDS}
    return patch_effect(state, asked)


def _drafts(effect: Effect) -> list[tuple[str, str, dict[str, Any]]]:
    return [(str(e.kind), e.text, e.data) for e in effect.events]


def _stored(events: list[TimelineEvent]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(str(e.kind), e.text, e.data) for e in events]


def test_every_incident_replays_through_the_effect_functions(data: Data) -> None:
    """Each seeded incident is what the server's effect functions make of its timeline.

    From its created state, each write (the events a microsecond apart) is replayed through
    the effect function it stands for; the function must return exactly the stored events,
    and after the last write the replayed fields (versions and timestamps included) must be
    the stored ones."""
    for incident in data.incidents:
        events = data.events[incident.id]
        writes = _writes(events)
        created = _created(incident, events)
        assert _drafts(created) == _stored(writes[0]), incident.number
        state = dict(created.changes)
        for write in writes[1:]:
            effect = _effect_of(state, write)
            assert _drafts(effect) == _stored(write), (incident.number, _stored(write))
            if write[0].kind == EventKind.ESCALATION and \
                    write[0].data["kind"] == EscalationKind.HIERARCHICAL:
                # Management is informed, not assigned: nothing but the flag changes.
                assert effect.changes == {"management_engaged": True}, incident.number
            version = state["version"] + 1
            state.update(effect.changes, version=version, updated_at=write[0].at,
                         field_versions={**state["field_versions"],
                                         **dict.fromkeys(effect.changes, version)})
            assert state["team"] in LEVELS and state["assignee"] in USER_IDS | {None}
        stored = {name: getattr(incident, name) for name in state}
        assert state == stored, (incident.number, {
            name: (state[name], stored[name]) for name in state if state[name] != stored[name]})
    # the seed marks no incident restricted: its security ones are restricted by category;
    # the number and its series are the server's, not the effects'
    assert set(Incident.model_fields) - set(state) == {"number", "series", "restricted"}
    assert not any(i.restricted for i in data.incidents)


def test_no_hierarchical_escalation_assigns_anyone(data: Data) -> None:
    escalations = [e for events in data.events.values() for e in events
                   if e.kind == EventKind.ESCALATION]
    hierarchical = [e for e in escalations if e.data["kind"] == EscalationKind.HIERARCHICAL]
    assert len(hierarchical) >= 5
    assert all(e.data["to_user"] is None for e in hierarchical)
    assert all((e.data["to_team"], e.data["to_level"]) ==
               (e.data["from_team"], e.data["from_level"]) for e in hierarchical)
    functional = [e for e in escalations if e.data["kind"] == EscalationKind.FUNCTIONAL]
    assert functional and all(LEVELS[e.data["to_team"]] >= e.data["from_level"]
                              for e in functional)


def test_some_sla_breaches_but_only_a_few(data: Data) -> None:
    from incidenttui.domain import sla_clocks

    finished = [i for i in data.incidents if i.status in (Status.RESOLVED, Status.CLOSED)]
    breached = [i for i in finished if sla_clocks(
        i.priority, i.created_at, NOW, acknowledged_at=i.acknowledged_at,
        resolved_at=i.resolved_at, hold_seconds=i.hold_seconds).breached]
    assert 3 <= len(breached) <= len(finished) * 0.15


# -- the change feed -------------------------------------------------------------------------


def test_everything_is_in_the_change_feed(seeded: Database, data: Data) -> None:
    with seeded.read() as session:
        feed = list(session.exec(select(Change).order_by(col(Change.seq))).all())
        directory = {("team", t.id) for t in session.exec(select(Team)).all()}
        directory |= {("user", u.id) for u in session.exec(select(User)).all()}
        directory |= {("service", s.id) for s in session.exec(select(Service)).all()}
        # the on-call schedules and escalation policies (demo/organisation.toml)
        directory |= {(c.entity, c.entity_id) for c in feed
                      if c.entity in ("schedule", "policy", "maintenance")}
    assert len([e for e, _ in directory if e in ("schedule", "policy")]) == 5
    # the maintenance window on the ERP sync
    assert len([e for e, _ in directory if e == "maintenance"]) == 1
    position = {(c.entity, c.entity_id): n for n, c in enumerate(feed)}
    assert len(position) == len(feed), "each row is recorded once"
    assert directory <= position.keys()
    snapshots = {(c.entity, c.entity_id): c.data for c in feed}
    for incident in data.incidents:
        assert snapshots[("incident", incident.id)] == incident_json(incident)
        for event in data.events[incident.id]:
            assert snapshots[("event", event.id)] == event_json(event)
            # An event never arrives before its incident.
            assert position[("event", event.id)] > position[("incident", incident.id)]
        for link in incident.links:
            assert position[("incident", link["target"])] < position[("incident", incident.id)]
    assert len(feed) == len(directory) + len(data.incidents) + sum(
        len(e) for e in data.events.values())


def test_seeding_twice_changes_nothing(seeded: Database) -> None:
    def count() -> int:
        with seeded.read() as session:
            return len(session.exec(select(Change.seq)).all())

    before = count()
    assert seed_demo(seeded) is False
    assert seed_demo(seeded, now=NOW, seed=1) is False
    assert count() == before


def test_existing_directory_rows_are_kept(tmp_path: Path) -> None:
    db = _new_db(tmp_path)
    try:
        with db.write() as session:
            team = Team(id="platform", name="Our own platform team", level=2)
            session.add(team)
            record_directory(session, [team])
        assert seed_demo(db, now=NOW) is True
        with db.read() as session:
            assert session.get(Team, "platform").name == "Our own platform team"  # type: ignore[union-attr]
            assert len(session.exec(select(Change).where(
                Change.entity == "team", Change.entity_id == "platform")).all()) == 1
    finally:
        db.dispose()


# -- the same shapes as the server writes --------------------------------------------------


def _writer_shapes(tmp_path: Path) -> tuple[set[tuple[str, frozenset[str]]], dict[str, str]]:
    """Every (kind, data keys) the server's Writer produces, and its assignment text."""
    db = _new_db(tmp_path)
    shapes: set[tuple[str, frozenset[str]]] = set()
    try:
        with db.write() as session:
            seed_module.apply_organisation(session)
            session.flush()
            actor = session.get(User, "amira.haddad")
            assert actor is not None
            writer = Writer(session, actor, NOW)

            def create(**kw: Any) -> Incident:
                return writer.create(IncidentCreate(id=uuid.uuid4(), title="t",
                                                    service="checkout", category="availability",
                                                    impact=2, urgency=2, **kw))

            a, b, c = create(), create(), create(team="service-desk")
            writer.patch(a, IncidentPatch(base_version=a.version, assignee="amira.haddad"))
            writer.patch(a, IncidentPatch(base_version=a.version, impact=1))
            for action in (Action.ACKNOWLEDGE, Action.START, Action.HOLD, Action.RESUME):
                writer.act(a, action, ActionBody(note="n"))
            writer.escalate(a, EscalateBody(to_team="security", reason="r",
                                            to_user="noah.fischer"))
            writer.escalate(a, EscalateBody(kind=EscalationKind.HIERARCHICAL, reason="r"))
            writer.note(a, NoteBody(text="x"))
            writer.declare_major(a)
            writer.note(a, NoteBody(text="x", tag="decision", at=NOW))
            for kind, entry in (
                    ("role", {"role": "commander", "user": "amira.haddad"}),
                    ("status_update", {"state": "s", "impact": "i", "next_steps": "n",
                                       "next_update_due": "2026-03-02T10:00:00Z",
                                       "public": True, "public_text": "p"}),
                    ("action_item", {"item": str(uuid.uuid4()), "text": "t", "owner": None,
                                     "due": None, "done": False})):
                writer.major_event(a, MajorEventBody(id=uuid.uuid4(), kind=kind, data=entry))
            writer.effect(a, public_update_effect(
                incident_state(a), "public", {"checkout": "degraded"}))  # as the route does
            writer.link(a, LinkBody(kind=LinkKind.RELATED, target=b.id))
            writer.act(a, Action.RESOLVE, ActionBody(resolution_code="fixed",
                                                     resolution_note="done"))
            writer.act(a, Action.REOPEN, ActionBody())
            writer.act(b, Action.CANCEL, ActionBody())
            writer.act(c, Action.ACKNOWLEDGE, ActionBody())
            writer.escalate(c, EscalateBody(to_team="platform", reason="r"))
            writer.finish()
            events = list(session.exec(select(TimelineEvent)).all())
            shapes = {(e.kind, frozenset(e.data)) for e in events}
            texts = {e.kind: e.text for e in events
                     if e.kind in (EventKind.ASSIGNMENT, EventKind.PRIORITY)}
    finally:
        db.dispose()
    return shapes, texts


def test_event_shapes_match_the_server_writer(data: Data, tmp_path: Path) -> None:
    shapes, texts = _writer_shapes(tmp_path)
    seeded = {(e.kind, frozenset(e.data)) for events in data.events.values() for e in events}
    assert seeded <= shapes, seeded - shapes
    assert {k for k, _ in seeded} >= {"created", "status", "note", "assignment", "escalation",
                                      "link", "priority"}
    assert texts["assignment"] == "assignee: None → amira.haddad"
    assignments = [e for events in data.events.values() for e in events
                   if e.kind == EventKind.ASSIGNMENT]
    for event in assignments:
        change = event.data["fields"]["assignee"]
        assert event.text == f"assignee: {change['from']} → {change['to']}"


def test_the_builder_mirrors_the_incident_table() -> None:
    fields = [f.name for f in dataclasses.fields(seed_module._Incident)]
    assert sorted(fields) == sorted(Incident.model_fields)
    events = [f.name for f in dataclasses.fields(seed_module._Event)]
    assert sorted(events) == sorted(TimelineEvent.model_fields)


# -- speed, and PostgreSQL -------------------------------------------------------------------


def test_seeding_is_fast(tmp_path: Path) -> None:
    db = _new_db(tmp_path)
    try:
        started = time.perf_counter()
        assert seed_demo(db, now=NOW)
        elapsed = time.perf_counter() - started
    finally:
        db.dispose()
    # About 1.2 s on a busy 2-core machine; the bound leaves room for a loaded CI runner.
    assert elapsed < 6, f"seeding took {elapsed:.2f}s"


@pytest.mark.postgres
def test_seeds_postgres_the_same(request: pytest.FixtureRequest, seeded: Database) -> None:
    try:  # ``db_url`` comes from tests/conftest.py (a private PostgreSQL cluster)
        db_url: Callable[[str], str] = request.getfixturevalue("db_url")
    except pytest.FixtureLookupError:
        pytest.skip("no db_url fixture for PostgreSQL databases")
    db = Database(db_url("postgres"))
    try:
        db.migrate()
        assert seed_demo(db, now=NOW) is True
        assert _rows(db) == _rows(seeded)
        assert seed_demo(db, now=NOW) is False
    finally:
        db.dispose()
