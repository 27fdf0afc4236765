"""Rows as the local store keeps them: an incident's row from its state (inert text, SLA
deadline, open flag), and the bulk writes that go around the ORM where speed counts."""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Session

from incidenttui.api.schemas import IncidentOut
from incidenttui.domain import Status
from incidenttui.domain.refs import INC
from incidenttui.domain.sla import next_breach_at
from incidenttui.sqltypes import UTCDateTime
from incidenttui.store.sanitize import clean_line, clean_text
from incidenttui.store.search import indexed_columns
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


def _db_time(value: datetime | str | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime writes: naive UTC with microseconds. A str is
    # that text already (:func:`stored_time`).
    if value is None or isinstance(value, str):
        return value
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


#: A UTC time as the API writes it (``2026-11-26T02:32:00.123456Z``, or ``+00:00``).
_WIRE_UTC = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{6})?(?:Z|\+00:00)\Z")
#: The incident columns that hold times the wire carries as they are.
_WIRE_TIMES = ("created_at", "updated_at", "detected_at", "started_at", "acknowledged_at",
               "resolved_at", "closed_at", "on_hold_since")


def stored_time(wire: Any, value: datetime | None) -> datetime | str | None:
    """``value`` (the validated ``wire`` text) in its stored form, cut from the wire text when
    that is UTC already: a first sync writes ~400,000 times, and turning each back from a
    datetime cost as much as validating it."""
    if isinstance(wire, str) and (match := _WIRE_UTC.match(wire)):
        return f"{match[1]} {match[2]}{match[3] or '.000000'}"
    return value


def feed_row(incident: IncidentOut, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The row for an incident of the change feed: ``incident`` is ``snapshot`` validated
    (once), ``snapshot`` is kept as the row's ``base``."""
    state = dict(incident.__dict__)
    state["links"] = [link.model_dump() for link in incident.links]
    row = incident_row(state, snapshot, 0)
    for name in _WIRE_TIMES:
        row[name] = stored_time(snapshot.get(name), row[name])
    return row


class Stored(str):
    """A value already in the form its column stores (JSON text made ahead of the write)."""

    __slots__ = ()


@dataclass(frozen=True)
class FeedIncident:
    """An incident of the change feed validated (once) and its row made: pure work, done
    where the page arrives while the store writes the one before (:meth:`from_wire`)."""

    id: str
    version: int
    snapshot: dict[str, Any]
    row: dict[str, Any]

    @classmethod
    def from_wire(cls, data: Any) -> FeedIncident:
        """Raises pydantic's ``ValidationError`` (a ``ValueError``) for a malformed one."""
        incident = IncidentOut.model_validate(data)
        snapshot = dict(data)
        row = feed_row(incident, snapshot)
        for name in ("base", "links", "field_versions"):
            row[name] = Stored(json.dumps(row[name]))
        return cls(incident.id, incident.version, snapshot, row)


def _db_json(value: Any) -> str | None:
    if value is None or isinstance(value, Stored):
        return value
    return json.dumps(value)


def _converter(table: str, column: str) -> Any:
    """How a column's python value is written, from the table definitions (None: as it is;
    sqlite3 writes booleans as the integers SQLAlchemy would)."""
    sa_type = StoreModel.metadata.tables[table].c[column].type
    if isinstance(sa_type, UTCDateTime):
        return _db_time
    if isinstance(sa_type, JSON):
        return _db_json
    return None


@functools.cache
def _upsert_plan(table: str, columns: tuple[str, ...]
                 ) -> tuple[str, Any, tuple[tuple[int, Any], ...]]:
    """The statement, a getter of the row's values and the (position, converter) pairs."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
           f"({', '.join('?' * len(columns))}) ON CONFLICT(id) DO UPDATE SET {updates}")
    converters = tuple((n, f) for n, c in enumerate(columns)
                       if (f := _converter(table, c)) is not None)
    return sql, operator.itemgetter(*columns), converters


def _upsert(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace ``rows`` (all with the same keys) with one executemany.

    The page apply path writes thousands of rows; going around the ORM here is what keeps
    a first sync of 50,000 incidents close to a raw ``executemany``.
    """
    if not rows:
        return
    sql, values_of, converters = _upsert_plan(table, tuple(rows[0]))
    values = []
    for row in rows:
        row_values = list(values_of(row))
        for n, convert in converters:
            row_values[n] = convert(row_values[n])
        values.append(row_values)
    _dbapi(session).executemany(sql, values)


def reindex(session: Session, incident_ids: Iterable[str]) -> None:
    """Rewrite the search index rows of ``incident_ids`` (keyed by the incident rowid) from
    what the store holds, inside SQLite: no row travels to Python and back."""
    ids = json.dumps(list(dict.fromkeys(incident_ids)))
    conn = _dbapi(session)
    conn.execute("DELETE FROM incident_fts WHERE rowid IN (SELECT rowid FROM incidents "
                 "WHERE id IN (SELECT value FROM json_each(?)))", (ids,))
    conn.execute("INSERT INTO incident_fts(rowid, ref, title, description, service, notes) "
                 f"SELECT i.rowid, {indexed_columns('i')} FROM incidents i "
                 "WHERE i.id IN (SELECT value FROM json_each(?))", (ids,))


def state_of(row: LocalIncident) -> dict[str, Any]:
    return {name: getattr(row, name) for name in INCIDENT_COLUMNS}


def wire_state(base: Mapping[str, Any]) -> dict[str, Any]:
    """A server snapshot (JSON) as python values (datetimes, enums as str)."""
    data = IncidentOut.model_validate(base).model_dump()
    data["status"] = str(data["status"])
    return data


