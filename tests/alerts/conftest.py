"""Fixtures for the alert-ingestion tests (helpers in ``alertkit``, next to this file).

* ``server`` (package-scoped here, parametrized over SQLite and PostgreSQL like the one in
  tests/conftest.py): one seeded server for every module of this package, since each test makes
  its own services and integrations; seeding a server per module would cost most of the time.
* ``alertmanager_bin``: the real ``prometheus-alertmanager`` binary. Without it the tests that
  need it are skipped, except under ``CI=true``, where they fail (``.ci/run`` installs it).
* ``events_key`` / ``events_manual_key``: Events API v2 integrations on the module's server
  (auto-resolving, and leaving resolution to a responder).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import DATABASES, LiveServer, threaded_server

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from alertkit import create_integration, find_alertmanager  # noqa: E402


@pytest.fixture(scope="package", params=DATABASES)
def server(request: pytest.FixtureRequest, db_url: Callable[[str], str]
           ) -> Iterator[LiveServer]:
    with threaded_server(request.param, db_url(request.param)) as live:
        yield live


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def alertmanager_bin() -> str:
    binary = find_alertmanager()
    if binary is None:
        message = ("Prometheus Alertmanager is not installed "
                   "(apt-get install prometheus-alertmanager)")
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def events_integration(server: Any) -> dict[str, Any]:
    return create_integration(server, "events", name="events (auto-resolve)")


@pytest.fixture(scope="module")
def events_key(events_integration: dict[str, Any]) -> str:
    return events_integration["key"]


@pytest.fixture(scope="module")
def events_manual_key(server: Any) -> str:
    return create_integration(server, "events", auto_resolve=False,
                              name="events (manual resolve)")["key"]
