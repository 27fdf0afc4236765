"""The category/service suggester trained on the incidents in the local store (offline too).
The model is domain/suggest.py's; this module only reads the examples."""

from __future__ import annotations

from typing import Any

from incidenttui.domain.suggest import Example, Suggester

#: The model learns from at most this many of the latest incidents: the recent ones say
#: most, and training stays in milliseconds whatever the store's size.
TRAIN_ON = 5_000


def examples(conn: Any, limit: int = TRAIN_ON) -> list[Example]:
    """The latest incidents (not cancelled) as training examples."""
    return [Example(*r) for r in conn.execute(
        "SELECT title, description, category, service FROM incidents "
        "WHERE status != 'cancelled' ORDER BY created_at DESC LIMIT ?", (limit,))]


def train(conn: Any) -> Suggester:
    """A suggester trained on the store behind ``conn`` (a DB-API connection)."""
    return Suggester(examples(conn))
