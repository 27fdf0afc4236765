"""The local store's file layout: its version, the search index and the upgrades between
layouts (each keeps the data and the outbox)."""

from __future__ import annotations

from incidenttui.store.reader import INDEX_SQL

#: Bumped with each change to the store's layout; see :data:`MIGRATIONS`.
SCHEMA_VERSION = 5


#: Fills the search index from what the store already holds (notes included).
SEARCH_REBUILD = [
    "DELETE FROM incident_fts",
    "INSERT INTO incident_fts(rowid, ref, title, description, service, notes) "
    "SELECT i.rowid, CASE WHEN i.number IS NULL THEN '' ELSE 'INC-' || i.number END, "
    "i.title, i.description, i.service, coalesce((SELECT group_concat(e.text, ' ') "
    "FROM events e WHERE e.incident_id = i.id AND e.kind = 'note'), '') FROM incidents i",
]


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
}
