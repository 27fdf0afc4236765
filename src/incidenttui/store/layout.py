"""The local store's file layout: its version, the search index and the upgrades between
layouts (each keeps the data and the outbox)."""

from __future__ import annotations

from incidenttui.store.kpis import KPI_INDEX_SQL
from incidenttui.store.reader import INDEX_SQL
from incidenttui.store.search import SEARCH_REBUILD

#: Bumped with each change to the store's layout; see :data:`MIGRATIONS`.
SCHEMA_VERSION = 9


def _search_index(prefix: str | None) -> list[str]:
    """The search index, created (or re-created) and filled."""
    options = f", prefix='{prefix}'" if prefix else ""
    return [
        "DROP TABLE IF EXISTS incident_fts",
        "CREATE VIRTUAL TABLE incident_fts USING fts5("
        f"ref, title, description, service, notes, tokenize='unicode61'{options})",
        *SEARCH_REBUILD,
    ]


#: Layout upgrades, applied in order to a store whose ``user_version`` is lower (a new store
#: runs them all); each keeps the data and the outbox.
MIGRATIONS: dict[int, list[str]] = {
    # 1: full-text search over number, title, description, service and notes.
    1: _search_index(None),
    # 2: the queue reads a window in its sort order without sorting the table: one covering
    # index per sort (reader.SORTS), and one- to three-letter prefixes indexed for search as
    # you type.
    2: [*INDEX_SQL, "DROP INDEX IF EXISTS ix_local_open_priority",
        "DROP INDEX IF EXISTS ix_local_created", *_search_index("1 2 3")],
    # 6: the KPI scan's covering index (store/kpis.py): every figure in one narrow scan.
    6: [KPI_INDEX_SQL],
    # 7: read the change feed again from the start, once. A store synced before layout 3
    # skipped the feed's schedules and policies (entities it did not know) and kept its
    # services without their policy, and its cursor is past all of them: without this it
    # learns a policy only when it next changes. Which stores synced before layout 3 cannot
    # be told afterwards, so every synced store re-reads once; replaying the feed is
    # idempotent (older incident versions are skipped, events and the directory upserted,
    # the outbox kept; a replayed ``forget`` spares incidents with queued changes, see
    # sync_writes.REREAD_KEY), so the only cost is the one full sync.
    7: ["INSERT OR REPLACE INTO meta (key, value) SELECT 'reread_until', value FROM meta "
        "WHERE key = 'cursor' AND value != '0'",
        "UPDATE meta SET value = '0' WHERE key = 'cursor'"],
    # 9: a first pull fills the search index once, at its end, and marks it stale until
    # then (store/search.py). Nothing to rewrite: a layout-8 store has no mark and a full
    # index. The number changes so that an older incidenttui refuses a store it would
    # search through a partial index without knowing.
    9: [],
}


#: Columns a layout added to a table that already existed: (table, column, SQL type). A new
#: store gets them from the table models; an older one has them added (when missing) before
#: that layout's :data:`MIGRATIONS` run.
ADDED_COLUMNS: dict[int, list[tuple[str, str, str]]] = {
    # 3: a service's escalation policy (the app shows it and its countdown offline).
    3: [("services", "policy_id", "VARCHAR")],
    # 5: the status page: whether a service is public and its component state (the new
    # ``maintenance`` table of windows is made with the other tables).
    5: [("services", "public", "BOOLEAN NOT NULL DEFAULT 0"),
        ("services", "component_state", "VARCHAR NOT NULL DEFAULT 'operational'")],
    # 8: an incident's number series, INC or SEC (domain/refs.py); the incidents already
    # held are INC ones (NULL reads as INC), so nothing is rewritten.
    8: [("incidents", "series", "VARCHAR")],
}
