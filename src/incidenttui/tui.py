"""The Textual app: built by :func:`make_app`, which the CLI and the tests both call.

Start-up paints the cached queue from the stdlib-only reader first; the store (SQLModel) and
the sync engine (httpx) load in a worker thread after the first paint, then take over.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from incidenttui.messages import (
    BackendReady,
    IncidentsForgotten,
    StoreChanged,
    SyncStatusChanged,
)
from incidenttui.settings import Settings
from incidenttui.store.reader import QueueReader
from incidenttui.sync.status import SyncState, SyncStatus
from incidenttui.widgets.status_line import StatusLine


@dataclass(frozen=True)
class AppConfig:
    """Everything the app needs to start; the CLI and the tests build one."""

    server_url: str | None
    token: str | None
    store_path: Path
    offline: bool = False
    settings: Settings = Settings()
    long_poll: float = 25.0
    #: TLS trust for the server: True (the default store) or an ``ssl.SSLContext`` made from
    #: the configured CA bundle (:func:`incidenttui.tls.client_trust`). Never off.
    verify: Any = True


class IncidentApp(App[None]):
    """incidenttui: the incident console."""

    TITLE = "incidenttui"
    #: What the queue draws; every other screen's styles are read after its first frame
    #: (:meth:`load_screen_styles`): parsing them first cost start-up ~10 ms.
    CSS_PATH = "styles/app.tcss"
    SCREENS_CSS_PATH = Path(__file__).parent / "styles" / "screens.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True,
                tooltip="Leave incidenttui (queued changes are kept)"),
        Binding("question_mark", "help", "Help", id="app.help",
                tooltip="The keys of this screen"),
        Binding("ctrl+p,colon", "command_palette", "Commands", id="app.commands", show=False,
                tooltip="Every action of this screen, by name"),
        Binding("ctrl+r", "sync_now", "Sync now", id="app.sync", show=False,
                tooltip="Push queued changes and pull news now"),
        Binding("C", "conflicts", "Conflicts", id="app.conflicts", show=False,
                tooltip="Changes the server did not apply"),
        Binding("K", "kpis", "KPIs", id="app.kpis", show=False,
                tooltip="MTTA, MTTR, SLA compliance and volumes from the local store"),
        Binding("O", "oncall", "On call", id="app.oncall", show=False,
                tooltip="Who is on call now and next, per schedule"),
    ]

    sync_status: reactive[SyncStatus] = reactive(SyncStatus, always_update=True)

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.reader = QueueReader(config.store_path)
        self._backend_started = False
        self._screen_styles = False
        self.store: Any = None  # incidenttui.store.Store, once loaded
        self.engine: Any = None  # incidenttui.sync.engine.SyncEngine, unless offline
        self._engine_task: asyncio.Task[None] | None = None
        #: The TLS failure last notified (each is said once, not at every retry).
        self._tls_said = ""
        # Until the first sync says otherwise, the app is on its way to the server (the
        # engine starts after the first frame): not "offline", which a fresh start would
        # otherwise flash on a working network.
        starting = SyncState.SYNCING if config.server_url and config.token else SyncState.OFFLINE
        self.set_reactive(IncidentApp.sync_status,
                          SyncStatus(state=SyncState.LOCAL if config.offline else starting,
                                     server=config.server_url or ""))
        if self.no_color:
            # Textual's ANSI themes turn black-on-black under NO_COLOR; its monochrome
            # rendering of the default theme stays readable.
            self.theme = "textual-dark"
        elif config.settings.theme:
            self.theme = config.settings.theme
        elif os.environ.get("COLORTERM", "").lower() not in ("truecolor", "24bit"):
            self.theme = "ansi-dark"

    def get_driver_class(self) -> type[Any]:
        """The platform's driver, writing only what changes in each style run (bytes over
        SSH: :mod:`incidenttui.terminal`)."""
        from incidenttui.terminal import compact_driver

        return compact_driver(super().get_driver_class())

    # -- start-up --------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """The queue is the first screen: composed with the app, so its first frame is the
        app's first frame (a screen pushed from ``on_mount`` is laid out and drawn once
        inside Textual's start-up batch, where the frame is thrown away, then again)."""
        from incidenttui.screens.queue import QueueScreen

        return QueueScreen()

    def on_mount(self) -> None:
        if self.config.settings.keys:
            self.set_keymap(self.config.settings.keys)
        # The store (SQLModel) loads once the cached queue is on screen, not racing it for
        # the CPU; the timer covers a queue that could not be read at all.
        self.set_timer(1.0, self.queue_painted)
        if not self.config.offline and not self.config.token:
            from incidenttui.screens.login import LoginScreen

            self.push_screen(LoginScreen(self.config.server_url))

    def queue_painted(self) -> None:
        """The queue has shown what the cache holds (or the timer ran out): load the rest."""
        if not self._backend_started:
            self._backend_started = True
            self._load_backend()
        self.load_screen_styles()

    def load_screen_styles(self) -> None:
        """Read the other screens' styles (once): after the queue's first frame, and before
        any other screen is pushed."""
        if self._screen_styles:
            return
        self._screen_styles = True
        self.stylesheet.read(self.SCREENS_CSS_PATH)
        if self.css_monitor is not None:  # textual run --dev: reloaded when edited
            self.css_monitor.add_paths([self.SCREENS_CSS_PATH])
        # Parsed now (only this file: the others are cached), not when a screen first opens.
        self.stylesheet.parse()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        """Every screen after the queue has its styles read first."""
        self.load_screen_styles()
        return super().push_screen(*args, **kwargs)

    def switch_screen(self, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`push_screen`: the styles first."""
        self.load_screen_styles()
        return super().switch_screen(*args, **kwargs)

    @work(thread=True, exclusive=True, group="backend")
    def _load_backend(self) -> None:
        from incidenttui.store import Store, StoreError

        try:
            store = Store(self.config.store_path)
            user = store.user_id
            ready = BackendReady(user=user, team=user_team(store, user),
                                 pending=store.pending_count(),
                                 conflicts=store.conflict_count())
            # Removed by a sync this app did not see (the CLI's, or one cut short).
            forgotten = store.take_forgotten()
        except StoreError as exc:
            self.post_message(BackendReady(error=str(exc)))
            return
        except Exception as exc:  # a damaged or unwritable file: say so, do not crash
            self.post_message(BackendReady(error=f"cannot open the local store: {exc}"))
            return
        self.store = store
        self.post_message(ready)
        if forgotten:
            self.post_message(IncidentsForgotten(forgotten))

    async def on_backend_ready(self, message: BackendReady) -> None:
        if message.error:
            self.notify(message.error, title="Local store", severity="error", timeout=30)
            return
        # The state stays as it is (the user may have chosen to work offline meanwhile).
        self.sync_status = replace(self.sync_status, server=self.config.server_url or "",
                                   user=message.user, team=message.team,
                                   pending=message.pending, conflicts=message.conflicts)
        self.post_message(StoreChanged())
        if not self.config.offline and self.config.token:
            self.start_sync(self.config.token)

    def start_sync(self, token: str) -> None:
        """Start (or restart with a new token) the sync engine as a task on this loop."""
        from incidenttui.sync.client import ApiClient
        from incidenttui.sync.engine import SyncEngine

        if self.store is None or not self.config.server_url:
            return
        if self.engine is not None:
            self.engine.stop()
        client = ApiClient(self.config.server_url, token, verify=self.config.verify)
        self.engine = SyncEngine(self.store, client, on_status=self._on_sync_status,
                                 on_change=self._on_store_change, status=self.sync_status,
                                 on_forget=self._on_forget)
        self._engine_task = asyncio.create_task(self._run_engine(self.engine, client))

    def switch_server(self, url: str, token: str) -> None:
        """Use ``url`` with ``token`` (after a login): its own store, then sync."""
        from incidenttui.config import remember_server
        from incidenttui.store.store import store_path_for

        remember_server(url)
        if url == self.config.server_url and self.store is not None:
            self.config = replace(self.config, token=token)
            self.start_sync(token)
            return
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        self.reader.close()
        self.config = replace(self.config, server_url=url, token=token,
                              store_path=store_path_for(url))
        self.reader = QueueReader(self.config.store_path)
        self.store = None
        self.sync_status = SyncStatus(state=SyncState.OFFLINE, server=url)
        self._load_backend()

    async def _run_engine(self, engine: Any, client: Any) -> None:
        try:
            await engine.run(long_poll=self.config.long_poll)
        finally:
            await client.aclose()

    def _on_sync_status(self, status: SyncStatus) -> None:
        self.post_message(SyncStatusChanged(status))

    def _on_store_change(self) -> None:
        self.post_message(StoreChanged())

    def _on_forget(self, notices: list[dict[str, Any]]) -> None:
        self.post_message(IncidentsForgotten(notices))

    def on_incidents_forgotten(self, message: IncidentsForgotten) -> None:
        """Say once which incidents went (a handful one by one, more in one line)."""
        from incidenttui.present import forgotten_text, ref

        notices = message.notices
        if len(notices) <= 3:
            for n in notices:
                self.notify(forgotten_text(n.get("number"), int(n.get("dropped") or 0),
                                           n.get("series")),
                            title="Access removed", severity="warning", timeout=15)
        else:
            refs = ", ".join(ref(n.get("number"), n.get("series")) for n in notices[:5])
            more = f" and {len(notices) - 5} more" if len(notices) > 5 else ""
            self.notify(f"{len(notices)} incidents are no longer visible to you ({refs}{more});"
                        " their local copies were removed", title="Access removed",
                        severity="warning", timeout=15)
        self.post_message(StoreChanged())

    def on_sync_status_changed(self, message: SyncStatusChanged) -> None:
        status = message.status
        error = status.last_error or ""
        if error.startswith("TLS ") and error != self._tls_said:
            # Retrying will not fix a certificate: say it once in full, since at 80 columns
            # the status line has no room for the reason.
            self._tls_said = error
            self.notify(error + "; working from the local cache meanwhile",
                        title="Secure connection failed", severity="error", timeout=30)
        if status.team is None and status.user == self.sync_status.user:
            # The engine learns the team when it learns the user; until then, ours holds.
            status = replace(status, team=self.sync_status.team)
        self.sync_status = status

    def watch_sync_status(self, status: SyncStatus) -> None:
        # Every screen of the stack, not only the top one: a status changed under a modal
        # (the login's "work offline") shows as soon as the screen below is back.
        for screen in self.screen_stack:
            for line in screen.query(StatusLine):
                line.show(status)
            if hasattr(screen, "status_changed"):
                screen.status_changed()

    def on_store_changed(self, _message: StoreChanged) -> None:
        # Forward to every screen on the stack: each re-reads what it shows, if visible.
        for screen in self.screen_stack:
            if hasattr(screen, "store_changed"):
                screen.store_changed()

    async def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        if self._engine_task is not None:
            self._engine_task.cancel()
        self.reader.close()

    # -- the one way screens change things -------------------------------------------------

    async def execute(self, commands: Sequence[Any], *, done: str | None = None) -> int:
        """Apply commands through the store (checked, applied, queued); report refusals in
        words. Returns how many were applied."""
        from incidenttui.domain import Refused

        if self.store is None:
            self.notify("The local store is still loading; try again in a moment.",
                        severity="warning")
            return 0
        applied, refusals = 0, []
        for command in commands:
            try:
                await asyncio.to_thread(self.store.execute, command)
                applied += 1
            except Refused as exc:
                refusals.append(exc.reason)
            except Exception as exc:  # the store could not write (disk full, locked)
                self.notify(f"Could not save the change: {exc}", title="Local store",
                            severity="error", timeout=15)
                break
        if applied:
            if self.engine is not None:
                self.engine.kick()
            self.post_message(StoreChanged())
            await self.refresh_counts()
            if done:
                self.notify(done if applied == 1 else f"{done} ×{applied}", timeout=3)
        if refusals:
            shown = refusals[0] if len(refusals) == 1 else \
                f"{len(refusals)} refused; first: {refusals[0]}"
            self.notify(shown, title="Refused", severity="warning", timeout=8)
        return applied

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications are never markup: their text often quotes server or user input
        (``Unknown team '[bold]x'``), which must show literally. Control characters are made
        visible too."""
        from incidenttui.store.sanitize import clean_line

        super().notify(clean_line(message, 2_000), title=clean_line(title, 200),
                       severity=severity, timeout=timeout, markup=False)

    def report_error(self, what: str, exc: BaseException) -> None:
        """Say in words that ``what`` failed; safe from worker threads. Never a traceback."""
        text = f"{what}: {type(exc).__name__}: {str(exc)[:300]}"
        if self._thread_id == threading.get_ident():
            self.notify(text, title="Error", severity="error", timeout=15)
        else:
            self.call_from_thread(self.notify, text, title="Error", severity="error",
                                  timeout=15)

    async def refresh_counts(self) -> None:
        """Re-read the pending and conflict counts for the status line."""
        pending = await asyncio.to_thread(self.store.pending_count)
        conflicts = await asyncio.to_thread(self.store.conflict_count)
        self.sync_status = replace(self.sync_status, pending=pending, conflicts=conflicts)

    # -- app-wide actions ------------------------------------------------------------------

    def action_help(self) -> None:
        from incidenttui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_sync_now(self) -> None:
        if self.engine is None:
            self.notify("Not syncing: " + ("started with --offline" if self.config.offline
                                           else "not logged in"), severity="warning")
            return
        self.engine.kick()
        self.notify("Syncing…", timeout=2)

    def action_conflicts(self) -> None:
        from incidenttui.screens.conflicts import ConflictsScreen

        if not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen())

    def action_kpis(self) -> None:
        from incidenttui.screens.kpis import KpiScreen

        if not isinstance(self.screen, KpiScreen):
            self.push_screen(KpiScreen())

    def action_oncall(self) -> None:
        from incidenttui.screens.oncall import OnCallScreen

        if not isinstance(self.screen, OnCallScreen):
            self.push_screen(OnCallScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every binding of the current screen (and its focused widget) in the palette,
        titled ``area: action``."""
        seen: set[str] = set()
        area = getattr(screen, "AREA", "app")
        for node in [screen.focused, screen] if screen.focused else [screen]:
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.action in seen:
                    continue
                seen.add(binding.action)
                target = node

                def run(action: str = binding.action, target: Any = target) -> None:
                    self.call_later(target.run_action, action)

                yield SystemCommand(f"{area}: {binding.description.lower()}",
                                    binding.tooltip or binding.description, run)
        yield SystemCommand("app: help", "The keys of this screen", self.action_help)
        yield SystemCommand("app: sync now", "Push queued changes and pull news now",
                            self.action_sync_now)
        yield SystemCommand("app: conflicts", "Changes the server did not apply",
                            self.action_conflicts)
        yield SystemCommand("app: kpis", "MTTA, MTTR, SLA compliance, volumes",
                            self.action_kpis)
        yield SystemCommand("app: on call", "Who is on call now and next, per schedule",
                            self.action_oncall)
        yield from super().get_system_commands(screen)


def user_team(store: Any, user: str | None) -> str | None:
    """The team of ``user`` in the store's directory (a store read: not on the event loop)."""
    if user is None:
        return None
    return next((u.team_id for u in store.users() if u.id == user), None)


def make_app(config: AppConfig) -> IncidentApp:
    """The app factory the CLI, the demo and the tests share."""
    return IncidentApp(config)
