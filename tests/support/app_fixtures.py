"""Fixtures for the app tests (imported by tests/screens/conftest.py and
tests/widgets/conftest.py): isolated directories, servers, the cached demo store, a frozen
clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_harness import freeze_clock  # type: ignore[import-not-found]
from app_servers import (  # type: ignore[import-not-found]
    RestartableServer,
    build_demo_store,
    copy_store,
)

#: The demo data set is seeded at this time; the app's clock is frozen a little later.
DEMO_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
APP_NOW = DEMO_NOW + timedelta(minutes=5)
#: Open incidents the demo responder's store holds: the demo's live ones (the forgotten
#: acknowledgement included) but the restricted security incidents (the DDoS, the leaked
#: key, the data breach), which it never sees.
DEMO_OPEN = 7
#: Every incident the demo responder's store holds (the seed's 311 but its 24 restricted).
DEMO_ALL = 287
#: A server URL for stores opened with --offline (never contacted).
OFFLINE_URL = "https://incidents.example.test"


@pytest.fixture(autouse=True)
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Data and config in the test's temporary directory; no token or server from outside;
    the ANSI theme a jump host gets; colour unless a test asks for NO_COLOR."""
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INCIDENTTUI_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("INCIDENTTUI_TOKEN", "INCIDENTTUI_SERVER", "NO_COLOR", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLORTERM", "")
    return tmp_path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store synced once from the demo server seeded at :data:`DEMO_NOW`."""
    path = tmp_path_factory.mktemp("demo-store") / "template.db"
    build_demo_store(path, DEMO_NOW)
    return path


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the cached demo store."""
    return copy_store(demo_template, tmp_path / "stores" / "demo.db")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Freeze incidenttui's clock at :data:`APP_NOW`."""
    freeze_clock(monkeypatch, APP_NOW)
    return APP_NOW


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableServer]:
    """One seeded server for the session; tests make their own incidents on it."""
    server = RestartableServer.seeded(tmp_path_factory.mktemp("live-server")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RestartableServer]:
    """A seeded server for this test alone (it may stop and start it)."""
    directory = tmp_path / "own-server"
    directory.mkdir()
    server = RestartableServer.seeded(directory).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tag() -> str:
    """A word no other test uses: put it in titles, then filter on it."""
    return "zq" + uuid.uuid4().hex[:8]


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Any]:
    """``config_for(server, role="responder", **AppConfig fields)``: an AppConfig on a fresh
    store in this test's directory, with a short long-poll."""
    from incidenttui.tui import AppConfig

    def make(server: RestartableServer | None = None, role: str | None = "responder",
             **fields: Any) -> AppConfig:
        fields.setdefault("store_path", tmp_path / "stores" / f"{uuid.uuid4().hex[:6]}.db")
        fields.setdefault("long_poll", 0.5)
        url = server.url if server is not None else fields.pop("server_url", None)
        fields.pop("server_url", None)
        token = server.tokens[role] if server is not None and role else fields.pop("token",
                                                                                    None)
        fields.pop("token", None)
        return AppConfig(server_url=url, token=token, **fields)

    return make
