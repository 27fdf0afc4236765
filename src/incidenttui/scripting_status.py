"""Scripting verbs for the status page and maintenance windows, over the local store and
the one command path (``Store.execute`` → outbox → sync), so they work offline too:

* ``incidenttui status-page show|set SERVICE STATE|update ID TEXT [--component S=STATE]``
* ``incidenttui maintenance list|create|end``
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from incidenttui.config import VerbError, server_url
from incidenttui.scripting import (
    EXIT_CONFLICTS,
    _execute,
    _find,
    _iso,
    _print_json,
    open_store,
    try_sync,
)
from incidenttui.tls import client_trust


def _moment(value: str, what: str) -> datetime:
    """``now``, ``+2h`` (from now) or ISO 8601 with an offset."""
    from incidenttui.domain import Refused
    from incidenttui.domain.statuspage import parse_when

    try:
        return parse_when(value, datetime.now(UTC), what)
    except Refused as exc:
        raise VerbError(exc.reason) from None


def _run(args: argparse.Namespace, command: Any, done: str) -> int:
    """Apply a change about no incident through the store, then try to send it."""
    from incidenttui.domain import Refused

    url = server_url(args.server)
    verify = True if args.no_sync else client_trust(args)
    store = open_store(url)
    try:
        store.execute(command)
    except Refused as exc:
        raise VerbError(f"refused: {exc.reason}") from None
    problem = None if args.no_sync else try_sync(store, url, verify)
    where = "queued" if args.no_sync else \
        "sent" if problem is None else f"queued (offline: {problem})"
    print(f"{done}: {where}")
    refused = [c for c in store.conflicts() if c.outbox_key and c.kind == command.kind
               and c.summary == command.describe()]
    for c in refused:
        print(f"  the server did not apply it: {c.reason} (see `incidenttui conflicts`)")
    return EXIT_CONFLICTS if refused else 0


def _window_dict(row: Any, now: datetime) -> dict[str, Any]:
    finish = min(row.ends_at, row.ended_at) if row.ended_at else row.ends_at
    state = "over" if finish <= now else "running" if row.starts_at <= now else "planned"
    return {"id": row.id, "services": list(row.services), "starts_at": _iso(row.starts_at),
            "ends_at": _iso(finish), "reason": row.reason, "state": state,
            "pending": row.pending}


# -- status page -----------------------------------------------------------------------------


def cmd_status_show(args: argparse.Namespace) -> int:
    from incidenttui.domain.statuspage import ComponentState

    store = open_store(server_url(args.server))
    now = datetime.now(UTC)
    components = [s for s in store.services() if s.public]
    windows = [_window_dict(w, now) for w in store.maintenance(now)]
    if args.json:
        _print_json({"components": [{"id": s.id, "name": s.name, "state": s.component_state}
                                    for s in components], "maintenance": windows})
        return 0
    if not components:
        print("no public components (an admin makes services public: admin create-service "
              "--public, or public = true in admin apply)")
    for s in components:
        label = ComponentState(s.component_state).label \
            if s.component_state in ComponentState._value2member_map_ else s.component_state
        print(f"{s.id:<20} {label:<18} {s.name}")
    for w in windows:
        print(f"maintenance {w['state']:<8} {', '.join(w['services'])}  {w['starts_at']} → "
              f"{w['ends_at']}  {w['reason']}")
    return 0


def cmd_status_set(args: argparse.Namespace) -> int:
    from incidenttui.domain import Refused
    from incidenttui.store.status_commands import SetComponentState

    try:
        command = SetComponentState.new(args.service, args.state)
    except Refused as exc:
        raise VerbError(exc.reason) from None
    return _run(args, command, f"{args.service} set to {command.state.replace('_', ' ')}")


def cmd_status_update(args: argparse.Namespace) -> int:
    from incidenttui.store.status_commands import PostPublicUpdate

    components: dict[str, str] = {}
    for item in args.component or []:
        service, sep, state = item.partition("=")
        if not sep or not service or not state:
            raise VerbError(f"--component {item!r}: write SERVICE=STATE, e.g. "
                            "checkout=major_outage")
        components[service.strip()] = state.strip()
    return _execute(args, lambda store: PostPublicUpdate(
        _find(store, args.id).id, public_text=args.text, components=components))


# -- maintenance -----------------------------------------------------------------------------


def cmd_maintenance_list(args: argparse.Namespace) -> int:
    store = open_store(server_url(args.server))
    now = datetime.now(UTC)
    windows = [_window_dict(w, now) for w in store.maintenance(now, include_past=args.all)]
    if args.json:
        _print_json(windows)
        return 0
    if not windows:
        print("no maintenance windows running or planned")
    for w in windows:
        pending = " (not sent yet)" if w["pending"] else ""
        print(f"{w['id'][:8]}  {w['state']:<8} {w['starts_at']} → {w['ends_at']}  "
              f"{', '.join(w['services'])}  {w['reason']}{pending}")
    return 0


def cmd_maintenance_create(args: argparse.Namespace) -> int:
    from incidenttui.domain import Refused
    from incidenttui.store.status_commands import PlanMaintenance

    start = _moment(args.start, "--start")
    if args.end is None and args.duration is None:
        raise VerbError("give --end WHEN or --for DURATION (e.g. --for 2h)")
    if args.duration is not None:
        from incidenttui.domain.statuspage import parse_span

        try:
            end = start + parse_span(args.duration, "--for")
        except Refused as exc:
            raise VerbError(exc.reason) from None
    else:
        end = _moment(args.end, "--end")
    command = PlanMaintenance.new(args.service, start, end, args.reason)
    try:
        command.check(datetime.now(UTC))
    except Refused as exc:
        raise VerbError(f"refused: {exc.reason}") from None
    return _run(args, command, f"maintenance {command.window_id[:8]} planned")


def cmd_maintenance_end(args: argparse.Namespace) -> int:
    from incidenttui.store.status_commands import EndMaintenance

    store = open_store(server_url(args.server))
    found = [w for w in store.maintenance(include_past=True) if w.id.startswith(args.id)]
    if len(found) != 1:
        raise VerbError(f"no maintenance window {args.id!r} in the local store" if not found
                        else f"{args.id!r} names {len(found)} windows; give more of its id")
    return _run(args, EndMaintenance.new(found[0].id), f"maintenance {found[0].id[:8]} ended")


def add_status_verbs(sub: Any) -> None:
    """Register ``status-page`` and ``maintenance`` on the top-level parser's subparsers."""
    from incidenttui.domain.statuspage import ComponentState

    def common(p: argparse.ArgumentParser, writes: bool) -> argparse.ArgumentParser:
        p.add_argument("--server", default=None, metavar="URL", help="the server profile")
        p.add_argument("--ca-bundle", default=None, metavar="PATH",
                       help="trust the CAs in this PEM file")
        if writes:
            p.add_argument("--no-sync", action="store_true",
                           help="only queue the change; do not try to send it now")
        return p

    states = ", ".join(s.value for s in ComponentState)
    sp = sub.add_parser("status-page", help="the public status page: components and public "
                                            "updates", description="Keep the public status "
                        "page current (served at /status by the server).")
    verbs = sp.add_subparsers(dest="status_verb", required=True, metavar="VERB")
    p = common(verbs.add_parser("show", help="public components and maintenance (local store)"),
               False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status_show)
    p = common(verbs.add_parser("set", help="set a component's state"), True)
    p.add_argument("service")
    p.add_argument("state", help=states)
    p.set_defaults(func=cmd_status_set)
    p = common(verbs.add_parser("update", help="post a public update on an incident"), True)
    p.add_argument("id", help="INC-number or UUID")
    p.add_argument("text", help="the public wording customers read")
    p.add_argument("--component", action="append", metavar="SERVICE=STATE",
                   help=f"also set a component's state ({states})")
    p.set_defaults(func=cmd_status_update)

    mp = sub.add_parser("maintenance", help="maintenance windows: list, create, end",
                        description="Maintenance windows: alerts for their services page no "
                                    "one and open no incident until the window ends.")
    verbs = mp.add_subparsers(dest="maintenance_verb", required=True, metavar="VERB")
    p = common(verbs.add_parser("list", help="windows running or planned"), False)
    p.add_argument("--all", action="store_true", help="also windows that are over")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_maintenance_list)
    p = common(verbs.add_parser("create", help="plan a window"), True)
    p.add_argument("--service", action="append", required=True,
                   help="a service it covers (repeat for more)")
    p.add_argument("--start", default="now", help="now, +2h, or ISO 8601 with offset")
    p.add_argument("--end", default=None, help="+2h or ISO 8601 with offset")
    p.add_argument("--for", dest="duration", default=None, metavar="DURATION",
                   help="how long, e.g. 90m, 2h")
    p.add_argument("--reason", default="", help="shown on the status page")
    p.set_defaults(func=cmd_maintenance_create)
    p = common(verbs.add_parser("end", help="end a window now"), True)
    p.add_argument("id", help="the window's id (its first characters will do)")
    p.set_defaults(func=cmd_maintenance_end)

