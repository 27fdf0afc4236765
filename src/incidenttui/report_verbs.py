"""The scripting verbs that report from the local store: ``kpis`` and ``list --stale``.

Both read only the store, so they answer with the server stopped.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from incidenttui.config import VerbError

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")
_UNITS = {"h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_moment(value: str, now: datetime, *, what: str) -> datetime:
    """``30d``, ``12h``, ``2w`` (that long before ``now``), or an ISO-8601 date or time (UTC
    unless it says otherwise)."""
    span = _SPAN.match(value)
    if span:
        return now - timedelta(seconds=float(span.group(1)) * _UNITS[span.group(2)])
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise VerbError(f"{what} {value!r}: give a span like 30d, 12h, 2w or a date like "
                        "2026-03-01", 2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_kpis(args: argparse.Namespace) -> int:
    from incidenttui import kpi_text
    from incidenttui.config import server_url
    from incidenttui.scripting import _print_json, open_store

    now = datetime.now(UTC)
    until = parse_moment(args.until, now, what="--until") if args.until else now
    since = parse_moment(args.since or f"{args.days}d", until if args.until else now,
                         what="--since")
    if since >= until:
        raise VerbError("--since must be before --until", 2)
    store = open_store(server_url(args.server))
    report = store.kpis(since, until, by=args.by, now=now)
    if args.json:
        _print_json(kpi_text.as_json(report))
    elif args.csv:
        sys.stdout.write(kpi_text.as_csv(report))
    else:
        print(kpi_text.title(report))
        print("\n".join(kpi_text.report_lines(report, weekly=True)))
    return 0


def list_stale(args: argparse.Namespace, store: Any) -> int:
    """``list --stale``: acknowledged or in progress, untouched for ``--hours``, oldest
    first, with the owner and the idle time."""
    from incidenttui.present import duration, ref
    from incidenttui.scripting import _print_json, incident_dict

    now = datetime.now(UTC)
    try:
        stale = store.stale(args.hours, now)
    except ValueError as exc:
        raise VerbError(str(exc), 2) from None
    incidents = {i.id: i for i in store.incidents([s.incident_id for s in stale])}
    rows = [(s, incidents[s.incident_id]) for s in stale if s.incident_id in incidents]
    if args.limit is not None:
        rows = rows[:args.limit]
    if args.json:
        _print_json([{**incident_dict(i), "touched_at": s.touched_at.isoformat().replace(
            "+00:00", "Z"), "idle_seconds": round(s.idle(now).total_seconds()),
            "owner": s.owner} for s, i in rows])
        return 0
    for s, i in rows:
        print(f"{ref(i.number):<11} P{i.priority} {i.status:<12} idle "
              f"{duration(s.idle(now)):>6}  {(s.owner or '-')[:16]:<16} {i.title}")
    if not rows:
        print(f"no acknowledgement untouched for {args.hours:g}h or more")
    return 0


def suggest_for_create(args: argparse.Namespace) -> bool:
    """``create``: fill ``--category`` and ``--service`` the user left out from the model
    trained on the store's past incidents (domain/suggest.py), saying so on stderr. True
    when only the suggestion was asked for (``--suggest``) and nothing is to be logged."""
    from incidenttui.config import server_url
    from incidenttui.scripting import open_store

    if args.category is not None and args.service is not None and not args.suggest:
        return False
    store = open_store(server_url(args.server))
    suggestion = store.suggester().suggest(args.title, args.description)
    if args.suggest:
        if suggestion is None:
            print("no suggestion: too few past incidents, or no word of the title known")
        else:
            print(f"category {suggestion.category} ({suggestion.category_p:.0%}) · service "
                  f"{suggestion.service} ({suggestion.service_p:.0%}) · from "
                  f"{suggestion.examples} past incidents")
        return True
    if args.service is None and suggestion is None:
        raise VerbError("--service is required: there is no suggestion (too few past "
                        "incidents in the local store, or no word of the title known)", 2)
    taken = []
    if args.category is None:
        args.category = suggestion.category if suggestion is not None else "other"
        if suggestion is not None:
            taken.append(f"category {suggestion.category} ({suggestion.category_p:.0%})")
    if args.service is None and suggestion is not None:
        args.service = suggestion.service
        taken.append(f"service {suggestion.service} ({suggestion.service_p:.0%})")
    if taken:
        print(f"suggested {' and '.join(taken)} from past incidents; pass --category or "
              "--service to choose otherwise", file=sys.stderr)
    return False


def add_kpis_verb(verb: Any) -> None:
    """``kpis`` on the scripting parser (``verb`` is scripting.add_verbs' helper)."""
    from incidenttui.domain.kpis import GROUPS

    p = verb("kpis", cmd_kpis, "service KPIs from the local store (MTTD, MTTA, MTTR, SLA, "
             "FCR, escalation, reopen, volume, backlog, 12-week trend)", takes_id=False)
    p.add_argument("--since", default=None, metavar="WHEN",
                   help="the window's start: a span back from now (30d, 12h, 2w) or a date "
                        "(default: 30d)")
    p.add_argument("--until", default=None, metavar="WHEN",
                   help="the window's end: a date or time (default: now)")
    p.add_argument("--days", type=int, default=30, help=argparse.SUPPRESS)  # older spelling
    p.add_argument("--by", choices=GROUPS, default=None,
                   help="one line of figures per service, team, category or priority")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true", help="one row for all, one per group")
