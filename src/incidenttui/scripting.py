"""Scripting verbs over the local store and the one command path.

Reads come from the store; writes go through :meth:`Store.execute` (applied locally and
queued) and are then sent if the server answers quickly, so every verb works offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidenttui.config import VerbError, remember_server, server_url
from incidenttui.present import age, clock_text, forgotten_text, ref, sla_cell
from incidenttui.tls import client_trust

EXIT_PENDING = 3
EXIT_CONFLICTS = 4
#: How long a write verb waits for the server before leaving the change queued.
QUICK_SYNC_SECONDS = 5.0


def open_store(url: str):  # type: ignore[no-untyped-def]
    from incidenttui.store import Store, StoreError

    try:
        return Store.for_server(url)
    except StoreError as exc:
        raise VerbError(str(exc)) from None
    except Exception as exc:
        raise VerbError(f"cannot open the local store: {exc}") from None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def incident_dict(incident: Any) -> dict[str, Any]:
    """Every field of a cached incident, times as ISO-8601 UTC."""
    from incidenttui.store.store import INCIDENT_COLUMNS

    data: dict[str, Any] = {"ref": ref(incident.number, incident.series)}
    for name in INCIDENT_COLUMNS:
        value = getattr(incident, name)
        data[name] = _iso(value) if isinstance(value, datetime) else value
    data["priority_label"] = f"P{incident.priority}"
    data["pending_changes"] = incident.pending
    return data


def _event_dict(event: Any) -> dict[str, Any]:
    return {"id": event.id, "at": _iso(event.at), "kind": event.kind, "actor": event.actor,
            "text": event.text, "data": event.data, "pending": event.pending}


def _find(store: Any, key: str) -> Any:
    incident = store.get(key)
    if incident is None:
        raise VerbError(f"no incident {key!r} in the local store (try `incidenttui sync`)")
    return incident


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# -- sync ------------------------------------------------------------------------------------


async def _sync(store: Any, url: str, timeout: float | None, verify: Any) -> Any:
    from incidenttui.credentials import load_token
    from incidenttui.sync.client import ApiClient
    from incidenttui.sync.engine import SyncEngine

    token = load_token(url)
    client = ApiClient(url, token, timeout=timeout or 15.0, verify=verify)
    engine = SyncEngine(store, client)
    try:
        if timeout is None:
            return await engine.sync_once()
        return await asyncio.wait_for(engine.sync_once(), timeout)
    finally:
        await client.aclose()


def try_sync(store: Any, url: str, verify: Any,
             timeout: float | None = QUICK_SYNC_SECONDS) -> str | None:
    """One sync cycle; returns None when done, else why it could not finish. ``verify`` is
    the TLS trust (:func:`incidenttui.tls.client_trust`)."""
    from incidenttui.sync.client import SyncError

    try:
        asyncio.run(_sync(store, url, timeout, verify))
    except SyncError as exc:
        return str(exc)
    except TimeoutError:
        return f"the server did not finish within {timeout:.0f}s"
    except Exception as exc:  # a local fault: report it in words, keep the outbox
        return f"local error during sync: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def cmd_sync(args: argparse.Namespace) -> int:
    url = server_url(args.server)
    verify = client_trust(args)
    store = open_store(url)
    problem = try_sync(store, url, verify, timeout=None)
    pending, conflicts = store.pending_count(), store.conflict_count()
    forgotten = store.take_forgotten()
    if args.json:
        _print_json({"ok": problem is None, "error": problem, "pending": pending,
                     "conflicts": conflicts, "cursor": store.cursor,
                     "forgotten": [ref(n.get("number"), n.get("series")) for n in forgotten]})
    else:
        for notice in forgotten:
            print(forgotten_text(notice.get("number"), int(notice.get("dropped") or 0),
                                 notice.get("series")))
        state = "synced" if problem is None else f"not synced: {problem}"
        print(f"{state}; {pending} pending, {conflicts} conflicts")
    if pending:
        return EXIT_PENDING
    if conflicts:
        return EXIT_CONFLICTS
    return 0 if problem is None else 1


# -- reads -----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from incidenttui.store import IncidentFilter

    url = server_url(args.server)
    store = open_store(url)
    if args.stale:
        from incidenttui.report_verbs import list_stale

        return list_stale(args, store)
    mine = store.user_id if args.mine else None
    if args.mine and mine is None:
        raise VerbError("who you are is not known yet: run `incidenttui sync` once online")
    flt = IncidentFilter(statuses=tuple(args.status or ()),
                         priorities=tuple(args.priority or ()), open_only=args.open,
                         assignee=mine, team=args.team, text=args.search or "",
                         sort=args.sort)
    incidents = store.list(flt, limit=args.limit)
    if args.json:
        _print_json([incident_dict(i) for i in incidents])
        return 0
    now = datetime.now(UTC)
    for i in incidents:
        due, _ = sla_cell(i.sla_due_at, now, paused=i.on_hold_since is not None)
        print(f"{ref(i.number, i.series):<11} P{i.priority} {i.status:<12} "
              f"{age(i.created_at, now):>6} "
              f"SLA {due:>7}  {i.service:<16} {i.title}")
    if not incidents:
        print("no incidents match" if store.has_synced else
              "the local store is empty: run `incidenttui sync` once online")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from incidenttui.domain import sla_clocks
    from incidenttui.domain.refs import describe_event

    url = server_url(args.server)
    store = open_store(url)
    incident = _find(store, args.id)
    events = store.timeline(incident.id)
    if args.json:
        _print_json({**incident_dict(incident), "timeline": [_event_dict(e) for e in events]})
        return 0
    now = datetime.now(UTC)
    clocks = sla_clocks(incident.priority, incident.created_at, now,
                        acknowledged_at=incident.acknowledged_at,
                        resolved_at=incident.resolved_at, hold_seconds=incident.hold_seconds,
                        on_hold_since=incident.on_hold_since,
                        pauses=store.sla_pauses(incident.service))
    print(f"{ref(incident.number, incident.series)}  P{incident.priority}  {incident.status}  "
          f"{incident.title}")
    print(f"service {incident.service} · category {incident.category} · team "
          f"{incident.team or '-'} · assignee {incident.assignee or '-'} · level "
          f"L{incident.escalation_level}")
    for name, clock in (("response", clocks.response), ("resolution", clocks.resolution)):
        print(f"SLA {name}: {clock_text(clock)}")
    _print_security(incident, events, now)
    if incident.description:
        print("\n" + incident.description)
    print("\ntimeline:")
    for e in events:
        mark = " (pending)" if e.pending else ""
        print(f"  {_iso(e.at)} {e.kind:<12} {e.actor or '-':<14} {describe_event(e)}{mark}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Write the post-incident review (Markdown) from the local store: offline too."""
    url = server_url(args.server)
    store = open_store(url)
    incident = _find(store, args.id)
    now = datetime.now(UTC)
    view = store.major_view(incident.id, now)
    if view is None:
        raise VerbError(f"no incident {args.id!r} in the local store")
    text = view.review(now)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    from incidenttui.files import write_whole

    try:
        write_whole(Path(args.output), text)
    except OSError as exc:
        raise VerbError(str(exc)) from None
    print(f"review of {ref(incident.number)} written to {args.output}")
    return 0


def _print_security(incident: Any, events: list[Any], now: datetime) -> None:
    """The breach clock and the playbook checklist, in the detail screen's words."""
    from incidenttui.domain.playbooks import progress
    from incidenttui.present import breach_text
    from incidenttui.store.security import security_view

    view = security_view(incident, events, now)
    if view.breach is not None:
        print(breach_text(view.breach))
    if view.playbook is not None:
        print(f"playbook {view.playbook.title} {progress(view.playbook, view.checked).label}:")
        for step in view.playbook.steps:
            mark = "x" if step.id in view.checked else " "
            print(f"  [{mark}] {step.phase.value:<13} {step.id:<18} {step.text}")


def cmd_conflicts(args: argparse.Namespace) -> int:
    from incidenttui.domain import Refused
    from incidenttui.store import SettleConflict

    url = server_url(args.server)
    settle = args.keep_mine if args.keep_mine is not None else args.take_theirs
    verify = client_trust(args) if args.keep_mine is not None else True
    store = open_store(url)
    if settle is not None:
        try:
            store.execute(SettleConflict(settle, keep_mine=args.keep_mine is not None))
        except Refused as exc:
            raise VerbError(f"refused: {exc.reason}") from None
        problem = None if args.keep_mine is None else try_sync(store, url, verify)
        print(f"conflict #{settle} settled" + (f"; queued ({problem})" if problem else ""))
        return 0
    conflicts = store.conflicts()
    if args.json:
        _print_json([{"id": c.id, "incident_id": c.incident_id, "field": c.field,
                      "mine": c.mine, "theirs": c.theirs, "their_version": c.their_version,
                      "reason": c.reason, "change": c.summary, "at": _iso(c.created_at)}
                     for c in conflicts])
        return 0
    for c in conflicts:
        incident = store.get(c.incident_id)
        name = ref(incident.number if incident else None,
                   incident.series if incident else None)
        if c.field:
            print(f"#{c.id} {name} {c.field}: mine={c.mine!r} theirs={c.theirs!r}")
        else:
            print(f"#{c.id} {name} refused: {c.summary}: {c.reason}")
    if not conflicts:
        print("no conflicts")
    return 0


def cmd_oncall(args: argparse.Namespace) -> int:
    """Who is on call now and next, from the schedules the store last synced."""
    from incidenttui.domain.oncall import roster
    from incidenttui.store.sanitize import clean_line

    url = server_url(args.server)
    store = open_store(url)
    schedules, problems = store.schedules()
    at = datetime.now(UTC)
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise VerbError(f"--at {args.at!r}: use ISO 8601 such as 2026-12-04T03:00+01:00",
                            2) from None
        if at.tzinfo is None:
            raise VerbError("--at: give the time zone offset (…+01:00 or Z)", 2)
    for problem in problems:
        print(f"incidenttui oncall: {problem}", file=sys.stderr)
    answer = roster(schedules, at, args.team)
    if args.json:
        _print_json([{"schedule": s.id, "name": s.name, "team": s.team,
                      "time_zone": s.time_zone,
                      **{key: {"user": shift.user, "start": shift.start.isoformat(),
                               "end": shift.end.isoformat(), "source": shift.source}
                         for key, shift in (("now", now), ("next", nxt))}}
                     for s, now, nxt in answer])
        return 0
    if not answer:
        team = f" for team {args.team}" if args.team else ""
        print(f"no on-call schedules{team} in the local store (they come from the server's "
              "`incidenttui admin apply`; run `incidenttui sync` once online)")
        return 0
    for schedule, now, nxt in answer:
        team = f", team {clean_line(schedule.team, 64)}" if schedule.team else ""
        print(f"{schedule.id} ({clean_line(schedule.name, 80)}{team}, {schedule.time_zone})")
        for label, shift, edge in (("now ", now, f"until {_when(now.end, schedule)}"),
                                   ("next", nxt, f"from {_when(nxt.start, schedule)} until "
                                                 f"{_when(nxt.end, schedule)}")):
            who = clean_line(shift.user, 64) if shift.user else "nobody"
            why = f" ({clean_line(shift.source, 80)})" if shift.source else ""
            print(f"  {label} {who}{why} {edge}")
    return 0


def _when(moment: datetime, schedule: Any) -> str:
    return moment.astimezone(schedule.zone).strftime("%a %d %b %H:%M %Z")


# -- writes ----------------------------------------------------------------------------------


def _execute(args: argparse.Namespace, build: Any) -> int:
    from incidenttui.domain import Refused

    url = server_url(args.server)
    # Before the change is made: a CA bundle that cannot be used is said first, not after.
    verify = True if args.no_sync else client_trust(args)
    store = open_store(url)
    try:
        incident = store.execute(build(store))
    except Refused as exc:
        raise VerbError(f"refused: {exc.reason}") from None
    problem = None if args.no_sync else try_sync(store, url, verify)
    incident = store.get(incident.id) or incident
    where = "sent" if problem is None else f"queued (offline: {problem})"
    if args.no_sync:
        where = "queued"
    print(f"{ref(incident.number, incident.series)} {incident.status}: {where}")
    conflicts = [c for c in store.conflicts() if c.incident_id == incident.id]
    for c in conflicts:
        print(f"  the server did not apply it: {c.reason} (see `incidenttui conflicts`)")
    return EXIT_CONFLICTS if conflicts else 0


def cmd_transition(args: argparse.Namespace) -> int:
    from incidenttui.store import Transition

    return _execute(args, lambda store: Transition(
        _find(store, args.id).id, action=args.action, note=getattr(args, "note", None)))


def cmd_resolve(args: argparse.Namespace) -> int:
    from incidenttui.store import Transition

    return _execute(args, lambda store: Transition(
        _find(store, args.id).id, action="resolve", resolution_code=args.code,
        resolution_note=args.note))


def cmd_note(args: argparse.Namespace) -> int:
    from incidenttui.store import AddNote

    return _execute(args, lambda store: AddNote(_find(store, args.id).id, text=args.text))


def cmd_assign(args: argparse.Namespace) -> int:
    from incidenttui.store import UpdateFields

    fields: dict[str, Any] = {"team": args.team}
    if args.user is not None:
        fields["assignee"] = args.user
    return _execute(args, lambda store: UpdateFields(_find(store, args.id).id, fields))


def cmd_escalate(args: argparse.Namespace) -> int:
    from incidenttui.store import Escalate

    kind = "hierarchical" if args.hierarchical else "functional"
    if not args.hierarchical and not args.to:
        raise VerbError("functional escalation needs --to TEAM (or use --hierarchical)", 2)
    return _execute(args, lambda store: Escalate(
        _find(store, args.id).id, escalation=kind, reason=args.reason,
        to_team=None if args.hierarchical else args.to, to_user=args.user))


def cmd_create(args: argparse.Namespace) -> int:
    from incidenttui.report_verbs import suggest_for_create
    from incidenttui.store import CreateIncident

    if suggest_for_create(args):
        return 0
    return _execute(args, lambda store: CreateIncident.new(
        title=args.title, description=args.description, service=args.service,
        category=args.category, impact=args.impact, urgency=args.urgency, major=args.major))


def cmd_login(args: argparse.Namespace) -> int:
    import getpass

    import httpx

    from incidenttui.credentials import CredentialError, save_token

    url = server_url(args.server)
    verify = client_trust(args)
    if sys.stdin.isatty():
        token = getpass.getpass(f"API token for {url} (input hidden): ").strip()
    else:
        token = sys.stdin.readline().strip()
    if not token:
        raise VerbError("no token given", 2)
    try:
        answer = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                           timeout=10, verify=verify)
        if answer.status_code == 401:
            raise VerbError("the server refused that token (401); nothing was stored")
        user = answer.json().get("user", {}).get("id") if answer.status_code == 200 else None
        checked = f"as {user}" if user else f"(server answered {answer.status_code})"
    except httpx.HTTPError as exc:
        from incidenttui.sync.client import describe_network

        checked = f"(not checked: {describe_network(exc, url)})"
    except ValueError as exc:
        checked = f"(not checked: the answer was not JSON, {type(exc).__name__})"
    try:
        where = save_token(url, token, insecure_storage=args.insecure_storage)
    except CredentialError as exc:
        raise VerbError(str(exc)) from None
    remember_server(url)
    print(f"logged in to {url} {checked}; token stored in {where}")
    return 0


def add_verbs(sub: Any) -> None:
    """Register the scripting verbs on the top-level parser's subparsers."""
    from incidenttui.domain.enums import Category, Status
    from incidenttui.report_verbs import add_kpis_verb

    def verb(name: str, func: Any, help_: str, *, writes: bool = False,
             takes_id: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        p.add_argument("--server", default=None, metavar="URL", help="the server profile")
        p.add_argument("--ca-bundle", default=None, metavar="PATH",
                       help="trust the CAs in this PEM file (default: $INCIDENTTUI_CA_BUNDLE "
                            "or ca_bundle in config.toml)")
        if takes_id:
            p.add_argument("id", help="INC-number or UUID")
        if writes:
            p.add_argument("--no-sync", action="store_true",
                           help="only queue the change; do not try to send it now")
        p.set_defaults(func=func)
        return p

    p = verb("login", cmd_login, "store an API token for a server in the keyring",
             takes_id=False)
    p.add_argument("--insecure-storage", action="store_true",
                   help="store the token in a 0600 plaintext file when no keyring exists")
    p = verb("list", cmd_list, "list incidents from the local store", takes_id=False)
    p.add_argument("--status", action="append",
                   choices=[s.value for s in Status])
    p.add_argument("--priority", action="append", type=int, choices=[1, 2, 3, 4, 5])
    p.add_argument("--mine", action="store_true", help="only incidents assigned to me")
    p.add_argument("--open", action="store_true", help="only open incidents")
    p.add_argument("--team", default=None)
    p.add_argument("--search", default=None, help="full-text search")
    p.add_argument("--sort", default="priority", choices=["priority", "newest", "sla",
                                                          "updated"])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--stale", action="store_true",
                   help="stale acknowledgements: acknowledged or in progress, no note or "
                        "status change for --hours; oldest first, with owner and idle time")
    p.add_argument("--hours", type=float, default=4.0,  # store.stale.DEFAULT_STALE_HOURS
                   help="with --stale: hours untouched (default: 4)")
    p.add_argument("--json", action="store_true")
    p = verb("show", cmd_show, "show one incident and its timeline")
    p.add_argument("--json", action="store_true")
    p = verb("review", cmd_review, "write the post-incident review (Markdown) from the "
             "local store")
    p.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="write it to FILE (default: standard output)")
    for action, text in (("ack", "acknowledge"), ("start", "start"), ("hold", "hold"),
                         ("resume", "resume"), ("close", "close"), ("reopen", "reopen"),
                         ("cancel", "cancel")):
        p = verb(action, cmd_transition, f"{text} an incident", writes=True)
        p.add_argument("--note", default=None, help="a note to add with it")
        p.set_defaults(action={"ack": "acknowledge"}.get(action, action))
    p = verb("note", cmd_note, "add a note to an incident's timeline", writes=True)
    p.add_argument("text")
    p = verb("assign", cmd_assign, "assign an incident to a team (and a person)", writes=True)
    p.add_argument("--team", required=True)
    p.add_argument("--user", default=None)
    p = verb("escalate", cmd_escalate, "escalate an incident", writes=True)
    p.add_argument("--to", default=None, metavar="TEAM", help="the team to hand it to")
    p.add_argument("--reason", required=True)
    p.add_argument("--hierarchical", action="store_true", help="engage management instead")
    p.add_argument("--user", default=None, help="a person in the target team")
    p = verb("resolve", cmd_resolve, "resolve an incident", writes=True)
    p.add_argument("--code", required=True, help="resolution code, e.g. fixed, workaround")
    p.add_argument("--note", required=True, help="what was done")
    p = verb("create", cmd_create, "log a new incident", writes=True, takes_id=False)
    p.add_argument("--title", required=True)
    p.add_argument("--service", default=None,
                   help="default: the service suggested from past incidents")
    p.add_argument("--category", default=None, choices=[c.value for c in Category],
                   help="default: the category suggested from past incidents, else other")
    p.add_argument("--suggest", action="store_true",
                   help="only print the suggested category and service; log nothing")
    p.add_argument("--impact", type=int, default=3, choices=[1, 2, 3])
    p.add_argument("--urgency", type=int, default=3, choices=[1, 2, 3])
    p.add_argument("--description", default="")
    p.add_argument("--major", action="store_true")
    add_kpis_verb(verb)
    p = verb("oncall", cmd_oncall, "who is on call now and next (from the local store)",
             takes_id=False)
    p.add_argument("--team", default=None, help="only this team's schedules")
    p.add_argument("--at", default=None, metavar="WHEN",
                   help="another moment, ISO 8601 with offset (default: now)")
    p.add_argument("--json", action="store_true")
    p = verb("sync", cmd_sync, "run one sync cycle (exit 1: could not sync, 3: changes pending, "
             "4: conflicts)",
             takes_id=False)
    p.add_argument("--json", action="store_true")
    p = verb("conflicts", cmd_conflicts, "list or settle changes the server did not apply",
             takes_id=False)
    p.add_argument("--json", action="store_true")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--keep-mine", type=int, metavar="N",
                       help="send my value again for conflict #N")
    group.add_argument("--take-theirs", type=int, metavar="N",
                       help="accept the server's value for conflict #N (or dismiss refusal N)")
    from incidenttui.scripting_status import add_status_verbs

    add_status_verbs(sub)
