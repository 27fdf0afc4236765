"""The detail screen's section of similar past incidents: how each was resolved, and the
open ones offered as probable duplicates (``D`` links the first as a duplicate of it).

Reads the store in a worker (store/similar.py: FTS5 + BM25); knows nothing of SQL. Each
line is cut to the widget's width, so it stays one line per incident at 80 columns.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.content import Content
from textual.widget import Widget

from incidenttui.present import ref
from incidenttui.widgets.cells import fit

#: Past incidents shown (the open probable duplicates come on top of these).
SHOWN = 3


def similar_lines(hits: list[Any], width: int) -> list[str]:
    """One line per similar incident, each exactly ``width`` cells: past ones with their
    resolution code and note, open ones marked as probable duplicates."""
    if not hits:
        return [fit("similar: none in the local store", width)]
    lines = []
    for index, hit in enumerate(hits):
        if hit.is_open:
            how = f"OPEN, duplicate? D links it · {hit.title}"
        else:
            note = (hit.resolution_note or "").replace("\n", " ")
            how = f"{hit.resolution_code or hit.status}: {note or hit.title}"
        lead = "similar" if index == 0 else ""
        lines.append(fit(f"{lead:<8}{ref(hit.number)} {how}", width))
    return lines


class SimilarView(Widget):
    """Up to :data:`SHOWN` similar past incidents and the open probable duplicates."""

    DEFAULT_CSS = """
    SimilarView { height: auto; max-height: 5; }
    """

    def __init__(self, incident_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.incident_id = incident_id
        self.hits: list[Any] = []
        self._read = False
        #: A first sync is building the search index: the ranking would miss incidents.
        self._building = False

    @property
    def duplicate(self) -> Any:
        """The best open similar incident (what ``D`` links to), or None."""
        return next((h for h in self.hits if h.is_open), None)

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="similar-load")
    def load(self) -> None:
        """Read the similar incidents again (the store changed)."""
        store = self.app.store
        if store is None:
            return
        try:
            building = store.search_stale()
            hits = [] if building else store.similar(self.incident_id, limit=SHOWN)
        except Exception as exc:  # a locked store: say so once, keep the screen
            self.app.report_error("Finding similar incidents failed", exc)
            return
        self.app.call_from_thread(self._loaded, hits, building)

    def _loaded(self, hits: list[Any], building: bool = False) -> None:
        self._read = True
        if building != self._building:
            self._building = building
            self.refresh()
        if [h.id for h in hits] != [h.id for h in self.hits]:
            self.hits = hits
            self.refresh(layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(1, len(self.hits)) if self._read else 1

    def render(self) -> Content:
        if not self._read:
            return Content(fit("similar: looking…", self.size.width))
        if self._building:
            return Content(fit("similar: once the first sync has built the search index",
                               self.size.width))
        return Content("\n".join(similar_lines(self.hits, self.size.width)))
