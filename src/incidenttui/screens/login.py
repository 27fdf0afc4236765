"""Login: shown when no token is known for the server, using the keyring rules."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static

from incidenttui.sync.status import SyncState


class LoginScreen(ModalScreen[bool]):
    """Server URL and token; the token goes to the keyring (or, if chosen, a 0600 file)."""

    AREA = "login"
    BINDINGS = [
        Binding("escape", "offline", "Work offline", id="login.offline"),
        Binding("ctrl+s", "submit", "Log in", id="login.submit"),
    ]

    def __init__(self, server_url: str | None) -> None:
        super().__init__()
        self.server_url = server_url or ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(Content("Log in to an incidenttui server"), classes="form-title")
            yield Label("Server URL")
            yield Input(self.server_url, id="server", placeholder="https://incidents.example",
                        compact=True, disabled=bool(self.server_url))
            yield Label("API token (from your admin: incidenttui admin create-user)")
            yield Input(id="token", password=True, compact=True)
            yield Checkbox("No keyring here: store it in a 0600 plaintext file", id="insecure",
                           compact=True)
            yield Static("", classes="form-error", markup=False)
            yield Static(Content("enter: log in · esc: work offline from the local cache"),
                         classes="form-hint")

    def on_mount(self) -> None:
        self.query_one("#token" if self.server_url else "#server").focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "server":
            self.query_one("#token").focus()
        else:
            self.action_submit()

    def action_offline(self) -> None:
        # Keep what the status already knows (the user, pending changes) if the store is in.
        self.app.sync_status = replace(self.app.sync_status, state=SyncState.LOCAL,
                                       server=self.server_url)
        self.dismiss(False)

    @work(exclusive=True)
    async def action_submit(self) -> None:
        from incidenttui.credentials import CredentialError, save_token

        error = self.query_one(".form-error", Static)
        url = self.query_one("#server", Input).value.strip().rstrip("/")
        token = self.query_one("#token", Input).value.strip()
        if not url.startswith(("http://", "https://")):
            error.update(Content("The server URL starts with http:// or https://."))
            return
        if not token:
            error.update(Content("Paste the token."))
            return
        insecure = self.query_one("#insecure", Checkbox).value
        try:
            where = await asyncio.to_thread(save_token, url, token, insecure_storage=insecure)
        except CredentialError as exc:
            error.update(Content(str(exc)))
            return
        self.app.switch_server(url, token)
        self.notify(f"Token stored in {where}.", timeout=5)
        self.dismiss(True)
