"""The store's side of the sync: what the sync engine calls (server changes applied, the
outbox's answers confirmed, refused or turned into conflicts).

A part of :class:`~incidenttui.store.store.Store` (its base class), kept in a module of its
own; it uses the store's sessions and incident helpers.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, inspect, text
from sqlmodel import Session, col, select

from incidenttui.api.schemas import EventOut, IncidentOut, ServiceOut, TeamOut, UserOut
from incidenttui.domain.refs import INC
from incidenttui.sqltypes import utcnow
from incidenttui.store import maintenance
from incidenttui.store.commands import command_from_outbox
from incidenttui.store.rows import (
    FeedIncident,
    _dbapi,
    _upsert,
    clean_json,
    incident_row,
    wire_state,
)
from incidenttui.store.sanitize import clean_line, clean_text
from incidenttui.store.search import defer_index, fill_index
from incidenttui.store.status_commands import NO_INCIDENT
from incidenttui.store.tables import (
    ConflictRecord,
    LocalEvent,
    LocalIncident,
    LocalOrgItem,
    LocalService,
    LocalTeam,
    LocalUser,
    Meta,
    OutboxEntry,
    StoreModel,
)

#: Meta key of the notices of incidents removed after a lost access (see take_forgotten).
FORGOTTEN_KEY = "forgotten"
#: The cursor a store had when store layout 7 made it read the feed again from the start.
REREAD_KEY = "reread_until"

log = logging.getLogger("incidenttui.store")


class SyncWrites:
    """What the sync engine calls on the :class:`~incidenttui.store.store.Store`."""

    if TYPE_CHECKING:  # provided by Store
        def _write(self) -> Any: ...
        def _upsert_incident(self, session: Session, row: dict[str, Any]) -> None: ...
        def _reindex(self, session: Session, incident_ids: Iterable[str]) -> None: ...
        def _rebuild(self, session: Session, incident_id: str) -> None: ...
        @staticmethod
        def _pause_sla(session: Session, services: Iterable[str | None]) -> None: ...


    def apply_changes(self, changes: Sequence[Mapping[str, Any]], cursor: str | int, *,
                      caught_up: bool = False, first_pull: bool = False) -> int:
        """Apply one change-feed page and its cursor in one transaction; returns how many
        incidents changed. ``caught_up``: the page is the feed's last for now (``more`` is
        false), which ends a re-read (store layout 7). ``first_pull``: the caller follows
        the feed until caught up (the sync engine): an empty store that never synced then
        fills its search index once, with the page that catches up, instead of page by page
        (store/search.py). Raises ``ValueError`` (nothing applied) for a malformed page."""
        cursor = str(cursor)
        if not cursor or len(cursor) > 100 or not cursor.isascii() or not cursor.isprintable():
            raise ValueError("the page's cursor is not a cursor")
        incidents: dict[str, FeedIncident] = {}
        events: dict[str, dict[str, Any]] = {}
        directory: list[tuple[type[StoreModel], dict[str, Any]]] = []
        schemas = {"team": (LocalTeam, TeamOut), "user": (LocalUser, UserOut),
                   "service": (LocalService, ServiceOut)}
        #: Incidents the user can no longer see (the last word of the page for them).
        forgotten: set[str] = set()
        #: (kind, id) → the schedule's or policy's document item; None: removed.
        org_items: dict[tuple[str, str], dict[str, Any] | None] = {}
        windows: dict[str, dict[str, Any]] = {}
        for change in changes:
            entity, data = change.get("entity"), change.get("data")
            if entity == "forget":
                incident_id = (data or {}).get("incident_id") or change.get("id")
                if not isinstance(incident_id, str) or not incident_id:
                    raise ValueError("a forget entry names no incident")
                incidents.pop(incident_id, None)
                events = {k: e for k, e in events.items() if e["incident_id"] != incident_id}
                forgotten.add(incident_id)
            elif entity == "incident":
                # The sync engine validates incidents and makes their rows as pages arrive.
                prepared = change.get("prepared")
                feed = prepared if isinstance(prepared, FeedIncident) else \
                    FeedIncident.from_wire(data)
                forgotten.discard(feed.id)
                current = incidents.get(feed.id)
                if current is None or current.version <= feed.version:
                    incidents[feed.id] = feed
            elif entity == "event":
                event = EventOut.model_validate(data)
                events[event.id] = {
                    "id": event.id, "incident_id": event.incident_id, "at": event.at,
                    "kind": str(event.kind.value),
                    "actor": clean_line(event.actor, 200) if event.actor else None,
                    "text": clean_text(event.text), "data": clean_json(event.data),
                    "pending": False, "outbox_key": None}
            elif entity == maintenance.FEED_ENTITY:
                values = maintenance.parse_entry(data)
                windows[values["id"]] = values
            elif entity in ("schedule", "policy"):
                item_id = change.get("id")
                if not isinstance(item_id, str) or not isinstance(data, dict):
                    raise ValueError(f"a {entity} entry without an id or data")
                org_items[entity, item_id] = None if data.get("removed") else clean_json(data)
            elif entity in schemas:
                table, schema = schemas[entity]
                values = schema.model_validate(data).model_dump(mode="json")
                directory.append((table, {k: clean_line(v, 1_000) if isinstance(v, str) else v
                                          for k, v in values.items()}))
            # Unknown entities come from a newer server; skipping them keeps the feed moving.
        events = {k: e for k, e in events.items() if e["incident_id"] not in forgotten}
        with self._write() as session:
            reread = self._meta_in(session, REREAD_KEY) is not None
            deferred = defer_index(_dbapi(session), first_pull and not caught_up)
            if forgotten and reread:
                # Re-reading the feed (store layout 7): its forgets were carried out when
                # first read; an incident with changes queued now was seen again since, and
                # replaying an old forget must not drop those changes.
                forgotten -= set(session.exec(select(OutboxEntry.incident_id)).all())
            if forgotten:
                self._forget(session, sorted(forgotten))
            pending_ids = set(session.exec(select(OutboxEntry.incident_id).distinct()).all())
            held = self._versions(session, list(incidents))
            rows = []
            for incident_id, feed in incidents.items():
                if held.get(incident_id, -1) > feed.version:
                    continue  # older than what we hold (a replayed page)
                if incident_id in pending_ids:
                    self._set_base(session, incident_id, feed.snapshot)
                else:
                    rows.append(feed.row)
            _upsert(session, "incidents", rows)
            for incident_id in pending_ids & incidents.keys():
                self._rebuild(session, incident_id)
            _upsert(session, "events", list(events.values()))
            for table, values in directory:
                session.merge(table(**values))
            for (kind, item_id), item in org_items.items():
                held_item = session.get(LocalOrgItem, (kind, item_id))
                if item is None:
                    if held_item is not None:
                        session.delete(held_item)
                else:
                    session.merge(LocalOrgItem(kind=kind, id=item_id, data=item))
            if windows:
                maintenance.apply_entries(session, windows)
            self._pause_sla(session, {feed.row["service"] for feed in incidents.values()})
            touched = set(incidents) | {e["incident_id"] for e in events.values()
                                        if e["kind"] == "note"}
            if not deferred:
                self._reindex(session, touched)
            elif caught_up:  # the first pull is done: one statement fills the index
                session.flush()
                fill_index(_dbapi(session))
            session.merge(Meta(key="cursor", value=cursor))
            if reread and caught_up:
                session.execute(delete(Meta).where(col(Meta.key) == REREAD_KEY))
        return len(incidents)

    def _forget(self, session: Session, incident_ids: list[str]) -> None:
        """Remove every local trace of ``incident_ids`` (the user lost access): the incident,
        its timeline, its search rows, its queued changes and conflicts (the server would
        refuse them now). What was removed is kept as notices for :meth:`take_forgotten`."""
        notices = json.loads(self._meta_in(session, FORGOTTEN_KEY) or "[]")
        for start in range(0, len(incident_ids), 500):
            chunk = incident_ids[start:start + 500]
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            params = {f"i{n}": v for n, v in enumerate(chunk)}
            held = session.execute(text(
                f"SELECT rowid, id, number, series FROM incidents WHERE id IN ({marks})"),
                params).all()
            dropped = dict(session.execute(text(
                f"SELECT incident_id, count(*) FROM outbox WHERE incident_id IN ({marks}) "
                "GROUP BY incident_id"), params).all())
            notices += [{"id": r[1], "number": r[2], "series": r[3] or INC,
                         "dropped": int(dropped.get(r[1], 0))}
                        for r in held]
            if held:
                session.connection().exec_driver_sql(
                    f"DELETE FROM incident_fts WHERE rowid IN ({', '.join('?' * len(held))})",
                    tuple(r[0] for r in held))
            for table in ("events", "outbox", "conflicts"):
                session.execute(text(f"DELETE FROM {table} WHERE incident_id IN ({marks})"),
                                params)
            session.execute(text(f"DELETE FROM incidents WHERE id IN ({marks})"), params)
        if notices:
            session.merge(Meta(key=FORGOTTEN_KEY, value=json.dumps(notices)))

    @staticmethod
    def _meta_in(session: Session, key: str) -> str | None:
        row = session.get(Meta, key)
        return row.value if row else None

    def take_forgotten(self) -> list[dict[str, Any]]:
        """The incidents removed because the user lost access, since the last call (each
        ``{"id", "number", "series", "dropped"}``: dropped is how many queued changes went with it);
        taken once, so the user is told once."""
        with self._write() as session:
            row = session.get(Meta, FORGOTTEN_KEY)
            if row is None:
                return []
            session.delete(row)
            return list(json.loads(row.value))

    @staticmethod
    def _versions(session: Session, ids: list[str]) -> dict[str, int]:
        """The server versions held for ``ids`` (incidents the server already confirmed)."""
        held: dict[str, int] = {}
        conn = _dbapi(session)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            held.update(conn.execute(
                f"SELECT id, version FROM incidents WHERE base IS NOT NULL AND id IN "
                f"({', '.join('?' * len(chunk))})", chunk).fetchall())
        return held

    def _set_base(self, session: Session, incident_id: str, snapshot: dict[str, Any]) -> None:
        row = session.get(LocalIncident, incident_id)
        if row is None:
            self._upsert_incident(session, incident_row(wire_state(snapshot), snapshot, 0))
        elif not row.base or row.base["version"] <= snapshot["version"]:
            row.base = snapshot
            session.add(row)
            session.flush()

    def confirm(self, key: str, response: Mapping[str, Any] | None) -> None:
        """The server applied outbox entry ``key``: drop it and take its answer as the base.

        The answer must be the incident (or, for a note, its event); anything else raises
        ``ValueError`` and the entry stays queued. Later queued field changes of the same
        incident move to the new version, except the fields someone else changed meanwhile
        (:meth:`_rebase_later`), so a user's own queued edits never conflict with each other.
        """
        with self._write() as session:
            entry = session.exec(select(OutboxEntry).where(OutboxEntry.key == key)).first()
            if entry is None:
                return
            if entry.incident_id == NO_INCIDENT:  # the change feed brings the result
                session.delete(entry)
                return
            incident = event = None
            if isinstance(response, Mapping) and "status" in response:
                incident = IncidentOut.model_validate(response)
                if incident.id != entry.incident_id:
                    raise ValueError("the confirmation names another incident")
            elif isinstance(response, Mapping) and "incident_id" in response:
                event = EventOut.model_validate(response)
                if event.incident_id != entry.incident_id:
                    raise ValueError("the confirmation names another incident")
            else:
                raise ValueError("the confirmation is neither the incident nor its event")
            session.delete(entry)
            session.execute(delete(LocalEvent).where(col(LocalEvent.outbox_key) == key))
            if incident is not None:
                snapshot = incident.model_dump(mode="json")
                self._rebase_later(session, entry, incident.version, incident.field_versions)
                session.flush()
                self._set_base(session, entry.incident_id, snapshot)
            elif event is not None:
                session.merge(LocalEvent(
                    id=event.id, incident_id=event.incident_id, at=event.at,
                    kind=event.kind.value,
                    actor=clean_line(event.actor, 200) if event.actor else None,
                    text=clean_text(event.text), data=clean_json(event.data)))
            session.flush()
            self._rebuild(session, entry.incident_id)
            self._reindex(session, [entry.incident_id])

    @staticmethod
    def _rebase_later(session: Session, confirmed: OutboxEntry, version: int,
                      field_versions: Mapping[str, int]) -> None:
        """Move later entries of the incident to ``version`` where that hides nobody's change.

        A field changed after an entry's base is someone else's change unless it changed at
        ``version`` itself, i.e. by the entry just confirmed. An entry touching such foreign
        fields and others is split: it keeps its key, its base and the foreign fields (which
        conflict, as they should); the other fields go out right after it against ``version``
        under a new key. Changing later entries is safe: push sends the outbox head first, so
        none of them has been sent yet.
        """
        # Last first: a split renumbers the entries after it, and those are settled by then.
        for later in session.exec(select(OutboxEntry).where(
                OutboxEntry.incident_id == confirmed.incident_id,
                col(OutboxEntry.seq) > confirmed.seq,
                col(OutboxEntry.base_version) < version).order_by(
                    col(OutboxEntry.seq).desc())).all():
            fields = later.payload.get("fields", {}) if later.kind == "patch" else {}
            foreign = {f: v for f, v in fields.items()
                       if later.base_version < field_versions.get(f, 0) != version}
            if not foreign:
                later.base_version = version
                session.add(later)
            elif len(foreign) < len(fields):
                own = {f: v for f, v in fields.items() if f not in foreign}
                later.payload = {**later.payload, "fields": foreign}
                session.add(later)
                SyncWrites._queue_after(session, later, OutboxEntry(
                    key=str(uuid.uuid4()), incident_id=later.incident_id, kind=later.kind,
                    payload={**later.payload, "fields": own}, base_version=version,
                    created_at=later.created_at, actor=later.actor))

    @staticmethod
    def _queue_after(session: Session, entry: OutboxEntry, new: OutboxEntry) -> None:
        """Queue ``new`` right after ``entry``; the entries after it move up one place, so
        the outbox keeps the order in which the user made the changes."""
        assert entry.seq is not None
        session.flush()
        # In two steps: SQLite checks the primary key row by row, so seq + 1 would collide.
        session.execute(text("UPDATE outbox SET seq = -(seq + 1) WHERE seq > :seq"),
                        {"seq": entry.seq})
        session.execute(text("UPDATE outbox SET seq = -seq WHERE seq < 0"))
        # Loaded entries after it now hold a seq another row has: forget them.
        for stale in [o for o in session.identity_map.values() if isinstance(o, OutboxEntry)
                      and inspect(o).identity[0] > entry.seq]:
            session.expunge(stale)
        new.seq = entry.seq + 1
        session.add(new)
        session.flush()

    def record_conflict(self, key: str, body: Mapping[str, Any]) -> None:
        """The server refused entry ``key`` with field conflicts: keep each as a conflict for
        the user to settle, and re-queue the entry's other fields, which merge, in its place."""
        with self._write() as session:
            entry = session.exec(select(OutboxEntry).where(OutboxEntry.key == key)).first()
            if entry is None:
                return
            snapshot = IncidentOut.model_validate(body["incident"]).model_dump(mode="json")
            conflicting = {str(c["field"]): c for c in body.get("conflicts", [])}
            fields = dict(entry.payload.get("fields", {}))
            now = utcnow()
            for name, conflict in conflicting.items():
                session.add(ConflictRecord(
                    incident_id=entry.incident_id, outbox_key=key, kind=entry.kind, field=name,
                    mine=clean_json(fields.get(name, conflict.get("mine"))),
                    theirs=clean_json(conflict.get("theirs")),
                    their_version=int(snapshot["version"]),
                    reason=f"{name} was changed by someone else", summary=f"set {name}",
                    created_at=now))
            rest = {k: v for k, v in fields.items() if k not in conflicting}
            if rest:
                self._queue_after(session, entry, OutboxEntry(
                    key=str(uuid.uuid4()), incident_id=entry.incident_id, kind=entry.kind,
                    payload={**entry.payload, "fields": rest},
                    base_version=int(snapshot["version"]), created_at=entry.created_at,
                    actor=entry.actor))
            session.delete(entry)
            session.execute(delete(LocalEvent).where(col(LocalEvent.outbox_key) == key))
            session.flush()
            self._set_base(session, entry.incident_id, snapshot)
            self._rebuild(session, entry.incident_id)

    def reject(self, key: str, reason: str) -> None:
        """The server refused entry ``key`` for good (a lifecycle rule, bad input, gone)."""
        with self._write() as session:
            entry = session.exec(select(OutboxEntry).where(OutboxEntry.key == key)).first()
            if entry is None:
                return
            command = command_from_outbox(entry.kind, entry.payload)
            session.add(ConflictRecord(
                incident_id=entry.incident_id, outbox_key=key, kind=entry.kind, field=None,
                mine=clean_json(entry.payload), reason=clean_line(reason, 1_000),
                summary=clean_line(command.describe(), 300), created_at=utcnow()))
            session.delete(entry)
            if entry.incident_id == NO_INCIDENT:
                maintenance.undo(session, command)  # type: ignore[arg-type]
                return
            session.execute(delete(LocalEvent).where(col(LocalEvent.outbox_key) == key))
            session.flush()
            self._rebuild(session, entry.incident_id)

    def note_attempt(self, key: str, error: str) -> None:
        with self._write() as session:
            entry = session.exec(select(OutboxEntry).where(OutboxEntry.key == key)).first()
            if entry is not None:
                entry.attempts += 1
                entry.last_error = clean_line(error, 500)
                session.add(entry)
