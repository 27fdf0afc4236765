"""Conflicts: changes the server did not apply, mine and theirs side by side."""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from incidenttui.present import ref
from incidenttui.widgets.hints import key_hints
from incidenttui.widgets.status_line import StatusLine


def _show_value(value: Any) -> str:
    if value is None:
        return "(empty)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ConflictsScreen(Screen[None]):
    """Pick *keep mine* (sent again against the server's version) or *take theirs*."""

    AREA = "conflicts"
    BINDINGS = [
        Binding("escape", "back", "Back", id="conflicts.back"),
        Binding("m", "settle(True)", "Keep mine", id="conflicts.keep_mine"),
        Binding("t", "settle(False)", "Take theirs/dismiss", id="conflicts.take_theirs"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[Any] = []
        self.refs: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="conflicts-title", markup=False)
        yield OptionList(id="conflict-list", compact=True)
        with Horizontal(id="sides"):
            yield Static(id="mine", markup=False)
            yield Static(id="theirs", markup=False)
        yield StatusLine()
        yield key_hints()

    def on_mount(self) -> None:
        self.query_one("#conflict-list").focus()
        self.load()

    def store_changed(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            conflicts = store.conflicts()
            incidents = store.incidents(list({c.incident_id for c in conflicts}))
        except Exception as exc:  # a locked or damaged store: say so, keep running
            self.app.report_error("Reading conflicts failed", exc)
            return
        refs = {i.id: ref(i.number, i.series) for i in incidents}
        self.app.call_from_thread(self._show, conflicts, refs)

    def _show(self, conflicts: list[Any], refs: dict[str, str]) -> None:
        self.conflicts, self.refs = conflicts, refs
        title = (f"Conflicts · {len(conflicts)} · m: keep mine · t: take theirs"
                 if conflicts else "No conflicts: every change was applied.")
        self.query_one("#conflicts-title", Static).update(Content(title))
        options = self.query_one("#conflict-list", OptionList)
        highlighted = options.highlighted or 0
        options.clear_options()
        for c in conflicts:
            # Not in the store: a new incident the server refused, so never numbered.
            name = refs.get(c.incident_id) or ref(None)
            label = (f"{name} · {c.field} changed by someone else" if c.field else
                     f"{name} · refused: {c.summary} — {c.reason}")
            options.add_option(Option(Content(label), id=str(c.id)))
        if conflicts:
            options.highlighted = min(highlighted, len(conflicts) - 1)
        self._detail()

    @on(OptionList.OptionHighlighted)
    def _detail(self) -> None:
        mine, theirs = self.query_one("#mine", Static), self.query_one("#theirs", Static)
        conflict = self._current()
        if conflict is None:
            mine.update(Content(""))
            theirs.update(Content(""))
            return
        if conflict.field:
            mine.update(Content(f"MINE ({conflict.field})\n{_show_value(conflict.mine)}"))
            theirs.update(Content(f"THEIRS (version {conflict.their_version})\n"
                                  f"{_show_value(conflict.theirs)}"))
        else:
            mine.update(Content(f"MY CHANGE\n{conflict.summary}"))
            theirs.update(Content(f"THE SERVER SAID\n{conflict.reason}\n\n"
                                  "t dismisses it; make the change again if still needed."))

    def _current(self) -> Any:
        options = self.query_one("#conflict-list", OptionList)
        if options.highlighted is None or options.highlighted >= len(self.conflicts):
            return None
        return self.conflicts[options.highlighted]

    def action_back(self) -> None:
        self.app.pop_screen()

    async def action_settle(self, keep_mine: bool) -> None:
        """Settle the highlighted conflict through the one command path: a refusal (one
        that cannot be kept, or one settled meanwhile) is shown in words, never as done."""
        from incidenttui.store.commands import SettleConflict

        conflict = self._current()
        if conflict is None:
            return
        if not await self.app.execute([SettleConflict(conflict.id, keep_mine=keep_mine)],
                                      done="Kept mine: sending it again" if keep_mine else
                                      "Took theirs"):
            self.load()  # refused: perhaps settled meanwhile (the CLI, another screen)
