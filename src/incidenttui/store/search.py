"""The search index's state, and how the store searches while the index is being built.

A first pull (an empty store catching up from the start of the feed) does not keep the
search index row by row: about 40 % of its writes went to the FTS5 index and its prefix
indexes. The store marks the index stale (:data:`SEARCH_STALE_KEY` in ``meta``) in the
transaction of the pull's first page and fills it with one statement in the transaction of
the page that catches up. A pull cut short leaves the mark; the next pull, or the next start
of the store, fills the index then.

While the mark is there, a text filter is answered by :func:`incident_matches` (a SQL
function the store's connections carry) over the incidents table itself: the same words
match as with the index (each typed word a word prefix, all required), only more slowly.
Standard library only: the queue's light reader (``reader.py``) uses it before SQLModel
is loaded.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import unicodedata
from typing import Any

#: ``meta`` key present while the search index is not filled (a first pull running, or one
#: cut short): text filters use :func:`incident_matches` meanwhile.
SEARCH_STALE_KEY = "search_stale"
#: Name of the SQL function that matches a row without the search index.
MATCH_FUNCTION = "incident_matches"

#: What the search index holds for an incident, as SQL over ``incidents`` (aliased
#: ``alias``): its reference, title, description, service and its notes.
def indexed_columns(alias: str) -> str:
    """The five indexed texts of an incident, in the search index's column order."""
    a = alias
    return (f"CASE WHEN {a}.number IS NULL THEN '' ELSE coalesce({a}.series, 'INC') || '-' "
            f"|| {a}.number END, {a}.title, {a}.description, {a}.service, "
            f"coalesce((SELECT group_concat(e.text, ' ') FROM events e "
            f"WHERE e.incident_id = {a}.id AND e.kind = 'note'), '')")


#: Fills the whole search index from what the store holds (notes included), then merges
#: it into one segment: one big insert leaves many small segments at the lowest level, and
#: FTS5's automatic merging then folded them in during every later write (an incremental
#: page of 100 incidents took 2-3x as long until it had; 'optimize' costs ~0.2 s at 20k).
SEARCH_REBUILD = [
    "DELETE FROM incident_fts",
    "INSERT INTO incident_fts(rowid, ref, title, description, service, notes) "
    f"SELECT i.rowid, {indexed_columns('i')} FROM incidents i",
    "INSERT INTO incident_fts(incident_fts) VALUES('optimize')",
]


def is_stale(conn: Any) -> bool:
    """Whether the search index waits to be filled (``conn``: a DB-API connection)."""
    try:
        return conn.execute("SELECT 1 FROM meta WHERE key = ?",
                            (SEARCH_STALE_KEY,)).fetchone() is not None
    except sqlite3.OperationalError:  # not a store (yet): no meta table, no mark
        return False


# -- matching without the index ---------------------------------------------------------------

#: A token as FTS5's unicode61 tokenizer cuts them: letters and digits; everything else
#: (punctuation, spaces, underscores) separates.
_TOKEN = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    """Lower case without diacritics, as unicode61 (remove_diacritics) folds."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The folded tokens of ``text``."""
    return _TOKEN.findall(_fold(text))


@functools.lru_cache(maxsize=64)
def _phrases(words_json: str) -> tuple[tuple[str, ...], ...]:
    """The typed words (JSON list, as ``reader.fts_query`` reads them) as token phrases
    (an empty one for a word without letters or digits, such as ``_``)."""
    return tuple(tuple(tokens(str(w))) for w in json.loads(words_json))


def _has_phrase(column: list[str], phrase: tuple[str, ...]) -> bool:
    """Whether ``column``'s tokens hold ``phrase``, its last token as a prefix (what FTS5
    does with ``"word"*``)."""
    *head, last = phrase
    size = len(head)
    for n in range(len(column) - size):
        if column[n + size].startswith(last) and (not head or column[n:n + size] == head):
            return True
    return False


def incident_matches(words_json: str, *texts: str | None) -> int:
    """1 when every typed word of ``words_json`` starts a word (or a phrase, for a word
    the tokenizer splits) within one of ``texts``: the search index's answer for the query
    ``reader.fts_query`` makes. Registered on the store's connections as
    :data:`MATCH_FUNCTION`."""
    phrases = _phrases(words_json)
    if not all(phrases):
        return 0  # FTS5 matches nothing for an empty phrase
    present = [t for t in texts if t]
    # A one-token word is found at a word start anywhere (the space joining the columns
    # separates words too); only a phrase needs the columns' tokens.
    joined = _fold(" ".join(present))
    if not all(p[0] in joined and _word_start(p[0]).search(joined) for p in phrases):
        return 0
    longer = [p for p in phrases if len(p) > 1]
    if not longer:
        return 1
    columns = [tokens(t) for t in present]
    return int(all(any(_has_phrase(c, p) for c in columns) for p in longer))


@functools.lru_cache(maxsize=256)
def _word_start(token: str) -> re.Pattern[str]:
    """``token`` where a word starts (not after a letter or digit)."""
    return re.compile(r"(?<![^\W_])" + re.escape(token))


def add_function(conn: sqlite3.Connection) -> None:
    """Give a sqlite3 connection :data:`MATCH_FUNCTION`."""
    conn.create_function(MATCH_FUNCTION, -1, incident_matches, deterministic=True)


def fallback_clause(words: list[str]) -> tuple[str, dict[str, Any]]:
    """A WHERE term (over ``incidents``) and its parameter matching ``words`` without the
    search index."""
    return (f"{MATCH_FUNCTION}(:words, {indexed_columns('incidents')}) = 1",
            {"words": json.dumps(words)})


# -- deferring the index during a first pull --------------------------------------------------


def defer_index(conn: Any, first_pull: bool) -> bool:
    """Whether the write in ``conn``'s transaction leaves the search index to be filled
    later: it is stale already, or ``first_pull`` and the store is empty and has never
    synced, in which case the index is marked stale here (in the same transaction)."""
    if is_stale(conn):
        return True
    if not first_pull:
        return False
    cursor = conn.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
    if (cursor is not None and cursor[0] != "0") or \
            conn.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() is not None:
        return False
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, 'first pull')",
                 (SEARCH_STALE_KEY,))
    return True


def fill_index(conn: Any) -> None:
    """Fill the whole search index in ``conn``'s transaction and drop the stale mark."""
    for statement in SEARCH_REBUILD:
        conn.execute(statement)
    conn.execute("DELETE FROM meta WHERE key = ?", (SEARCH_STALE_KEY,))
