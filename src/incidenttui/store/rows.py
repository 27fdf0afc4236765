"""Rows as the local store keeps them: an incident's row from its state (inert text, SLA
deadline, open flag), and the bulk writes that go around the ORM where speed counts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean
from sqlmodel import Session

from incidenttui.api.schemas import IncidentOut
from incidenttui.domain import Status
from incidenttui.domain.refs import INC
from incidenttui.domain.sla import next_breach_at
from incidenttui.sqltypes import UTCDateTime
from incidenttui.store.sanitize import clean_line, clean_text
from incidenttui.store.tables import LocalIncident, StoreModel

INCIDENT_COLUMNS = [c for c in LocalIncident.model_fields if c not in ("base", "pending")]
_TEXT_LINES = ("title", "service", "category", "team", "assignee", "reporter",
               "resolution_code")


def clean_json(value: Any) -> Any:
    """``value`` with every string in it made inert."""
    if isinstance(value, str):
        return clean_text(value, limit=20_000)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_line(str(k), 200): clean_json(v) for k, v in value.items()}
    return value


def incident_row(state: Mapping[str, Any], base: dict[str, Any] | None,
                 pending: int) -> dict[str, Any]:
    """The row the store keeps for ``state`` (inert text, SLA deadline, open flag)."""
    row = {name: state.get(name) for name in INCIDENT_COLUMNS}
    for name in _TEXT_LINES:
        if row[name] is not None:
            row[name] = clean_line(str(row[name]), 1_000)
    row["description"] = clean_text(row["description"])
    row["resolution_note"] = clean_text(row["resolution_note"]) if row["resolution_note"] \
        else row["resolution_note"]
    row["links"] = clean_json(row["links"] or [])
    row["field_versions"] = row["field_versions"] or {}
    row["status"] = str(Status(row["status"]))
    row["is_open"] = Status(row["status"]).is_open
    row["sla_due_at"] = next_breach_at(
        row["priority"], row["created_at"], status=row["status"],
        acknowledged_at=row["acknowledged_at"], resolved_at=row["resolved_at"],
        hold_seconds=row["hold_seconds"] or 0.0, on_hold_since=row["on_hold_since"])
    row["version"] = int(base["version"]) if base else 0
    row["number"] = int(base["number"]) if base else None
    # An older server sends no series: all its numbers are INC ones.
    row["series"] = ((base.get("series") or INC) if base else None)
    row["base"] = base
    row["pending"] = pending
    return row


def _dbapi(session: Session) -> Any:
    """The sqlite3 connection inside the session's transaction (for bulk statements)."""
    return session.connection().connection.driver_connection


def _db_time(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime writes: naive UTC with microseconds.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _db_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _converter(table: str, column: str) -> Any:
    """How a column's python value is written, from the table definitions."""
    sa_type = StoreModel.metadata.tables[table].c[column].type
    if isinstance(sa_type, UTCDateTime):
        return _db_time
    if isinstance(sa_type, JSON):
        return _db_json
    if isinstance(sa_type, Boolean):
        return lambda v: None if v is None else int(v)
    return None


def _upsert(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace ``rows`` (all with the same keys) with one executemany.

    The page apply path writes thousands of rows; going around the ORM here is what keeps
    a first sync of 50,000 incidents close to a raw ``executemany``.
    """
    if not rows:
        return
    columns = list(rows[0])
    convert = [_converter(table, c) for c in columns]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
           f"({', '.join('?' * len(columns))}) ON CONFLICT(id) DO UPDATE SET {updates}")
    plan = list(zip(columns, convert, strict=True))
    _dbapi(session).executemany(sql, [tuple(f(r[c]) if f else r[c] for c, f in plan)
                                      for r in rows])


def state_of(row: LocalIncident) -> dict[str, Any]:
    return {name: getattr(row, name) for name in INCIDENT_COLUMNS}


def wire_state(base: Mapping[str, Any]) -> dict[str, Any]:
    """A server snapshot (JSON) as python values (datetimes, enums as str)."""
    data = IncidentOut.model_validate(base).model_dump()
    data["status"] = str(data["status"])
    return data


