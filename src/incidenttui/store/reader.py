"""A light, read-only view of the store for the queue, on the standard library alone.

The app paints the cached queue from here before SQLModel (about 0.3 s to import) is
loaded; the full :class:`~incidenttui.store.store.Store` takes over for everything else.
Text in the store is already inert (sanitised when written).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidenttui.config import data_dir
from incidenttui.domain.refs import ref
from incidenttui.store.search import add_function, fallback_clause, is_stale

_WORD = re.compile(r"\w+", re.UNICODE)

#: The queue's sort orders. Each ends in ``id`` (a total order) and has a covering index in
#: :data:`INDEX_SQL` with the same terms, so a window of the queue is read in index order,
#: never sorted, however many incidents the store holds.
SORTS = {
    "priority": "is_open DESC, priority ASC, created_at DESC, id",
    "newest": "created_at DESC, id",
    "sla": "is_open DESC, sla_due_at IS NULL, sla_due_at ASC, priority ASC, created_at DESC, id",
    "updated": "updated_at DESC, id",
}
INDEX_SQL = [
    *(f"CREATE INDEX IF NOT EXISTS ix_queue_{name} ON incidents ({order})"
      for name, order in SORTS.items()),
    # The open views sorted by time: equal on is_open, then in order.
    *(f"CREATE INDEX IF NOT EXISTS ix_queue_open_{name} ON incidents (is_open, {SORTS[name]})"
      for name in ("newest", "updated")),
]
#: How the first screenful of a text search is found (:meth:`QueueReader.first`). A word
#: that at most RARE_MATCHES incidents hold: read its matches and sort them. Otherwise check
#: the first SAMPLE_ROWS rows of the sort index against the search index, one look-up each;
#: if at least COMMON_SHARE of them match, walk on that way (a common word: a screenful
#: comes from a few dozen look-ups); else collect the matches (about 0.5 µs each) and scan
#: the sort index for them. Either costs a few milliseconds at 100,000 incidents.
RARE_MATCHES = 2_000
SAMPLE_ROWS = 30
COMMON_SHARE = 0.3
#: A typed word this long or shorter is looked up in the search index's prefix index; a
#: longer one is spelled out as the words in the index that start with it (at most
#: MAX_EXPANSION of them), so that checking one row costs a look-up, not a merge.
PREFIX_INDEXED = 3
MAX_EXPANSION = 32
_ASCII_WORD = re.compile(r"[a-z0-9]+")


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
    #: Stale acknowledgements: acknowledged or in progress and untouched (no note, no
    #: status change) since this moment; listed oldest first (:data:`TOUCHED_SQL`).
    idle_before: datetime | None = None


#: Hours without a note or a status change before an acknowledgement counts as stale.
DEFAULT_STALE_HOURS = 4.0
#: Statuses a stale acknowledgement can be in: someone took it and may have forgotten it.
STALE_STATUSES = ("acknowledged", "in_progress")
#: When an incident was last touched: its latest note or status change (pending local ones
#: included), else when it was acknowledged or logged. The events index (incident, at) makes
#: this one seek per incident; only the few acknowledged ones are asked.
TOUCHED_SQL = ("coalesce((SELECT max(e.at) FROM events e WHERE e.incident_id = incidents.id "
               "AND e.kind IN ('note', 'status', 'created')), incidents.acknowledged_at, "
               "incidents.created_at)")


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: every word a quoted prefix, all required."""
    words = _WORD.findall(text)
    return " AND ".join(f'"{w}"*' for w in words) if words else None


def _db_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def filter_sql(flt: IncidentFilter, *, search: str | None = None, stale: bool = False
               ) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and named parameters for ``flt`` over the incidents table.

    ``search``: an FTS5 query to use for the text instead of :func:`fts_query`'s.
    ``stale``: the search index is being built (store/search.py): the text is matched
    without it, row by row (the connection needs :func:`~.search.add_function`)."""
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
    if flt.idle_before is not None:
        clauses.append(f"status IN {STALE_STATUSES!r} AND {TOUCHED_SQL} <= :idle")
        params["idle"] = _db_time(flt.idle_before)
    query = search or fts_query(flt.text)
    if query and stale:
        clause, extra = fallback_clause(_WORD.findall(flt.text))
        clauses.append(clause)
        params.update(extra)
    elif query:
        clauses.append("rowid IN (SELECT rowid FROM incident_fts WHERE incident_fts MATCH :fts)")
        params["fts"] = query
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def ids_sql(flt: IncidentFilter, limit: int | None = None, *, stale: bool = False
            ) -> tuple[str, dict[str, Any]]:
    """The ordered ids matching ``flt`` (the first ``limit`` of them); ``stale``: see
    :func:`filter_sql`."""
    where, params = filter_sql(flt, stale=stale)
    # Stale acknowledgements: the longest forgotten first (a handful of rows, sorted).
    order = f"{TOUCHED_SQL}, id" if flt.idle_before is not None else SORTS[sort_of(flt)]
    sql = f"SELECT id FROM incidents {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def sort_of(flt: IncidentFilter) -> str:
    return flt.sort if flt.sort in SORTS else "priority"


def count_sql(flt: IncidentFilter, *, stale: bool = False) -> tuple[str, dict[str, Any]]:
    where, params = filter_sql(flt, stale=stale)
    return f"SELECT count(*) FROM incidents {where}", params


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
class _Event:
    kind: str
    text: str
    at: datetime | None


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
    #: A personal-data breach's 72-hour clock: since when, and when notified (security.py).
    breach_aware_at: datetime | None = None
    breach_notified_at: datetime | None = None
    #: When the service's escalation policy moves it to its next level by itself (past:
    #: overdue); None when no automatic move is coming or the service has no policy.
    escalates_at: datetime | None = None
    #: The number's series (domain/refs.py; None: INC).
    series: str | None = None

    @property
    def ref(self) -> str:
        return ref(self.number, self.series)


_ROW_COLUMNS = ("id, number, priority, status, title, service, team, assignee, created_at, "
                "sla_due_at, escalation_level, pending, major, on_hold_since, category, "
                "detected_at, CASE WHEN category = 'security' THEN description END, "
                "CASE WHEN category = 'security' THEN json_extract(base, '$.aware_at') END, "
                "CASE WHEN category = 'security' THEN json_extract(base, '$.notified_at') END, "
                "CASE WHEN category = 'security' THEN json_extract(base, '$.playbook') END, "
                "series")


class QueueReader:
    """Read-only queries for the queue: ordered ids and the rows for the visible lines.

    Two connections: one for what a screen needs at once (the first rows of a view, the rows
    on screen) and one for whole lists, which :meth:`interrupt` can stop when what the user
    asked for has changed."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._bulk: sqlite3.Connection | None = None
        self._indexed = False  # layout 2: the queue's covering indexes
        self._vocabulary = False
        #: escalation policies read from the store, by (id, stored JSON): None if unreadable
        self._parsed: dict[tuple[str, str], Any] = {}

    def _open(self) -> sqlite3.Connection | None:
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False, timeout=5)
            conn.execute("SELECT 1 FROM incidents LIMIT 1")
        except sqlite3.Error:
            return None  # not created yet, or not a store: nothing cached
        add_function(conn)  # text filters while the search index is being built
        return conn

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _connect_bulk(self) -> sqlite3.Connection | None:
        if self._bulk is None:
            self._bulk = self._open()
        return self._bulk

    def close(self) -> None:
        for conn in (self._conn, self._bulk):
            if conn is not None:
                conn.close()
        self._conn = self._bulk = None
        self._indexed = False
        self._vocabulary = False

    def interrupt(self) -> None:
        """Stop a whole-list query running in another thread (it raises there)."""
        if self._bulk is not None:
            self._bulk.interrupt()

    def query_ids(self, flt: IncidentFilter, limit: int | None = None) -> list[str]:
        """Every id matching ``flt`` in order (or the first ``limit``)."""
        conn = self._connect_bulk()
        if conn is None:
            return []
        sql, params = ids_sql(flt, limit, stale=bool(flt.text) and is_stale(conn))
        return [r[0] for r in conn.execute(sql, params)]

    def first(self, flt: IncidentFilter, limit: int) -> list[str]:
        """The first ``limit`` ids of :meth:`query_ids`, in milliseconds whatever the store's
        size: what a screen shows while the whole list is read (search as you type)."""
        conn = self._connect()
        if conn is None:
            return []
        words = _WORD.findall(flt.text)
        if words and is_stale(conn):
            # The search index is being built: match row by row in the sort order.
            sql, params = ids_sql(flt, limit, stale=True)
            return [r[0] for r in conn.execute(sql, params)]
        search = self._search(conn, words) if words and self._has_queue_indexes(conn) else None
        if search is not None and not search[0]:
            return []  # a word that starts no word in the search index
        if search is None or search[1] <= RARE_MATCHES or flt.idle_before is not None:
            # No text: read in index order, no sorting. A rare word (or a store of an older
            # layout, until it is upgraded): collect its matches and sort those.
            return self._collected(conn, flt, limit, search[0] if search else None)
        query = search[0]
        where, params = filter_sql(replace(flt, text=""))
        sort = sort_of(flt)
        # The open views sorted by time have indexes of their own (is_open first).
        index = f"ix_queue_open_{sort}" if sort in ("newest", "updated") and (
            flt.open_only or flt.breaching_before is not None) else f"ix_queue_{sort}"
        order = SORTS[sort]
        # Walk the sort index, checking each row against the search index: cheap when most
        # rows match. A sample tells whether they do (unless the words' counts already say
        # they are not common: checking a row for a spelled-out word costs more than a
        # prefix's look-up); if not, collect the matches instead.
        common = search[1] == float("inf") or search[1] >= COMMON_SHARE * self._size(conn)
        if common:
            candidates = conn.execute(f"SELECT id, rowid FROM incidents {where} ORDER BY "
                                      f"{order} LIMIT {int(limit) * 3}", params).fetchall()
            walked = self._matching(conn, candidates[:SAMPLE_ROWS], query)
            if len(walked) >= COMMON_SHARE * min(SAMPLE_ROWS, len(candidates)):
                walked += self._matching(conn, candidates[SAMPLE_ROWS:], query)
                if len(walked) >= limit or len(candidates) < int(limit) * 3:
                    return walked[:limit]
        if search[1] == float("inf") and self._at_most(conn, query, RARE_MATCHES):
            # A short prefix (no count known) that few incidents hold: walking the sort
            # index for them would read all of it.
            return self._collected(conn, flt, limit, query)
        where, params = filter_sql(flt, search=query)
        return [r[0] for r in conn.execute(
            f"SELECT id FROM incidents INDEXED BY {index} {where} ORDER BY {order} "
            f"LIMIT {int(limit)}", params)]

    @staticmethod
    def _collected(conn: sqlite3.Connection, flt: IncidentFilter, limit: int,
                   search: str | None) -> list[str]:
        """The first ``limit`` ids as :meth:`query_ids` reads them (its matches collected and
        sorted), with ``search`` for the text when given."""
        sql, params = ids_sql(flt, limit)
        if search is not None:
            params["fts"] = search
        return [r[0] for r in conn.execute(sql, params)]

    @staticmethod
    def _size(conn: sqlite3.Connection) -> int:
        """About how many incidents the store holds (the highest rowid: one index seek)."""
        return int(conn.execute("SELECT max(rowid) FROM incidents").fetchone()[0] or 0)

    @staticmethod
    def _at_most(conn: sqlite3.Connection, search: str, count: int) -> bool:
        """Whether ``search`` matches at most ``count`` incidents (reads at most count + 1)."""
        return conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM incident_fts WHERE incident_fts MATCH ? "
            f"LIMIT {int(count) + 1})", (search,)).fetchone()[0] <= count

    def _search(self, conn: sqlite3.Connection, words: list[str]) -> tuple[str, float]:
        """The FTS5 query for ``words`` (cheap to check row by row; empty when some word
        starts no word in the index) and how many incidents at most it matches (infinite
        when not known)."""
        terms: list[str] = []
        counts: list[int] = []
        for word in words:
            term = self._term(conn, word, counts)
            if term is None:
                return "", 0
            terms.append(term)
        return " AND ".join(terms), min(counts, default=float("inf"))

    @staticmethod
    def _matching(conn: sqlite3.Connection, candidates: list[tuple[str, int]], search: str
                  ) -> list[str]:
        """The ids of ``candidates`` (id, rowid) that ``search`` matches, in their order."""
        if not candidates:
            return []
        # One look-up per candidate: the search index seeks to the rowid.
        hits = {r[0] for r in conn.execute(
            "SELECT value FROM json_each(?) WHERE EXISTS (SELECT 1 FROM incident_fts "
            "WHERE incident_fts MATCH ? AND incident_fts.rowid = value)",
            ("[" + ",".join(str(int(rowid)) for _, rowid in candidates) + "]", search))}
        return [incident_id for incident_id, rowid in candidates if rowid in hits]

    def _term(self, conn: sqlite3.Connection, word: str, known: list[int]) -> str | None:
        """``word`` as an FTS5 query term that is cheap to check row by row (see
        :data:`PREFIX_INDEXED`); the number of incidents holding it goes to ``known``."""
        lowered = "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                          if not unicodedata.combining(c))
        if len(lowered) <= PREFIX_INDEXED or not _ASCII_WORD.fullmatch(lowered):
            return f'"{word}"*'  # the prefix index, or the tokenizer's own folding
        following = lowered[:-1] + chr(ord(lowered[-1]) + 1)
        if not self._vocabulary:  # the search index's words and their counts
            conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.incident_terms "
                         "USING fts5vocab(main, incident_fts, 'row')")
            self._vocabulary = True
        rows = conn.execute("SELECT term, doc FROM temp.incident_terms WHERE term >= ? "
                            f"AND term < ? LIMIT {MAX_EXPANSION + 1}",
                            (lowered, following)).fetchall()
        if not rows:
            return None
        if len(rows) > MAX_EXPANSION:
            return f'"{word}"*'
        known.append(sum(doc for _, doc in rows))
        return "(" + " OR ".join(f'"{term}"' for term, _ in rows) + ")"

    def _has_queue_indexes(self, conn: sqlite3.Connection) -> bool:
        # Checked until found: the store may upgrade an older layout while the app runs.
        if not self._indexed:
            self._indexed = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE "
                "'ix_queue_%'").fetchone()[0] == len(INDEX_SQL)
        return self._indexed

    def rows(self, ids: list[str]) -> dict[str, QueueRow]:
        """The rows for ``ids`` (any order; missing ids left out)."""
        conn = self._connect()
        if conn is None or not ids:
            return {}
        out: dict[str, QueueRow] = {}
        security: dict[str, Any] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for r in conn.execute(f"SELECT {_ROW_COLUMNS} FROM incidents WHERE id IN ({marks})",
                                  chunk):
                out[r[0]] = QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                                     parse_time(r[8]) or datetime.now(UTC), parse_time(r[9]),
                                     r[10], r[11], bool(r[12]), parse_time(r[13]),
                                     series=r[20])
                if r[14] == "security":
                    security[r[0]] = r
        if security:
            self._breaches(conn, out, security)
        self._escalations(conn, out)
        return out

    def _escalations(self, conn: sqlite3.Connection, out: dict[str, QueueRow]) -> None:
        """When each open row among ``out`` escalates by itself (only these: a screenful),
        from its service's policy and its timeline as last synced: the same reading as the
        escalation screen's (store/escalation.py)."""
        policies = self._policies(conn)
        if not policies:
            return
        import json

        from incidenttui.domain.lifecycle import is_open
        from incidenttui.store.escalation import escalates_at

        rows = [r for r in out.values() if r.service in policies and is_open(r.status)]
        if not rows:
            return

        marks = ", ".join("?" * len(rows))
        events: dict[str, list[tuple[datetime, str, str | None, dict[str, Any]]]] = {
            r.id: [] for r in rows}
        for incident_id, at, kind, actor, data in conn.execute(
                f"SELECT incident_id, at, kind, actor, data FROM events WHERE incident_id IN "
                f"({marks}) AND kind IN ('escalation', 'note', 'status')",
                [r.id for r in rows]):
            try:
                loaded = json.loads(data) if data else {}
            except ValueError:
                loaded = {}
            events[incident_id].append((parse_time(at) or datetime.now(UTC), kind, actor,
                                        loaded if isinstance(loaded, dict) else {}))
        for row in rows:
            due = escalates_at(policies[row.service], row.status, row.priority,
                               row.created_at, events[row.id])
            if due is not None:
                out[row.id] = replace(row, escalates_at=due)

    def _policies(self, conn: sqlite3.Connection) -> dict[str, Any]:
        """Each service with an escalation policy the store holds → the policy (parsed once
        per stored version: the queue asks on every screenful)."""
        try:
            found = conn.execute(
                "SELECT s.id, o.id, o.data FROM services s JOIN org_items o "
                "ON o.kind = 'policy' AND o.id = s.policy_id").fetchall()
        except sqlite3.Error:  # a store from before layout 3: no policies
            return {}
        if not found:
            return {}
        from incidenttui.store.escalation import read_policy

        answer = {}
        for service_id, policy_id, data in found:
            key = (policy_id, data)
            if key not in self._parsed:
                self._parsed[key] = read_policy(policy_id, data)
            if self._parsed[key] is not None:
                answer[service_id] = self._parsed[key]
        return answer

    @staticmethod
    def _breaches(conn: sqlite3.Connection, out: dict[str, QueueRow],
                  security: dict[str, Any]) -> None:
        """The breach clocks of the security rows among ``out`` (only those: a few a
        screen), from the same facts the detail screen reads (store/security.py)."""
        from incidenttui.domain.playbooks import (
            DEFAULT_PLAYBOOKS,
            NOTIFY_STEP,
            check_prefix,
            checked_steps,
        )
        from incidenttui.store.security import breach_times, choose_kind

        for incident_id, r in security.items():
            kind = choose_kind(r[14], r[4] or "", r[16] or "", r[19])
            playbook = DEFAULT_PLAYBOOKS.get(kind) if kind is not None else None
            checked: dict[str, datetime] = {}
            if playbook is not None and playbook.personal_data:
                notes = conn.execute(
                    "SELECT kind, text, at FROM events WHERE incident_id = ? AND kind = 'note' "
                    "AND text LIKE ?", (incident_id, check_prefix(kind, NOTIFY_STEP) + "%"))
                checked = checked_steps((_Event(k, t, parse_time(a)) for k, t, a in notes),
                                        kind)
            times = breach_times({"aware_at": r[17], "notified_at": r[18]}, playbook, checked,
                                 parse_time(r[15]) or out[incident_id].created_at)
            if times is not None:
                out[incident_id] = replace(out[incident_id], breach_aware_at=times[0],
                                           breach_notified_at=times[1])

    def search_stale(self) -> bool:
        """Whether the search index is being built (text filters are slower meanwhile)."""
        conn = self._connect()
        return conn is not None and is_stale(conn)

    def has_data(self) -> bool:
        conn = self._connect()
        return conn is not None and conn.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() \
            is not None
