"""Service-management KPIs computed from the local store (so they work offline too).

MTTD (impact start → detection), MTTA (logged → acknowledged), MTTR (logged → resolved, time
on hold excluded), SLA compliance for response and resolution, first-contact resolution
(resolved without functional escalation), reopen rate, and volume by priority, service and
category. Cancelled incidents are left out: they were never real incidents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from incidenttui.domain import DEFAULT_SLA, DONE_STATUSES, Priority, SlaTarget, Status


@dataclass(frozen=True)
class Kpis:
    since: datetime
    until: datetime
    incidents: int
    mttd_seconds: float | None
    mtta_seconds: float | None
    mttr_seconds: float | None
    response_sla_pct: float | None
    resolution_sla_pct: float | None
    first_contact_pct: float | None
    reopen_pct: float | None
    by_priority: dict[str, int] = field(default_factory=dict)
    by_service: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        return data


def _db_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _targets_sql(policy: Mapping[Priority, SlaTarget], which: str) -> str:
    cases = " ".join(f"WHEN {int(p)} THEN {getattr(t, which).total_seconds()}"
                     for p, t in policy.items())
    return f"(CASE priority {cases} END)"


def _in(statuses: Any) -> str:
    """A SQL list of status names (enum values: nothing from outside goes in)."""
    return "(" + ", ".join(f"'{Status(s).value}'" for s in statuses) + ")"


#: Incidents whose work is finished for good or for now (a reopen counts against them).
_FINISHED = _in(s for s in DONE_STATUSES if s != Status.CANCELLED)


def _pct(part: Any, whole: Any) -> float | None:
    return round(100.0 * float(part) / float(whole), 1) if whole else None


def compute_kpis(conn: Any, since: datetime, until: datetime,
                 policy: Mapping[Priority, SlaTarget] = DEFAULT_SLA) -> Kpis:
    """KPIs over incidents logged in [since, until) on a DB-API connection to the store."""
    secs = "(julianday({a}) - julianday({b})) * 86400.0"
    response, resolution = _targets_sql(policy, "response"), _targets_sql(policy, "resolution")
    now = min(until, datetime.now(UTC))
    params = {"since": _db_time(since), "until": _db_time(until), "now": _db_time(now)}
    where = f"created_at >= :since AND created_at < :until AND status != '{Status.CANCELLED}'"
    row = conn.execute(f"""
        SELECT count(*),
          avg(CASE WHEN started_at IS NOT NULL AND detected_at >= started_at
                   THEN {secs.format(a='detected_at', b='started_at')} END),
          avg(CASE WHEN acknowledged_at IS NOT NULL
                   THEN {secs.format(a='acknowledged_at', b='created_at')} END),
          avg(CASE WHEN resolved_at IS NOT NULL
                   THEN {secs.format(a='resolved_at', b='created_at')} - hold_seconds END),
          sum(CASE WHEN acknowledged_at IS NOT NULL
                     OR {secs.format(a=':now', b='created_at')} > {response} THEN 1 END),
          sum(CASE WHEN acknowledged_at IS NOT NULL AND
                   {secs.format(a='acknowledged_at', b='created_at')} <= {response}
                   THEN 1 ELSE 0 END),
          sum(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END),
          sum(CASE WHEN resolved_at IS NOT NULL AND
                   {secs.format(a='resolved_at', b='created_at')} - hold_seconds <= {resolution}
                   THEN 1 ELSE 0 END),
          sum(CASE WHEN resolved_at IS NOT NULL AND escalation_level = 1 THEN 1 ELSE 0 END),
          sum(CASE WHEN status IN {_FINISHED} AND reopen_count > 0 THEN 1 ELSE 0 END),
          sum(CASE WHEN status IN {_FINISHED} THEN 1 ELSE 0 END)
        FROM incidents WHERE {where}""", params).fetchone()
    (total, mttd, mtta, mttr, response_n, response_ok, resolved, resolved_ok, first_contact,
     reopened, finished) = row

    def counts(column: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in conn.execute(
            f"SELECT {column}, count(*) FROM incidents WHERE {where} GROUP BY {column} "
            f"ORDER BY count(*) DESC", params)}

    return Kpis(
        since=since, until=until, incidents=int(total or 0),
        mttd_seconds=mttd, mtta_seconds=mtta, mttr_seconds=mttr,
        response_sla_pct=_pct(response_ok or 0, response_n or 0),
        resolution_sla_pct=_pct(resolved_ok or 0, resolved or 0),
        first_contact_pct=_pct(first_contact or 0, resolved or 0),
        reopen_pct=_pct(reopened or 0, finished or 0),
        by_priority={f"P{k}": v for k, v in counts("priority").items()},
        by_service=counts("service"), by_category=counts("category"))
