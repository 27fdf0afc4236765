"""Service-management KPIs from the local store (so they work offline too): one scan.

The definitions and the arithmetic are :mod:`incidenttui.domain.kpis`'s; this module only
reads, in one query, the facts of every incident the figures can need — those logged since
the earlier of the window's start and the trend's first week, and every open one (the
backlog) — with times turned into epoch seconds by SQLite, so Python does no date parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from incidenttui.domain.enums import Priority
from incidenttui.domain.kpis import TREND_WEEKS, WEEK, KpiReport, compute
from incidenttui.domain.sla import DEFAULT_SLA, SlaTarget

_EPOCH_JD = 2440587.5  # the Julian day of 1970-01-01 00:00 UTC


def _secs(column: str) -> str:
    return f"(julianday(i.{column}) - {_EPOCH_JD}) * 86400.0"


#: The KPI scan reads this narrow covering index instead of the wide incident rows (their
#: JSON snapshots): about a third of the time at 100,000 incidents. Layout 6.
KPI_INDEX_SQL = ("CREATE INDEX IF NOT EXISTS ix_kpi_scan ON incidents (created_at, is_open, "
                 "priority, status, service, category, team, started_at, detected_at, "
                 "acknowledged_at, resolved_at, hold_seconds, on_hold_since, escalation_level, "
                 "management_engaged, reopen_count)")

#: The columns of domain.kpis.FIELDS, in order; the team's level comes from the teams table.
SCAN_SQL = (
    "SELECT i.priority, i.status, i.service, i.category, i.team, t.level, "
    f"{_secs('created_at')}, {_secs('started_at')}, {_secs('detected_at')}, "
    f"{_secs('acknowledged_at')}, {_secs('resolved_at')}, i.hold_seconds, "
    f"{_secs('on_hold_since')}, i.escalation_level, i.management_engaged, i.reopen_count "
    "FROM incidents i LEFT JOIN teams t ON t.id = i.team "
    "WHERE (i.created_at >= :low AND i.created_at < :until) OR i.is_open = 1 "
    "OR i.created_at IS NULL")


def _db_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def compute_kpis(conn: Any, since: datetime, until: datetime, *, by: str | None = None,
                 now: datetime | None = None,
                 policy: Mapping[Priority, SlaTarget] = DEFAULT_SLA) -> KpiReport:
    """The KPIs of incidents logged in [since, until) on a DB-API connection to the store
    (:func:`incidenttui.domain.kpis.compute`); ``now``: the clock (default: the time now)."""
    if since >= until:
        raise ValueError("the window is empty: --since must be before --until")
    now = now or datetime.now(UTC)
    start, end = since.timestamp(), until.timestamp()
    low = datetime.fromtimestamp(min(start, end - TREND_WEEKS * WEEK), UTC)
    rows = conn.execute(SCAN_SQL, {"low": _db_time(low), "until": _db_time(until)})
    return compute(rows, start, end, now.timestamp(), by=by, policy=policy)
