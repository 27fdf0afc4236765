"""Organisation as code: teams, users, services, escalation policies and on-call schedules
declared in one document (a TOML or YAML file, already parsed into plain data).

:func:`parse` turns the document into an :class:`Organisation`, refusing anything wrong with
the path of the value at fault (``policies[0].levels[1].timeout: …``) and checking every
reference (a service's team and policy, a level's targets, a rotation's people).
:func:`document` turns an organisation back into the same shape, so ``parse(document(org))
== org``: what ``admin export`` writes, ``admin apply`` reads. :func:`plan` compares what the
server has with what the document declares: what to create, change, and remove — people are
deactivated rather than deleted, because incidents and the audit log name them.

No tokens or other secrets belong in the document; none are read from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar

from incidenttui.domain.enums import Role
from incidenttui.domain.escalation_policy import Level, Notice, Policy, Target, TargetKind
from incidenttui.domain.lifecycle import MAX_ESCALATION_LEVEL, Refused
from incidenttui.domain.oncall import WEEKDAYS, Layer, Override, Schedule, weekdays
from incidenttui.domain.refs import SLUG_MAX, SLUG_RE

T = TypeVar("T")

#: The document's sections, in the order they are read and written.
SECTIONS = ("teams", "users", "services", "schedules", "policies")
SINGULAR = {"teams": "team", "users": "user", "services": "service", "schedules": "schedule",
             "policies": "policy"}


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    level: int = 1
    description: str = ""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: Role
    team: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    team: str | None = None
    tier: int = 2
    policy: str | None = None
    description: str = ""
    #: shown on the public status page
    public: bool = False


@dataclass(frozen=True, slots=True)
class Organisation:
    teams: tuple[Team, ...] = ()
    users: tuple[User, ...] = ()
    services: tuple[Service, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    policies: tuple[Policy, ...] = ()

    def by_id(self, section: str) -> dict[str, Any]:
        return {item.id: item for item in getattr(self, section)}

    def sorted(self) -> Organisation:
        """The same organisation with each section in id order (to compare two whose
        documents list things in another order)."""
        return Organisation(**{name: tuple(sorted(getattr(self, name), key=lambda i: i.id))
                               for name in SECTIONS})


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REMOVE = "remove"
    DEACTIVATE = "deactivate"


@dataclass(frozen=True, slots=True)
class Step:
    """One change :func:`plan` found: ``section`` (``users``…), the item's id, and for an
    update the fields that differ."""

    change: Change
    section: str
    id: str
    fields: tuple[str, ...] = ()
    item: Any = field(default=None, compare=False)

    def __str__(self) -> str:
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.change.value} {SINGULAR[self.section]} {self.id}{what}"


# -- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Reads one mapping of the document, naming the path of whatever is wrong."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise Refused(f"{path}: expected a table of keys and values.", path)
        self.value, self.path = value, path
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type[T] | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.value or self.value[key] is None:
            if default is ...:
                raise Refused(f"{self.at(key)}: missing.", self.at(key))
            return default
        value = self.value[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else
                                                    (kind,)):
            raise Refused(f"{self.at(key)}: expected {_kind_name(kind)}, got {value!r}.",
                          self.at(key))
        if not isinstance(value, kind):
            raise Refused(f"{self.at(key)}: expected {_kind_name(kind)}, got {value!r}.",
                          self.at(key))
        return value

    def text(self, key: str, default: Any = ..., limit: int = 200) -> Any:
        value = self.get(key, str, default)
        if isinstance(value, str):
            value = value.strip()
            if len(value) > limit or any(ord(c) < 32 and c not in "\t\n" for c in value):
                raise Refused(f"{self.at(key)}: at most {limit} characters, no control "
                              "characters.", self.at(key))
        return value

    def slug(self, key: str, default: Any = ...) -> Any:
        value = self.text(key, default, limit=SLUG_MAX)
        if isinstance(value, str) and not SLUG_RE.match(value):
            raise Refused(f"{self.at(key)}: {value!r} is not an id (letters, digits, '.', "
                          f"'_', '-', '@'; at most {SLUG_MAX}).", self.at(key))
        return value

    def items(self, key: str) -> list[_Reader]:
        values = self.get(key, list, [])
        return [_Reader(v, f"{self.at(key)}[{i}]") for i, v in enumerate(values)]

    def done(self) -> None:
        unknown = sorted(set(map(str, self.value)) - self.used)
        if unknown:
            raise Refused(f"{self.at(unknown[0])}: unknown key (known: "
                          f"{', '.join(sorted(self.used))}).", self.at(unknown[0]))


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", list: "a list", bool: "true or false",
             dict: "a table", date: "a date", datetime: "a date and time"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _wrap(path: str, build: Callable[[], T]) -> T:
    """``build()``, with a domain refusal's field prefixed by ``path``."""
    try:
        return build()
    except Refused as refused:
        if refused.field and refused.field.startswith(path):
            raise  # read by this document's reader: the path is whole already
        where = f"{path}.{refused.field}" if refused.field else path
        raise Refused(f"{where}: {refused.reason}", where) from None


def _clock(reader: _Reader, key: str, default: Any = ...) -> Any:
    value = reader.get(key, (str, time), default)
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value)
        except ValueError:
            raise Refused(f"{reader.at(key)}: {value!r} is not a time such as 09:00.",
                          reader.at(key)) from None
    return value


def _day(reader: _Reader, key: str) -> date:
    value = reader.get(key, (str, date))
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise Refused(f"{reader.at(key)}: {value!r} is not a date such as 2026-03-02.",
                          reader.at(key)) from None
    return value


def _moment(reader: _Reader, key: str) -> datetime:
    value = reader.get(key, (str, datetime))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise Refused(f"{reader.at(key)}: {value!r} is not a date and time such as "
                          "2026-03-03T12:00:00+01:00.", reader.at(key)) from None
    if value.tzinfo is None:
        raise Refused(f"{reader.at(key)}: give the time zone offset (…+01:00 or Z).",
                      reader.at(key))
    return value


def _team(r: _Reader) -> Team:
    team = Team(r.slug("id"), r.text("name"), r.get("level", int, 1),
                r.text("description", "", limit=2000))
    if not 1 <= team.level <= MAX_ESCALATION_LEVEL:
        raise Refused(f"{r.at('level')}: a team's level is 1 to {MAX_ESCALATION_LEVEL}.",
                      r.at("level"))
    return team


def _user(r: _Reader) -> User:
    role = r.text("role")
    try:
        parsed = Role(role)
    except ValueError:
        raise Refused(f"{r.at('role')}: {role!r} is not a role "
                      f"({', '.join(x.value for x in Role)}).", r.at("role")) from None
    return User(r.slug("id"), r.text("name"), parsed, r.slug("team", None),
                r.text("email", None, limit=320))


def _service(r: _Reader) -> Service:
    service = Service(r.slug("id"), r.text("name"), r.slug("team", None), r.get("tier", int, 2),
                      r.slug("policy", None), r.text("description", "", limit=2000),
                      r.get("public", bool, False))
    if not 1 <= service.tier <= 3:
        raise Refused(f"{r.at('tier')}: a service's tier is 1 to 3.", r.at("tier"))
    return service


def _layer(r: _Reader) -> Layer:
    users = r.get("users", list)
    if not all(isinstance(u, str) for u in users):
        raise Refused(f"{r.at('users')}: a list of user ids.", r.at("users"))
    hours = r.get("hours", list, None)
    window = None
    if hours is not None:
        if len(hours) != 2:
            raise Refused(f"{r.at('hours')}: [from, to], e.g. [\"09:00\", \"17:00\"].",
                          r.at("hours"))
        hour_reader = _Reader({"from": hours[0], "to": hours[1]}, r.at("hours"))
        window = (_clock(hour_reader, "from"), _clock(hour_reader, "to"))
    days = r.get("days", list, None)
    name = r.text("name")
    return _wrap(r.path, lambda: Layer(
        name, tuple(u.strip() for u in users), _day(r, "start"), r.get("every", int, 7),
        _clock(r, "handoff", time(9, 0)),
        weekdays(days) if days is not None else frozenset(range(7)), window))


def _override(r: _Reader) -> Override:
    return _wrap(r.path, lambda: Override(r.slug("user"), _moment(r, "start"),
                                          _moment(r, "end")))


def _schedule(r: _Reader) -> Schedule:
    layers = [_finished(x, _layer) for x in r.items("layers")]
    overrides = [_finished(x, _override) for x in r.items("overrides")]
    ident, name, zone = r.slug("id"), r.text("name"), r.text("time_zone", "UTC")
    team = r.slug("team", None)
    return _wrap(r.path, lambda: Schedule(ident, name, zone, tuple(layers), tuple(overrides),
                                          team))


def _target(text: Any, path: str) -> Target:
    kind, _, ident = str(text).partition(":")
    try:
        parsed = TargetKind(kind.strip())
    except ValueError:
        parsed = None
    if parsed is None or not SLUG_RE.match(ident.strip()) or not isinstance(text, str):
        raise Refused(f"{path}: {text!r} is not a target (team:ID, user:ID or schedule:ID).",
                      path)
    return Target(parsed, ident.strip())


def _level(r: _Reader) -> Level:
    targets = tuple(_target(t, f"{r.at('targets')}[{i}]")
                    for i, t in enumerate(r.get("targets", list)))
    return _wrap(r.path, lambda: Level(targets, r.get("timeout", int)))


def _notice(r: _Reader) -> Notice:
    priorities = r.get("priorities", list)
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in priorities):
        raise Refused(f"{r.at('priorities')}: a list of priorities 1 to 5.", r.at("priorities"))
    return _wrap(r.path, lambda: Notice(frozenset(priorities), r.get("after", int, 0)))


def _policy(r: _Reader) -> Policy:
    levels = [_finished(x, _level) for x in r.items("levels")]
    notices = [_finished(x, _notice) for x in r.items("notices")]
    ident, name = r.slug("id"), r.text("name")
    repeat, again = r.get("repeat", int, 0), r.get("reescalate_after", int, None)
    return _wrap(r.path, lambda: Policy(ident, name, tuple(levels), repeat, again,
                                        tuple(notices)))


def _finished(reader: _Reader, build: Callable[[_Reader], T]) -> T:
    item = build(reader)
    reader.done()
    return item


_BUILDERS: dict[str, Callable[[_Reader], Any]] = {
    "teams": _team, "users": _user, "services": _service, "schedules": _schedule,
    "policies": _policy}


def parse(doc: Any) -> Organisation:
    """The organisation ``doc`` declares (the parsed TOML or YAML); :class:`Refused` naming
    the path of the first thing wrong."""
    root = _Reader(doc if doc is not None else {}, "")
    sections = {name: [_finished(r, _BUILDERS[name]) for r in root.items(name)]
                for name in SECTIONS}
    root.done()
    org = Organisation(**{name: tuple(items) for name, items in sections.items()})
    _check_references(org)
    return org


def _check_references(org: Organisation) -> None:
    for name in SECTIONS:
        seen: set[str] = set()
        for index, item in enumerate(getattr(org, name)):
            if item.id in seen:
                raise Refused(f"{name}[{index}].id: {item.id!r} is declared twice.",
                              f"{name}[{index}].id")
            seen.add(item.id)
    teams, users = org.by_id("teams"), org.by_id("users")
    schedules, policies = org.by_id("schedules"), org.by_id("policies")

    def need(known: Mapping[str, Any], ident: str | None, what: str, path: str) -> None:
        if ident is not None and ident not in known:
            raise Refused(f"{path}: no {what} {ident!r} in this document.", path)

    for i, user in enumerate(org.users):
        need(teams, user.team, "team", f"users[{i}].team")
    for i, service in enumerate(org.services):
        need(teams, service.team, "team", f"services[{i}].team")
        need(policies, service.policy, "policy", f"services[{i}].policy")
    for i, schedule in enumerate(org.schedules):
        need(teams, schedule.team, "team", f"schedules[{i}].team")
        for j, layer in enumerate(schedule.layers):
            for k, user in enumerate(layer.users):
                need(users, user, "user", f"schedules[{i}].layers[{j}].users[{k}]")
        for j, override in enumerate(schedule.overrides):
            need(users, override.user, "user", f"schedules[{i}].overrides[{j}].user")
    known = {TargetKind.TEAM: (teams, "team"), TargetKind.USER: (users, "user"),
             TargetKind.SCHEDULE: (schedules, "schedule")}
    for i, policy in enumerate(org.policies):
        for j, level in enumerate(policy.levels):
            for k, target in enumerate(level.targets):
                table, what = known[target.kind]
                need(table, target.id, what, f"policies[{i}].levels[{j}].targets[{k}]")


# -- writing ---------------------------------------------------------------------------------


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


def _team_doc(t: Team) -> dict[str, Any]:
    return _clean({"id": t.id, "name": t.name, "level": t.level, "description": t.description})


def _user_doc(u: User) -> dict[str, Any]:
    return _clean({"id": u.id, "name": u.name, "role": u.role.value, "team": u.team,
                   "email": u.email})


def _service_doc(s: Service) -> dict[str, Any]:
    return _clean({"id": s.id, "name": s.name, "team": s.team, "tier": s.tier,
                   "policy": s.policy, "description": s.description,
                   "public": s.public or None})


def _schedule_doc(s: Schedule) -> dict[str, Any]:
    return _clean({
        "id": s.id, "name": s.name, "team": s.team, "time_zone": s.time_zone,
        "layers": [_clean({
            "name": layer.name, "users": list(layer.users),
            "start": layer.start.isoformat(), "every": layer.every,
            "handoff": _hhmm(layer.handoff),
            "days": None if len(layer.days) == 7 else [WEEKDAYS[d] for d in sorted(layer.days)],
            "hours": None if layer.hours is None else [_hhmm(h) for h in layer.hours],
        }) for layer in s.layers],
        "overrides": [{"user": o.user, "start": o.start.isoformat(), "end": o.end.isoformat()}
                      for o in s.overrides],
    })


def _policy_doc(p: Policy) -> dict[str, Any]:
    return _clean({
        "id": p.id, "name": p.name, "repeat": p.repeat, "reescalate_after": p.reescalate_after,
        "levels": [{"timeout": level.timeout,
                    "targets": [f"{t.kind.value}:{t.id}" for t in level.targets]}
                   for level in p.levels],
        "notices": [{"priorities": sorted(n.priorities), "after": n.after} for n in p.notices],
    })


_WRITERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "teams": _team_doc, "users": _user_doc, "services": _service_doc,
    "schedules": _schedule_doc, "policies": _policy_doc}


def item_document(section: str, item: Any) -> dict[str, Any]:
    """One item of ``section`` as plain data (how the server stores a schedule or policy)."""
    return _WRITERS[section](item)


def parse_item(section: str, data: Any, path: str | None = None) -> Any:
    """One item of ``section`` from plain data (references are not checked)."""
    return _finished(_Reader(data, path or section), _BUILDERS[section])


def document(org: Organisation) -> dict[str, Any]:
    """``org`` as plain data in the shape :func:`parse` reads (TOML- and YAML-friendly:
    no None values, times as ``HH:MM`` text, moments with their offset)."""
    doc = {name: [_WRITERS[name](item) for item in getattr(org, name)] for name in SECTIONS}
    return {name: items for name, items in doc.items() if items}


def _hhmm(clock: time) -> str:
    return clock.isoformat(timespec="seconds" if clock.second else "minutes")


# -- planning --------------------------------------------------------------------------------


def plan(current: Organisation, desired: Organisation) -> list[Step]:
    """What turns ``current`` into ``desired``: creations and updates in dependency order
    (teams before the users and services that name them, schedules before the policies),
    then removals in the reverse order. Users missing from ``desired`` are deactivated;
    applying the same document again plans nothing."""
    steps: list[Step] = []
    removals: list[Step] = []
    for name in SECTIONS:
        have, want = current.by_id(name), desired.by_id(name)
        for ident, item in want.items():
            if ident not in have:
                steps.append(Step(Change.CREATE, name, ident, item=item))
            elif have[ident] != item:
                steps.append(Step(Change.UPDATE, name, ident, _differences(have[ident], item),
                                  item=item))
        gone = [ident for ident in have if ident not in want]
        change = Change.DEACTIVATE if name == "users" else Change.REMOVE
        removals = [Step(change, name, ident, item=have[ident]) for ident in sorted(gone)] \
            + removals
    return steps + removals


def _differences(old: Any, new: Any) -> tuple[str, ...]:
    names: Iterable[str] = getattr(type(new), "__dataclass_fields__", {})
    return tuple(n for n in names if n != "zone" and getattr(old, n) != getattr(new, n))
