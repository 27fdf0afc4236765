"""Similar past incidents: the store's search index (FTS5) ranked by BM25 over title,
description, service and notes, for the responder's best hint at 3 a.m. — how the same
trouble was resolved last time, and which open incident this may duplicate."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from incidenttui.domain.words import words

#: At most this many distinct words of the incident go into the query (title words first).
MAX_TERMS = 24
#: Open similar incidents (probable duplicates) kept beside the ``limit`` past ones.
MAX_OPEN = 2
#: BM25 column weights (ref, title, description, service, notes): titles say most.
WEIGHTS = (0.0, 4.0, 1.0, 2.0, 0.5)


@dataclass(frozen=True)
class Similar:
    """One similar incident and how it ended (open ones may be duplicates)."""

    id: str
    number: int | None
    title: str
    status: str
    is_open: bool
    resolution_code: str | None
    resolution_note: str | None
    score: float


def query_terms(*texts: str) -> list[str]:
    """The distinct meaningful words of ``texts`` in order (lower case, no stopwords, no
    numbers, at least three letters), at most :data:`MAX_TERMS`."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def similar_incidents(conn: Any, incident_id: str, limit: int = 5) -> list[Similar]:
    """The incidents most like ``incident_id`` (not itself, not cancelled, not already
    linked from it), best first: at most ``limit`` past ones and :data:`MAX_OPEN` open
    ones."""
    row = conn.execute("SELECT rowid, title, description, service, links FROM incidents "
                       "WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        return []
    rowid, title, description, service, links = row
    terms = query_terms(title or "", service or "", description or "")
    if not terms:
        return []
    match = " OR ".join(f'"{t}"' for t in terms)
    linked = {link.get("target") for link in json.loads(links or "[]")
              if isinstance(link, dict)}
    weights = ", ".join(str(w) for w in WEIGHTS)
    try:
        found = conn.execute(
            "SELECT i.id, i.number, i.title, i.status, i.is_open, i.resolution_code, "
            f"i.resolution_note, bm25(incident_fts, {weights}) AS rank "
            "FROM incident_fts JOIN incidents i ON i.rowid = incident_fts.rowid "
            "WHERE incident_fts MATCH :match AND incident_fts.rowid != :rowid "
            "AND i.status != 'cancelled' ORDER BY rank LIMIT :limit",
            {"match": match, "rowid": rowid, "limit": 4 * limit + len(linked)}).fetchall()
    except sqlite3.OperationalError:
        return []  # a store without the search index yet (an older layout being upgraded)
    hits = [Similar(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], -float(r[7]))
            for r in found if r[0] not in linked]
    # The open ones (probable duplicates) are kept even when past ones rank higher.
    done = [h for h in hits if not h.is_open][:limit]
    open_ = [h for h in hits if h.is_open][:MAX_OPEN]
    return sorted(done + open_, key=lambda h: -h.score)
