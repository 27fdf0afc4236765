"""Stale acknowledgements: incidents someone took (acknowledged or in progress) and then
left untouched — no note, no status change — for hours. On-call teams lose incidents here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from incidenttui.store.reader import DEFAULT_STALE_HOURS as DEFAULT_STALE_HOURS
from incidenttui.store.reader import TOUCHED_SQL, IncidentFilter, ids_sql, parse_time


@dataclass(frozen=True)
class StaleAck:
    """One stale acknowledgement: the incident id, when it was last touched, its owner."""

    incident_id: str
    touched_at: datetime
    owner: str | None

    def idle(self, now: datetime) -> timedelta:
        return now - self.touched_at


def stale_filter(hours: float, now: datetime) -> IncidentFilter:
    """The queue's and ``list --stale``'s filter: untouched for ``hours`` before ``now``."""
    if not hours > 0:
        raise ValueError("--hours must be a positive number of hours")
    return IncidentFilter(idle_before=now - timedelta(hours=hours))


def stale_acks(conn: Any, hours: float, now: datetime) -> list[StaleAck]:
    """The stale acknowledgements on a DB-API connection to the store, oldest first."""
    sql, params = ids_sql(stale_filter(hours, now))
    sql = sql.replace("SELECT id FROM", f"SELECT id, {TOUCHED_SQL}, "
                      "coalesce(assignee, team) FROM", 1)
    return [StaleAck(r[0], parse_time(r[1]) or now, r[2]) for r in conn.execute(sql, params)]
