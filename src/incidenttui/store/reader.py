"""A light, read-only view of the store for the queue, on the standard library alone.

The app paints the cached queue from here before SQLModel (about 0.3 s to import) is
loaded; the full :class:`~incidenttui.store.store.Store` takes over for everything else.
Text in the store is already inert (sanitised when written).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidenttui.config import data_dir

_WORD = re.compile(r"\w+", re.UNICODE)

SORTS = {
    "priority": "is_open DESC, priority ASC, created_at DESC",
    "newest": "created_at DESC",
    "sla": "is_open DESC, sla_due_at IS NULL, sla_due_at ASC, priority ASC",
    "updated": "updated_at DESC",
}


@dataclass(frozen=True)
class IncidentFilter:
    """What the queue shows: every field is optional; ``text`` searches the FTS index."""

    statuses: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    open_only: bool = False
    team: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    breaching_before: datetime | None = None
    service: str | None = None
    text: str = ""
    sort: str = "priority"


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: every word a quoted prefix, all required."""
    words = _WORD.findall(text)
    return " AND ".join(f'"{w}"*' for w in words) if words else None


def _db_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def filter_sql(flt: IncidentFilter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and named parameters for ``flt`` over the incidents table."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if flt.statuses:
        names = [f"st{i}" for i in range(len(flt.statuses))]
        clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, flt.statuses, strict=True))
    if flt.priorities:
        clauses.append(f"priority IN ({', '.join(str(int(p)) for p in flt.priorities)})")
    if flt.open_only:
        clauses.append("is_open = 1")
    for name in ("team", "assignee", "service"):
        value = getattr(flt, name)
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value
    if flt.unassigned:
        clauses.append("assignee IS NULL")
    if flt.breaching_before is not None:
        clauses.append("is_open = 1 AND sla_due_at IS NOT NULL AND sla_due_at <= :due")
        params["due"] = _db_time(flt.breaching_before)
    query = fts_query(flt.text)
    if query:
        clauses.append("rowid IN (SELECT rowid FROM incident_fts WHERE incident_fts MATCH :fts)")
        params["fts"] = query
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def store_path_for(server_url: str) -> Path:
    """One store file per server profile, under the data directory."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", server_url.split("://", 1)[-1]).strip("-")[:60]
    digest = hashlib.sha256(server_url.encode()).hexdigest()[:8]
    return data_dir() / "stores" / f"{slug or 'server'}-{digest}.db"


def parse_time(value: str | None) -> datetime | None:
    """A time as the store writes it (naive UTC text) → aware UTC."""
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueueRow:
    """What one queue line needs."""

    id: str
    number: int | None
    priority: int
    status: str
    title: str
    service: str
    team: str | None
    assignee: str | None
    created_at: datetime
    sla_due_at: datetime | None
    escalation_level: int
    pending: int
    major: bool
    on_hold_since: datetime | None

    @property
    def ref(self) -> str:
        return f"INC-{self.number}" if self.number is not None else "pending"


_ROW_COLUMNS = ("id, number, priority, status, title, service, team, assignee, created_at, "
                "sla_due_at, escalation_level, pending, major, on_hold_since")


class QueueReader:
    """Read-only queries for the queue: ordered ids and the rows for the visible lines."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None:
            if not self.path.exists():
                return None
            try:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                       check_same_thread=False, timeout=5)
                conn.execute("SELECT 1 FROM incidents LIMIT 1")
            except sqlite3.Error:
                return None  # not created yet, or not a store: nothing cached
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def query_ids(self, flt: IncidentFilter, limit: int | None = None) -> list[str]:
        conn = self._connect()
        if conn is None:
            return []
        where, params = filter_sql(flt)
        order = SORTS.get(flt.sort, SORTS["priority"])
        sql = f"SELECT id FROM incidents {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in conn.execute(sql, params)]

    def rows(self, ids: list[str]) -> dict[str, QueueRow]:
        """The rows for ``ids`` (any order; missing ids left out)."""
        conn = self._connect()
        if conn is None or not ids:
            return {}
        out: dict[str, QueueRow] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for r in conn.execute(f"SELECT {_ROW_COLUMNS} FROM incidents WHERE id IN ({marks})",
                                  chunk):
                out[r[0]] = QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                                     parse_time(r[8]) or datetime.now(UTC), parse_time(r[9]),
                                     r[10], r[11], bool(r[12]), parse_time(r[13]))
        return out

    def has_data(self) -> bool:
        conn = self._connect()
        return conn is not None and conn.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() \
            is not None
