"""Shared fixtures: a private PostgreSQL cluster, and real servers on loopback.

Helpers live in ``tests/support`` (put on ``sys.path`` here, since pytest runs with
``--import-mode=importlib``): ``pgcluster``, ``servers`` and ``apihelpers``.

* ``pg_cluster`` (session): a throwaway PostgreSQL cluster (or ``INCIDENTTUI_TEST_PG_URL``).
  Without PostgreSQL the tests that need it are skipped, except under ``CI=true``, where they
  fail: CI must run the API suite on both databases.
* ``db_url(kind)`` (session): a factory of fresh, empty database URLs, ``"sqlite"`` or
  ``"postgres"``.
* ``server`` (module, parametrized over sqlite and postgres): a seeded server from
  ``create_app(url)`` on uvicorn in a background thread; see ``servers.LiveServer``.
* ``make_server(kind)`` (function): a fresh seeded server for tests that need an empty database.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

SUPPORT = Path(__file__).parent / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from pgcluster import PgCluster, PostgresMissing  # noqa: E402
from reliability_stats import FIGURES, report_path  # noqa: E402
from servers import DATABASES, LiveServer, threaded_server  # noqa: E402


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL server to create test databases in, for the whole session."""
    external = PgCluster.from_env()
    if external is not None:
        yield external
        external.stop()  # drops the databases the tests created
        return
    try:
        cluster = PgCluster.start()
    except PostgresMissing as exc:
        if in_ci():
            pytest.fail(f"CI=true but {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Callable[[str], str]:
    """``db_url("sqlite" | "postgres")``: the URL of a new, empty database."""

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'server.db'}"
        if kind == "postgres":
            cluster: PgCluster = request.getfixturevalue("pg_cluster")
            return cluster.create_database()
        raise ValueError(f"unknown database kind {kind!r}")

    return make


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, db_url: Callable[[str], str]) -> Iterator[LiveServer]:
    """A real, seeded server on loopback, one per test module and database."""
    with threaded_server(request.param, db_url(request.param)) as live:
        yield live


@pytest.fixture
def make_server(db_url: Callable[[str], str]) -> Iterator[Callable[[str], LiveServer]]:
    """``make_server(kind)``: a fresh seeded server on an empty database, for this test only."""
    with ExitStack() as stack:
        yield lambda kind: stack.enter_context(threaded_server(kind, db_url(kind)))


# -- the reliability figures (tests/reliability) ------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker finished; take its reliability figures."""
    figures = getattr(node, "workeroutput", {}).get("reliability_figures")
    if figures:
        FIGURES.merge(figures)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES.empty or hasattr(terminalreporter.config, "workerinput"):
        return
    path = report_path()
    with contextlib.suppress(OSError):
        FIGURES.write(path)
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(also written to {path})")
