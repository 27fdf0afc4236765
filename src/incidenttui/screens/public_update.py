"""The public update form: the words customers read on the status page, and the state of
the incident's component. Self-contained so the incident detail (and the commander screen)
only push it and turn its answer into a :class:`~incidenttui.store.status_commands.
PostPublicUpdate`."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Label, Select, Static

from incidenttui.domain.statuspage import PUBLIC_TEXT_MAX, ComponentState
from incidenttui.screens.forms import Form

#: The choice that leaves the component's state as it is.
KEEP = "keep"


class PublicUpdateScreen(Form):
    """Public wording (required) and the component's state: dismisses with
    ``(text, {service: state})``."""

    def __init__(self, ref: str, service: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Public update on {ref} (shown on the status page)"
        self.service = service

    def fields(self) -> ComposeResult:
        yield Static(Content("Customers read this: no internal names, hosts or guesses."),
                     classes="form-hint")
        yield Label("Public wording")
        yield Input(id="public-text", max_length=PUBLIC_TEXT_MAX, compact=True,
                    placeholder="e.g. Some payments fail; we are rolling back a change.")
        yield Label(Content(f"State of {self.service}"))
        yield Select([(Content("leave as it is"), KEEP),
                      *[(Content(s.label), s.value) for s in ComponentState]],
                     value=KEEP, allow_blank=False, id="component-state", compact=True)

    def on_mount(self) -> None:
        self.query_one("#public-text").focus()

    def answer(self) -> tuple[str, dict[str, str]] | None:
        text = self.query_one("#public-text", Input).value.strip()
        if not text:
            self.error("Write what customers should read.")
            return None
        state: Any = self.query_one("#component-state", Select).value
        return text, ({} if state == KEEP else {self.service: str(state)})
