"""Organisation documents (domain/organisation.py): parsing with the path of whatever is
wrong, references checked, the round trip through :func:`document`, and the plan that makes
applying twice change nothing."""

from __future__ import annotations

import copy
import tomllib
from datetime import date, time

import pytest
import yaml

from incidenttui.domain import Refused
from incidenttui.domain.enums import Role
from incidenttui.domain.escalation_policy import TargetKind
from incidenttui.domain.organisation import Change, document, parse, plan

TOML = """
[[teams]]
id = "platform"
name = "Platform"
level = 1

[[teams]]
id = "dba"
name = "Database administrators"
level = 2

[[users]]
id = "ana"
name = "Ana Ops"
role = "responder"
team = "platform"
email = "ana@example.com"

[[users]]
id = "ben"
name = "Ben"
role = "responder"
team = "platform"

[[users]]
id = "dora"
name = "Dora DBA"
role = "responder"
team = "dba"

[[services]]
id = "checkout"
name = "Checkout"
team = "platform"
tier = 1
policy = "checkout"

[[schedules]]
id = "platform-primary"
name = "Platform primary"
team = "platform"
time_zone = "Europe/Berlin"

[[schedules.layers]]
name = "weekly"
users = ["ana", "ben"]
start = 2026-03-02
every = 7
handoff = "09:00"

[[schedules.layers]]
name = "business hours"
users = ["dora"]
start = 2026-03-02
days = ["mon", "tue", "wed", "thu", "fri"]
hours = ["09:00", "17:00"]

[[schedules.overrides]]
user = "ben"
start = 2026-03-03T12:00:00+01:00
end = 2026-03-04T12:00:00+01:00

[[policies]]
id = "checkout"
name = "Checkout"
repeat = 1
reescalate_after = 1800

[[policies.levels]]
timeout = 300
targets = ["schedule:platform-primary"]

[[policies.levels]]
timeout = 600
targets = ["team:dba", "user:ana"]

[[policies.notices]]
priorities = [1]
after = 0
"""


@pytest.fixture
def doc() -> dict:
    return tomllib.loads(TOML)


def test_a_toml_document_parses_into_the_organisation(doc):
    org = parse(doc)
    assert [t.id for t in org.teams] == ["platform", "dba"]
    assert org.users[0].role == Role.RESPONDER and org.users[0].email == "ana@example.com"
    schedule = org.schedules[0]
    assert schedule.team == "platform"
    assert schedule.layers[0].start == date(2026, 3, 2) and schedule.layers[0].every == 7
    assert schedule.layers[1].hours == (time(9), time(17))
    assert schedule.layers[1].days == frozenset(range(5))
    policy = org.policies[0]
    assert [t.kind for t in policy.levels[1].targets] == [TargetKind.TEAM, TargetKind.USER]
    assert policy.reescalate_after == 1800 and policy.notices[0].priorities == {1}


def test_the_document_round_trips_through_toml_shaped_data_and_yaml(doc):
    org = parse(doc)
    assert parse(document(org)) == org
    assert parse(yaml.safe_load(yaml.safe_dump(document(org)))) == org


def test_applying_the_same_document_twice_plans_nothing(doc):
    org = parse(doc)
    assert plan(org, org) == []
    assert [str(s) for s in plan(parse({}), org)][:3] == [
        "create team platform", "create team dba", "create user ana"]


def test_the_plan_updates_and_removes_and_only_deactivates_people(doc):
    before = parse(doc)
    changed = copy.deepcopy(doc)
    changed["teams"][1]["name"] = "DBA"
    del changed["users"][1]  # ben leaves…
    changed["schedules"][0]["layers"][0]["users"] = ["ana"]
    del changed["schedules"][0]["overrides"]  # …and his override with him
    changed["policies"][0]["levels"][0]["timeout"] = 120
    steps = plan(before, parse(changed))
    assert [(s.change, s.section, s.id, s.fields) for s in steps] == [
        (Change.UPDATE, "teams", "dba", ("name",)),
        (Change.UPDATE, "schedules", "platform-primary", ("layers", "overrides")),
        (Change.UPDATE, "policies", "checkout", ("levels",)),
        (Change.DEACTIVATE, "users", "ben", ()),
    ]


@pytest.mark.parametrize(("edit", "path"), [
    (lambda d: d["users"][0].update(role="overlord"), "users[0].role"),
    (lambda d: d["users"][0].update(team="nobody"), "users[0].team"),
    (lambda d: d["users"][0].update(id="ana smith"), "users[0].id"),
    (lambda d: d["users"][1].update(id="ana"), "users[1].id"),  # declared twice
    (lambda d: d["users"][0].update(colour="red"), "users[0].colour"),
    (lambda d: d["services"][0].update(policy="nope"), "services[0].policy"),
    (lambda d: d["services"][0].update(tier="gold"), "services[0].tier"),
    (lambda d: d["schedules"][0].update(team="nobody"), "schedules[0].team"),
    (lambda d: d["schedules"][0].update(time_zone="Mars/Olympus"),
     "schedules[0].time_zone"),
    (lambda d: d["schedules"][0]["layers"][0].update(users=["ana", "zed"]),
     "schedules[0].layers[0].users[1]"),
    (lambda d: d["schedules"][0]["layers"][0].update(handoff="9 am"),
     "schedules[0].layers[0].handoff"),
    (lambda d: d["schedules"][0]["layers"][0].update(every=0),
     "schedules[0].layers[0].every"),
    (lambda d: d["schedules"][0]["layers"][1].update(days=["funday"]),
     "schedules[0].layers[1].days"),
    (lambda d: d["schedules"][0]["overrides"][0].update(end="2026-03-04T12:00:00"),
     "schedules[0].overrides[0].end"),
    (lambda d: d["policies"][0]["levels"][0].update(timeout=0),
     "policies[0].levels[0].timeout"),
    (lambda d: d["policies"][0]["levels"][0].update(timeout=True),
     "policies[0].levels[0].timeout"),
    (lambda d: d["policies"][0]["levels"][1].update(targets=["pager:x"]),
     "policies[0].levels[1].targets[0]"),
    (lambda d: d["policies"][0]["levels"][1].update(targets=["team:nobody"]),
     "policies[0].levels[1].targets[0]"),
    (lambda d: d["policies"][0].update(repeat=99), "policies[0].repeat"),
    (lambda d: d["policies"][0]["notices"][0].update(priorities=[9]),
     "policies[0].notices[0].priorities"),
    (lambda d: d.update(widgets=[]), "widgets"),
    (lambda d: d.update(teams={"id": "x"}), "teams"),
])
def test_a_wrong_document_is_refused_with_the_path_of_the_value_at_fault(doc, edit, path):
    edit(doc)
    with pytest.raises(Refused) as refused:
        parse(doc)
    assert refused.value.field == path
    assert refused.value.reason.startswith(path + ":")


def test_an_empty_document_is_an_empty_organisation():
    assert parse(None) == parse({}) and document(parse({})) == {}
