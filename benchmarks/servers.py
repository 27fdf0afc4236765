"""Servers for the sync and server benchmarks: seeded databases, the real server process and
a private PostgreSQL.

Databases are seeded directly (server models and ``record_changes``, as the demo seed does):
50,000 POSTs would take minutes and measure the wrong thing. The server itself always runs
as the operator runs it, ``python -m incidenttui server --db URL`` in its own process, so its
CPU is its own and the client under test does not share its GIL.
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, bench_env, free_port, stop_process, wait_for_port

BENCH_USER = "bench"
BENCH_TEAM = "service-desk"


def server_rows(snaps: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """The ``incidents`` rows and the change-feed snapshots (exactly the API's JSON) for
    synthetic snapshots."""
    from incidenttui.api.schemas import IncidentOut
    from incidenttui.server.models import Incident

    columns = list(Incident.model_fields)
    rows, feed = [], []
    for snap in snaps:
        out = IncidentOut.model_validate(snap)
        feed.append(out.model_dump(mode="json"))
        values = out.model_dump()
        values["status"] = str(values["status"])
        values["links"] = [dict(link, kind=str(link["kind"])) for link in values["links"]]
        rows.append({c: values[c] for c in columns})
    return rows, feed


def all_new(snaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same incidents, every one just logged (so each can be acknowledged once)."""
    return [{**s, "status": "new", "acknowledged_at": None, "resolved_at": None,
             "closed_at": None, "on_hold_since": None, "resolution_code": None,
             "resolution_note": None, "assignee": None, "version": 1,
             "updated_at": s["created_at"]} for s in snaps]


def seed_server(url: str, snaps: list[dict[str, Any]], role: str = "responder") -> str:
    """Migrate the database at ``url``, write ``snaps`` as incidents and feed entries (one
    transaction, bulk inserts), create the bench user with ``role``; return its token.

    A responder does not see the restricted (security-category) incidents among ``snaps``;
    a ``security`` user sees and works them all."""
    from sqlalchemy import insert, update
    from sqlmodel import SQLModel, col

    from incidenttui.server.auth import create_user
    from incidenttui.server.changes import record_changes
    from incidenttui.server.db import Database
    from incidenttui.server.models import Counter, Incident, Service, Team
    from incidenttui.server.service import ensure_counters, record_directory

    db = Database(url)
    db.migrate()
    rows, feed = server_rows(snaps)
    with db.write() as session:
        teams = [Team(id=t, name=t, level=1 if t == BENCH_TEAM else 2)
                 for t in ("service-desk", "platform", "payments-experts", "network",
                           "security")]
        services = [Service(id=s, name=s, team_id="platform")
                    for s in sorted({s["service"] for s in snaps})]
        session.add_all([*teams, *services])
        session.flush()
        record_directory(session, [*teams, *services])
        user, token = create_user(session, BENCH_USER, role, BENCH_TEAM)
        record_directory(session, [user])
        table = SQLModel.metadata.tables[Incident.__tablename__]
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start:start + 5000])
        ensure_counters(session)
        session.execute(update(Counter).where(col(Counter.name) == "incident")
                        .values(value=max(s["number"] for s in snaps)))
        for start in range(0, len(feed), 5000):
            record_changes(session, [("incident", f["id"], f) for f in feed[start:start + 5000]])
    db.dispose()
    return token


class ServerProcess:
    """``python -m incidenttui server --db URL`` on a free loopback port."""

    def __init__(self, db_url: str, log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "incidenttui", "server", "--db", db_url, "--port",
             str(self.port), "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env=bench_env(), cwd=ROOT,
            start_new_session=True)
        try:
            wait_for_port(self.port, 60, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()


# -- PostgreSQL -------------------------------------------------------------------------------


def _pgcluster_module() -> Any:
    """tests/support/pgcluster.py, loaded by path (it is test support, not a package)."""
    path = ROOT / "tests" / "support" / "pgcluster.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_pgcluster", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need it registered
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def postgres() -> Iterator[Any]:
    """A private PostgreSQL cluster (the tests' own helper: initdb into a temporary
    directory, run as the ``postgres`` OS user when we are root, fsync off), or the one
    ``INCIDENTTUI_TEST_PG_URL`` names. Yields None when PostgreSQL is not available."""
    module = _pgcluster_module()
    if module is None:
        yield None
        return
    try:
        cluster = module.PgCluster.from_env() or module.PgCluster.start()
    except Exception as exc:  # not installed, cannot start
        print(f"PostgreSQL not available: {exc}", file=sys.stderr)
        yield None
        return
    try:
        yield cluster
    finally:
        cluster.stop()

