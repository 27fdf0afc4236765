"""The login screen: shown when a server is configured and no token is known; the token goes
to a secure keyring (a test backend here) or, when asked, to a 0600 file in the data
directory; esc works offline from the cache."""

from __future__ import annotations

import json
import stat
from typing import Any

import keyring
import pytest
from app_harness import (  # type: ignore[import-not-found]
    paste,
    screen_lines,
    wait_for,
    wait_online,
    wait_screen,
    wait_text,
)
from app_keyring import memory_keyring  # type: ignore[import-not-found]
from keyring.backends import fail

from incidenttui.credentials import SERVICE
from incidenttui.tui import make_app


async def test_login_saves_to_the_keyring_and_syncs(live: Any, config_for: Any) -> None:
    with memory_keyring() as backend:
        app = make_app(config_for(live, role=None))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await wait_screen(pilot, "LoginScreen")
            await wait_text(pilot, "Log in to an incidenttui server")
            server = screen.query_one("#server")
            assert server.value == live.url and server.disabled
            assert screen.query_one("#token").has_focus
            await pilot.press("enter")  # no token yet
            await wait_text(pilot, "Paste the token.")
            await paste(pilot, live.tokens["responder"])
            # the token is masked on screen
            assert live.tokens["responder"] not in "\n".join(screen_lines(app))
            await pilot.press("enter")
            await wait_screen(pilot, "QueueScreen")
            await wait_online(pilot)
            await wait_for(pilot, lambda: f"rita@127.0.0.1:{live.port}" in screen_lines(app)[-2],
                           what="user@server on the status line")
            assert any("system keyring" in n.message for n in app._notifications)
        assert backend.passwords == {(SERVICE, live.url): live.tokens["responder"]}


async def test_login_with_insecure_storage_writes_a_0600_file(live: Any, config_for: Any,
                                                              app_env: Any) -> None:
    with memory_keyring():
        keyring.set_keyring(fail.Keyring())  # no secure keyring on this jump host
        app = make_app(config_for(live, role=None))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await wait_screen(pilot, "LoginScreen")
            await paste(pilot, live.tokens["responder"])
            await pilot.press("enter")
            # refused, with the options spelled out; nothing crashes
            await wait_text(pilot, "No secure keyring backend")
            assert type(app.screen).__name__ == "LoginScreen"
            await pilot.press("tab")
            assert screen.query_one("#insecure").has_focus
            await pilot.press("space")
            assert screen.query_one("#insecure").value is True
            await pilot.press("ctrl+s")
            await wait_screen(pilot, "QueueScreen")
            await wait_online(pilot)
            assert any("plaintext file" in n.message for n in app._notifications)
    path = app_env / "data" / "credentials.json"
    assert json.loads(path.read_text()) == {live.url: live.tokens["responder"]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_login_escape_works_offline_from_the_cache(demo_store: Any, config_for: Any
                                                         ) -> None:
    app = make_app(config_for(server_url="http://127.0.0.1:9", store_path=demo_store))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, "LoginScreen")
        await pilot.press("escape")
        await wait_screen(pilot, "QueueScreen")
        await wait_text(pilot, "INC-1282")
        assert screen_lines(app)[-2].startswith("OFFLINE (--offline)")
        assert app.engine is None


@pytest.mark.parametrize("url", ["", "ftp://x"])
async def test_login_asks_for_an_http_url(url: str, config_for: Any, tmp_path: Any) -> None:
    app = make_app(config_for(server_url=url, store_path=tmp_path / "s.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, "LoginScreen")
        if not url:
            assert screen.query_one("#server").has_focus
        else:
            assert screen.query_one("#server").disabled
        await pilot.press("ctrl+s")
        await wait_text(pilot, "The server URL starts with http:// or https://.")
