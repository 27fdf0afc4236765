"""The local store: the only code that touches the client's SQLite file.

It holds what the server last said (each incident's ``base``), the user's pending changes
(the outbox) and what the responder sees: ``base`` with the pending changes replayed on top.
Every text from the server or the user is made inert here, once (:mod:`.sanitize`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from incidenttui.domain import RefusalKind, Refused
from incidenttui.domain.refs import INC, parse_key
from incidenttui.sqlite import sqlite_engine
from incidenttui.sqltypes import utcnow
from incidenttui.store import maintenance
from incidenttui.store.capabilities import (
    CAPABILITIES_KEY,
    RESTRICTED_CAPABILITIES_KEY,
    ROLE_KEY,
    Capabilities,
)
from incidenttui.store.commands import Command, Context, SettleConflict, command_from_outbox
from incidenttui.store.layout import ADDED_COLUMNS, MIGRATIONS, SCHEMA_VERSION, SEARCH_REBUILD
from incidenttui.store.reader import (
    IncidentFilter,
    count_sql,
    ids_sql,
    store_path_for,
)
from incidenttui.store.rows import (
    INCIDENT_COLUMNS,
    _dbapi,
    _upsert,
    clean_json,
    incident_row,
    reindex,
    state_of,
    wire_state,
)
from incidenttui.store.sanitize import clean_text
from incidenttui.store.search import add_function, fill_index, is_stale
from incidenttui.store.status_commands import NO_INCIDENT
from incidenttui.store.sync_writes import SyncWrites
from incidenttui.store.tables import (
    ConflictRecord,
    LocalEvent,
    LocalIncident,
    LocalMaintenance,
    LocalOrgItem,
    LocalService,
    LocalTeam,
    LocalUser,
    Meta,
    OutboxEntry,
    StoreModel,
)

if TYPE_CHECKING:
    from incidenttui.domain.escalation_policy import Policy
    from incidenttui.domain.oncall import Schedule
    from incidenttui.store.escalation import EscalationView
    from incidenttui.store.major import MajorView

# Where they were before the layout and the rows had modules of their own.
__all__ = ["INCIDENT_COLUMNS", "MIGRATIONS", "SCHEMA_VERSION", "SEARCH_REBUILD", "Store",
           "StoreError", "clean_json", "incident_row", "state_of", "store_path_for",
           "wire_state"]




log = logging.getLogger("incidenttui.store")


class StoreError(Exception):
    """The store cannot be used (a newer layout, a damaged file); the text says why."""


class Store(SyncWrites):
    """The client's local SQLite store (one file per server profile)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{self.path}"
        # Durable commits (synchronous=FULL): an acknowledged change survives power loss.
        self._write_engine = sqlite_engine(url, immediate=True, busy_timeout_ms=10_000)
        self._read_engine = sqlite_engine(url, immediate=False, busy_timeout_ms=10_000)
        for engine in (self._write_engine, self._read_engine):
            # Text filters while the search index is being built (store/search.py).
            event.listen(engine, "connect", lambda conn, _record: add_function(conn))
        self._migrate()
        # A first pull cut short (killed, or its network lost) left the index to fill.
        try:
            self.fill_search_index()
        except OperationalError as exc:  # locked by another writer: filters still answer
            log.warning("the search index stays stale for now: %s", exc)

    @classmethod
    def for_server(cls, server_url: str) -> Store:
        return cls(store_path_for(server_url))

    def close(self) -> None:
        self._write_engine.dispose()
        self._read_engine.dispose()

    # -- sessions and layout ---------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _migrate(self) -> None:
        with self._write_engine.begin() as conn:
            version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"the local store {self.path} was written by a newer "
                                 f"incidenttui (layout {version}); upgrade incidenttui")
            StoreModel.metadata.create_all(conn)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for table, column, sql_type in ADDED_COLUMNS.get(step, []):
                    have = {row[1] for row in conn.exec_driver_sql(
                        f"PRAGMA table_info({table})")}
                    if column not in have:
                        conn.exec_driver_sql(
                            f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
                for statement in MIGRATIONS.get(step, []):
                    conn.exec_driver_sql(statement)
            if version != SCHEMA_VERSION:
                conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")

    def fill_search_index(self) -> bool:
        """Fill the search index if a first pull left it stale (store/search.py); returns
        whether it did. Text filters answer correctly either way, only faster after."""
        with self._read_engine.connect() as conn:
            if not is_stale(conn.connection.driver_connection):
                return False
        with self._write() as session:
            conn = _dbapi(session)
            if not is_stale(conn):  # another writer filled it meanwhile
                return False
            fill_index(conn)
        return True

    def search_stale(self) -> bool:
        """Whether the search index is being built (a first pull running or cut short)."""
        with self._read_engine.connect() as conn:
            return is_stale(conn.connection.driver_connection)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``ok`` when the file is sound)."""
        with self._read_engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    # -- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._read() as session:
            row = session.get(Meta, key)
            return row.value if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as session:
            session.merge(Meta(key=key, value=value))

    def capabilities(self) -> Capabilities:
        """What the user may do, as the server last said (see :mod:`.capabilities`)."""
        with self._read() as session:
            return self._capabilities(session)

    @staticmethod
    def _capabilities(session: Session) -> Capabilities:
        values = {row.key: row.value for row in session.exec(select(Meta).where(col(
            Meta.key).in_([ROLE_KEY, CAPABILITIES_KEY, RESTRICTED_CAPABILITIES_KEY]))).all()}
        normal, restricted = values.get(CAPABILITIES_KEY), values.get(
            RESTRICTED_CAPABILITIES_KEY)
        return Capabilities(values.get(ROLE_KEY),
                            frozenset(json.loads(normal)) if normal is not None else None,
                            frozenset(json.loads(restricted)) if restricted is not None
                            else None)

    def set_capabilities(self, capabilities: Capabilities) -> None:
        """Keep what ``/me`` said (role and both lists) in one transaction."""
        with self._write() as session:
            session.merge(Meta(key=ROLE_KEY, value=capabilities.role or ""))
            for key, ops in ((CAPABILITIES_KEY, capabilities.normal),
                             (RESTRICTED_CAPABILITIES_KEY, capabilities.restricted)):
                if ops is None:
                    session.execute(delete(Meta).where(col(Meta.key) == key))
                else:
                    session.merge(Meta(key=key, value=json.dumps(sorted(o.value
                                                                        for o in ops))))

    @property
    def cursor(self) -> str:
        """Where the change feed resumes: the server's opaque token (an integer from an
        older server, or a store synced before the tokens, which the server still takes)."""
        return self.get_meta("cursor", "0") or "0"

    @property
    def has_synced(self) -> bool:
        """Whether the store ever applied a page of the feed."""
        return self.cursor != "0"

    @property
    def user_id(self) -> str | None:
        return self.get_meta("user")

    # -- reads -----------------------------------------------------------------------------

    def get(self, key: str) -> LocalIncident | None:
        """The incident with UUID ``key`` or number ``INC-1042`` / ``1042`` / ``SEC-7``."""
        with self._read() as session:
            return self._find(session, key)

    @staticmethod
    def _find(session: Session, key: str) -> LocalIncident | None:
        parsed = parse_key(key)
        if isinstance(parsed, str):
            return session.get(LocalIncident, parsed)
        if parsed is not None:
            return session.exec(select(LocalIncident).where(
                LocalIncident.number == parsed.number,
                func.coalesce(LocalIncident.series, INC) == parsed.series)).first()
        return None

    def query_ids(self, flt: IncidentFilter = IncidentFilter(), limit: int | None = None,
                  now: datetime | None = None) -> list[str]:
        """Incident ids matching ``flt`` in its sort order (the queue's list)."""
        with self._read_engine.connect() as conn:
            stale = bool(flt.text) and is_stale(conn.connection.driver_connection)
            sql, params = ids_sql(flt, limit, stale=stale)
            return [r[0] for r in conn.execute(text(sql), params)]

    def count(self, flt: IncidentFilter = IncidentFilter()) -> int:
        with self._read_engine.connect() as conn:
            stale = bool(flt.text) and is_stale(conn.connection.driver_connection)
            sql, params = count_sql(flt, stale=stale)
            return int(conn.execute(text(sql), params).scalar() or 0)

    def incidents(self, ids: Sequence[str]) -> list[LocalIncident]:
        """The incidents with ``ids``, in that order (missing ones left out)."""
        if not ids:
            return []
        with self._read() as session:
            rows = session.exec(select(LocalIncident).where(
                col(LocalIncident.id).in_(list(ids)))).all()
        by_id = {r.id: r for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def list(self, flt: IncidentFilter = IncidentFilter(), limit: int | None = None
             ) -> list[LocalIncident]:
        return self.incidents(self.query_ids(flt, limit))

    def timeline(self, incident_id: str) -> list[LocalEvent]:
        with self._read() as session:
            return list(session.exec(select(LocalEvent).where(
                LocalEvent.incident_id == incident_id).order_by(
                    col(LocalEvent.at), col(LocalEvent.id))).all())

    def kpis(self, since: datetime, until: datetime, *, by: str | None = None,
             now: datetime | None = None) -> Any:
        """Service-management KPIs over incidents logged in [since, until) (one scan; see
        :mod:`incidenttui.domain.kpis`), grouped ``by`` service, team, category or
        priority when asked."""
        from incidenttui.store.kpis import compute_kpis

        with self._read_engine.connect() as conn:
            return compute_kpis(conn.connection.driver_connection, since, until, by=by,
                                now=now)

    def similar(self, incident_id: str, limit: int = 5) -> list[Any]:
        """The incidents most like this one, best first (store/similar.py)."""
        from incidenttui.store.similar import similar_incidents

        with self._read_engine.connect() as conn:
            return similar_incidents(conn.connection.driver_connection, incident_id, limit)

    def suggester(self) -> Any:
        """A category/service suggester trained on this store's incidents (store/suggest.py)."""
        from incidenttui.store.suggest import train

        with self._read_engine.connect() as conn:
            return train(conn.connection.driver_connection)

    def stale(self, hours: float, now: datetime) -> list[Any]:
        """Acknowledged or in-progress incidents untouched for ``hours`` (store/stale.py)."""
        from incidenttui.store.stale import stale_acks

        with self._read_engine.connect() as conn:
            return stale_acks(conn.connection.driver_connection, hours, now)

    def teams(self) -> list[LocalTeam]:
        with self._read() as session:
            return list(session.exec(select(LocalTeam).order_by(col(LocalTeam.level),
                                                                col(LocalTeam.id))).all())

    def users(self) -> list[LocalUser]:
        with self._read() as session:
            return list(session.exec(select(LocalUser).order_by(col(LocalUser.id))).all())

    def maintenance(self, now: datetime | None = None, include_past: bool = False
                    ) -> list[LocalMaintenance]:
        """Maintenance windows running or planned (``include_past``: all), by start."""
        with self._read() as session:
            return maintenance.windows(session, now or utcnow(), include_past)

    def sla_pauses(self, service: str) -> list[tuple[datetime, datetime]]:
        """The maintenance windows of ``service`` as SLA pauses (domain/sla.py)."""
        with self._read() as session:
            return maintenance.pauses_for(session, service)

    def services(self) -> list[LocalService]:
        with self._read() as session:
            return list(session.exec(select(LocalService).order_by(col(LocalService.id))).all())

    def policy(self, policy_id: str) -> Policy | None:
        """The escalation policy ``policy_id`` as the server last sent it (None: unknown, or
        one this version cannot read)."""
        from incidenttui.domain.organisation import parse_item  # not needed at start

        with self._read() as session:
            row = session.get(LocalOrgItem, ("policy", policy_id))
        if row is None:
            return None
        try:
            return parse_item("policies", row.data, f"policy {policy_id}")
        except Refused:
            return None

    def escalation_view(self, incident: LocalIncident, now: datetime, *,
                        schedules: Sequence[Schedule] | None = None,
                        events: Sequence[LocalEvent] | None = None) -> EscalationView | None:
        """Where ``incident`` is in its service's escalation policy (None: no policy); a
        caller that has read the schedules or the incident's timeline passes them in."""
        from incidenttui.store.escalation import escalation_view

        with self._read() as session:
            service = session.get(LocalService, incident.service)
        policy = self.policy(service.policy_id) if service and service.policy_id else None
        if policy is None:
            return None
        if schedules is None:
            schedules = self.schedules()[0]
        if events is None:
            events = self.timeline(incident.id)
        return escalation_view(policy, incident, events, {s.id: s for s in schedules}, now)

    def major_view(self, key: str, now: datetime) -> MajorView | None:
        """Major incident ``key`` with its linked incidents, one timeline across them and
        its record (roles, updates, action items, review fields); None: not in the store."""
        from incidenttui.store.major import major_view

        return major_view(self, key, now)

    def schedules(self) -> tuple[list[Schedule], list[str]]:
        """The on-call schedules the server last sent, and a line for each one that could
        not be read (from a newer or broken server: said, not hidden)."""
        from incidenttui.domain.organisation import parse_item  # not needed at start

        with self._read() as session:
            rows = list(session.exec(select(LocalOrgItem).where(
                col(LocalOrgItem.kind) == "schedule").order_by(col(LocalOrgItem.id))).all())
        schedules, problems = [], []
        for row in rows:
            try:
                schedules.append(parse_item("schedules", row.data, f"schedule {row.id}"))
            except Refused as refused:
                problems.append(f"schedule {row.id} cannot be read: {refused.reason}")
        return schedules, problems

    def outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        """The pending changes, oldest first."""
        with self._read() as session:
            query = select(OutboxEntry).order_by(col(OutboxEntry.seq))
            if limit is not None:
                query = query.limit(limit)
            return list(session.exec(query).all())

    def pending_count(self) -> int:
        with self._read() as session:
            return int(session.exec(select(func.count()).select_from(OutboxEntry)).one())

    def conflicts(self) -> list[ConflictRecord]:
        with self._read() as session:
            return list(session.exec(select(ConflictRecord).order_by(
                col(ConflictRecord.id))).all())

    def conflict_count(self) -> int:
        with self._read() as session:
            return int(session.exec(select(func.count()).select_from(ConflictRecord)).one())

    # -- the one write path ----------------------------------------------------------------

    def _context(self, session: Session, now: datetime, actor: str | None) -> Context:
        def team_level(team: str) -> int | None:
            row = session.get(LocalTeam, team)
            return row.level if row else None

        def service_team(service: str) -> str | None:
            row = session.get(LocalService, service)
            return row.team_id if row else None

        def action_items(incident_id: str) -> list[str]:
            rows = session.exec(select(LocalEvent).where(
                LocalEvent.incident_id == incident_id, LocalEvent.kind == "action_item")).all()
            return [str(r.data.get("item")) for r in rows]

        return Context(now=now, actor=actor, team_level=team_level, service_team=service_team,
                       action_items=action_items)

    def execute(self, command: Command | SettleConflict, now: datetime | None = None
                ) -> LocalIncident | None:
        """Check ``command`` against the domain rules, apply it locally and queue it for the
        server, all in one transaction. Raises :class:`Refused` (nothing written) with the
        reason when the rules refuse it.

        Returns the incident as it is now (None only when settling a conflict of an incident
        the store no longer holds)."""
        now = now or utcnow()
        with self._write() as session:
            actor = (m.value if (m := session.get(Meta, "user")) else None)
            if not isinstance(command, SettleConflict):
                if not command.incident_bound:
                    self._apply_directory(session, command, now, actor)
                    return None
                return self._apply(session, command, now, actor)
            conflict = session.get(ConflictRecord, command.conflict_id)
            change = command.change(conflict)
            assert conflict is not None  # change() refuses a settled one
            session.delete(conflict)
            if change is None:
                return session.get(LocalIncident, conflict.incident_id)
            # Mine again, over the version the server holds now.
            return self._apply(session, change, now, actor, conflict.their_version)

    def _apply(self, session: Session, command: Command, now: datetime, actor: str | None,
               fallback_version: int | None = None) -> LocalIncident:
        """Apply ``command`` and queue it in ``session``'s transaction (see :meth:`execute`)."""
        row = session.get(LocalIncident, command.incident_id)
        state = state_of(row) if row is not None else None
        self._check_allowed(session, command, row)
        effect = command.effect(state, self._context(session, now, actor))
        key = str(uuid.uuid4())
        base = row.base if row is not None else None
        session.add(OutboxEntry(key=key, incident_id=command.incident_id, kind=command.kind,
                                payload=command.payload(),
                                base_version=int(base["version"]) if base else
                                fallback_version or 0, created_at=now, actor=actor))
        new_state = dict(effect.changes) if state is None else {**state, **effect.changes}
        pending = (row.pending if row is not None else 0) + 1
        self._upsert_incident(session, incident_row(new_state, base, pending))
        for n, draft in enumerate(effect.events):
            session.add(LocalEvent(
                id=draft.id or str(uuid.uuid4()), incident_id=command.incident_id,
                at=draft.at or now + timedelta(microseconds=n),
                kind=draft.kind.value, actor=actor, text=clean_text(draft.text),
                data=clean_json(draft.data), pending=True, outbox_key=key))
        session.flush()
        self._pause_sla(session, [new_state.get("service")])
        self._reindex(session, [command.incident_id])
        result = session.get(LocalIncident, command.incident_id, populate_existing=True)
        assert result is not None
        return result

    def _apply_directory(self, session: Session, command: Command, now: datetime,
                         actor: str | None) -> None:
        """A change about no incident (status page, maintenance): checked, applied to the
        store and queued in ``session``'s transaction (see :meth:`execute`)."""
        reason = self._capabilities(session).refusal(command.operation, command.what())
        if reason is not None:
            raise Refused(reason, None, RefusalKind.STATE)
        maintenance.apply_command(session, command, now)  # type: ignore[arg-type]
        session.add(OutboxEntry(key=str(uuid.uuid4()), incident_id=NO_INCIDENT,
                                kind=command.kind, payload=command.payload(), base_version=0,
                                created_at=now, actor=actor))

    @staticmethod
    def _pause_sla(session: Session, services: Iterable[str | None]) -> None:
        """Move the SLA deadlines of incidents on services that have maintenance windows."""
        windowed = {s for w in session.exec(select(LocalMaintenance.services)) for s in w}
        wanted = {s for s in services if s} & windowed
        if wanted:
            maintenance.refresh_sla(session, wanted)

    def _check_allowed(self, session: Session, command: Command,
                       row: LocalIncident | None) -> None:
        """Refuse, in words, what the user's capabilities do not allow (offline too)."""
        if row is not None:
            category, restricted = row.category, bool((row.base or {}).get("restricted"))
        else:
            category, restricted = str(getattr(command, "category", "other")), False
        reason = self._capabilities(session).refusal(command.operation, command.what(),
                                                     category, restricted)
        if reason is not None:
            raise Refused(reason, None, RefusalKind.STATE)

    def _upsert_incident(self, session: Session, row: dict[str, Any]) -> None:
        _upsert(session, "incidents", [row])

    def _reindex(self, session: Session, incident_ids: Iterable[str]) -> None:
        """Rewrite the search index rows of ``incident_ids``."""
        reindex(session, incident_ids)

    def _rebuild(self, session: Session, incident_id: str) -> None:
        """Recompute what the responder sees: ``base`` with the pending changes replayed."""
        row = session.get(LocalIncident, incident_id)
        base = row.base if row is not None else None
        entries = session.exec(select(OutboxEntry).where(
            OutboxEntry.incident_id == incident_id).order_by(col(OutboxEntry.seq))).all()
        state: dict[str, Any] | None = wire_state(base) if base else None
        for entry in entries:
            command = command_from_outbox(entry.kind, entry.payload)
            try:
                effect = command.effect(state, self._context(session, entry.created_at,
                                                             entry.actor))
            except Refused:
                continue  # the server will refuse it too; the refusal comes back then
            state = dict(effect.changes) if state is None else {**state, **effect.changes}
        if state is None:
            session.execute(delete(LocalIncident).where(col(LocalIncident.id) == incident_id))
            session.execute(delete(LocalEvent).where(col(LocalEvent.incident_id) == incident_id))
            return
        self._upsert_incident(session, incident_row(state, base, len(entries)))
        self._pause_sla(session, [state.get("service")])
